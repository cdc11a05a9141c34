"""Shopping MMLU's own readings of an answer, reproduced exactly, quirks included.

Shopping MMLU scores the raw output with its own metric functions; each reads the answer its
own way before the same formulas as the KDD Cup grader's (hit rate, NDCG, entity counts,
ROUGE-L, BLEU, cosine). This module is those readings, so that `runtime.grading.metrics`
scores both benchmarks from what each reads. Like `parsers.py`, it is never "improved".

- accuracy: the output stripped of spaces only (not newlines); its first character compared
  with the truth written as a string. Read here as that character's digit (-1 for anything
  else), which equals the comparison for the one-digit truths choices have.
- hit rate@3: the output stripped, split on commas as a whole (their first-line branch is
  overwritten, so a newline does not cut it), each piece read with Python's `int()`, others
  skipped, the first three kept.
- NDCG: with a newline in it, the output's surrounding newlines cut and its first line kept;
  stripped, split on commas, `int()` pieces kept (the metric cuts them to the truth's length).
- micro F1: leading newlines cut, the first line, spaces stripped, split on commas; empty
  pieces dropped before each is lower-cased and stripped (so " " stays, as ""); no Python list
  literal.
- generation: the raw output (ROUGE-L, BLEU's first line and the embeddings read it as is).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.grading.parsers import integer_pieces

ASCII_DIGITS = "0123456789"


def read_choice(response: str) -> int:
    stripped = response.strip(" ")
    if stripped == "" or stripped[0] not in ASCII_DIGITS:
        return -1
    return int(stripped[0])


def read_retrieval(response: str) -> list[int]:
    return integer_pieces(response.strip().split(","))[:3]


def read_ranking(response: str) -> list[int]:
    if "\n" in response:
        response = response.strip("\n").split("\n")[0]
    return integer_pieces(response.strip().split(","))


def read_entities(response: str) -> list[str]:
    line = response.lstrip("\n").split("\n")[0].strip(" ")
    return [piece.lower().strip(" ") for piece in line.split(",") if piece != ""]


def read_generation(response: str) -> str:
    return response


# Shopping MMLU's reading for each task type's metric.
READERS: dict[str, Callable[[str], Any]] = {
    "multiple-choice": read_choice,
    "retrieval": read_retrieval,
    "ranking": read_ranking,
    "named_entity_recognition": read_entities,
    "generation": read_generation,
}


def read_answer(response: str, task_type: str) -> Any:
    """What Shopping MMLU's metric for `task_type` reads out of the whole raw answer."""
    if not isinstance(response, str):
        raise TypeError(f"an answer must be a string, got {type(response).__name__}")
    if task_type not in READERS:
        raise ValueError(f"unknown task type {task_type!r}")
    return READERS[task_type](response)
