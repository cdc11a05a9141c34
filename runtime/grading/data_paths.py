"""`--data`: one or several paths (KDD Cup data files, Shopping MMLU skill or task-wise files,
or a folder in Shopping MMLU's layout) loaded into one validated set of questions, with the
benchmark they belong to (which picks the default scoring semantics).

A folder gives its skill files when it holds any (the leaderboard's per-skill protocol), and
says that the task-wise files beside them were left out; otherwise its task-wise files. A
task-wise file takes its task's skill from the skill files loaded with it. Rows are numbered
across all files in the order given, so answers stay keyed by one row number.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from runtime.common.prompt_lines import normalised
from runtime.common.shopping_mmlu import NO_SKILL
from runtime.grading.questions import DataError, DataSet, InvalidRow, Question, load_questions
from runtime.grading.shopping_mmlu_files import (
    benchmark_files_in,
    load_skill_file,
    load_task_wise_file,
    looks_like_skill_file,
    task_wise_type,
)


def _expanded(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """Every data file the paths name, folders opened, and notes on what a folder left out."""
    files: list[Path] = []
    notes: list[str] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        skills, task_wise = benchmark_files_in(path)
        if not skills and not task_wise:
            raise DataError(f"{path}: no benchmark files in this folder (Shopping MMLU's skill "
                            "files skills/skill1_*.json ..., or task-wise files "
                            "multiple_choice/*_dataset.csv, retrieval/*_dataset.json ...): give "
                            "a data file or Shopping MMLU's data folder")
        files += skills or task_wise
        if skills and task_wise:
            notes.append(f"{path}: read its {len(skills)} skill files; the {len(task_wise)} "
                         "task-wise files beside them hold the same tasks and were not read "
                         "(name them to evaluate them)")
    return files, notes


def _each_file_once(files: list[Path]) -> None:
    """The same file named twice (itself, a link to it, or inside a folder also given) would
    count each of its questions twice: refused."""
    seen: dict[tuple[int, int], Path] = {}
    for path in files:
        try:
            found = path.stat()
        except OSError:
            continue  # the loader says what is wrong with it
        identity = (found.st_dev, found.st_ino)
        if identity in seen:
            raise DataError(f"{path}: the same file as {seen[identity]}, given twice: give each "
                            "data file once")
        seen[identity] = path


def _kind(questions: list[Question]) -> tuple[str, str, tuple[str, ...]]:
    """A task's type, track and metrics, as one file gives them."""
    first = questions[0]
    return (str(first.task_type), str(first.track),
            tuple(sorted({str(q.metric) for q in questions})))


def _one_task_one_kind(files: list[Path], loaded: dict[Path, DataSet]) -> None:
    """A task is one task across all files of a run: one type, one track and the same metrics
    wherever it is named; a name used two ways is one error naming both files."""
    seen: dict[str, tuple[Path, tuple[str, str, tuple[str, ...]]]] = {}
    for path in files:
        by_task: dict[str, list[Question]] = {}
        for q in loaded[path].questions:
            if q.task_name is not None:
                by_task.setdefault(q.task_name, []).append(q)
        for name, members in by_task.items():
            kind = _kind(members)
            if name not in seen:
                seen[name] = (path, kind)
                continue
            other, was = seen[name]
            if was != kind:
                raise DataError(
                    f"task {name!r} is {_words(was)} in {other} but {_words(kind)} in {path}: "
                    "one task has one type, track and metric; rename one of them")


def _words(kind: tuple[str, str, tuple[str, ...]]) -> str:
    task_type, track, metrics = kind
    return f"{task_type} ({', '.join(metrics)}; {track})"


def _repeated(q: Question, path: Path,
              first_of: dict[tuple[str, str], tuple[Path, Question]]) -> str | None:
    """Why `q` repeats a question of its task already loaded (the same prompt, compared
    normalised), or None; the first one is kept."""
    key = (q.task_name or q.task_type or "", normalised(q.input_field))
    if key not in first_of:
        first_of[key] = (path, q)
        return None
    other, first = first_of[key]
    return (f"{path}: line {q.line}: the same question as {other} line {first.line} (task "
            f"{key[0]}), given twice: each question counts once (--skip-invalid drops the "
            "repeat)")


def _is_shopping_mmlu(path: Path) -> bool:
    return looks_like_skill_file(path) or task_wise_type(path) is not None


def load_data(paths: Path | Sequence[Path], *, skip_invalid: bool = False,
              require_labels: bool = True) -> DataSet:
    """Load the questions of every path once, validated, numbered across files."""
    given = [paths] if isinstance(paths, Path) else list(paths)
    if not given:
        raise DataError("no data given: pass --data with a data file or folder")
    files, notes = _expanded(given)
    _each_file_once(files)
    kinds = {_is_shopping_mmlu(f) for f in files}
    if len(kinds) > 1:
        raise DataError("--data mixes KDD Cup data files and Shopping MMLU files, which score "
                        "by different rules: evaluate them in separate runs")
    loaded: dict[Path, DataSet] = {}
    for path in files:  # skill files first: task-wise files take their tasks' skills
        if looks_like_skill_file(path):
            loaded[path] = load_skill_file(path, skip_invalid=skip_invalid,
                                           require_labels=require_labels)
        elif not _is_shopping_mmlu(path):
            loaded[path] = load_questions(path, skip_invalid=skip_invalid,
                                          require_labels=require_labels)
    skill_of_task = {q.task_name: q.track for data in loaded.values() for q in data.questions
                     if q.task_name and q.track and q.track != NO_SKILL}
    for path in files:
        if path not in loaded:
            loaded[path] = load_task_wise_file(path, skill_of_task, skip_invalid=skip_invalid)
    _one_task_one_kind(files, loaded)
    questions: list[Question] = []
    skipped: list[InvalidRow] = []
    first_of: dict[tuple[str, str], tuple[Path, Question]] = {}
    for path in files:
        skipped += loaded[path].skipped
        for q in loaded[path].questions:
            repeat = _repeated(q, path, first_of)
            if repeat is not None:
                if not skip_invalid:
                    raise DataError(repeat)
                skipped.append(InvalidRow(line=q.line, message=repeat))
                continue
            questions.append(q.model_copy(update={"row": len(questions)}))
    return DataSet(path=given[0], questions=questions, skipped=skipped,
                   benchmark="shopping-mmlu" if kinds == {True} else "shopbench",
                   notes=tuple(notes))


def data_label(paths: Path | Sequence[Path]) -> str:
    """The data of a run as its reports name it: the path, or the paths joined."""
    given = [paths] if isinstance(paths, Path) else list(paths)
    return ", ".join(str(p) for p in given)
