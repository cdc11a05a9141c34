"""Budgets benchmark: score against new-token budget, per generation kind.

A batch decodes until its longest answer ends, so one long answer costs the whole batch. For each
generation kind (description, title, translation, extraction), this runs that kind's questions
(as the router decides it) through `VLLMShopModel` under each budget, with and without the
first-sentence stop, as the grader calls (batches of 16), and prints the curve: the mean of the
kind's task scores, decode steps (the sum over batches of the longest answer), generated tokens
and generation time. The budgets and stops in models/vllm_config.json were chosen from it.

    .venv/bin/python benchmarks/budgets.py [--data PATH ...] [--weights DIR] [--kinds K ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks.recipes import DEFAULT_DATA, load_all, run_recipe
from models.vllm_config import ShopModelConfig, embedded_model_dirs
from runtime.answering.router import route
from runtime.answering.shapes import shape_of
from runtime.grading.config import ScoringConfig
from runtime.grading.questions import Question
from runtime.grading.scoring import score_answers

# The budgets tried per kind: around each default, and below it.
CURVES: dict[str, list[int]] = {
    "description": [12, 16, 24, 32, 50],
    "title": [8, 12, 24, 50],
    "category": [12, 16, 24, 32],
    "translation": [24, 32, 50, 64],
    "extraction": [6, 12, 24],
}


def questions_of_kind(questions: list[Question], kind: str) -> list[Question]:
    return [q for q in questions if q.task_type == "generation"
            and shape_of(route(q.input_field, q.is_multiple_choice)).name == kind]


def point(model: Any, questions: list[Question]) -> dict[str, Any]:
    """One pass: the mean of the questions' task scores, steps, tokens and seconds."""
    run = run_recipe(model, questions)
    scores = score_answers(questions, run["answers"], ScoringConfig())
    tasks = [t.score for t in scores.tasks if t.score is not None]
    return {"score": statistics.mean(tasks) if tasks else None,
            "tasks": {t.task_name: t.score for t in scores.tasks},
            "decode_steps": run["decode_steps"], "generated_tokens": run["generated_tokens"],
            "seconds": run["seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", default=DEFAULT_DATA)
    parser.add_argument("--weights", type=Path, help="model directory (default: the embedded "
                        "model in 4 bits)")
    parser.add_argument("--kinds", nargs="+", default=list(CURVES), choices=list(CURVES))
    args = parser.parse_args()
    from models.vllm_model import VLLMShopModel
    from runtime.answering.engine import Engine, EngineConfig

    weights = args.weights or embedded_model_dirs()[1]
    engine = Engine(EngineConfig(model=weights, max_model_len=3072))
    base = ShopModelConfig(engine=engine.config)
    questions = load_all(args.data)
    print("| kind | questions | budget | first sentence | score | decode steps | "
          "generated tokens | time s |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for kind in args.kinds:
        subset = questions_of_kind(questions, kind)
        if not subset:
            print(f"no {kind} questions in the data", file=sys.stderr)
            continue
        for budget in CURVES[kind]:
            for first in (False, True):
                decoding = base.decoding.model_copy(update={
                    "new_tokens": {**base.decoding.new_tokens, kind: budget},
                    "first_sentence": sorted({*base.decoding.first_sentence} - {kind}
                                             | ({kind} if first else set()))})
                model = VLLMShopModel(config=base.model_copy(update={"decoding": decoding}),
                                      engine=engine)
                engine.reset_prefix_cache()
                figures = point(model, subset)
                print(f"| {kind} | {len(subset)} | {budget} | {'yes' if first else 'no'} | "
                      f"{figures['score']:.3f} | {figures['decode_steps']} | "
                      f"{figures['generated_tokens']} | {figures['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
