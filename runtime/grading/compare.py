"""Two evaluation runs side by side: `python -m runtime compare RUN_A RUN_B`.

Reads each run's results.json (its specification, scoring and record) and predictions.jsonl
(each answer's parsed value and score) and says what changed from A to B on the questions both
runs answered: the same row, the same prompt, the same task, metric and track. Every score,
difference, paired interval and star is computed on those shared questions (a task's score
again from its shared answers, by its metric's own aggregation), and each task, track and the
overall score say how many questions they share and how many only one run has. The questions
whose score changed most are listed, gains and losses alike. What sets the two runs apart
besides their answers (their specifications, their scoring, an earlier schema) is listed as
notes.

Neither run is changed: the comparison is printed, and written only where `--output` says,
never into a run's folder. Two runs that share no question, and a folder an evaluation is
still writing, are refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from runtime.common.competition import TRACKS
from runtime.common.errors import one_line
from runtime.common.settings import ConfigError, read_json_object
from runtime.common.wording import naturally
from runtime.grading.config import ScoringConfig
from runtime.grading.intervals import (
    AllBounds,
    Bounds,
    bounds,
    excludes_zero,
    resample_runs,
    units_of_task,
)
from runtime.grading.metrics import METRICS
from runtime.grading.predictions import (
    PREDICTIONS_FILE,
    PredictionLine,
    read_saved_lines,
    refuse_a_running_folder,
)
from runtime.grading.report import table_cell
from runtime.grading.results import RESULTS_FILE, SCHEMA_VERSION, Results
from runtime.grading.run_spec import differences
from runtime.grading.schemes import scheme_of

# Scores this close are the same score: float sums in another order differ by about 1e-16.
SAME_SCORE = 1e-6


@dataclass(frozen=True)
class Change:
    """One score in both runs, on their shared questions; None where a run has no score."""

    name: str
    before: float | None
    after: float | None
    # The paired bootstrap interval of after - before over the shared questions, or why none.
    interval: tuple[float, float] | None = None
    interval_note: str | None = None
    shared: int = 0  # questions both runs answered
    only_before: int = 0  # questions only run A answered
    only_after: int = 0

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
    overall: Change
    gains: list[QuestionChange]  # the largest gains first
    losses: list[QuestionChange]  # the largest losses first
    matched_questions: int
    notes: list[str]  # what makes the two runs differ besides their answers
    scoring: str = "shopbench"  # B's scoring scheme, which names the groups of tasks
    changed_questions: int = 0
    spec_differences: list[str] = field(default_factory=list)

    @property
    def questions(self) -> list[QuestionChange]:
        """Every listed question, largest change first."""
        return sorted([*self.gains, *self.losses],
                      key=lambda q: (-abs(q.change.delta or 0.0), q.row))


def refuse_a_runs_own_file(output: Path, runs: tuple[Path, ...]) -> None:
    """The comparison is never written into a run's folder (links followed): neither run
    changes, whatever the file is called."""
    target = output.resolve()
    for run in runs:
        if target.is_relative_to(run.resolve()):
            raise ConfigError(f"--output {output} is inside run folder {run}: compare changes "
                              "neither run; write the comparison elsewhere")


@contextmanager
def open_for_results(output: Path) -> Iterator[TextIO]:
    """`output` opened to be written, refused when it is no regular file (a FIFO would hang)."""
    if output.exists() and not output.is_file():
        raise ConfigError(f"--output {output} is not a regular file: give a file path")
    with output.open("w", encoding="utf-8") as handle:
        yield handle


def read_run_results(run: Path) -> Results:
    """A finished run's results.json, or one line saying why it cannot be read."""
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


def _labels(line: PredictionLine) -> tuple[Any, ...]:
    return line.task_name, line.metric, line.track


def shared_rows(lines_a: dict[int, PredictionLine],
                lines_b: dict[int, PredictionLine]) -> list[int]:
    """The questions both runs scored: the same row, prompt, task, metric and track."""
    return [row for row in sorted(lines_a) if row in lines_b
            and lines_a[row].input_field == lines_b[row].input_field
            and _labels(lines_a[row]) == _labels(lines_b[row])
            and lines_a[row].task_name and lines_a[row].metric in METRICS]


