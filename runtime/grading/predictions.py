"""predictions.jsonl, the file of saved answers: the one module that reads and writes it.

One JSON object per line: the question's `row`, its data fields, the answer
(`model_output_str`), its `parsed` value and `score` once scored, and the model's per-answer
record (`runtime`) where the model reports one. Lines are separated by `\\n` only: an answer may
hold U+2028 or U+0085, which other line splitters would cut.

A run reads the file once, appends each answered batch with an fsync (a killed run loses at
most the batch in flight) and finalises it once, atomically, with every row's parsed answer and
score in data order. Lines of rows outside the run (beyond `--limit`) are kept as they are.
"""

from __future__ import annotations

import json
import operator
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.common.records import AnswerRecord
from runtime.grading.data import Question
from runtime.grading.parsers import parse_answer

PREDICTIONS_FILE = "predictions.jsonl"


class OutputDirError(RuntimeError):
    """The output directory holds answers that this run would overwrite or cannot reuse."""


@dataclass(frozen=True)
class AnsweredBy:
    """Which model (as `module:Class`) and weights wrote an answer: saved on its line, so that
    a resumed run never mixes two models' answers."""

    model: str
    weights: str | None = None

    def fields(self) -> dict[str, str | None]:
        return {"model": self.model, "weights": self.weights}

    def said(self) -> str:
        return self.model + (f" on {self.weights}" if self.weights else "")


def prediction_line(q: Question, answer: str, record: AnswerRecord | None,
                    by: AnsweredBy | None = None) -> dict[str, Any]:
    """The saved line of one answer, before scoring."""
    line: dict[str, Any] = {"row": q.row, **q.fields(), "model_output_str": answer}
    if by is not None:
        line.update(by.fields())
    line["parsed"] = parse_answer(answer, q.task_type) if q.task_type else None
    line["score"] = None
    if record is not None:
        line["runtime"] = record.as_json()
    return line


