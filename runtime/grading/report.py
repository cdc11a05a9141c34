"""What an evaluation leaves behind: results.json (the `Results` model, every field described),
report.md, a PNG chart and the console table."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from runtime.common.competition import (
    PER_QUESTION_LIMIT_S,
    TRACK5,
    TRACKS,
    MetricName,
    TaskType,
)
from runtime.common.prompt_lines import choice_options
from runtime.common.records import Usage
from runtime.common.shopping_mmlu import NO_SKILL, NO_SKILL_NAME, SKILLS, Semantics
from runtime.grading.data import Question
from runtime.grading.predictions import PREDICTIONS_FILE, PredictionLine
from runtime.grading.scoring import Scores, as_utf8

SCHEMA_VERSION = 6  # 2: `usage` apart from `timing`; 3: answered, missing, partial, slow
# batches; 4: `usage` counts repairs (`repairs`, `repairs_by_kind`), not "fallbacks";
# 5: every score has its bootstrap `interval`; 6: `scoring` (whose semantics scored)
CHART_FILE = "scores.png"
REPORT_FILE = "report.md"
RESULTS_FILE = "results.json"


def _fmt(value: float | None) -> str:
    return "unscored" if value is None else f"{value:.4f}"


def _fmt_with(value: float | None, bounds: tuple[float, float] | None) -> str:
    if value is None or bounds is None:
        return _fmt(value)
    return f"{value:.4f} ({bounds[0]:.3f}–{bounds[1]:.3f})"


Interval = tuple[float, float] | None
INTERVAL_DOC = ("The score's bootstrap interval over questions (tasks fixed, questions "
                "resampled within their task), at the scoring configuration's confidence "
                "(95% unless set); null when unscored or turned off.")


class TaskEntry(BaseModel):
    task_name: str
    task_type: TaskType
    metric: MetricName
    track: str
    num_samples: int = Field(description="Answered questions of the task that were scored.")
    score: float | None = Field(description="The task's score; null when unscored.")
    parse_failures: int = Field(description="Answers the official parser could not read.")
    unscored_reason: str | None = Field(description="Why the task has no score.")
    interval: Interval = Field(default=None, description=INTERVAL_DOC)


class TrackEntry(BaseModel):
    name: str = Field(description="The track's display name.")
    score: float | None = Field(description="Mean of its scored tasks.")
    num_tasks: int
    unscored_tasks: list[str]
    interval: Interval = Field(default=None, description=INTERVAL_DOC)


class Track5Entry(BaseModel):
    track: str = Field(description="The leaderboard's id of track 5.")
    score: float | None
    definition: str
    tracks_included: list[str] = Field(description="The tracks whose mean track 5 is.")
    interval: Interval = Field(default=None, description=INTERVAL_DOC)


class TasksMeanEntry(BaseModel):
    score: float | None
    definition: str
    interval: Interval = Field(default=None, description=INTERVAL_DOC)


class Timing(BaseModel):
    """Seconds, wall clock; null where the run had no such phase (re-scoring has no model)."""

    total_s: float = Field(description="The whole command: loading, the model, scoring, and "
                           "writing the reports.")
    loading_s: float | None = Field(default=None, description="Loading the data and reading "
                                    "the output folder's saved answers.")
    model_s: float = Field(description="Building the model and answering: model_load_s plus "
                           "generation_s.")
    model_load_s: float | None = Field(default=None, description="Building the model, the "
                                       "engine's start (engine_load_s) included.")
    generation_s: float | None = Field(default=None, description="The model's batch_predict "
                                       "calls.")
    scoring_s: float = Field(description="Parsing and scoring, embedding models included.")
    engine_load_s: float | None = Field(default=None, description="Of model_load_s, the "
                                        "engine's start, as the model reports it.")
    answering_from: str | None = Field(default=None, description="Set when the answering "
                                       "times are those of an earlier run (a resume that "
                                       "asked nothing).")

    def with_answering_of(self, earlier: Timing) -> Timing:
        """These times with the answering times of the run before (a resume that asked
        nothing keeps them)."""
        return self.model_copy(update={
            "model_s": earlier.model_s, "model_load_s": earlier.model_load_s,
            "generation_s": earlier.generation_s, "engine_load_s": earlier.engine_load_s,
            "answering_from": earlier.answering_from
            or "the earlier run (this one asked nothing)"})


class SlowBatch(BaseModel):
    """A batch that took longer than the grader allows (the grader would stop the run)."""

    batch: int = Field(description="The batch's index in the run.")
    task_type: str
    rows: list[int] = Field(description="The rows it asked.")
    seconds: float = Field(description="How long batch_predict took.")
    limit_s: float = Field(description="What the grader allows it: "
                           f"{PER_QUESTION_LIMIT_S:g} s per prompt.")


class ReplicaStats(BaseModel):
    """What one replica of a cluster run answered, and how fast."""

    replica: int = Field(description="The replica's index (0 to replicas - 1).")
    batches: int = Field(default=0, description="Batches it answered.")
    questions: int = Field(default=0, description="Questions it answered.")
    busy_s: float = Field(default=0.0, description="Seconds inside its batch_predict calls.")

    @property
    def questions_per_s(self) -> float:
        return self.questions / self.busy_s if self.busy_s else 0.0

    def add(self, questions: int, seconds: float) -> None:
        self.batches += 1
        self.questions += questions
        self.busy_s = round(self.busy_s + seconds, 3)


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
        default=None, description="The deadline guard's changes of level (on a cluster, "
        "each with its replica: the guard is per replica).")
    replicas: int | None = Field(default=None, description="Replicas that answered (a Ray "
                                 "cluster run); null for one process.")
    replica_stats: list[ReplicaStats] = Field(
        default_factory=list, description="Per replica of a cluster run: batches, questions "
        "and seconds busy (this run's asking only).")


class Results(BaseModel):
    """results.json: the scores of one evaluation, with its timing, usage and run."""

    schema_version: int = SCHEMA_VERSION
    scoring: Semantics = Field(default="shopbench", description="Whose answer readings and "
                               "metrics scored: 'shopbench' (the KDD Cup grader's) or "
                               "'shopping-mmlu' (Shopping MMLU's own; tracks are then its "
                               "skills, named its way).")
    tasks: list[TaskEntry]
    tracks: dict[str, TrackEntry] = Field(description="Tracks 1-4 present (Shopping MMLU's "
                                          "skills 1-4), by id.")
    track5: Track5Entry
    tasks_mean: TasksMeanEntry
    notes: list[str]
    timing: Timing
    usage: Usage | None = Field(description="Tokens and repairs summed from the model's "
                                "per-answer records; null when it reports none.")
    run: RunInfo


def read_results(out: Path) -> Results | None:
    """The results.json of a run folder, where it holds one that this version reads."""
    try:
        return Results.model_validate_json((out / RESULTS_FILE).read_bytes())
    except (OSError, ValueError):  # none, unreadable, or another shape (ValidationError)
        return None


def group_name(track: str, semantics: Semantics) -> str:
    """A track's display name, or its skill's the way Shopping MMLU names it."""
    if semantics == "shopping-mmlu":
        return NO_SKILL_NAME if track == NO_SKILL else SKILLS.get(track, track)
    return TRACKS.get(track, track)


def results_document(scores: Scores, timing: Timing, usage: Usage | None,
                     run: RunInfo) -> Results:
    skills = scores.semantics == "shopping-mmlu"
    return Results(
        scoring=scores.semantics,
        tasks=[TaskEntry(**asdict(t)) for t in scores.tasks],
        tracks={track: TrackEntry(name=group_name(track, scores.semantics), score=result.score,
                                  num_tasks=result.num_tasks,
                                  unscored_tasks=result.unscored_tasks,
                                  interval=result.interval)
                for track, result in scores.tracks.items()},
        track5=Track5Entry(track=TRACK5, score=scores.track5,
                           definition="mean of the skill scores" if skills
                           else "mean of the track scores (leaderboard track 5)",
                           tracks_included=scores.tracks_in_track5,
                           interval=scores.track5_interval),
        tasks_mean=TasksMeanEntry(
            score=scores.tasks_mean,
            definition="mean over tasks (what the organisers' local script printed)",
            interval=scores.tasks_mean_interval),
        notes=scores.notes,
        timing=timing,
        usage=usage,
        run=run,
    )


def table_lines(results: Results) -> list[str]:
    """The per-task and per-track (per-skill) tables as Markdown lines (also printed to the
    console); under Shopping MMLU's scoring, also its leaderboard's one row of skills."""
    skills = results.scoring == "shopping-mmlu"
    group = "skill" if skills else "track"
    lines = [
        f"| task | type | metric | {group} | n | score (interval) | parse failures |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for t in results.tasks:
        lines.append(
            f"| {t.task_name} | {t.task_type} | {t.metric} "
            f"| {group_name(t.track, results.scoring)} "
            f"| {t.num_samples} | {_fmt_with(t.score, t.interval)} | {t.parse_failures} |"
        )
    lines += ["", f"| {group} | tasks | score (interval) |", "|---|---:|---:|"]
    for entry in results.tracks.values():
        unscored = f" ({len(entry.unscored_tasks)} unscored)" if entry.unscored_tasks else ""
        lines.append(f"| {entry.name} | {entry.num_tasks}{unscored} "
                     f"| {_fmt_with(entry.score, entry.interval)} |")
    track5 = results.track5
    lines.append(f"| **{'Mean of skills' if skills else 'Track 5 (mean of tracks)'}** | | "
                 f"**{_fmt_with(track5.score, track5.interval)}** |")
    mean_name = "Mean over tasks" if skills else "Mean over tasks (organisers' script)"
    lines.append(f"| {mean_name} | {len(results.tasks)} "
                 f"| {_fmt_with(results.tasks_mean.score, results.tasks_mean.interval)} |")
    if skills:
        lines += ["", "Shopping MMLU leaderboard (one score per skill: the mean of its "
                  "tasks' scores):", "", "| " + " | ".join(SKILLS.values()) + " |",
                  "|" + "---:|" * len(SKILLS),
                  "| " + " | ".join(_fmt(results.tracks[t].score) if t in results.tracks
                                    else "–" for t in SKILLS) + " |"]
    if any(t.interval for t in results.tasks):
        lines += ["", "note: in brackets, each score's 95% bootstrap interval over questions "
                  "(or the configured confidence)."]
    return lines


def table_cell(value: Any, width: int = 90) -> str:
    """A value as one Markdown table cell: one line, pipes escaped, cut to `width`."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(as_utf8(text).split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.replace("|", "\\|") or " "


