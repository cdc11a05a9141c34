"""Scoring saved answers exactly as the leaderboard does, and aggregating them.

Parses every answer with the official parsers, scores each metric's rows in one batch, then
aggregates: task score (mean, or micro F1 over the task), track score (mean of its tasks),
track 5 (mean of tracks 1-4) and the organisers' "mean over tasks", each under its own name.
Tasks whose metric needs an embedding model that is not available are reported as unscored and
left out of every average, visibly.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runtime.common.competition import TRACKS, MetricName, TaskType
from runtime.common.embeddings import Encoder, load_encoder
from runtime.common.shopping_mmlu import Semantics
from runtime.common.wording import natural_key
from runtime.grading.config import ScoringConfig
from runtime.grading.intervals import (
    AllBounds,
    Bounds,
    Resampled,
    TaskUnits,
    bounds,
    resample_runs,
    units_of_task,
)
from runtime.grading.metrics import EMBEDDING_MODEL_FOR_METRIC, METRICS
from runtime.grading.parsers import is_parse_failure
from runtime.grading.questions import Question
from runtime.grading.schemes import scheme_of


class MissingMetricModel(RuntimeError):
    """Strict scoring was asked for and a metric's embedding model is missing."""


@dataclass
class RowScore:
    row: int
    parsed: Any
    parse_failure: bool
    score: float | None


@dataclass
class TaskResult:
    task_name: str
    task_type: TaskType
    metric: MetricName
    track: str
    num_samples: int
    score: float | None
    parse_failures: int
    unscored_reason: str | None = None
    interval: tuple[float, float] | None = None
    interval_note: str | None = None  # why there is no interval


@dataclass
class TrackResult:
    track: str
    score: float | None
    num_tasks: int
    unscored_tasks: list[str] = field(default_factory=list)
    interval: tuple[float, float] | None = None
    interval_note: str | None = None
    num_questions: int = 0  # of its scored tasks


@dataclass
class Scores:
    rows: dict[int, RowScore]
    tasks: list[TaskResult]
    tracks: dict[str, TrackResult]
    overall: float | None
    tracks_in_overall: list[str]
    tasks_mean: float | None
    notes: list[str]
    overall_interval: tuple[float, float] | None = None
    tasks_mean_interval: tuple[float, float] | None = None
    semantics: Semantics = "shopbench"
    overall_interval_note: str | None = None
    tasks_mean_interval_note: str | None = None
    num_questions: int = 0  # of the scored tasks


def missing_metric_models(questions: list[Question], config: ScoringConfig) -> dict[str, str]:
    """Metric name -> why it cannot be scored, for each embedding metric the data needs."""
    problems: dict[str, str] = {}
    for metric in sorted({q.metric for q in questions if q.metric in EMBEDDING_MODEL_FOR_METRIC}):
        model = EMBEDDING_MODEL_FOR_METRIC[metric]
        path = config.embedding_models.get(model)
        if path is None:
            where = "no path is configured for it"
        elif not (Path(path) / "config.json").is_file():
            where = f"nothing usable at {path}"
        else:
            continue
        tasks = sorted({q.labels.task_name for q in questions if q.metric == metric},
                       key=natural_key)
        problems[metric] = (
            f"metric {metric!r} needs the sentence-transformers model {model!r}, but {where}. "
            f"Provide a local copy with --embedding-model {model}=/path/to/{model} "
            f"(or `embedding_models` in the scoring configuration). "
            f"Affected tasks: {', '.join(tasks)}."
        )
    return problems


def check_metric_models(questions: list[Question], config: ScoringConfig) -> dict[str, str]:
    """Say which metrics cannot be scored, from the configured folders' files alone (the
    models load when scoring needs them, once); with `strict`, raise instead."""
    problems = missing_metric_models(questions, config)
    if problems and config.strict:
        raise MissingMetricModel("\n".join(problems.values()))
    return problems


def as_utf8(answer: str) -> str:
    """The answer as UTF-8 text carries it: a lone surrogate (which a model's string may hold
    but no UTF-8 text can, and which the metrics' tokenizers refuse) becomes "?"."""
    return answer.encode("utf-8", "replace").decode("utf-8")


def parsed_answer(answer: str, task_type: str, semantics: Semantics | None = None) -> Any:
    """What the official parser (`semantics`: the KDD Cup grader's, or Shopping MMLU's own
    reading) reads of an answer, as UTF-8 text carries it: the one place an answer is parsed."""
    return scheme_of(semantics).read(as_utf8(answer), task_type)


