"""What an evaluation leaves behind: results.json (the `Results` model, every field described),
report.md, a PNG chart and the console table."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from runtime.competition import TRACK5, TRACKS
from runtime.predictions import PREDICTIONS_FILE
from runtime.records import Usage
from runtime.scoring import Scores

SCHEMA_VERSION = 3  # 2: `usage` apart from `timing`; 3: answered, missing, partial, slow batches
CHART_FILE = "scores.png"
RESULTS_FILE = "results.json"


def _fmt(value: float | None) -> str:
    return "unscored" if value is None else f"{value:.4f}"


class TaskEntry(BaseModel):
    task_name: str
    task_type: str
    metric: str
    track: str
    num_samples: int = Field(description="Answered questions of the task that were scored.")
    score: float | None = Field(description="The task's score; null when unscored.")
    parse_failures: int = Field(description="Answers the official parser could not read.")
    unscored_reason: str | None = Field(description="Why the task has no score.")


class TrackEntry(BaseModel):
    name: str = Field(description="The track's display name.")
    score: float | None = Field(description="Mean of its scored tasks.")
    num_tasks: int
    unscored_tasks: list[str]


class Track5Entry(BaseModel):
    track: str = Field(description="The leaderboard's id of track 5.")
    score: float | None
    definition: str
    tracks_included: list[str] = Field(description="The tracks whose mean track 5 is.")


class TasksMeanEntry(BaseModel):
    score: float | None
    definition: str


class Timing(BaseModel):
    """Seconds, wall clock; null where the run had no such phase (re-scoring has no model)."""

    total_s: float = Field(description="The whole command.")
    model_s: float = Field(description="Building the model and answering.")
    model_load_s: float | None = Field(default=None, description="Building the model.")
    generation_s: float | None = Field(default=None, description="The model's batch_predict "
                                       "calls.")
    scoring_s: float = Field(description="Parsing and scoring, embedding models included.")
    engine_load_s: float | None = Field(default=None, description="The engine's start, as the "
                                        "model reports it.")


class SlowBatch(BaseModel):
    """A batch that took longer than the grader allows (the grader would stop the run)."""

    batch: int = Field(description="The batch's index in the run.")
    task_type: str
    rows: list[int] = Field(description="The rows it asked.")
    seconds: float = Field(description="How long batch_predict took.")
    limit_s: float = Field(description="What the grader allows it: 10 s per prompt.")


class RunInfo(BaseModel):
    model: str | None = Field(description="The model spec; null when saved answers were "
                              "re-scored.")
    weights: str | None = Field(default=None, description="Weights given on the command line.")
    model_dir: str | None = Field(default=None, description="The directory that answered, as "
                                  "the model reports it.")
    data: str
    predictions: str | None = Field(default=None, description="Re-scored predictions file.")
    num_questions: int
    resumed_rows: int = Field(description="Answers reused from an earlier run.")
    asked_rows: int = Field(description="Answers asked of the model in this run.")
    answered: int = Field(description="Questions with an answer: the scores cover these.")
    missing: int = Field(description="Questions without an answer, not scored.")
    partial: bool = Field(description="Whether some questions have no answer, so that the "
                          "scores are those of the answered questions only.")
    slow_batches: list[SlowBatch] = Field(
        default_factory=list, description="Batches over the grader's time limit.")
    skipped_invalid_rows: list[str]
    started_at: str
    finished_at: str
    guard_events: list[dict[str, Any]] | None = Field(
        default=None, description="The deadline guard's changes of level.")


class Results(BaseModel):
    """results.json: the scores of one evaluation, with its timing, usage and run."""

    schema_version: int = SCHEMA_VERSION
    tasks: list[TaskEntry]
    tracks: dict[str, TrackEntry] = Field(description="Tracks 1-4 present, by id.")
    track5: Track5Entry
    tasks_mean: TasksMeanEntry
    notes: list[str]
    timing: Timing
    usage: Usage | None = Field(description="Tokens and repairs summed from the model's "
                                "per-answer records; null when it reports none.")
    run: RunInfo


def results_document(scores: Scores, timing: Timing, usage: Usage | None,
                     run: RunInfo) -> Results:
    return Results(
        tasks=[TaskEntry(**asdict(t)) for t in scores.tasks],
        tracks={track: TrackEntry(name=TRACKS[track], score=result.score,
                                  num_tasks=result.num_tasks,
                                  unscored_tasks=result.unscored_tasks)
                for track, result in scores.tracks.items()},
        track5=Track5Entry(track=TRACK5, score=scores.track5,
                           definition="mean of the track scores (leaderboard track 5)",
                           tracks_included=scores.tracks_in_track5),
        tasks_mean=TasksMeanEntry(
            score=scores.tasks_mean,
            definition="mean over tasks (what the organisers' local script printed)"),
        notes=scores.notes,
        timing=timing,
        usage=usage,
        run=run,
    )


def table_lines(scores: Scores) -> list[str]:
    """The per-task and per-track tables as Markdown lines (also printed to the console)."""
    lines = [
        "| task | type | metric | track | n | score | parse failures |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for t in scores.tasks:
        lines.append(
            f"| {t.task_name} | {t.task_type} | {t.metric} | {TRACKS.get(t.track, t.track)} "
            f"| {t.num_samples} | {_fmt(t.score)} | {t.parse_failures} |"
        )
    lines += ["", "| track | tasks | score |", "|---|---:|---:|"]
    for track, result in scores.tracks.items():
        unscored = f" ({len(result.unscored_tasks)} unscored)" if result.unscored_tasks else ""
        lines.append(f"| {TRACKS[track]} | {result.num_tasks}{unscored} | {_fmt(result.score)} |")
    lines.append(f"| **Track 5 (mean of tracks)** | | **{_fmt(scores.track5)}** |")
    lines.append(f"| Mean over tasks (organisers' script) | {len(scores.tasks)} "
                 f"| {_fmt(scores.tasks_mean)} |")
    return lines


def report_markdown(results: Results, scores: Scores) -> str:
    run = results.run
    parts = [
        f"# Local evaluation: {run.model or 'saved answers'} on {Path(run.data).name}",
        "",
        f"{run.num_questions} questions; {run.resumed_rows} answers reused from an earlier "
        f"run; started {run.started_at}, finished {run.finished_at}.",
        "",
        *([f"**{partial_line(run)}**", ""] if run.partial else []),
        *([f"**{slow_line(run)}**", ""] if run.slow_batches else []),
        *table_lines(scores),
        "",
        f"![scores by track and task]({CHART_FILE})",
        "",
        "## Timing",
        "",
        *[f"- {name}: {value}" for name, value in results.timing if value is not None],
    ]
    if results.usage is not None:
        parts += ["", "## Usage", "", *[f"- {name}: {value}" for name, value in results.usage]]
    if scores.notes:
        parts += ["", "## Notes", "", *[f"- {note}" for note in scores.notes]]
    return "\n".join(parts) + "\n"


def partial_line(run: RunInfo) -> str:
    return (f"Partial predictions: {run.answered} of {run.num_questions} questions answered, "
            f"{run.missing} missing; the scores are those of the answered questions only.")


def slow_line(run: RunInfo) -> str:
    worst = max(run.slow_batches, key=lambda b: b.seconds / b.limit_s)
    return (f"{len(run.slow_batches)} batches took longer than the grader allows (worst: batch "
            f"{worst.batch}, {worst.seconds:.1f} s of {worst.limit_s:g} s): the grader would "
            "stop this run.")


def write_chart(path: Path, scores: Scores) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tracks = list(scores.tracks.values())
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [1, 2.4]}
    )
    labels = [TRACKS[t.track].split(":")[0] for t in tracks] + ["Track 5"]
    values = [t.score or 0.0 for t in tracks] + [scores.track5 or 0.0]
    colours = [f"C{i}" for i in range(len(tracks))] + ["black"]
    left.bar(labels, values, color=colours)
    left.set_ylim(0, 1)
    left.set_title("Score by track")
    for x, value in enumerate(values):
        left.text(x, value + 0.02, f"{value:.3f}", ha="center", fontsize=8)
    colour_of = {t.track: f"C{i}" for i, t in enumerate(tracks)}
    names = [t.task_name for t in scores.tasks]
    task_values = [t.score or 0.0 for t in scores.tasks]
    bars = right.bar(names, task_values, color=[colour_of.get(t.track, "grey")
                                                for t in scores.tasks])
    for bar, task in zip(bars, scores.tasks, strict=True):
        if task.score is None:
            bar.set_hatch("//")
            right.text(bar.get_x() + bar.get_width() / 2, 0.02, "unscored", rotation=90,
                       ha="center", fontsize=7)
    right.set_ylim(0, 1)
    right.set_title("Score by task (colour = track)")
    right.tick_params(axis="x", rotation=60, labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_reports(out: Path, scores: Scores, timing: Timing, usage: Usage | None,
                  run: RunInfo) -> dict[str, Any]:
    """Write results.json, report.md and the chart into `out`, print the tables; return the
    results as written."""
    results = results_document(scores, timing, usage, run)
    document = results.model_dump(mode="json")
    (out / RESULTS_FILE).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    (out / "report.md").write_text(report_markdown(results, scores), encoding="utf-8")
    write_chart(out / CHART_FILE, scores)
    print("\n".join(table_lines(scores)))
    for note in scores.notes:
        print(f"note: {note}")
    if run.partial:
        print(f"note: {partial_line(run)}")
    if run.slow_batches:
        print(f"note: {slow_line(run)}")
    print(f"\nwritten to {out}: {PREDICTIONS_FILE}, {RESULTS_FILE}, report.md, {CHART_FILE}")
    return document
