"""The question record and the data-set loader.

Owns the typed `Question` record and loading a development file (JSON lines or one JSON array)
into validated records once; the benchmark's vocabulary is `runtime/common/competition.py`. Every
error names the file, the line (or array item) and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from runtime.common.competition import (
    METRIC_NAMES,
    METRICS_FOR_TASK_TYPE,
    TASK_TYPES,
    TRACKS,
    MetricName,
    TaskType,
)
from runtime.common.prompt_lines import choice_options
from runtime.common.shopping_mmlu import NO_SKILL, Semantics
from runtime.common.wording import naturally
from runtime.grading.metrics import METRICS

LABEL_FIELDS = ("output_field", "task_name", "task_type", "metric", "track")
# The label fields whose values are the competition's names: field -> (what it is, the names).
_VOCABULARY: dict[str, tuple[str, tuple[str, ...]]] = {
    "task_type": ("task type", TASK_TYPES),
    "metric": ("metric", METRIC_NAMES),
    "track": ("track", (*TRACKS, NO_SKILL)),
}


class DataError(ValueError):
    """A data file that cannot be read as questions; the message says where and why."""


def _label_error(field: str, why: str) -> PydanticCustomError:
    """A row's problem with one field, worded as every data error is."""
    return PydanticCustomError("label", "field '{field}': {why}", {"field": field, "why": why})


class Labels(NamedTuple):
    """What a labelled row says about itself besides its truth."""

    task_name: str
    task_type: TaskType
    metric: MetricName
    track: str


class Question(BaseModel):
    """One row of a data set, validated once when loaded: types strictly, labels against the
    competition's vocabulary, and the truth against the shape table's check for its metric.
    `row` is its 0-based position: answers are keyed by it, never by prompt text (duplicate
    prompts are legal). Label fields are None for unlabelled test rows."""

    model_config = ConfigDict(frozen=True, strict=True)

    row: int = Field(description="0-based position among the loaded questions.")
    input_field: str = Field(description="The prompt as the grader sends it.")
    is_multiple_choice: bool = Field(description="Whether the answer is one option number.")
    output_field: Any = Field(default=None, description="The truth (labelled rows).")
    task_name: str | None = None
    task_type: TaskType | None = None
    metric: MetricName | None = None
    track: str | None = None
    line: int = Field(default=0, description="Line (or array item) in the data file.")

    @field_validator("task_type", "metric", "track", mode="before")
    @classmethod
    def _in_vocabulary(cls, value: Any, info: ValidationInfo) -> Any:
        """Names outside the vocabulary worded as the data's error (not pydantic's); a value of
        another type is left to the type check."""
        what, known = _VOCABULARY[str(info.field_name)]
        if isinstance(value, str) and value not in known:
            raise ValueError(f"unknown {what} {value!r} (expected one of {', '.join(known)})")
        return value

    @model_validator(mode="after")
    def _labels_agree(self, info: ValidationInfo) -> Question:
        labels = {name: getattr(self, name) for name in LABEL_FIELDS}
        if all(value is None for value in labels.values()) and not (
                info.context or {}).get("require_labels"):
            return self
        for name, value in labels.items():
            if value is None:
                raise _label_error(name, "missing")
        task_type, metric = str(self.task_type), str(self.metric)
        if metric not in METRICS_FOR_TASK_TYPE[task_type]:
            raise _label_error("metric", f"{metric!r} cannot score task type {task_type!r}")
        if (task_type == "multiple-choice") != self.is_multiple_choice:
            raise _label_error("is_multiple_choice", "must be true exactly for multiple-choice")
        problem = truth_problem(metric, self.output_field, self.input_field)
        if problem:
            raise _label_error("output_field", f"for metric {metric!r} it {problem}")
        return self

    @property
    def labels(self) -> Labels:
        """The labels of a labelled row: scoring and profiling read labelled rows only (the
        loader requires labels unless told otherwise)."""
        if (self.task_name is None or self.task_type is None or self.metric is None
                or self.track is None):
            raise DataError(f"row {self.row} (line {self.line}) has no labels: score and "
                            "profile labelled data")
        return Labels(self.task_name, self.task_type, self.metric, self.track)

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