def load_metric_model(model: str, config: ScoringConfig) -> Encoder:
    """Load a metric's embedding model (once per process), or say in one line why it cannot
    be: done before any answer is generated, so a wrong folder costs no generation."""
    path = config.embedding_models[model]
    print(f"loading the embedding model {model} for its metric...", file=sys.stderr)
    try:
        return load_encoder(path, config.device)
    # The loader's failures are many kinds (torch, transformers, JSON); each means this folder.
    except Exception as err:  # noqa: BLE001
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise MissingMetricModel(f"{path} does not load as the sentence-transformers model "
                                 f"{model} ({reason}): fix --embedding-model {model}=PATH"
                                 ) from err


def _start_loading(models: list[str], config: ScoringConfig) -> dict[str, Future[Encoder]]:
    """Load `models` on a background thread (importing torch and reading the weights takes
    seconds that the other metrics can use); each future raises what the load raised."""
    if not models:
        return {}
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedding-load")
    loading = {model: pool.submit(load_metric_model, model, config) for model in models}
    pool.shutdown(wait=False)  # the submitted loads still run; the thread ends after them
    return loading


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def score_answers(
    questions: list[Question],
    answers: dict[int, str],
    config: ScoringConfig,
    encoders: dict[str, Encoder] | None = None,
) -> Scores:
    """Score `answers` (row -> raw answer string) for labelled `questions`.

    Rows without an answer are not scored. `encoders` may hold already loaded embedding models
    keyed by model name; the others are loaded from `config.embedding_models`.
    """
    missing = missing_metric_models(questions, config)
    scheme = scheme_of(config.semantics)
    encoders = dict(encoders or {})
    answered = [q for q in questions if q.row in answers]
    by_metric: dict[MetricName, list[Question]] = defaultdict(list)
    for q in answered:
        by_metric[q.labels.metric].append(q)
    needed = {EMBEDDING_MODEL_FOR_METRIC[m] for m in by_metric
              if m in EMBEDDING_MODEL_FOR_METRIC and m not in missing}
    loading = _start_loading(sorted(needed - set(encoders)), config)

    # Parsing and the other metrics come first: they run while the embedding models load.
    rows: dict[int, RowScore] = {}
    for q in answered:
        task_type = q.labels.task_type
        parsed = parsed_answer(answers[q.row], task_type, scheme.name)
        rows[q.row] = RowScore(q.row, parsed, is_parse_failure(parsed, task_type), None)
    for metric in sorted(by_metric, key=lambda m: m in EMBEDDING_MODEL_FOR_METRIC):
        group = by_metric[metric]
        if metric in missing:
            continue
        encoder = None
        model = EMBEDDING_MODEL_FOR_METRIC.get(metric)
        if model is not None:
            if model not in encoders:
                encoders[model] = loading[model].result()
            encoder = encoders[model]
        predictions = [rows[q.row].parsed for q in group]
        truths = [q.output_field for q in group]
        sample_scores = METRICS[metric].score(predictions, truths, encoder)
        for q, value in zip(group, sample_scores, strict=True):
            rows[q.row].score = value

    tasks = _task_results(answered, rows, missing)
    tracks = _track_results(tasks)
    scored_tracks = [t for t in tracks.values() if t.score is not None]
    overall = _mean([t.score for t in scored_tracks if t.score is not None])
    tasks_mean = _mean([t.score for t in tasks if t.score is not None])
    resampled = _resampled(answered, rows, tasks, config)
    notes = list(missing.values()) + _no_entities_notes(tasks, rows, answered)
    unscored = [t.task_name for t in tasks if t.score is None]
    if unscored:
        notes.append(f"Averages exclude unscored tasks: {', '.join(unscored)}.")
    ungrouped = [t.task_name for t in tasks if t.track not in TRACKS]
    if ungrouped and scheme.leaderboard_row:
        notes.append(f"{len(ungrouped)} tasks have no {scheme.group} ({', '.join(ungrouped[:5])}"
                     f"{', ...' if len(ungrouped) > 5 else ''}): task-wise files carry no "
                     f"{scheme.group}; load the skill files with them to map tasks to "
                     f"{scheme.group}s. They count in the mean over tasks only.")
    absent = [scheme.group_name(t) for t in TRACKS if t not in tracks or tracks[t].score is None]
    if absent and scored_tracks:
        notes.append(f"The overall score is the mean of the {scheme.group}s present, so it is "
                     f"not {scheme.overall_short}; missing: {', '.join(absent)}.")
    found = AllBounds({}, {}, Bounds(), Bounds())
    if resampled is not None:
        found = bounds(resampled, {t.task_name: t.num_samples for t in tasks},
                       {t.task_name: t.track for t in tasks}, config.confidence,
                       config.interval_min_questions)
    for task in tasks:
        task.interval, task.interval_note = _fields(found.tasks.get(task.task_name))
    for name, track in tracks.items():
        track.interval, track.interval_note = _fields(found.tracks.get(name))
    scored = [t for t in tasks if t.score is not None]
    return Scores(
        rows=rows,
        tasks=tasks,
        tracks=tracks,
        overall=overall,
        tracks_in_overall=[t.track for t in scored_tracks],
        tasks_mean=tasks_mean,
        notes=notes,
        overall_interval=found.overall.interval,
        tasks_mean_interval=found.tasks_mean.interval,
        semantics=scheme.name,
        overall_interval_note=found.overall.note,
        tasks_mean_interval_note=found.tasks_mean.note,
        num_questions=sum(t.num_samples for t in scored),
    )


