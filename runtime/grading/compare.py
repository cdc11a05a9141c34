"""Two evaluation runs side by side: `python -m runtime compare RUN_A RUN_B`.

Reads each run's results.json (task, track and track-5 scores) and predictions.jsonl (each
answer's score) and says what changed from A to B: per task, per track, track 5, and the
questions whose score changed most (matched by row, and only where both runs asked the same
prompt). Neither run's files are changed: the comparison is written beside them (or where
`--output` says), never over one of a run's own files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from runtime.common.competition import track_name
from runtime.common.errors import one_line
from runtime.common.settings import ConfigError, read_json_object
from runtime.grading.config import ScoringConfig
from runtime.grading.intervals import (
    TaskUnits,
    excludes_zero,
    interval,
    resample_runs,
    units_of_task,
)
from runtime.grading.metrics import METRICS
from runtime.grading.predictions import (
    LOCK_FILE,
    PREDICTIONS_FILE,
    PredictionLine,
    read_saved_lines,
)
from runtime.grading.report import table_cell
from runtime.grading.results import CHART_FILE, REPORT_FILE, RESULTS_FILE, Results

# What every run folder holds (and may not yet, while a run is starting).
RUN_FILES = {PREDICTIONS_FILE, RESULTS_FILE, REPORT_FILE, CHART_FILE, LOCK_FILE}
# Scores this close are the same score: float sums in another order differ by about 1e-16.
SAME_SCORE = 1e-6


@dataclass(frozen=True)
class Change:
    """One score in both runs; None where a run has no score."""

    name: str
    before: float | None
    after: float | None
    # The paired bootstrap interval of after - before over the questions both runs scored.
    interval: tuple[float, float] | None = None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def significant(self) -> bool:
        """Whether the paired interval of the difference excludes 0."""
        return self.interval is not None and excludes_zero(self.interval)

    @property
    def changed(self) -> bool:
        """A real change, not the rounding of two sums taken in another order."""
        return self.delta is not None and abs(self.delta) > SAME_SCORE


@dataclass(frozen=True)
class QuestionChange:
    row: int
    task_name: str
    prompt: str
    answer_before: str
    answer_after: str
    change: Change


@dataclass(frozen=True)
class Comparison:
    before: Path
    after: Path
    tasks: list[Change]
    tracks: list[Change]
    track5: Change
    questions: list[QuestionChange]  # the largest changes first
    matched_questions: int
    notes: list[str]  # what makes the two runs differ besides their answers


def refuse_a_runs_own_file(output: Path, runs: tuple[Path, ...]) -> None:
    """`output` must not be one of the files a run consists of: in a run's folder, only a new
    file or an earlier comparison (compare-*.md) may be written."""
    for run in runs:
        inside = output.resolve().parent == run.resolve()
        own = output.name in RUN_FILES or (output.exists() and not (
            output.name.startswith("compare-") and output.suffix == ".md"))
        if inside and own:
            raise ConfigError(f"--output {output} is one of the run's own files: write the "
                              "comparison elsewhere (default: RUN_B/compare-<RUN_A>.md)")


@contextmanager
def open_for_results(output: Path) -> Iterator[TextIO]:
    """`output` opened to be written, refused when it is no regular file (a FIFO would hang)."""
    if output.exists() and not output.is_file():
        raise ConfigError(f"--output {output} is not a regular file: give a file path")
    with output.open("w", encoding="utf-8") as handle:
        yield handle


def _results(run: Path) -> Results:
    path = run / RESULTS_FILE
    if not path.is_file():
        raise ConfigError(f"{run}: no {RESULTS_FILE}; give the output folder of a finished "
                          "local_evaluation.py or `runtime score` run")
    try:
        return Results.model_validate(read_json_object(path, "the results"))
    except ValidationError as err:
        raise ConfigError(f"{path}: not the results of a local evaluation ({one_line(err)}): "
                          "give the output folder of a finished run of this version") from err


def _scored_lines(run: Path) -> dict[int, PredictionLine]:
    path = run / PREDICTIONS_FILE
    if not path.is_file():
        return {}
    return {line.row: line for line in read_saved_lines(path) if line.score is not None}


@dataclass(frozen=True)
class PairedIntervals:
    tasks: dict[str, tuple[float, float]]
    tracks: dict[str, tuple[float, float]]
    track5: tuple[float, float] | None


def _units(lines: dict[int, PredictionLine], rows: list[int], name: str) -> TaskUnits:
    first = lines[rows[0]]
    return units_of_task(name, str(first.metric), str(first.track),
                         [lines[row].parsed for row in rows],
                         [lines[row].output_field for row in rows],
                         [lines[row].score or 0.0 for row in rows])


def paired_intervals(lines_a: dict[int, PredictionLine], lines_b: dict[int, PredictionLine],
                     matched: list[int], config: ScoringConfig) -> PairedIntervals:
    """Intervals of B - A for every task, track and track 5, both runs resampled on the same
    questions (those both scored with the same prompt, labelled alike)."""
    by_task: dict[str, list[int]] = {}
    for row in matched:
        a, b = lines_a[row], lines_b[row]
        if a.task_name and a.metric in METRICS and (a.task_name, a.metric, a.track) == (
                b.task_name, b.metric, b.track):
            by_task.setdefault(a.task_name, []).append(row)
    if not by_task or config.bootstrap_resamples == 0:
        return PairedIntervals({}, {}, None)
    runs = [[_units(lines, rows, name) for name, rows in by_task.items()]
            for lines in (lines_a, lines_b)]
    first, second = resample_runs(runs, config.bootstrap_resamples, config.bootstrap_seed)
    return PairedIntervals(
        tasks={name: interval(second.tasks[name] - first.tasks[name], config.confidence)
               for name in by_task},
        tracks={track: interval(second.tracks[track] - first.tracks[track], config.confidence)
                for track in second.tracks},
        track5=None if first.track5 is None or second.track5 is None
        else interval(second.track5 - first.track5, config.confidence))


def compare_runs(before: Path, after: Path, top: int = 10,
                 config: ScoringConfig | None = None) -> Comparison:
    """What changed from run `before` to run `after`, each difference with its paired
    interval."""
    first, second = _results(before), _results(after)
    tasks_a = {t.task_name: t.score for t in first.tasks}
    tasks_b = {t.task_name: t.score for t in second.tasks}
    tracks_a = {track: entry.score for track, entry in first.tracks.items()}
    tracks_b = {track: entry.score for track, entry in second.tracks.items()}
    lines_a, lines_b = _scored_lines(before), _scored_lines(after)
    matched = [row for row in sorted(lines_a) if row in lines_b
               and lines_a[row].input_field == lines_b[row].input_field]
    questions = [QuestionChange(
        row=row, task_name=lines_b[row].task_name or "", prompt=lines_b[row].input_field,
        answer_before=lines_a[row].model_output_str, answer_after=lines_b[row].model_output_str,
        change=Change(str(row), lines_a[row].score, lines_b[row].score),
    ) for row in matched]
    questions = [q for q in questions if q.change.changed]
    questions.sort(key=lambda q: (-abs(q.change.delta or 0.0), q.row))
    paired = paired_intervals(lines_a, lines_b, matched, config or ScoringConfig())
    return Comparison(
        before=before, after=after,
        tasks=[Change(name, tasks_a.get(name), tasks_b.get(name), paired.tasks.get(name))
               for name in [*tasks_a, *(n for n in tasks_b if n not in tasks_a)]],
        tracks=[Change(track, tracks_a.get(track), tracks_b.get(track),
                       paired.tracks.get(track))
                for track in [*tracks_a, *(t for t in tracks_b if t not in tracks_a)]],
        track5=Change("track 5", first.track5.score, second.track5.score, paired.track5),
        questions=questions[:top],
        matched_questions=len(matched),
        notes=_differences(first, second, len(lines_a), len(lines_b), len(matched)),
    )


def _differences(first: Results, second: Results, scored_a: int, scored_b: int,
                 matched: int) -> list[str]:
    """What besides the answers sets the two runs apart: other data, unanswered questions, or
    another benchmark's scoring."""
    notes = []
    if first.scoring != second.scoring:
        notes.append(f"the runs were scored by different semantics (A: {first.scoring}, B: "
                     f"{second.scoring}): a difference of the same answers is the two "
                     "benchmarks' metrics")
    if Path(first.run.data).name != Path(second.run.data).name or (
            first.run.num_questions != second.run.num_questions):
        notes.append(f"the runs answered different data (A: {first.run.data}, "
                     f"{first.run.num_questions} questions; B: {second.run.data}, "
                     f"{second.run.num_questions} questions): task and track scores cover "
                     "different questions")
    for name, run in (("A", first.run), ("B", second.run)):
        if run.partial:
            notes.append(f"run {name} is partial ({run.answered} of {run.num_questions} "
                         "questions answered): its scores cover the answered questions only")
    if matched < max(scored_a, scored_b):
        notes.append(f"{matched} questions have the same prompt and a score in both runs "
                     f"(A has {scored_a}, B {scored_b})")
    return notes


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _delta(change: Change) -> str:
    return "-" if change.delta is None else f"{change.delta:+.4f}"