def _repairs(lines: list[PredictionLine]) -> dict[str, int]:
    kinds = [line.runtime.repair for line in lines if line.runtime is not None]
    return {kind: kinds.count(kind) for kind in ("completed", "fallback", "deadline")}


def answer_analysis_lines(scores: Scores, questions: list[Question],
                          saved: dict[int, PredictionLine], worst: int = 3) -> list[str]:
    """Per task: its repairs (fallback and deadline counts) and its `worst` lowest-scoring
    answers that are not perfect, each with a prompt excerpt, the truth, the answer, the
    model's raw output where it reports one, the parsed value, the score and the repair."""
    lines = ["## Answers by task", "",
             "Each task's repairs and its lowest-scoring answers (raw output: what the model "
             "generated before post-processing, where it reports it).", ""]
    for task in scores.tasks:
        members = [q for q in questions if q.task_name == task.task_name and q.row in saved]
        repairs = _repairs([saved[q.row] for q in members])
        reported = any(saved[q.row].runtime is not None for q in members)
        lines += [f"### {task.task_name} ({task.task_type}, {task.metric}): "
                  f"{_fmt(task.score)} over {len(members)} answers", "",
                  f"Parse failures {task.parse_failures}; repaired: "
                  + (f"{repairs['completed']} completed, {repairs['fallback']} replaced by a "
                     f"fallback, {repairs['deadline']} stopped by the deadline."
                     if reported else "not reported by this model."), ""]
        scored = [q for q in members if (scores.rows[q.row].score or 0.0) < 1.0
                  and scores.rows[q.row].score is not None]
        if not scored:
            continue
        scored.sort(key=lambda q: (scores.rows[q.row].score, q.row))
        lines += ["| row | score | truth | answer | raw output | parsed | repair | prompt |",
                  "|---:|---:|---|---|---|---|---|---|"]
        for q in scored[:worst]:
            line, row = saved[q.row], scores.rows[q.row]
            record = line.runtime
            lines.append(
                f"| {q.row} | {row.score:.3f} | {table_cell(q.output_field, 60)} | "
                f"{table_cell(line.model_output_str, 60)} | "
                f"{table_cell(record.raw_output if record else '-', 60)} | "
                f"{table_cell(row.parsed, 40)} | "
                f"{(record.repair if record else None) or '-'} | "
                f"{prompt_excerpt(q, line.model_output_str)} |")
        lines.append("")
    return lines


