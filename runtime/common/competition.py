"""The competition's own facts, written once: tracks (id, name, time limit), the per-question
time rule, the batch-size bounds, the task types and the metric names (Amazon KDD Cup 2024,
ShopBench, final phase)."""

from __future__ import annotations

from typing import Literal, get_args

TaskType = Literal[
    "multiple-choice", "retrieval", "ranking", "named_entity_recognition", "generation"
]
TASK_TYPES: tuple[str, ...] = get_args(TaskType)

MetricName = Literal[
    "accuracy",
    "hit rate@3",
    "ndcg",
    "micro f1",
    "rougel",
    "bleu",
    "jp-bleu",
    "sent-transformer",
    "multilingual-sent-transformer",
]
METRIC_NAMES: tuple[str, ...] = get_args(MetricName)

# Which metrics a task type can be scored with (the data never mixes them otherwise).
METRICS_FOR_TASK_TYPE: dict[str, tuple[str, ...]] = {
    "multiple-choice": ("accuracy",),
    "retrieval": ("hit rate@3",),
    "ranking": ("ndcg",),
    "named_entity_recognition": ("micro f1",),
    "generation": (
        "rougel",
        "bleu",
        "jp-bleu",
        "sent-transformer",
        "multilingual-sent-transformer",
    ),
}

# Tracks 1-4 (the `track` field of a question) -> display name; track 5 answers them all.
TRACKS: dict[str, str] = {
    "amazon-kdd-cup-24-understanding-shopping-concepts": "Track 1: shopping concepts",
    "amazon-kdd-cup-24-shopping-knowledge-reasoning": "Track 2: knowledge reasoning",
    "amazon-kdd-cup-24-user-behavior-alignment": "Track 3: user behaviour",
    "amazon-kdd-cup-24-multi-lingual-abilities": "Track 4: multilingual",
}
TRACK5 = "amazon-kdd-cup-24-all-around"
TRACK5_NAME = "Track 5: all-around"
# Every challenge id a submission's aicrowd.json may name.
CHALLENGE_IDS: tuple[str, ...] = (*TRACKS, TRACK5)

# Whole-run time limits, final phase; a run over its limit is killed and scores nothing.
TRACK_LIMITS_S: dict[str, float] = {
    "amazon-kdd-cup-24-understanding-shopping-concepts": 70 * 60,
    "amazon-kdd-cup-24-shopping-knowledge-reasoning": 20 * 60,
    "amazon-kdd-cup-24-user-behavior-alignment": 30 * 60,
    "amazon-kdd-cup-24-multi-lingual-abilities": 20 * 60,
    TRACK5: 140 * 60,
}
# At most this many seconds per question, applied per batch (a batch of 8 has 80 s).
PER_QUESTION_LIMIT_S = 10.0
# What the leaderboard runs a submission on.
LEADERBOARD_HARDWARE = "4x T4"
# What get_batch_size() may answer.
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 1, 16


def track_name(track: str) -> str:
    """The display name of any of the five tracks (the id itself when unknown)."""
    return TRACK5_NAME if track == TRACK5 else TRACKS.get(track, track)


def track_id(text: str) -> str:
    """A track as its id, given the id or its number (1-4)."""
    numbered = list(TRACKS)
    if text in TRACKS:
        return text
    if text.isdigit() and 1 <= int(text) <= len(numbered):
        return numbered[int(text) - 1]
    raise ValueError(f"unknown track {text!r}: give 1-4 or one of {', '.join(numbered)}")
