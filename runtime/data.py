"""The question record and the data-set loader.

Owns the typed `Question` record and loading a development file (JSON lines or one JSON array)
into validated records once; the benchmark's vocabulary is `runtime/competition.py`. Every
error names the file, the line (or array item) and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.competition import METRIC_NAMES, METRICS_FOR_TASK_TYPE, TASK_TYPES, TRACKS

LABEL_FIELDS = ("output_field", "task_name", "task_type", "metric", "track")


class DataError(ValueError):
    """A data file that cannot be read as questions; the message says where and why."""


@dataclass(frozen=True)
class Question:
    """One row of a data set. `row` is its 0-based position: answers are keyed by it, never by
    prompt text (duplicate prompts are legal). Label fields are None for unlabelled test rows."""

    row: int
    input_field: str
    is_multiple_choice: bool
    output_field: Any = None
    task_name: str | None = None
    task_type: str | None = None
    metric: str | None = None
    track: str | None = None
    line: int = 0

    @property
    def labelled(self) -> bool:
        return self.metric is not None

    def fields(self) -> dict[str, Any]:
        """The row as it appears in the data format."""
        out: dict[str, Any] = {
            "input_field": self.input_field,
            "is_multiple_choice": self.is_multiple_choice,
        }
        for name in LABEL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True)
class InvalidRow:
    """A row dropped by `skip_invalid`, with the reason it was refused."""

    line: int
    message: str


@dataclass(frozen=True)
class DataSet:
    path: Path
    questions: list[Question]
    skipped: list[InvalidRow]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _truth_problem(metric: str, truth: Any) -> str | None:
    """Why `truth` cannot be the truth of `metric`, or None when it can."""
    if metric == "accuracy":
        return None if _is_int(truth) else "must be an integer option number"
    if metric == "hit rate@3":
        ok = isinstance(truth, list) and truth and all(_is_int(x) for x in truth)
        return None if ok else "must be a non-empty list of integer indices"
    if metric == "ndcg":
        ok = isinstance(truth, list) and truth and all(_is_number(x) for x in truth)
        return None if ok else "must be a non-empty list of relevance numbers"
    if metric == "micro f1":
        ok = isinstance(truth, list) and all(isinstance(x, str) for x in truth)
        return None if ok else "must be a list of entity strings"
    if metric in ("sent-transformer", "multilingual-sent-transformer"):
        if isinstance(truth, str):
            return None
        ok = isinstance(truth, list) and truth and all(isinstance(x, str) for x in truth)
        return None if ok else "must be a string or a non-empty list of strings"
    return None if isinstance(truth, str) else "must be a string"


def _row_to_question(raw: Any, row: int, line: int, require_labels: bool) -> Question:
    """Validate one decoded row; raise ValueError("field 'x': why") on the first problem."""
    if not isinstance(raw, dict):
        raise ValueError(f"row is a {type(raw).__name__}, not a JSON object")
    required = ["input_field", "is_multiple_choice"]
    if require_labels:
        required += list(LABEL_FIELDS)
    for name in required:
        if name not in raw:
            raise ValueError(f"field '{name}': missing")
    if not isinstance(raw["input_field"], str):
        raise ValueError("field 'input_field': must be a string")
    if not isinstance(raw["is_multiple_choice"], bool):
        raise ValueError("field 'is_multiple_choice': must be true or false")
    labels = {name: raw.get(name) for name in LABEL_FIELDS}
    if any(labels[name] is not None for name in LABEL_FIELDS) or require_labels:
        _check_labels(labels, raw["is_multiple_choice"])
    return Question(
        row=row,
        input_field=raw["input_field"],
        is_multiple_choice=raw["is_multiple_choice"],
        line=line,
        **labels,
    )


def _check_labels(labels: dict[str, Any], is_multiple_choice: bool) -> None:
    for name in LABEL_FIELDS:
        if labels[name] is None:
            raise ValueError(f"field '{name}': missing")
    for name in ("task_name", "task_type", "metric", "track"):
        if not isinstance(labels[name], str):
            raise ValueError(f"field '{name}': must be a string")
    task_type, metric, track = labels["task_type"], labels["metric"], labels["track"]
    if task_type not in TASK_TYPES:
        raise ValueError(f"field 'task_type': unknown task type {task_type!r} "
                         f"(expected one of {', '.join(TASK_TYPES)})")
    if metric not in METRIC_NAMES:
        raise ValueError(f"field 'metric': unknown metric {metric!r} "
                         f"(expected one of {', '.join(METRIC_NAMES)})")
    if metric not in METRICS_FOR_TASK_TYPE[task_type]:
        raise ValueError(f"field 'metric': {metric!r} cannot score task type {task_type!r}")
    if track not in TRACKS:
        raise ValueError(f"field 'track': unknown track {track!r} "
                         f"(expected one of {', '.join(TRACKS)})")
    if (task_type == "multiple-choice") != is_multiple_choice:
        raise ValueError("field 'is_multiple_choice': must be true exactly for multiple-choice")
    problem = _truth_problem(metric, labels["output_field"])
    if problem:
        raise ValueError(f"field 'output_field': for metric {metric!r} it {problem}")


def _decoded_rows(path: Path, text: str) -> Iterator[tuple[int, Any | ValueError]]:
    """Yield (line, decoded row or the decoding error) for JSON lines or one JSON array."""
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: line {err.lineno}: not valid JSON: {err.msg}") from err
        yield from enumerate(items, start=1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as err:
            yield number, ValueError(f"not valid JSON: {err.msg} (column {err.colno})")


def load_questions(
    path: str | Path, *, skip_invalid: bool = False, require_labels: bool = True
) -> DataSet:
    """Load and validate a data file once.

    A bad row raises DataError naming the file, line and field; with `skip_invalid` such rows are
    dropped and listed in `DataSet.skipped` instead. JSON arrays report the item number as line.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such data file")
    text = path.read_text(encoding="utf-8")
    is_array = text.lstrip().startswith("[")
    where = "item" if is_array else "line"
    questions: list[Question] = []
    skipped: list[InvalidRow] = []
    for line, raw in _decoded_rows(path, text):
        try:
            if isinstance(raw, ValueError):
                raise raw
            questions.append(_row_to_question(raw, len(questions), line, require_labels))
        except ValueError as err:
            message = f"{path}: {where} {line}: {err}"
            if not skip_invalid:
                raise DataError(message) from None
            skipped.append(InvalidRow(line=line, message=message))
    if not questions:
        raise DataError(f"{path}: no valid questions")
    return DataSet(path=path, questions=questions, skipped=skipped)
