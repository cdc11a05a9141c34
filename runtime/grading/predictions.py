"""predictions.jsonl, the file of saved answers: the one module that reads and writes it.

One JSON object per line, a `PredictionLine`: the question's `row`, its data fields, the answer
(`model_output_str`), the model and weights that wrote it, its `parsed` value and `score` once
scored, and the model's per-answer record (`runtime`) where the model reports one.

A run reads the file once, appends each answered batch durably (a killed run loses at most the
batch in flight) and finalises it once, atomically, with every row's parsed answer and score in
data order. Lines of rows outside the run (beyond `--limit`) are kept as they are.
"""

from __future__ import annotations

import fcntl
import json
import operator
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from runtime.common.competition import MetricName, TaskType
from runtime.common.errors import one_line
from runtime.common.files import as_any_new_file
from runtime.common.records import AnswerRecord
from runtime.grading.questions import Question, json_lines
from runtime.grading.run_files import LOCK_FILE, PREDICTIONS_FILE, RUN_FILES
from runtime.grading.scoring import parsed_answer


class OutputDirError(RuntimeError):
    """The output directory holds answers that this run would overwrite or cannot reuse."""


class PredictionLine(BaseModel):
    """One line of predictions.jsonl. Fields are written in this order; a label the question
    does not have, and `runtime` for a model that reports no records, are left out."""

    # Fields another tool wrote on a line are kept as they are.
    model_config = ConfigDict(extra="allow")

    row: StrictInt = Field(description="The question's 0-based position in the data.")
    input_field: str = Field(description="The prompt, as the data has it.")
    is_multiple_choice: bool | None = Field(default=None, description="As the data has it.")
    output_field: Any = Field(default=None, description="The truth (labelled rows).")
    task_name: str | None = None
    task_type: TaskType | None = None
    metric: MetricName | None = None
    track: str | None = None
    model_output_str: str = Field(description="The answer, as batch_predict returned it.")
    model: str | None = Field(default=None, description="The model that answered, as "
                              "`module:Class`.")
    weights: str | None = Field(default=None, description="The weights it was given.")
    spec_key: str | None = Field(default=None, description="Digest of what made the answer "
                                 "(the run specification's model part: model, weights, "
                                 "configuration and prompt files); lines of earlier versions "
                                 "have none.")
    parsed: Any = Field(default=None, description="What the official parser reads.")
    score: float | None = Field(default=None, description="The answer's score; null until "
                                "scored, and for an unscored task.")
    runtime: AnswerRecord | None = Field(default=None, description="The model's account of "
                                         "the answer, where it reports one.")
    replica: StrictInt | None = Field(default=None, description="Which replica of a Ray "
                                      "cluster run answered; absent for one process.")

    def written(self) -> dict[str, Any]:
        """The line as saved: the fields given, in field order."""
        return self.model_dump(mode="json", exclude_unset=True)


class SpecChanged(OutputDirError):
    """Saved answers made under another model specification than this run's (`saved_key`)."""

    def __init__(self, message: str, saved_key: str) -> None:
        super().__init__(message)
        self.saved_key = saved_key


@dataclass(frozen=True)
class AnsweredBy:
    """Which model (as `module:Class`), weights and model specification (its key) wrote an
    answer: saved on its line, so that a resumed run never mixes answers made differently."""

    model: str
    weights: str | None = None
    spec_key: str | None = None

    def describe(self) -> str:
        return self.model + (f" on {self.weights}" if self.weights else "")


def prediction_line(q: Question, answer: str, record: AnswerRecord | None,
                    by: AnsweredBy | None = None, replica: int | None = None
                    ) -> PredictionLine:
    """The saved line of one answer, before scoring."""
    fields: dict[str, Any] = {"row": q.row, **q.fields(), "model_output_str": answer}
    if by is not None:
        fields.update(model=by.model, weights=by.weights)
        if by.spec_key is not None:
            fields["spec_key"] = by.spec_key
    fields.update(parsed=parsed_answer(answer, q.task_type) if q.task_type else None,
                  score=None)
    if record is not None:
        fields["runtime"] = record
    if replica is not None:
        fields["replica"] = replica
    return PredictionLine(**fields)


