"""Few-shot exemplars: the runtime with k exemplars from a pool against k = 0.

Answers `--data` with `--pool` as the exemplar pool for each k of `--k`, one engine, each pass
from an empty prefix cache, called as the grader calls (batches grouped by task type). Prints
per k: track 5 and each task type's score (the mean of its tasks), each with its difference
from k = 0 and the paired 95% bootstrap interval of that difference (* where it excludes 0),
prompt tokens, decode steps and generation time.

    .venv/bin/python -m benchmarks.fewshot --data D --pool P [--k 0 1 2 4] [--weights DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.recipes import load_all, run_recipe
from models.vllm_config import load_shop_model_config
from models.vllm_model import VLLMShopModel
from runtime.answering.engine import Engine
from runtime.grading.config import ScoringConfig
from runtime.grading.intervals import excludes_zero, interval, resample_runs
from runtime.grading.scoring import score_answers, task_units


def _type_means(tasks: dict[str, np.ndarray], type_of: dict[str, str]) -> dict[str, np.ndarray]:
    by_type: dict[str, list[np.ndarray]] = {}
    for name, values in tasks.items():
        by_type.setdefault(type_of[name], []).append(values)
    return {t: np.mean(v, axis=0) for t, v in sorted(by_type.items())}


def _difference(delta: float, bounds: tuple[float, float]) -> str:
    star = " *" if excludes_zero(bounds) else ""
    return f"{delta:+.3f} ({bounds[0]:+.3f} to {bounds[1]:+.3f}){star}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--pool", type=Path, required=True)
    parser.add_argument("--k", type=int, nargs="+", default=[0, 1, 2, 4])
    parser.add_argument("--weights", type=Path, help="default: the embedded model this "
                        "machine runs")
    args = parser.parse_args()
    questions = load_all(args.data)
    base = load_shop_model_config(None, args.weights)
    engine = Engine(base.engine)
    scoring = ScoringConfig()
    runs: dict[int, dict[str, Any]] = {}
    for k in sorted(set([0, *args.k])):
        fewshot = base.fewshot.model_copy(update={"pool": args.pool.resolve(), "k": k})
        model = VLLMShopModel(config=base.model_copy(update={"fewshot": fewshot}),
                              engine=engine)
        engine.reset_prefix_cache()
        run = run_recipe(model, questions)
        run["scores"] = score_answers(questions, run["answers"], scoring)
        run["units"] = task_units(questions, run["scores"].rows, run["scores"].tasks)
        runs[k] = run
        print(f"k={k}: answered in {run['seconds']:.1f} s", file=sys.stderr)
    type_of = {t.task_name: t.task_type for t in runs[0]["scores"].tasks}
    types = sorted(set(type_of.values()))
    short = {"multiple-choice": "choice", "named_entity_recognition": "entities"}
    print(f"{len(questions)} questions of {', '.join(p.name for p in args.data)}; pool "
          f"{args.pool.name}; {engine.config.model.name}")
    header = ["k", "track 5", *[short.get(t, t) for t in types], "exemplars", "prompt tokens",
              "decode steps", "gen time s"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for k, run in runs.items():
        first, second = resample_runs([runs[0]["units"], run["units"]],
                                      scoring.bootstrap_resamples, scoring.bootstrap_seed)
        scores = run["scores"]
        by_type = {t: statistics.mean(x.score for x in scores.tasks
                                      if x.task_type == t and x.score is not None)
                   for t in types}
        base_type = {t: statistics.mean(x.score for x in runs[0]["scores"].tasks
                                        if x.task_type == t and x.score is not None)
                     for t in types}
        cells = [str(k), f"{scores.overall:.3f}"]
        if k and first.overall is not None and second.overall is not None:
            cells[1] += " " + _difference(scores.overall - runs[0]["scores"].overall, interval(
                second.overall - first.overall, scoring.confidence))
        a, b = _type_means(first.tasks, type_of), _type_means(second.tasks, type_of)
        for t in types:
            cell = f"{by_type[t]:.3f}"
            if k:
                cell += " " + _difference(by_type[t] - base_type[t],
                                          interval(b[t] - a[t], scoring.confidence))
            cells.append(cell)
        cells += [str(run["exemplars"]), f"{run['prompt_tokens']:,}",
                  f"{run['decode_steps']:,}", f"{run['seconds']:.1f}"]
        print("| " + " | ".join(cells) + " |")
    print("Differences: from k = 0, with the paired 95% bootstrap interval over questions; "
          "* where it excludes 0.")


if __name__ == "__main__":
    main()
