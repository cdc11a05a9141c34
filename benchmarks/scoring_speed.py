"""Scoring saved answers: `runtime score` against one answer at a time (the organisers' way).

Two modes.

- `--data D --predictions P` (the figure that matters): times two whole fresh processes on the
  same saved answers, imports and model loads included: `python -m runtime score`, and a
  per-answer scorer that parses and scores one row at a time with one embedding call per text,
  as the organisers' scorer does. Prints both wall times, the speed-up and the track-5 score
  each gives. `--repeat-data K` repeats every row K times (as a long run repeats tasks), so a
  development-sized file stands in for the full benchmark; with `--distinct-answers` each
  repeat's free-text answers get a suffix, so no repeated answer is embedded once for all
  (truths still repeat, as the benchmark's do). Target: at least 5 times faster.
- `--n N` (the embedding step alone): N generated answer/truth pairs for the sent-transformer
  metric, batched against one call per text, in one process with the model loaded.

    .venv/bin/python benchmarks/scoring_speed.py --data D --predictions P [--repeat-data 8]
    .venv/bin/python benchmarks/scoring_speed.py --n 1200
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from runtime.common.paths import REPO_ROOT

SUBJECTS = ["toggle switch", "watch band", "handbag", "air fryer", "standing desk", "yoga mat",
            "surge protector", "espresso machine", "bike helmet", "bath towel", "power bank"]
VERBS = ["is used to", "helps people", "is designed to", "lets you", "is a product that can"]
ENDS = ["hold personal items", "cook food with hot air", "protect electronics from surges",
        "keep time on the wrist", "work while standing", "charge a phone on the go",
        "dry off after a shower", "practise yoga on the floor", "brew strong coffee"]


def generated_pairs(n: int, seed: int = 7) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    answers, truths = [], []
    for i in range(n):
        subject = rng.choice(SUBJECTS)
        answers.append(f"A {subject} {rng.choice(VERBS)} {rng.choice(ENDS)} ({i}).")
        truths.append(f"The {subject} {rng.choice(VERBS)} {rng.choice(ENDS)}.")
    return answers, truths


def one_call_per_text(encoder, answer: str, truth: str | list[str]) -> float:
    """The organisers' sentence similarity: the answer and each reference embedded alone."""
    a = encoder.encode([answer])[0]
    cosines = []
    for reference in [truth] if isinstance(truth, str) else truth:
        t = encoder.encode([reference])[0]
        cosines.append(float((a * t).sum() / (np.linalg.norm(a) * np.linalg.norm(t))))
    score = float(np.mean(cosines))
    return score if score > 0 else 0.0