def _json_lines(path: Path) -> list[tuple[int, dict[str, Any] | None]]:
    """(line number, object or None when the line is cut short or not an object)."""
    decoded: list[tuple[int, dict[str, Any] | None]] = []
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise OutputDirError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason}); a "
                             f"{PREDICTIONS_FILE} is written as UTF-8") from None
    for number, text in enumerate(content.split("\n"), start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        decoded.append((number, value if isinstance(value, dict) else None))
    return decoded


def _dumps(line: dict[str, Any]) -> str:
    """One line of JSON, readable UTF-8 where it can be; a lone surrogate (which UTF-8 cannot
    encode) is written as its \\u escape instead, which reads back as the same string."""
    text = json.dumps(line, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(line)
    return text


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Turn a failed write (disk full, no permission) into one line that says what to do."""
    try:
        yield
    except OSError as err:
        raise OutputDirError(
            f"cannot write {path}: {err.strerror or err}: free some space or choose another "
            "--output-dir, then run again with --resume (the answers saved before are kept)"
        ) from err


def read_saved_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete line of a predictions file, as saved (lines cut short left out)."""
    return [line for _, line in _json_lines(path) if line is not None]


def _write_atomically(path: Path, lines: list[dict[str, Any]]) -> None:
    tmp = path.with_suffix(".tmp")
    try:
        with _writing(path), tmp.open("w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(_dumps(line) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only left when the write failed


@dataclass
class Predictions:
    """The saved answers of one run's questions, by row, and the file they live in."""

    path: Path
    by_row: dict[int, dict[str, Any]] = field(default_factory=dict)
    elsewhere: list[dict[str, Any]] = field(default_factory=list)  # other rows' lines, kept

    @classmethod
    def empty(cls, path: Path) -> Predictions:
        """A fresh file (any earlier content discarded: the caller was told to)."""
        with _writing(path):
            path.write_text("", encoding="utf-8")
        return cls(path)

    @classmethod
    def read(cls, path: Path, questions: list[Question], by: AnsweredBy | None = None,
             kin: Callable[[str, str], bool] = operator.eq) -> Predictions:
        """The saved lines of `questions` by row; refuse lines written for other prompts, or
        (given `by`) with other weights or by a model that is not `kin` to `by.model`.

        A line cut short by an interruption is noted on stderr and its row asked again."""
        saved = cls(path)
        if not path.is_file():
            return saved
        by_question = {q.row: q for q in questions}
        for number, line in _json_lines(path):
            if line is None or "row" not in line or "model_output_str" not in line:
                print(f"note: {path}:{number} is incomplete; that row is asked again",
                      file=sys.stderr)
                if line is not None:
                    saved.elsewhere.append(line)
                continue
            row, answer = line["row"], line["model_output_str"]
            if row not in by_question:
                saved.elsewhere.append(line)  # beyond --limit: kept, not used in this run
                continue
            if line.get("input_field") != by_question[row].input_field or \
                    not isinstance(answer, str):
                raise OutputDirError(
                    f"{path}:{number}: the saved answer for row {row} was written for a "
                    "different prompt; these predictions belong to other data. Use another "
                    "--output-dir.")
            if by is not None and "model" in line and not (
                    line.get("weights") == by.weights and kin(str(line["model"]), by.model)):
                other = AnsweredBy(str(line["model"]), line.get("weights"))
                raise OutputDirError(
                    f"{path}:{number}: the saved answers were written by {other.said()}, not "
                    f"by {by.said()}: pass --overwrite to start afresh, or choose another "
                    "--output-dir")
            saved.by_row[row] = line
        return saved

    @classmethod
    def read_any(cls, path: Path, questions: list[Question]) -> Predictions:
        """Saved answers as `read` takes them, or, where the first line has no row index (the
        organisers' kit writes the data rows plus `model_output_str`, in data order), matched to
        `questions` by position, each line's prompt checked against its question's."""
        lines = _json_lines(path)
        if not lines or lines[0][1] is None or "row" in lines[0][1]:
            return cls.read(path, questions)
        if len(lines) > len(questions):
            raise OutputDirError(f"{path}: {len(lines)} answers for {len(questions)} questions: "
                                 "these predictions belong to other data (check --data)")
        saved = cls(path)
        for position, ((number, line), question) in enumerate(
                zip(lines, questions, strict=False), start=1):
            if (line is None or not isinstance(line.get("model_output_str"), str)
                    or line.get("input_field") != question.input_field):
                raise OutputDirError(
                    f"{path}:{number}: not the answer to question {position} of the data (a "
                    "line without a row index must hold input_field and model_output_str, "
                    "in data order): check --predictions and --data")
            saved.by_row[question.row] = {**line, "row": question.row}
        return saved

    def lines(self) -> list[dict[str, Any]]:
        """Every line to keep: this run's rows in data order, then the others."""
        return [self.by_row[row] for row in sorted(self.by_row)] + [
            line for line in self.elsewhere if line.get("row") not in self.by_row]

    def rewrite(self) -> None:
        """The file again from what was read, without the lines cut short."""
        _write_atomically(self.path, self.lines())

    def end_cut_line(self) -> None:
        """End a line cut short by an interruption, so that the next answers start a line of
        their own; the cut line stays (it is skipped when read) until the file is finalised.
        Nothing is rewritten, so resuming needs no room for a second copy."""
        with self.path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() == 0:
                return
            handle.seek(-1, os.SEEK_END)
            ends_a_line = handle.read(1) == b"\n"
        if not ends_a_line:
            with _writing(self.path), self.path.open("a", encoding="utf-8") as handle:
                handle.write("\n")

    def copy_to(self, path: Path) -> Predictions:
        """This run's lines written to `path` (others left out), as the file from now on."""
        copy = Predictions(path, dict(self.by_row))
        copy.rewrite()
        return copy

    def append(self, lines: list[dict[str, Any]]) -> None:
        """Add one answered batch to the file, on disk before returning."""
        with _writing(self.path), self.path.open("a", encoding="utf-8") as handle:
            for line in lines:
                handle.write(_dumps(line) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        for line in lines:
            self.by_row[line["row"]] = line

    def answers(self) -> dict[int, str]:
        return {row: line["model_output_str"] for row, line in self.by_row.items()}

    def finalise(self, parsed_and_scores: dict[int, tuple[Any, float | None]]) -> None:
        """Write every row's parsed answer and score into the file, atomically."""
        for row, (parsed, score) in parsed_and_scores.items():
            if row in self.by_row:
                self.by_row[row] = {**self.by_row[row], "parsed": parsed, "score": score}
        self.rewrite()