def report_markdown(results: Results, scores: Scores,
                    analysis: list[str] | None = None) -> str:
    run = results.run
    parts = [
        f"# Local evaluation: {run.model or 'saved answers'} on {Path(run.data).name}",
        "",
        f"{run.num_questions} questions; {run.resumed_rows} answers reused from an earlier "
        f"run; started {run.started_at}, finished {run.finished_at}.",
        "",
        *([f"**{partial_line(run)}**", ""] if run.partial else []),
        *([f"**{slow_line(run)}**", ""] if run.slow_batches else []),
        *table_lines(results),
        "",
        f"![scores by track and task]({CHART_FILE})",
        "",
        "## Timing",
        "",
        *[f"- {name}: {value}" for name, value in results.timing if value is not None],
    ]
    if results.usage is not None:
        parts += ["", "## Usage", "", *[f"- {name}: {_plain(value)}"
                                        for name, value in results.usage]]
    if run.replica_stats:
        parts += ["", f"## Replicas ({run.replicas} on Ray)", "",
                  "| replica | batches | questions | seconds busy | questions per second |",
                  "|---:|---:|---:|---:|---:|",
                  *[f"| {r.replica} | {r.batches} | {r.questions} | {r.busy_s:.1f} "
                    f"| {f'{r.questions_per_s:.2f}' if r.busy_s >= 0.01 else '–'} |"
                    for r in run.replica_stats]]
    if scores.notes:
        parts += ["", "## Notes", "", *[f"- {note}" for note in scores.notes]]
    if analysis:
        parts += ["", *analysis]
    return "\n".join(parts).rstrip("\n") + "\n"