def dumps_line(value: Any) -> str:
    """One line of JSON, readable UTF-8 where it can be; a lone surrogate (which UTF-8 cannot
    encode) is written as its \\u escape instead, which reads back as the same string."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def write_durably(handle: IO[str], lines: Iterable[str]) -> None:
    """Write each line and its "\\n", then flush and fsync: on disk before returning."""
    for line in lines:
        handle.write(line + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def _whole_lines(path: Path) -> tuple[str, bool]:
    """The file's text up to its last complete line, and whether a line cut short (by a kill
    in the middle of a write) follows it: that fragment is no answer, whatever bytes it holds
    (it may end inside a character)."""
    content = path.read_bytes()
    whole, _, torn = content.rpartition(b"\n") if b"\n" in content else (b"", b"", content)
    return _utf8(path, whole) + ("\n" if whole else ""), bool(torn.strip())


def _utf8(path: Path, content: bytes) -> str:
    """A predictions file's bytes as text, or one line saying it is not UTF-8."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as err:
        raise OutputDirError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason}); a "
                             f"{PREDICTIONS_FILE} is written as UTF-8") from None


def _read_lines(path: Path) -> list[tuple[int, PredictionLine | dict[str, Any] | None]]:
    """(line number, the line) for every non-blank line: a `PredictionLine`, a JSON object
    that is not one (kept as it is, never used as an answer), or None for a line cut short."""
    text, torn = _whole_lines(path)
    read: list[tuple[int, PredictionLine | dict[str, Any] | None]] = []
    for number, value in json_lines(text):
        if isinstance(value, ValueError) and not isinstance(value, json.JSONDecodeError):
            raise OutputDirError(f"{path}:{number}: not a saved answer ({value}): fix or "
                                 "delete that line")
        if not isinstance(value, dict):
            read.append((number, None))
            continue
        try:
            read.append((number, PredictionLine.model_validate(value)))
        except ValidationError as err:
            if "row" in value and "model_output_str" in value:
                raise OutputDirError(f"{path}:{number}: not a saved answer ({one_line(err)}): "
                                     "fix or delete that line") from None
            read.append((number, value))
    if torn:
        read.append((text.count("\n") + 1, None))
    return read


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


def read_saved_lines(path: Path) -> list[PredictionLine]:
    """Every saved answer line of a predictions file (lines cut short left out)."""
    return [line for _, line in _read_lines(path) if isinstance(line, PredictionLine)]


def _as_text(line: PredictionLine | dict[str, Any]) -> str:
    return dumps_line(line.written() if isinstance(line, PredictionLine) else line)


def _write_atomically(path: Path, lines: list[PredictionLine | dict[str, Any]]) -> None:
    """Replace `path` with `lines` at once: a temporary file of its own beside it, then a
    rename; a failed write leaves the file as it was."""
    with _writing(path):
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with _writing(path), os.fdopen(handle, "w", encoding="utf-8") as out:
            write_durably(out, (_as_text(line) for line in lines))
            as_any_new_file(tmp)  # not mkstemp's 0600: the file reads as every other
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only left when the write failed



def _check_made_by(path: Path, number: int, line: PredictionLine, by: AnsweredBy,
                   same_model: Callable[[str, str], bool]) -> None:
    """A saved answer is this run's to reuse only when the same model specification made it
    (for lines that name none, the same model and weights)."""
    if line.spec_key is not None and by.spec_key is not None \
            and line.spec_key != by.spec_key:
        raise SpecChanged(f"{path}:{number}: the saved answers were made under another model "
                          "specification", line.spec_key)
    if line.model is not None and not (line.weights == by.weights
                                       and same_model(line.model, by.model)):
        other = AnsweredBy(line.model, line.weights)
        raise OutputDirError(
            f"{path}:{number}: the saved answers were written by {other.describe()}, not by "
            f"{by.describe()}: pass --overwrite to start afresh, or choose another "
            "--output-dir")




def make_output_dir(out: Path) -> bool:
    """Create the output folder, or say in one line why it cannot be; whether this call
    created it."""
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"{out} is a file, not a folder: choose another --output-dir")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputDirError(f"cannot write to {out}: {err.strerror or err}: choose another "
                             "--output-dir") from err
    if not os.access(out, os.W_OK):
        raise OutputDirError(f"cannot write to {out}: permission denied: choose another "
                             "--output-dir")
    return created


def remove_if_empty(out: Path) -> None:
    """A folder this command created, removed again when a failure left nothing in it."""
    try:
        out.rmdir()
    except OSError:
        pass  # not empty (a log of the failure, say), or gone: left as it is