def _task_score(lines: dict[int, PredictionLine], rows: list[int]) -> float:
    """A task's score on `rows`, by its metric's own aggregation (micro F1 over the task)."""
    metric = METRICS[str(lines[rows[0]].metric)]
    return metric.aggregate([lines[r].parsed for r in rows],
                            [lines[r].output_field for r in rows],
                            [lines[r].score or 0.0 for r in rows])


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class _Side:
    """One run's scores on the shared questions."""

    tasks: dict[str, float]
    tracks: dict[str, float]
    overall: float | None


def _side(lines: dict[int, PredictionLine], by_task: dict[str, list[int]],
          track_of: dict[str, str]) -> _Side:
    tasks = {name: _task_score(lines, rows) for name, rows in by_task.items()}
    tracks = {track: value for track in TRACKS if (value := _mean(
        [score for name, score in tasks.items() if track_of[name] == track])) is not None}
    return _Side(tasks, tracks, _mean(list(tracks.values())))


def paired_bounds(lines_a: dict[int, PredictionLine], lines_b: dict[int, PredictionLine],
                  by_task: dict[str, list[int]], config: ScoringConfig) -> AllBounds:
    """Intervals of B - A for every task, track and the overall score, both runs resampled on
    the same shared questions; withheld (with the reason) where a task has too few."""
    if not by_task or config.bootstrap_resamples == 0:
        return AllBounds({}, {}, Bounds(), Bounds())

    def units(lines: dict[int, PredictionLine], name: str, rows: list[int]) -> Any:
        first = lines[rows[0]]
        return units_of_task(name, str(first.metric), str(first.track),
                             [lines[r].parsed for r in rows], [lines[r].output_field for r in rows],
                             [lines[r].score or 0.0 for r in rows])

    runs = [[units(lines, name, rows) for name, rows in by_task.items()]
            for lines in (lines_a, lines_b)]
    first, second = resample_runs(runs, config.bootstrap_resamples, config.bootstrap_seed)
    difference = type(first)(
        tasks={name: second.tasks[name] - first.tasks[name] for name in first.tasks},
        tracks={track: second.tracks[track] - first.tracks[track] for track in first.tracks},
        overall=None if first.overall is None or second.overall is None
        else second.overall - first.overall,
        tasks_mean=None)
    return bounds(difference, {name: len(rows) for name, rows in by_task.items()},
                  {name: str(lines_a[rows[0]].track) for name, rows in by_task.items()},
                  config.confidence, config.interval_min_questions)


def _counts(rows_a: set[int], rows_b: set[int], shared: set[int]) -> dict[str, int]:
    return {"shared": len(shared), "only_before": len(rows_a - shared),
            "only_after": len(rows_b - shared)}


def _scoring_of(first: Results, second: Results) -> ScoringConfig:
    """The interval settings the runs were scored with (B's, else A's, else the defaults)."""
    for results in (second, first):
        if results.spec is not None:
            s = results.spec.scoring
            return ScoringConfig(embedding_models={}, bootstrap_resamples=s.bootstrap_resamples,
                                 bootstrap_seed=s.bootstrap_seed, confidence=s.confidence,
                                 interval_min_questions=s.interval_min_questions)
    return ScoringConfig(embedding_models={})


