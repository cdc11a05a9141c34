"""Shopping MMLU's own facts, written once: its skills and their leaderboard names, its file
layout, its zero-shot protocol and how it picks a generation task's metric (NeurIPS 2024
Datasets and Benchmarks; the KL4805/ShoppingMMLU evaluation code).

The four skills are the KDD Cup's tracks 1-4 (the cup was the benchmark's competition edition),
so a skill is stored as its track's id and named the benchmark's way when scoring its files.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from runtime.common.competition import TRACKS

Semantics = Literal["shopbench", "shopping-mmlu"]
SEMANTICS: tuple[str, ...] = get_args(Semantics)

# Skill N is track N; the leaderboard's column names.
SKILLS: dict[str, str] = dict(zip(TRACKS, (
    "Shopping Concept Understanding",
    "Shopping Knowledge Reasoning",
    "User Behavior Alignment",
    "Multi-lingual Abilities",
), strict=True))
# A task-wise file whose task no skill file names has no skill: its task counts in the mean
# over tasks, in no skill.
NO_SKILL = "shopping-mmlu-no-skill"
NO_SKILL_NAME = "No skill (task-wise file)"

# data/skills/skill1_concept.json ... : the skill is the digit after "skill".
SKILL_FILE = re.compile(r"^skill([1-4])_\w*\.jsonl?$")
SKILLS_FOLDER = "skills"
# Task-wise files: data/<folder>/<task>_dataset.<csv|json>, the folder naming the task type.
TASK_WISE_SUFFIX = "_dataset"
MULTIPLE_CHOICE_FOLDER = "multiple_choice"
TASK_WISE_FOLDERS: dict[str, str] = {
    MULTIPLE_CHOICE_FOLDER: "multiple-choice",
    "retrieval": "retrieval",
    "ranking": "ranking",
    "named_entity_recognition": "named_entity_recognition",
    "generation": "generation",
}
CSV_COLUMNS = ("question", "choices", "answer")
CHOICE_COUNT = 4
# The one multiple-choice task printed without options, answered with a rating 1-5.
RATING_TASK = "review_rating_prediction"

# The zero-shot protocol: this text, then the prompt, as plain text (no chat template), greedy.
ZERO_SHOT_SYSTEM = (
    "You are a helpful online shopping assistant. Please answer the following question about "
    "online shopping and follow the given instructions.\n\n"
)
# New tokens as the skill evaluation sets them (the task-wise scripts use 4 for a choice and
# 20 for entity extraction).
CHOICE_NEW_TOKENS = 1
OTHER_NEW_TOKENS = 100


def task_wise_choice_prompt(question: str, choices: list[str]) -> str:
    """A task-wise multiple-choice prompt: the question, one line per option, "Answer: "."""
    return question + "".join(f"\n{i}. {text}" for i, text in enumerate(choices)) + \
        "\nAnswer: "


def generation_metric(task_name: str) -> str:
    """The metric of a task-wise generation task, by its name, in Shopping MMLU's order."""
    if "extraction" in task_name:
        return "rougel"
    if "translation" in task_name:
        return "jp-bleu" if "JP" in task_name else "bleu"
    if "multilingual" in task_name:
        return "multilingual-sent-transformer"
    return "sent-transformer"
