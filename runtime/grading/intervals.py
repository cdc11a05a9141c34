"""Error bars: bootstrap intervals over questions for every score, and paired ones for the
difference of two runs.

Tasks are fixed and questions are resampled within their task (a task keeps its size), then
every aggregate is recomputed from the resampled task scores exactly as the score itself is:
a track is the mean of its tasks, track 5 the mean of the tracks, the organisers' figure the
mean of the tasks; a micro-F1 task sums its resampled entity counts before taking F1. A
resample of n answers is how often each answer is drawn, so a task's resampled scores are one
matrix product of those counts with its answers' rows (`Metric.units`), for all resamples at
once.

scipy.stats.bootstrap resamples one pool of observations; it has no strata, so it would let a
task's size vary from resample to resample and could not hold tasks fixed. The percentile
interval here is the one it calls "percentile".

Paired intervals draw the same questions for both runs, so what the two runs have in common
(a hard question is hard for both) cancels out of the difference.

Resampling within a task of one question never varies, and within a task of two hardly does:
such a task gets no interval, and neither does any aggregate it is part of (a track, the
overall score, the mean over tasks), since holding it fixed would make that interval look
narrower than it is. `bounds` says why in the interval's place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from runtime.common.competition import TRACKS
from runtime.common.wording import naturally
from runtime.grading.metrics import METRICS


@dataclass(frozen=True)
class TaskUnits:
    """One task's answers as resampling sees them: rows whose column sums give its score."""

    name: str
    metric: str
    track: str
    rows: np.ndarray  # one row per answer, columns as `Metric.units` gives them


@dataclass(frozen=True)
class Resampled:
    """Every score recomputed on each resample: one value per resample."""

    tasks: dict[str, np.ndarray]
    tracks: dict[str, np.ndarray]
    overall: np.ndarray | None
    tasks_mean: np.ndarray | None


def units_of_task(name: str, metric: str, track: str, predictions: Sequence[object],
                  truths: Sequence[object], scores: Sequence[float]) -> TaskUnits:
    return TaskUnits(name, metric, track, METRICS[metric].units(predictions, truths, scores))


def resample_counts(size: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of `size` answers is drawn in each resample: a (resamples, size) matrix
    whose rows each sum to `size`."""
    drawn = rng.integers(0, size, (resamples, size))
    # One bincount over all resamples at once (each resample's draws offset into its own row):
    # several times faster than numpy's multinomial here.
    offsets = drawn + np.arange(resamples)[:, None] * size
    return np.bincount(offsets.ravel(), minlength=resamples * size).reshape(
        resamples, size).astype(float)


def _aggregates(tasks: dict[str, np.ndarray], track_of: dict[str, str]) -> Resampled:
    tracks: dict[str, np.ndarray] = {}
    for track in TRACKS:
        members = [values for name, values in tasks.items() if track_of[name] == track]
        if members:
            tracks[track] = np.mean(members, axis=0)
    overall = np.mean(list(tracks.values()), axis=0) if tracks else None
    tasks_mean = np.mean(list(tasks.values()), axis=0) if tasks else None
    return Resampled(tasks, tracks, overall, tasks_mean)


def resample_runs(runs: Sequence[Sequence[TaskUnits]], resamples: int,
                  seed: int) -> list[Resampled]:
    """Every score of each run on the same resamples of questions. The runs must list the
    same tasks with their answers in the same order (paired); one run is the plain case."""
    rng = np.random.default_rng(seed)
    tasks: list[dict[str, np.ndarray]] = [{} for _ in runs]
    track_of = {task.name: task.track for task in runs[0]}
    for index, first in enumerate(runs[0]):
        counts = resample_counts(len(first.rows), resamples, rng)
        of_sums = METRICS[first.metric].of_sums
        for run, scores in zip(runs, tasks, strict=True):
            scores[first.name] = of_sums(counts @ run[index].rows, len(first.rows))
    return [_aggregates(scores, track_of) for scores in tasks]


def interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central `confidence` share of the resampled values (percentile interval)."""
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def excludes_zero(bounds: tuple[float, float]) -> bool:
    return bounds[0] > 0 or bounds[1] < 0


@dataclass(frozen=True)
class Bounds:
    """An interval, or why a score has none (`note`)."""

    interval: tuple[float, float] | None = None
    note: str | None = None


@dataclass(frozen=True)
class AllBounds:
    tasks: dict[str, Bounds]
    tracks: dict[str, Bounds]
    overall: Bounds
    tasks_mean: Bounds


def too_few(sizes: dict[str, int], tasks: Iterable[str], minimum: int) -> str | None:
    """Why the tasks' questions are too few for an interval, or None when they are enough."""
    small = [(name, sizes[name]) for name in naturally(tasks) if sizes[name] < minimum]
    if not small:
        return None
    if len(small) == 1:
        name, count = small[0]
        return (f"too few questions for an interval: task {name} has {count} ({minimum} "
                "needed)")
    return (f"too few questions for an interval: {len(small)} tasks have fewer than "
            f"{minimum} ({', '.join(f'{n} {c}' for n, c in small[:3])}"
            f"{', ...' if len(small) > 3 else ''})")


def bounds(resampled: Resampled, sizes: dict[str, int], track_of: dict[str, str],
           confidence: float, minimum: int) -> AllBounds:
    """Every score's interval from its resampled values, withheld (with the reason) where a
    task it rests on has fewer than `minimum` questions. `sizes`: questions per task."""
    def of(values: np.ndarray | None, tasks: list[str]) -> Bounds:
        if values is None:
            return Bounds()
        note = too_few(sizes, tasks, minimum)
        return Bounds(note=note) if note else Bounds(interval(values, confidence))

    names = list(resampled.tasks)
    return AllBounds(
        tasks={name: of(values, [name]) for name, values in resampled.tasks.items()},
        tracks={track: of(values, [n for n in names if track_of[n] == track])
                for track, values in resampled.tracks.items()},
        overall=of(resampled.overall, names),
        tasks_mean=of(resampled.tasks_mean, names))