def organisers_encoder(path: Path) -> Any:
    """The embedding model as the organisers' scorer loads it: sentence-transformers itself
    (the runtime runs the same model through a lighter forward pass of its own)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu", local_files_only=True)


def score_one_at_a_time(data: Path, predictions: Path) -> float:
    """Track 5 of the saved answers, scored row by row; runs in its own process."""
    from runtime.grading.config import ScoringConfig
    from runtime.grading.metrics import EMBEDDING_MODEL_FOR_METRIC, METRICS
    from runtime.grading.predictions import Predictions
    from runtime.grading.questions import load_questions
    from runtime.grading.scoring import parsed_answer

    questions = load_questions(data).questions
    answers = Predictions.read_any(predictions, questions).answers()
    config = ScoringConfig()
    encoders: dict[str, Any] = {}
    by_task: dict[str, list[float]] = defaultdict(list)
    track_of: dict[str, str] = {}
    for q in questions:
        if q.row not in answers:
            continue
        labels = q.labels
        parsed = parsed_answer(answers[q.row], labels.task_type)
        model = EMBEDDING_MODEL_FOR_METRIC.get(labels.metric)
        if model is not None:
            if model not in encoders:
                encoders[model] = organisers_encoder(config.embedding_models[model])
            value = one_call_per_text(encoders[model], parsed, q.output_field)
        else:
            value = METRICS[labels.metric].score([parsed], [q.output_field], None)[0]
        by_task[labels.task_name].append(value)
        track_of[labels.task_name] = labels.track
    by_track: dict[str, list[float]] = defaultdict(list)
    for task, values in by_task.items():
        by_track[track_of[task]].append(float(np.mean(values)))
    return float(np.mean([np.mean(v) for v in by_track.values()]))


def repeated(data: Path, predictions: Path, times: int, into: Path,
             distinct: bool) -> tuple[Path, Path]:
    """The data and the saved answers with every row repeated `times` times, rows renumbered;
    with `distinct`, the k-th repeat of a free-text answer ends in " (k)"."""
    from runtime.grading.predictions import Predictions
    from runtime.grading.questions import load_questions

    questions = load_questions(data).questions
    answers = Predictions.read_any(predictions, questions).answers()
    data_out, answers_out = into / "data.jsonl", into / "predictions.jsonl"
    with data_out.open("w", encoding="utf-8") as d, answers_out.open("w", encoding="utf-8") as p:
        row = 0
        for k in range(times):
            for q in questions:
                if q.row in answers:
                    answer = answers[q.row]
                    if distinct and k and q.task_type == "generation":
                        answer = f"{answer} ({k})"
                    d.write(json.dumps(q.model_dump(exclude={"row", "line"}),
                                       ensure_ascii=False) + "\n")
                    p.write(json.dumps({"row": row, "input_field": q.input_field,
                                        "model_output_str": answer},
                                       ensure_ascii=False) + "\n")
                    row += 1
    return data_out, answers_out


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def whole_commands(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data, predictions = repeated(args.data, args.predictions, args.repeat_data, Path(tmp),
                                     args.distinct_answers)
        answers = sum(1 for _ in predictions.open(encoding="utf-8"))
        ours_s, _ = timed([sys.executable, "-m", "runtime", "score", "--data", str(data),
                           "--predictions", str(predictions), "--output-dir",
                           str(Path(tmp) / "scored")])
        ours = json.loads((Path(tmp) / "scored" / "results.json").read_text(encoding="utf-8"))
        theirs_s, out = timed([sys.executable, __file__, "--one-at-a-time", str(data),
                               str(predictions)])
    print(f"answers scored:              {answers}")
    print(f"runtime score (whole run):   {ours_s:8.1f} s   track 5 {ours['overall']['score']:.6f}")
    print(f"one answer at a time:        {theirs_s:8.1f} s   track 5 {float(out):.6f}")
    print(f"speed-up:                    {theirs_s / ours_s:8.1f} x   (target >= 5 x)")


def embedding_step(n: int) -> None:
    from runtime.common.embeddings import bundled_minilm_path, load_encoder
    from runtime.grading.metrics import sentence_similarity

    minilm = bundled_minilm_path()
    if minilm is None:
        raise SystemExit("error: all-MiniLM-L6-v2 is not installed: run scripts/setup.sh")
    encoder = load_encoder(minilm)
    answers, truths = generated_pairs(n)
    encoder.encode(["warm up"])
    started = time.perf_counter()
    batched = sentence_similarity(answers, truths, encoder)
    batched_s = time.perf_counter() - started
    started = time.perf_counter()
    single = [one_call_per_text(encoder, a, t) for a, t in zip(answers, truths, strict=True)]
    single_s = time.perf_counter() - started
    difference = max(abs(a - b) for a, b in zip(batched, single, strict=True))
    print(f"answers scored:             {n}")
    print(f"batched scorer:             {batched_s:8.2f} s")
    print(f"one call per text:          {single_s:8.2f} s")
    print(f"speed-up:                   {single_s / batched_s:8.1f} x")
    print(f"largest score difference:   {difference:.2e}  (float32 embedding noise)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--predictions", type=Path)
    parser.add_argument("--repeat-data", type=int, default=1)
    parser.add_argument("--distinct-answers", action="store_true")
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--one-at-a-time", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_at_a_time:
        print(score_one_at_a_time(*args.one_at_a_time))
    elif args.data and args.predictions:
        whole_commands(args)
    else:
        embedding_step(args.n)


if __name__ == "__main__":
    main()