def refuse_linked_run_files(out: Path) -> None:
    """A run's files are its own: one that is a link would send a write through to whatever
    it points at (saved answers, another run), so the folder is refused; the link is left."""
    for name in RUN_FILES:
        path = out / name
        if path.is_symlink():
            raise OutputDirError(f"{path} is a link (to {os.readlink(path)}): a run folder's "
                                 "files are written in place, never through links; remove the "
                                 "link or choose another --output-dir")


def lock_holder(folder: Path) -> str | None:
    """Who holds a run folder's lock (an evaluation or a re-scoring writing it now), or None.
    Nothing is created: a folder without a lock file is held by no one."""
    path = folder / LOCK_FILE
    try:
        handle = path.open("r", encoding="utf-8", errors="replace")
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "another process"
        except OSError:
            return None
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def refuse_a_running_folder(folder: Path) -> None:
    """One line, where another run is writing `folder` now: its files are not final."""
    holder = lock_holder(folder)
    if holder is not None:
        raise OutputDirError(f"{folder} is in use by another run ({holder}): wait for it to "
                             "end, then run this again")


@contextmanager
def holding_output_dir(out: Path) -> Iterator[None]:
    """The output folder, created where it is missing, for this process alone while the
    block runs: a second run (or a rescoring) into the same folder is refused at once, never
    interleaved. An advisory lock (flock) on a file in the folder; the system releases it
    when the process ends, however it ends."""
    make_output_dir(out)
    refuse_linked_run_files(out)
    path = out / LOCK_FILE
    created = not path.exists()
    with _writing(path):
        handle = path.open("a+", encoding="utf-8")
    failed, held = True, False
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise OutputDirError(f"{out} is in use by another run ({holder}): wait for it to "
                                 "end, or choose another --output-dir") from None
        held = True
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        yield
        failed = False
    finally:
        if failed and created and held:  # ours, and still held: not left behind
            path.unlink(missing_ok=True)
        handle.close()