def compare_runs(before: Path, after: Path, top: int = 10,
                 config: ScoringConfig | None = None) -> Comparison:
    """What changed from run `before` to run `after` on the questions both answered, each
    difference with its paired interval."""
    for run in (before, after):
        refuse_a_running_folder(run)
    first, second = read_run_results(before), read_run_results(after)
    lines_a, lines_b = _scored_lines(before), _scored_lines(after)
    matched = shared_rows(lines_a, lines_b)
    if not matched:
        raise ConfigError(f"{before} and {after} share no question (the same row with the same "
                          "prompt and labels, scored in both): compare two runs of the same "
                          "data")
    config = config or _scoring_of(first, second)
    by_task: dict[str, list[int]] = {}
    for row in matched:
        by_task.setdefault(str(lines_a[row].task_name), []).append(row)
    track_of = {name: str(lines_a[rows[0]].track) for name, rows in by_task.items()}
    side_a, side_b = _side(lines_a, by_task, track_of), _side(lines_b, by_task, track_of)
    paired = paired_bounds(lines_a, lines_b, by_task, config)
    shared = set(matched)

    def rows_of(lines: dict[int, PredictionLine], keep: Any) -> set[int]:
        return {row for row, line in lines.items() if keep(line)}

    tasks = []
    names = naturally([*by_task, *({str(line.task_name) for line in [*lines_a.values(),
                                                                      *lines_b.values()]}
                                   - set(by_task) - {"None"})])
    for name in names:
        in_task = rows_of(lines_a, lambda x, n=name: x.task_name == n), \
            rows_of(lines_b, lambda x, n=name: x.task_name == n)
        found = paired.tasks.get(name, Bounds())
        tasks.append(Change(name, side_a.tasks.get(name), side_b.tasks.get(name),
                            found.interval, found.note,
                            **_counts(*in_task, shared & (in_task[0] | in_task[1]))))
    tracks = []
    for track in TRACKS:
        in_track = rows_of(lines_a, lambda x, t=track: x.track == t), \
            rows_of(lines_b, lambda x, t=track: x.track == t)
        if not (in_track[0] or in_track[1]):
            continue
        found = paired.tracks.get(track, Bounds())
        tracks.append(Change(track, side_a.tracks.get(track), side_b.tracks.get(track),
                             found.interval, found.note,
                             **_counts(*in_track, shared & (in_track[0] | in_track[1]))))
    scheme = scheme_of(second.scoring)
    overall = Change(scheme.overall_name(len(side_b.tracks), short=True), side_a.overall,
                     side_b.overall, paired.overall.interval, paired.overall.note,
                     **_counts(set(lines_a), set(lines_b), shared))
    questions = [QuestionChange(
        row=row, task_name=lines_b[row].task_name or "", prompt=lines_b[row].input_field,
        answer_before=lines_a[row].model_output_str, answer_after=lines_b[row].model_output_str,
        change=Change(str(row), lines_a[row].score, lines_b[row].score),
    ) for row in matched]
    moved = [q for q in questions if q.change.changed]
    gains = sorted((q for q in moved if (q.change.delta or 0) > 0),
                   key=lambda q: (-(q.change.delta or 0.0), q.row))
    losses = sorted((q for q in moved if (q.change.delta or 0) < 0),
                    key=lambda q: ((q.change.delta or 0.0), q.row))
    spec_changes = differences(first.spec, second.spec) \
        if first.spec is not None and second.spec is not None else []
    return Comparison(
        before=before, after=after, tasks=tasks, tracks=tracks, overall=overall,
        gains=gains[:top], losses=losses[:top], matched_questions=len(matched),
        notes=_differences(first, second, len(lines_a), len(lines_b), len(matched)),
        scoring=scheme.name, changed_questions=len(moved), spec_differences=spec_changes)


def _differences(first: Results, second: Results, scored_a: int, scored_b: int,
                 matched: int) -> list[str]:
    """What besides the answers sets the two runs apart: their scoring, an earlier schema,
    unanswered questions, questions only one of them has."""
    notes = []
    if first.scoring != second.scoring:
        notes.append(f"the runs were scored by different schemes (A: {first.scoring}, B: "
                     f"{second.scoring}): a difference of the same answers is the two "
                     "benchmarks' metrics")
    for name, results in (("A", first), ("B", second)):
        if results.lacks and results.schema_version < SCHEMA_VERSION:
            notes.append(f"run {name} was written by an earlier version (results schema "
                         f"{results.schema_version}; this one writes {SCHEMA_VERSION}): it "
                         f"lacks {', '.join(results.lacks)}, so what made it cannot be "
                         "compared")
        elif results.lacks:
            notes.append(f"run {name} was scored from saved answers alone (runtime score), "
                         f"which did not say what made them: it lacks "
                         f"{', '.join(results.lacks)}, so what made it cannot be compared")
        if results.run.partial:
            notes.append(f"run {name} is partial ({results.run.answered} of "
                         f"{results.run.num_questions} questions answered)")
    if matched < max(scored_a, scored_b):
        notes.append(f"every score here is on the {matched} questions both runs scored (A "
                     f"scored {scored_a}, B {scored_b}); each run's own results cover its own "
                     "questions")
    return notes


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _delta(change: Change) -> str:
    return "-" if change.delta is None else f"{change.delta:+.4f}"