def truth_problem(metric: str, value: Any, prompt: str | None = None) -> str | None:
    """Why `value` cannot be the truth of a question scored by `metric` (and, for a choice,
    given its `prompt`, why it is not one of the prompt's options)."""
    truth = METRICS[metric].truth
    try:
        truth.type.validate_python(value, strict=True)
    except ValidationError:
        return truth.wants
    if metric == "accuracy" and prompt is not None:
        return _choice_truth_problem(value, prompt)
    return None


def _choice_truth_problem(value: int, prompt: str) -> str | None:
    """A choice's truth must be an answer the prompt offers. Where no option lines are
    printed, all that is known is that option numbers are not negative."""
    found = choice_options(prompt)
    answers = found.answers or found.options
    if value < 0:
        return f"is {value}, and option numbers are not negative"
    if found.texts and value not in answers:
        return f"is {value}, not one of the prompt's options ({', '.join(map(str, answers))})"
    return None


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
    benchmark: Semantics = "shopbench"  # whose files: the KDD Cup's, or Shopping MMLU's
    notes: tuple[str, ...] = ()  # what loading chose that the user should hear of


# pydantic's wording of a type error, in the words of the data format.
_TYPE_WORDING = {"missing": "missing", "string_type": "must be a string",
                 "bool_type": "must be true or false"}


def _problem(err: ValidationError) -> str:
    """The first problem of a row as "field 'x': why"."""
    first = err.errors()[0]
    if first["type"] == "label" or not first["loc"]:
        return str(first["msg"]).removeprefix("Value error, ")
    why = _TYPE_WORDING.get(first["type"], str(first["msg"]).removeprefix("Value error, "))
    return f"field '{first['loc'][0]}': {why}"


def _row_to_question(raw: Any, row: int, line: int, require_labels: bool) -> Question:
    """Validate one decoded row; raise ValueError("field 'x': why") on the first problem."""
    if not isinstance(raw, dict):
        raise ValueError(f"row is a {type(raw).__name__}, not a JSON object")
    fields = {name: raw.get(name) for name in LABEL_FIELDS}
    for name in ("input_field", "is_multiple_choice"):
        if name not in raw:
            raise ValueError(f"field '{name}': missing")
        fields[name] = raw[name]
    try:
        return Question.model_validate({**fields, "row": row, "line": line},
                                       context={"require_labels": require_labels})
    except ValidationError as err:
        raise ValueError(_problem(err)) from None


def json_lines(text: str) -> Iterator[tuple[int, Any | ValueError]]:
    """(line number, decoded value, or the error that line gave) for every non-blank line of
    JSON lines (data files, saved answers). A line ends at "\\n" only: a prompt or an answer
    may hold U+2028 or U+0085, which other line splitters cut."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as err:  # not JSON, or an integer past Python's digit limit
            yield number, err
        except RecursionError:
            yield number, ValueError("nested too deeply")


def decoded_rows(path: Path, text: str) -> Iterator[tuple[int, Any | ValueError]]:
    """Yield (line, decoded row or the decoding error) for JSON lines or one JSON array."""
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: line {err.lineno}: not valid JSON: {err.msg}") from err
        except ValueError as err:  # an integer past Python's digit limit
            raise DataError(f"{path}: not valid JSON: {err}") from None
        except RecursionError:
            raise DataError(f"{path}: not valid JSON: nested too deeply") from None
        if not isinstance(items, list):
            raise DataError(f"{path}: not a JSON array of rows")
        yield from enumerate(items, start=1)
        return
    for number, value in json_lines(text):
        if isinstance(value, json.JSONDecodeError):
            value = ValueError(f"not valid JSON: {value.msg} (column {value.colno})")
        elif isinstance(value, ValueError):
            value = ValueError(f"not valid JSON: {value}")
        yield number, value


def _same_as_its_task(question: Question, first_of_task: dict[str, Question],
                      where: str) -> None:
    """A task has one task type and one track: a row that disagrees with its task's first row is
    refused (its scores would be merged under the wrong metric or track). Metrics may differ
    within the task type: the development set's translation task scores its Japanese rows
    with jp-bleu, the others with bleu."""
    if question.task_name is None:
        return
    first = first_of_task.setdefault(question.task_name, question)
    for name in ("task_type", "track"):
        value, expected = getattr(question, name), getattr(first, name)
        if value != expected:
            raise ValueError(f"field '{name}': {value!r}, but task {question.task_name!r} has "
                             f"{expected!r} ({where} {first.line}); one task has one {name}")


def load_questions(
    path: str | Path, *, skip_invalid: bool = False, require_labels: bool = True
) -> DataSet:
    """Load and validate a data file once.

    A bad row raises DataError naming the file, line and field; with `skip_invalid` such rows are
    dropped and listed in `DataSet.skipped` instead. JSON arrays report the item number as line.
    """
    path = Path(path)
    text = read_data_text(path)
    where = "item" if text.lstrip().startswith("[") else "line"
    return questions_from_rows(path, decoded_rows(path, text), where,
                               skip_invalid=skip_invalid, require_labels=require_labels)


def read_data_text(path: Path) -> str:
    """A data file's text, or one line saying why it cannot be read."""
    if not path.is_file():
        raise DataError(f"{path}: no such data file")
    try:
        return path.read_text(encoding="utf-8-sig")  # a byte-order mark is not data
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason}): save it "
                        "as UTF-8") from None


