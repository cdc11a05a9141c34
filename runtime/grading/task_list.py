"""`python -m runtime tasks --data PATH ...`: what a data set holds, before anything is run.

Loaded exactly as the evaluation loads it (the same files, folders, validation and errors):
the scoring scheme the files get by default, their groups of tasks (tracks, or Shopping MMLU's
skills), every task with its type, metric(s) and question count, and for each metric that
needs a sentence-embedding model whether one is available and how to provide it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from runtime.common.wording import counted, naturally
from runtime.grading.config import ScoringConfig
from runtime.grading.data_paths import data_label, load_data
from runtime.grading.metrics import EMBEDDING_MODEL_FOR_METRIC
from runtime.grading.schemes import scheme_of
from runtime.grading.scoring import missing_metric_models


@dataclass(frozen=True)
class TaskRow:
    name: str
    task_type: str
    metrics: list[str]
    group: str
    questions: int


@dataclass(frozen=True)
class TaskList:
    data: str
    scheme: str
    scheme_chosen: bool  # given (--scoring), not the files' default
    group: str
    groups: dict[str, int]  # group name -> questions
    tasks: list[TaskRow]
    embedding_models: dict[str, str]  # metric -> "available at PATH" or what to do
    questions: int
    skipped: list[str]


def list_tasks(paths: list[Path], config: ScoringConfig | None = None,
               skip_invalid: bool = False) -> TaskList:
    config = config or ScoringConfig()
    dataset = load_data(paths, skip_invalid=skip_invalid)
    scheme = scheme_of(config.semantics or dataset.benchmark)
    by_task: dict[str, list[Any]] = {}
    for q in dataset.questions:
        by_task.setdefault(q.labels.task_name, []).append(q)
    tasks = [TaskRow(name, str(members[0].task_type),
                     sorted({str(q.metric) for q in members}),
                     scheme.group_name(str(members[0].track)), len(members))
             for name, members in ((n, by_task[n]) for n in naturally(by_task))]
    groups: dict[str, int] = {}
    for task in tasks:
        groups[task.group] = groups.get(task.group, 0) + task.questions
    missing = missing_metric_models(dataset.questions, config)
    needed = sorted({m for t in tasks for m in t.metrics if m in EMBEDDING_MODEL_FOR_METRIC})
    models = {metric: missing.get(metric) or "available at "
              f"{config.embedding_models[EMBEDDING_MODEL_FOR_METRIC[metric]]}"
              for metric in needed}
    return TaskList(data_label(paths), scheme.name, config.semantics is not None,
                    scheme.group, groups, tasks, models,
                    len(dataset.questions), [s.message for s in dataset.skipped])


def task_list_lines(listing: TaskList) -> list[str]:
    """The listing as plain text: the scheme, the groups, one line per task."""
    scheme = scheme_of(listing.scheme)
    lines = [f"data: {listing.data}: {counted(listing.questions, 'question')} in "
             f"{counted(len(listing.tasks), 'task')}",
             f"scoring: {scheme.name} ({scheme.words}; "
             f"{'as chosen' if listing.scheme_chosen else 'the default for these files'})", "",
             f"{listing.group}s:"]
    lines += [f"  {name}: {counted(n, 'question')}" for name, n in listing.groups.items()]
    width = max(len(t.name) for t in listing.tasks)
    lines += ["", "tasks:"]
    lines += [f"  {t.name:<{width}}  {t.task_type:<24} {', '.join(t.metrics):<20} "
              f"{t.questions:>6}  {t.group}" for t in listing.tasks]
    if listing.embedding_models:
        lines += ["", "embedding models the metrics need:"]
        lines += [f"  {metric}: {state}" for metric, state in listing.embedding_models.items()]
    if listing.skipped:
        lines += ["", f"skipped invalid rows: {len(listing.skipped)}"]
    return lines


def task_list_json(listing: TaskList) -> dict[str, Any]:
    return asdict(listing)