def _paired(change: Change) -> str:
    """The paired interval of B - A, starred where it excludes 0."""
    if change.interval is None:
        return "n/a" if change.interval_note else "-"
    low, high = change.interval
    return f"{low:+.4f} to {high:+.4f}{' *' if change.significant else ''}"


def _row(name: str, change: Change) -> str:
    return (f"| {name} | {change.shared} | {change.only_before} | {change.only_after} | "
            f"{_score(change.before)} | {_score(change.after)} | {_delta(change)} | "
            f"{_paired(change)} |")


def _question_rows(listed: list[QuestionChange]) -> list[str]:
    return ["| row | task | A | B | B - A | answer A | answer B | prompt |",
            "|---:|---|---:|---:|---:|---|---|---|",
            *(f"| {q.row} | {q.task_name} | {_score(q.change.before)} | "
              f"{_score(q.change.after)} | {_delta(q.change)} | "
              f"{table_cell(q.answer_before, 40)} | {table_cell(q.answer_after, 40)} | "
              f"{table_cell(q.prompt, 70)} |" for q in listed)]


def comparison_markdown(comparison: Comparison) -> str:
    c = comparison
    scheme = scheme_of(c.scoring)
    head = "| {} | shared n | only A | only B | A | B | B - A | paired 95% interval |"
    lines = [f"# {c.after.name} against {c.before.name}", "",
             f"A: {c.before}  ", f"B: {c.after}", "",
             head.format(scheme.group), "|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [_row(scheme.group_name(t.name), t) for t in c.tracks]
    lines.append(_row(f"**{c.overall.name}**", c.overall))
    if c.spec_differences:
        lines += ["", "The runs' specifications differ: " + "; ".join(c.spec_differences) + "."]
    lines += [f"**Note: {note}.**" for note in c.notes]
    lines += ["", head.format("task"), "|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [_row(t.name, t) for t in c.tasks]
    lines += ["", "Every score and difference is on the questions both runs scored (shared n; "
              "only A / only B: questions one run alone has, left out). Paired interval: of "
              "B - A, both runs resampled on the same shared questions within each task. * "
              "marks an interval that excludes 0: a difference beyond the noise of which "
              "questions were asked. n/a: a task has too few shared questions for an interval."]
    lines += ["", f"Questions whose score changed: {c.changed_questions} of "
              f"{c.matched_questions} shared.", ""]
    for title, listed in (("Gains (B above A), largest first", c.gains),
                          ("Losses (B below A), largest first", c.losses)):
        lines += [f"{title}: {len(listed)} shown.", ""]
        lines += [*_question_rows(listed), ""] if listed else ["None.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def change_json(c: Change) -> dict[str, Any]:
    return {"name": c.name, "a": c.before, "b": c.after, "delta": c.delta,
            "paired_interval": c.interval, "interval_note": c.interval_note,
            "excludes_zero": c.significant, "shared": c.shared, "only_a": c.only_before,
            "only_b": c.only_after}


def as_json(comparison: Comparison) -> str:
    def question(q: QuestionChange) -> dict[str, Any]:
        return {"row": q.row, "task_name": q.task_name, **change_json(q.change)}

    return json.dumps({
        "tracks": [change_json(c) for c in comparison.tracks],
        "overall": change_json(comparison.overall),
        "tasks": [change_json(c) for c in comparison.tasks],
        "gains": [question(q) for q in comparison.gains],
        "losses": [question(q) for q in comparison.losses],
        "matched_questions": comparison.matched_questions,
        "changed_questions": comparison.changed_questions,
        "spec_differences": comparison.spec_differences,
        "notes": comparison.notes,
    }, indent=2)