def questions_from_rows(
    path: Path, rows: Iterable[tuple[int, Any | ValueError]], where: str = "line", *,
    skip_invalid: bool = False, require_labels: bool = True,
) -> DataSet:
    """Validate decoded rows ((line, row or the error that line gave)) of the data file `path`
    into questions, the way `load_questions` describes; other file formats decode their rows
    into the development format's fields and come here."""
    questions: list[Question] = []
    skipped: list[InvalidRow] = []
    first_of_task: dict[str, Question] = {}
    for line, raw in rows:
        try:
            if isinstance(raw, ValueError):
                raise raw
            question = _row_to_question(raw, len(questions), line, require_labels)
            _same_as_its_task(question, first_of_task, where)
            questions.append(question)
        except ValueError as err:
            message = f"{path}: {where} {line}: {err}"
            if not skip_invalid:
                raise DataError(message) from None
            skipped.append(InvalidRow(line=line, message=message))
    if not questions:
        raise DataError(f"{path}: no valid questions")
    return DataSet(path=path, questions=questions, skipped=skipped)


def select_questions(
    questions: list[Question], *, tracks: Sequence[str] = (), tasks: Sequence[str] = (),
    task_types: Sequence[str] = (), limit: int | None = None,
) -> list[Question]:
    """The questions that every given filter names (a filter names any of its values), then at
    most `limit` of them spread over the tracks, task types and tasks: the first question of
    each task (the tasks ordered to reach every track first, then every task type), then the
    second of each, and so on, so that a few questions still cover every track.

    A filter value that names no question of the data is an error that lists what there is."""
    chosen = questions
    for name, wanted in (("track", tracks), ("task_name", tasks), ("task_type", task_types)):
        if not wanted:
            continue
        present = naturally({str(getattr(q, name)) for q in questions})
        absent = [value for value in wanted if value not in present]
        if absent:
            raise DataError(f"no question has {name} {absent[0]!r}; the data has "
                            f"{', '.join(present)}")
        chosen = [q for q in chosen if getattr(q, name) in wanted]
    if not chosen:
        raise DataError("no question matches all the filters given together")
    if limit is None or limit >= len(chosen):
        return chosen
    by_task: dict[str, list[Question]] = {}
    for q in chosen:
        by_task.setdefault(q.task_name or q.task_type or "", []).append(q)
    order = _spread_order(by_task)
    taken: list[Question] = []
    for depth in range(max(len(members) for members in by_task.values())):
        taken += [by_task[name][depth] for name in order if depth < len(by_task[name])]
        if len(taken) >= limit:
            break
    return sorted(taken[:limit], key=lambda q: q.row)


def _spread_order(by_task: dict[str, list[Question]]) -> list[str]:
    """The tasks in the order a limit takes their questions: each next task the one that adds
    a track not yet reached, else a task type not yet reached, else a track's task type not yet
    reached, from the track with the fewest tasks taken so far (ties in data order), so that a
    few questions reach every track, then every task type, as far as the limit allows."""
    remaining = [(name, members[0].track or "", members[0].task_type or "")
                 for name, members in by_task.items()]
    tracks: set[str] = set()
    types: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    taken_in: dict[str, int] = {}
    order: list[str] = []
    while remaining:
        best = max(remaining, key=lambda item: (
            item[1] not in tracks, item[2] not in types, (item[1], item[2]) not in pairs,
            -taken_in.get(item[1], 0)))
        remaining.remove(best)
        name, track, task_type = best
        order.append(name)
        tracks.add(track)
        types.add(task_type)
        pairs.add((track, task_type))
        taken_in[track] = taken_in.get(track, 0) + 1
    return order