def _plain(value: Any) -> str:
    """A figure as a reader writes it: a count by kind as "fallback 5, completed 2"."""
    if isinstance(value, dict):
        return ", ".join(f"{key} {count}" for key, count in value.items()) or "none"
    return str(value)


def prompt_excerpt(q: Question, answer: str, width: int = 90) -> str:
    """The prompt for a table cell; for a choice, its question's end and every option, the
    chosen one marked, since the options are what the answer picked among."""
    if not q.is_multiple_choice:
        return table_cell(q.input_field, width)
    found = choice_options(q.input_field)
    if not found.texts:
        return table_cell(q.input_field, width)
    chosen = answer.strip()[:1]
    options = "; ".join(f"{'**' if str(a) == chosen else ''}{o}. {table_cell(text, 30)}"
                        f"{'**' if str(a) == chosen else ''}"
                        for o, a, text in zip(found.options, found.answers or found.options,
                                              found.texts, strict=True))
    question = table_cell(found.question, 60)
    if len(question) >= 60:
        question = "…" + table_cell(found.question[-58:], 60)
    return f"{question} — {options}"


def partial_line(run: RunInfo) -> str:
    return (f"Partial predictions: {run.answered} of {run.num_questions} questions answered, "
            f"{run.missing} missing; the scores are those of the answered questions only.")


def slow_line(run: RunInfo) -> str:
    worst = max(run.slow_batches, key=lambda b: b.seconds / b.limit_s)
    return (f"{len(run.slow_batches)} batches took longer than the grader allows (worst: batch "
            f"{worst.batch}, {worst.seconds:.1f} s of {worst.limit_s:g} s): the grader would "
            "stop this run.")


def chart_title(run: RunInfo) -> str:
    """Which model (and weights) answered which data, for the chart's title."""
    model = run.model or f"saved answers ({Path(run.predictions or '').name})"
    weights = f" on {Path(run.weights).name}" if run.weights else ""
    partial = f", partial: {run.answered} of {run.num_questions}" if run.partial else ""
    return f"{model}{weights}: {Path(run.data).name} ({run.num_questions} questions{partial})"


