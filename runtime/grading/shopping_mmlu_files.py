"""Shopping MMLU's files read into questions: skill files and task-wise files.

- A skill file (`data/skills/skill1_concept.json` ...) is JSON lines in the development format;
  a row without `track` takes its skill from the file name, one without `is_multiple_choice`
  takes it from `task_type`.
- A task-wise file (`data/<folder>/<task>_dataset.<csv|json>`) gets its task name from its
  file name, its task type from its folder and its metric from both, as Shopping MMLU's
  scripts do; a multiple-choice CSV's rows are printed as its prompt (question, numbered
  options, "Answer: "). Its skill is the one a skill file loaded with it gives its task, if any.

Every row then goes through the development format's validation (`data.questions_from_rows`),
so a question reads the same from either layout, and every error names file, line and field.
"""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runtime.common.competition import METRICS_FOR_TASK_TYPE, TRACKS
from runtime.common.shopping_mmlu import (
    CHOICE_COUNT,
    CSV_COLUMNS,
    MULTIPLE_CHOICE_FOLDER,
    NO_SKILL,
    RATING_TASK,
    SKILL_FILE,
    SKILLS_FOLDER,
    TASK_WISE_FOLDERS,
    TASK_WISE_SUFFIX,
    generation_metric,
    task_wise_choice_prompt,
)
from runtime.grading.questions import (
    DataError,
    DataSet,
    decoded_rows,
    questions_from_rows,
    read_data_text,
)

DATA_SUFFIXES = (".json", ".jsonl", ".csv")


def looks_like_skill_file(path: Path) -> bool:
    """A file that claims to be a skill file: in a `skills` folder, or named `skill…_`."""
    name = path.name.lower()
    return path.suffix in (".json", ".jsonl") and (
        path.parent.name == SKILLS_FOLDER or (name.startswith("skill") and "_" in name))


def skill_of_file(path: Path) -> str:
    """The skill (as its track id) that a skill file's name gives."""
    match = SKILL_FILE.match(path.name)
    if match is None:
        raise DataError(f"{path}: unknown skill file name: Shopping MMLU's skill files are "
                        "named skill1_*.json to skill4_*.json (the digit is the skill); rename "
                        "it, or give its rows a 'track'")
    return list(TRACKS)[int(match.group(1)) - 1]


def task_wise_type(path: Path) -> str | None:
    """The task type of a task-wise file (by its folder), or None when it is not one."""
    if path.suffix == ".csv":
        return "multiple-choice"
    if path.suffix == ".json" and path.stem.endswith(TASK_WISE_SUFFIX):
        return TASK_WISE_FOLDERS.get(path.parent.name)
    return None


def task_name_of(path: Path) -> str:
    return path.stem.removesuffix(TASK_WISE_SUFFIX)


def load_skill_file(path: Path, *, skip_invalid: bool = False,
                    require_labels: bool = True) -> DataSet:
    skill = skill_of_file(path)
    text = read_data_text(path)

    def completed(rows: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
        for line, raw in rows:
            if isinstance(raw, dict):
                raw = {"track": skill, **raw}
                if "is_multiple_choice" not in raw and isinstance(raw.get("task_type"), str):
                    raw["is_multiple_choice"] = raw["task_type"] == "multiple-choice"
            yield line, raw

    return questions_from_rows(path, completed(decoded_rows(path, text)),
                               skip_invalid=skip_invalid, require_labels=require_labels)


def load_task_wise_file(path: Path, skill_of_task: dict[str, str], *,
                        skip_invalid: bool = False) -> DataSet:
    task_type = task_wise_type(path)
    if task_type is None:
        folders = ", ".join(f for f in TASK_WISE_FOLDERS if f != MULTIPLE_CHOICE_FOLDER)
        raise DataError(f"{path}: not a Shopping MMLU task-wise file (a <task>_dataset.json in "
                        f"a folder named {folders}, or a multiple-choice CSV)")
    task = task_name_of(path)
    labels = {"task_name": task, "task_type": task_type,
              "track": skill_of_task.get(task, NO_SKILL),
              "metric": generation_metric(task) if task_type == "generation"
              else METRICS_FOR_TASK_TYPE[task_type][0]}
    rows = _csv_rows(path, task) if task_type == "multiple-choice" else _json_rows(path)
    labelled = ((line, {**raw, **labels} if isinstance(raw, dict) else raw)
                for line, raw in rows)
    return questions_from_rows(path, labelled, skip_invalid=skip_invalid)


def _json_rows(path: Path) -> Iterator[tuple[int, Any]]:
    for line, raw in decoded_rows(path, read_data_text(path)):
        if isinstance(raw, dict):
            if "target_field" not in raw:
                raw = ValueError("field 'target_field': missing")
            else:
                raw = {"input_field": raw.get("input_field"), "is_multiple_choice": False,
                       "output_field": raw["target_field"]}
        yield line, raw


# The longest CSV field read (the csv module's own default is 131,072 characters): a product
# description may be long, and a whole file is already in memory when it is parsed.
CSV_FIELD_LIMIT = 64 * 2**20


def _csv_rows(path: Path, task: str) -> Iterator[tuple[int, Any]]:
    rating = RATING_TASK in task
    needed = [c for c in CSV_COLUMNS if not (rating and c == "choices")]
    text = read_data_text(path)
    limit = csv.field_size_limit(CSV_FIELD_LIMIT)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        records = [(reader.line_num, record) for record in reader]
    except csv.Error as err:
        raise DataError(f"{path}: line {reader.line_num}: not readable as CSV ({err}): a field "
                        f"may be up to {CSV_FIELD_LIMIT // 2**20} MiB; check its quoting") from None
    finally:
        csv.field_size_limit(limit)
    absent = [c for c in needed if c not in (reader.fieldnames or [])]
    if absent:
        raise DataError(f"{path}: column '{absent[0]}' missing: a task-wise multiple-choice "
                        f"file has the columns {', '.join(needed)}")
    for number, record in records:
        try:
            yield number, _choice_row(record, rating)
        except ValueError as err:
            yield number, err


def _choice_row(record: dict[str, Any], rating: bool) -> dict[str, Any]:
    question = record["question"] or ""
    if rating:
        prompt = question + "\nAnswer: "
    else:
        prompt = task_wise_choice_prompt(question, _choices(record["choices"]))
    answer = (record["answer"] or "").strip()
    try:
        truth = int(answer)
    except ValueError:
        raise ValueError(f"column 'answer': {answer!r} is not an option number") from None
    return {"input_field": prompt, "is_multiple_choice": True, "output_field": truth}


def _choices(cell: str | None) -> list[str]:
    """The `choices` cell: a Python list literal of four option texts."""
    problem = f"column 'choices': not a Python list literal of {CHOICE_COUNT} option texts"
    try:
        value = ast.literal_eval((cell or "").strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError(f"{problem} ({(cell or '')[:40]!r})") from None
    if (not isinstance(value, list) or len(value) != CHOICE_COUNT
            or not all(isinstance(item, str) for item in value)):
        raise ValueError(f"{problem} (it reads as {type(value).__name__} "
                         f"of {len(value) if isinstance(value, list) else 1})")
    return value


def benchmark_files_in(folder: Path) -> tuple[list[Path], list[Path]]:
    """The skill files and the task-wise files under a folder (Shopping MMLU's `data/`, or one
    of its subfolders), each sorted."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES)
    skills = [p for p in files if looks_like_skill_file(p)]
    task_wise = [p for p in files if p not in skills and task_wise_type(p) is not None
                 and (p.suffix != ".csv" or p.parent.name == MULTIPLE_CHOICE_FOLDER)]
    return skills, task_wise