def _paired(change: Change) -> str:
    """The paired interval of B - A, starred where it excludes 0."""
    if change.interval is None:
        return "-"
    low, high = change.interval
    return f"{low:+.4f} to {high:+.4f}{' *' if change.significant else ''}"


def comparison_markdown(comparison: Comparison) -> str:
    c = comparison
    lines = [f"# {c.after.name} against {c.before.name}", "",
             f"A: {c.before}  ", f"B: {c.after}", "",
             "| track | A | B | B - A | paired 95% interval |", "|---|---:|---:|---:|---:|"]
    for change in [*c.tracks, c.track5]:
        name = "**Track 5**" if change is c.track5 else track_name(change.name)
        lines.append(f"| {name} | {_score(change.before)} | {_score(change.after)} | "
                     f"{_delta(change)} | {_paired(change)} |")
    lines += [f"**Note: {note}.**" for note in c.notes]
    lines += ["", "| task | A | B | B - A | paired 95% interval |",
              "|---|---:|---:|---:|---:|"]
    lines += [f"| {t.name} | {_score(t.before)} | {_score(t.after)} | {_delta(t)} | "
              f"{_paired(t)} |" for t in c.tasks]
    lines += ["", "Paired interval: of B - A, both runs resampled on the same questions (those "
              "both scored with the same prompt; tasks fixed). * marks an interval that "
              "excludes 0: a difference beyond the noise of which questions were asked."]
    lines += ["", f"Questions whose score changed most ({len(c.questions)} shown; "
              f"{c.matched_questions} questions scored in both runs with the same prompt):", ""]
    if c.questions:
        lines += ["| row | task | A | B | B - A | answer A | answer B | prompt |",
                  "|---:|---|---:|---:|---:|---|---|---|"]
        lines += [f"| {q.row} | {q.task_name} | {_score(q.change.before)} | "
                  f"{_score(q.change.after)} | {_delta(q.change)} | "
                  f"{table_cell(q.answer_before, 40)} | {table_cell(q.answer_after, 40)} | "
                  f"{table_cell(q.prompt, 70)} |" for q in c.questions]
    else:
        lines.append("No question's score changed.")
    return "\n".join(lines) + "\n"


def as_json(comparison: Comparison) -> str:
    def change(c: Change) -> dict[str, Any]:
        return {"name": c.name, "a": c.before, "b": c.after, "delta": c.delta,
                "paired_interval": c.interval, "excludes_zero": c.significant}

    return json.dumps({
        "tracks": [change(c) for c in comparison.tracks],
        "track5": change(comparison.track5),
        "tasks": [change(c) for c in comparison.tasks],
        "questions": [{"row": q.row, "task_name": q.task_name, **change(q.change)}
                      for q in comparison.questions],
        "matched_questions": comparison.matched_questions,
        "notes": comparison.notes,
    }, indent=2)