# Abbreviations of the metrics in the task labels.
_METRIC_LABELS = {"accuracy": "acc", "hit rate@3": "hit@3", "ndcg": "ndcg", "micro f1": "f1",
                  "rougel": "rougeL", "bleu": "bleu", "jp-bleu": "jp-bleu",
                  "sent-transformer": "sent", "multilingual-sent-transformer": "m-sent"}


def write_chart(path: Path, scores: Scores, title: str) -> None:
    """Scores by track (left) and by task (right, coloured by track, labelled with the metric),
    every bar labelled with its value, every task with its metric and question count; a score
    of 0 shows as a mark on the axis, an unscored task as the word alone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    # Names are text: a task called "$x$" is not a formula.
    with plt.rc_context({"text.parse_math": False}):
        _draw_chart(plt, Patch, path, scores, title)


def _draw_chart(plt: Any, patch: Any, path: Path, scores: Scores, title: str) -> None:
    tracks = list(scores.tracks.values())
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [1, 2.6]}
    )
    fig.suptitle(title, fontsize=11)
    colour_of = {t.track: f"C{i}" for i, t in enumerate(tracks)}
    labels = [TRACKS[t.track].split(":")[0] for t in tracks] + ["Track 5"]
    values = [t.score for t in tracks] + [scores.track5]
    _bars(left, labels, values, [colour_of[t.track] for t in tracks] + ["black"], 8)
    left.set_title("Score by track (track 5: their mean)", fontsize=10)
    names = [f"{t.task_name} ({_METRIC_LABELS.get(t.metric, t.metric)}, n={t.num_samples})"
             for t in scores.tasks]
    _bars(right, names, [t.score for t in scores.tasks],
          [colour_of.get(t.track, "grey") for t in scores.tasks], 6)
    right.set_title("Score by task (metric and questions in brackets)", fontsize=10)
    right.tick_params(axis="x", rotation=60, labelsize=7)
    for label in right.get_xticklabels():
        label.set_horizontalalignment("right")
    right.legend(handles=[patch(color=colour_of[t.track], label=TRACKS[t.track])
                          for t in tracks], fontsize=7, loc="upper center", ncol=4)
    right.set_ylim(0, 1.2)  # room for the legend above the highest bar
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(ax: Any, labels: list[str], values: list[float | None], colours: list[str],
          fontsize: int) -> None:
    """Bars with their values written above; 0 as a short mark on the axis; an unscored task
    as no bar at all, the word "unscored" standing on the axis (a bar of any height would
    read as a score)."""
    heights = [0.0 if v is None else v for v in values]
    bars = ax.bar(labels, heights, color=colours)
    for bar, value in zip(bars, values, strict=True):
        x = bar.get_x() + bar.get_width() / 2
        if value is None:
            ax.text(x, 0.02, "unscored", rotation=90, ha="center", va="bottom",
                    fontsize=fontsize, color="grey")
            continue
        if value == 0:
            ax.plot([bar.get_x(), bar.get_x() + bar.get_width()], [0.004, 0.004],
                    color=bar.get_facecolor(), linewidth=3, solid_capstyle="butt")
        ax.text(x, value + 0.015, f"{value:.2f}", ha="center", va="bottom", fontsize=fontsize)
    ax.set_ylim(0, 1.08)


def write_reports(out: Path, scores: Scores, timing: Timing, usage: Usage | None,
                  run: RunInfo, questions: list[Question],
                  saved: dict[int, PredictionLine]) -> dict[str, Any]:
    """Write results.json, report.md and the chart into `out`, print the tables; return the
    results as written. `saved` holds the predictions' lines by row."""
    results = results_document(scores, timing, usage, run)
    document = results.model_dump(mode="json")
    (out / RESULTS_FILE).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    analysis = answer_analysis_lines(scores, questions, saved)
    (out / REPORT_FILE).write_text(report_markdown(results, scores, analysis),
                                   encoding="utf-8")
    write_chart(out / CHART_FILE, scores, chart_title(run))
    print("\n".join(table_lines(results)))
    for note in scores.notes:
        print(f"note: {note}")
    if run.partial:
        print(f"note: {partial_line(run)}")
    if run.slow_batches:
        print(f"note: {slow_line(run)}")
    print(f"\nwritten to {out}: {PREDICTIONS_FILE}, {RESULTS_FILE}, {REPORT_FILE}, {CHART_FILE}")
    return document