def _fields(found: Bounds | None) -> tuple[tuple[float, float] | None, str | None]:
    return (found.interval, found.note) if found is not None else (None, None)


def _no_entities_notes(tasks: list[TaskResult], rows: dict[int, RowScore],
                       answered: list[Question]) -> list[str]:
    """Micro-F1 tasks where no answer names any entity: both benchmarks' code divides by zero
    there; such a task scores 0, and says so."""
    naming = {q.task_name for q in answered if rows[q.row].parsed}  # one pass over answers
    notes = []
    for task in tasks:
        if task.metric == "micro f1" and task.score is not None and task.task_name not in naming:
            notes.append(f"Task {task.task_name}: no answer names an entity, so its micro F1 is "
                         "0/0 (the benchmarks' own code divides by zero here); scored 0.")
    return notes


def task_units(answered: list[Question], rows: dict[int, RowScore],
               tasks: list[TaskResult]) -> list[TaskUnits]:
    """The scored tasks' answers as the bootstrap resamples them, in row order."""
    by_task: dict[str, list[Question]] = defaultdict(list)
    for q in answered:
        by_task[q.labels.task_name].append(q)
    return [units_of_task(task.task_name, task.metric, task.track,
                          [rows[q.row].parsed for q in by_task[task.task_name]],
                          [q.output_field for q in by_task[task.task_name]],
                          [rows[q.row].score or 0.0 for q in by_task[task.task_name]])
            for task in tasks if task.score is not None]


def _resampled(answered: list[Question], rows: dict[int, RowScore], tasks: list[TaskResult],
               config: ScoringConfig) -> Resampled | None:
    units = task_units(answered, rows, tasks)
    if not units or config.bootstrap_resamples == 0:
        return None
    return resample_runs([units], config.bootstrap_resamples, config.bootstrap_seed)[0]


def _task_results(
    answered: list[Question], rows: dict[int, RowScore], missing: dict[str, str]
) -> list[TaskResult]:
    by_task: dict[str, list[Question]] = defaultdict(list)
    for q in answered:
        by_task[q.labels.task_name].append(q)
    results = []
    for name in sorted(by_task, key=natural_key):
        group = by_task[name]
        first = group[0].labels
        metric = first.metric
        failures = sum(rows[q.row].parse_failure for q in group)
        if metric in missing:
            score, reason = None, missing[metric]
        else:
            predictions = [rows[q.row].parsed for q in group]
            truths = [q.output_field for q in group]
            sample_scores = [rows[q.row].score or 0.0 for q in group]
            score = METRICS[metric].aggregate(predictions, truths, sample_scores)
            reason = None
        results.append(
            TaskResult(
                task_name=name,
                task_type=first.task_type,
                metric=metric,
                track=first.track,
                num_samples=len(group),
                score=score,
                parse_failures=failures,
                unscored_reason=reason,
            )
        )
    return results


def _track_results(tasks: list[TaskResult]) -> dict[str, TrackResult]:
    tracks: dict[str, TrackResult] = {}
    for track in TRACKS:
        members = [t for t in tasks if t.track == track]
        if not members:
            continue
        tracks[track] = TrackResult(
            track=track,
            score=_mean([t.score for t in members if t.score is not None]),
            num_tasks=len(members),
            unscored_tasks=[t.task_name for t in members if t.score is None],
            num_questions=sum(t.num_samples for t in members if t.score is not None),
        )
    return tracks
