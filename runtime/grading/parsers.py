"""The official answer parsers, reproduced exactly, quirks included.

This module decides what the leaderboard reads out of an answer string. It must never be
"improved": an answer that parses badly here parses badly on the leaderboard. Improvements
belong in `runtime.postprocess`, which shapes answers so that these rules accept them.

Quirks kept on purpose (see FACTS.md):
- only the first 5,000 characters are read;
- multiple choice reads the first character after stripping (`int()` of it, so "10" reads 1);
- ranking and retrieval keep only numeric characters, commas and spaces, split on commas and
  skip any piece that is not an integer ("1 2" is one piece and is skipped); ranking drops
  integers above 5, keeps the first 5 and empties the list on any duplicate;
- entity lists are a Python list literal of strings, otherwise comma-separated pieces.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

MAX_RESPONSE_CHARACTERS = 5000

# What each parser returns when it cannot read an answer; the grader scores these as wrong.
FAILURE_VALUES: dict[str, Any] = {
    "multiple-choice": -1,
    "ranking": [],
    "retrieval": [],
    "named_entity_recognition": [],
    "generation": "",
}


def parse_multiple_choice(response: str) -> int:
    try:
        return int(response.strip()[0])
    except (IndexError, ValueError):
        return -1


def integer_pieces(pieces: list[str]) -> list[int]:
    """Each piece that Python's `int()` reads, in order; the others skipped (both benchmarks'
    graders read list answers this way, each after its own cutting)."""
    numbers: list[int] = []
    for piece in pieces:
        try:
            numbers.append(int(piece))
        except ValueError:
            continue
    return numbers


def _comma_separated_integers(response: str) -> list[int]:
    kept = "".join(c for c in response if c.isnumeric() or c in (",", " "))
    return integer_pieces(kept.split(","))


def parse_ranking(response: str) -> list[int]:
    ranked = [n for n in _comma_separated_integers(response) if n <= 5][:5]
    if len(ranked) != len(set(ranked)):
        return []
    return ranked


def parse_retrieval(response: str) -> list[int]:
    return _comma_separated_integers(response)[:3]


def parse_named_entities(response: str) -> list[str]:
    try:
        value = ast.literal_eval(response)
    except Exception:  # noqa: BLE001 - literal_eval raises many types; the grader catches all
        value = None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return [piece.strip() for piece in response.split(",") if piece.strip() != ""]


def parse_generation(response: str) -> str:
    return response.strip()


# The grader's parser of each task type.
PARSERS: dict[str, Callable[[str], Any]] = {
    "multiple-choice": parse_multiple_choice,
    "ranking": parse_ranking,
    "retrieval": parse_retrieval,
    "named_entity_recognition": parse_named_entities,
    "generation": parse_generation,
}


def parse_answer(response: str, task_type: str) -> Any:
    """Parse one raw answer the way the grader does for `task_type` (the data's names)."""
    if not isinstance(response, str):
        raise TypeError(f"an answer must be a string, got {type(response).__name__}")
    if task_type not in PARSERS:
        raise ValueError(f"unknown task type {task_type!r}")
    return PARSERS[task_type](response[:MAX_RESPONSE_CHARACTERS])


def is_parse_failure(parsed: Any, task_type: str) -> bool:
    """True when the parser produced its failure value (-1, an empty list, an empty string)."""
    return parsed == FAILURE_VALUES[task_type]
