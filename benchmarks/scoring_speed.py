"""Batched embedding scoring against one embedding call per answer (the organisers' way).

Generates N answer/truth pairs for the sent-transformer metric, scores them both ways with the
real all-MiniLM-L6-v2, and prints both times, the speed-up and the largest score difference.
Target: at least 5 times faster, identical scores.

    .venv/bin/python benchmarks/scoring_speed.py [--n 1200]
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np

from runtime.common.embeddings import bundled_minilm_path, load_encoder
from runtime.grading.metrics import sentence_similarity

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


def one_call_per_answer(encoder, answers: list[str], truths: list[str]) -> list[float]:
    scores = []
    for answer, truth in zip(answers, truths, strict=True):
        a = encoder.encode([answer])[0]
        t = encoder.encode([truth])[0]
        score = float((a * t).sum() / (np.linalg.norm(a, ord=2) * np.linalg.norm(t, ord=2)))
        scores.append(score if score > 0 else 0.0)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1200)
    args = parser.parse_args()
    minilm = bundled_minilm_path()
    if minilm is None:
        raise SystemExit("error: all-MiniLM-L6-v2 is not installed: run scripts/setup.sh")
    encoder = load_encoder(minilm)
    answers, truths = generated_pairs(args.n)
    encoder.encode(["warm up"])

    started = time.perf_counter()
    batched = sentence_similarity(answers, truths, encoder)
    batched_s = time.perf_counter() - started
    started = time.perf_counter()
    single = one_call_per_answer(encoder, answers, truths)
    single_s = time.perf_counter() - started

    difference = max(abs(a - b) for a, b in zip(batched, single, strict=True))
    print(f"answers scored:             {args.n}")
    print(f"batched scorer:             {batched_s:8.2f} s")
    print(f"one call per answer:        {single_s:8.2f} s")
    print(f"speed-up:                   {single_s / batched_s:8.1f} x   (target >= 5 x)")
    print(f"largest score difference:   {difference:.2e}  (float32 embedding noise)")
    print(f"mean score (batched/single): {np.mean(batched):.6f} / {np.mean(single):.6f}")


if __name__ == "__main__":
    main()