@dataclass
class Predictions:
    """The saved answers of one run's questions, by row, and the file they live in."""

    path: Path
    by_row: dict[int, PredictionLine] = field(default_factory=dict)
    # Lines of rows outside this run, and objects that are no answer line, kept as they are.
    other_lines: list[PredictionLine | dict[str, Any]] = field(default_factory=list)
    # The file's earlier content is replaced by the first batch written, not before: a run that
    # stops before it has answered anything leaves the saved answers as they were.
    replaces_file: bool = False
    created: bool = False  # this run made the (empty) file: a failure before any answer removes it

    @classmethod
    def empty(cls, path: Path) -> Predictions:
        """No saved answers: a new file, or one replaced (the caller was told to) when the
        first batch is written."""
        if not path.exists():
            with _writing(path):
                path.write_text("", encoding="utf-8")
            return cls(path, created=True)
        return cls(path, replaces_file=True)

    def remove_if_unanswered(self) -> None:
        """The empty file this run made, removed when the run ends without an answer."""
        if self.created and self.path.is_file() and self.path.stat().st_size == 0:
            self.path.unlink()

    @classmethod
    def read(cls, path: Path, questions: list[Question], by: AnsweredBy | None = None,
             same_model: Callable[[str, str], bool] = operator.eq,
             quiet: bool = False, incomplete: str = "that row is asked again") -> Predictions:
        """The saved lines of `questions` by row; refuse lines written for other prompts, or
        (given `by`) under another model specification, or (lines of versions that saved no
        specification) with other weights or by a model for which `same_model(saved,
        by.model)` is false.

        A line cut short by an interruption is noted on stderr (unless `quiet`) and its row
        asked again."""
        saved = cls(path)
        if not path.is_file():
            return saved
        by_question = {q.row: q for q in questions}
        line_of_row: dict[int, int] = {}
        for number, line in _read_lines(path):
            if not isinstance(line, PredictionLine):
                if not quiet:
                    print(f"note: {path}:{number} is incomplete; {incomplete}",
                          file=sys.stderr)
                if line is not None:
                    saved.other_lines.append(line)
                continue
            if line.row not in by_question:
                saved.other_lines.append(line)  # outside this run's selection: kept as it is
                continue
            if line.input_field != by_question[line.row].input_field:
                raise OutputDirError(
                    f"{path}:{number}: the saved answer for row {line.row} was written for a "
                    "different prompt; these predictions belong to other data. Use another "
                    "--output-dir.")
            if by is not None:
                _check_made_by(path, number, line, by, same_model)
            if line.row in line_of_row:
                raise OutputDirError(
                    f"{path}: lines {line_of_row[line.row]} and {number} both answer row "
                    f"{line.row}: delete one of them (a file this runtime wrote never has two)")
            line_of_row[line.row] = number
            saved.by_row[line.row] = line
        return saved

    @property
    def outside_rows(self) -> list[int]:
        """Rows answered in the file that this run did not select."""
        return sorted({line.row for line in self.other_lines
                       if isinstance(line, PredictionLine)})

    @property
    def unspecified(self) -> int:
        """Saved answers of this run's rows whose line names no model specification (written
        by a version that saved none)."""
        return sum(line.spec_key is None for line in self.by_row.values())

    @classmethod
    def read_any(cls, path: Path, questions: list[Question]) -> Predictions:
        """Saved answers as `read` takes them, or, where the first line has no row index (the
        organisers' kit writes the data rows plus `model_output_str`, in data order), matched to
        `questions` by position, each line's prompt checked against its question's."""
        lines = list(json_lines(_utf8(path, path.read_bytes())))
        first = lines[0][1] if lines else None
        if not isinstance(first, dict) or "row" in first:
            return cls.read(path, questions, incomplete="that line is not scored")
        if len(lines) > len(questions):
            raise OutputDirError(f"{path}: {len(lines)} answers for {len(questions)} questions: "
                                 "these predictions belong to other data (check --data)")
        saved = cls(path)
        for position, ((number, value), question) in enumerate(
                zip(lines, questions, strict=False), start=1):
            if (not isinstance(value, dict) or not isinstance(value.get("model_output_str"), str)
                    or value.get("input_field") != question.input_field):
                raise OutputDirError(
                    f"{path}:{number}: not the answer to question {position} of the data (a "
                    "line without a row index must hold input_field and model_output_str, "
                    "in data order): check --predictions and --data")
            saved.by_row[question.row] = PredictionLine.model_validate(
                {**value, "row": question.row})
        return saved

    def lines(self) -> list[PredictionLine | dict[str, Any]]:
        """Every line to keep: this run's rows in data order, then the others."""
        kept = [line for line in self.other_lines if not (
            isinstance(line, PredictionLine) and line.row in self.by_row)]
        return [*(self.by_row[row] for row in sorted(self.by_row)), *kept]

    def rewrite(self) -> None:
        """The file again from what was read, without the lines cut short."""
        _write_atomically(self.path, self.lines())

    def drop_cut_line(self) -> None:
        """Cut off a line that an interruption left unfinished (it holds no answer), so that
        the next answers start a line of their own. Every complete line stays as it is and
        nothing is rewritten, so resuming needs no room for a second copy."""
        with _writing(self.path), self.path.open("r+b") as handle:
            end = handle.seek(0, os.SEEK_END)
            keep = end
            while keep > 0:  # back to the last newline, reading only the unfinished tail
                start = max(keep - 65536, 0)
                handle.seek(start)
                chunk = handle.read(keep - start)
                if b"\n" in chunk:
                    keep = start + chunk.rfind(b"\n") + 1
                    break
                keep = start
            if keep < end:
                handle.truncate(keep)
                handle.flush()
                os.fsync(handle.fileno())

    def copy_to(self, path: Path) -> Predictions:
        """This run's lines written to `path` (others left out), as the file from now on."""
        copy = Predictions(path, dict(self.by_row))
        copy.rewrite()
        return copy

    def append_batch(self, lines: list[PredictionLine]) -> None:
        """Add one answered batch to the file, on disk before returning (the first batch of a
        run that replaces the file's answers replaces them, at once)."""
        if self.replaces_file:
            _write_atomically(self.path, list(lines))
            self.replaces_file = False
        else:
            with _writing(self.path), self.path.open("a", encoding="utf-8") as handle:
                write_durably(handle, (_as_text(line) for line in lines))
        for line in lines:
            self.by_row[line.row] = line

    def answers_all(self, questions: list[Question]) -> bool:
        """Whether every one of `questions` has a saved answer whose line names its model."""
        return all(q.row in self.by_row and self.by_row[q.row].model is not None
                   for q in questions)

    def answers(self) -> dict[int, str]:
        return {row: line.model_output_str for row, line in self.by_row.items()}

    def finalise(self, parsed_and_scores: dict[int, tuple[Any, float | None]]) -> None:
        """Write every row's parsed answer and score into the file, atomically."""
        for row, (parsed, score) in parsed_and_scores.items():
            if row in self.by_row:
                self.by_row[row] = self.by_row[row].model_copy(
                    update={"parsed": parsed, "score": score})
        self.rewrite()
