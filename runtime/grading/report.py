"""What an evaluation shows of its results: the console tables, report.md (with each task's
lowest-scoring answers) and the PNG chart; `write_reports` writes results.json (results.py)
beside them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from runtime.common.competition import TRACKS
from runtime.common.prompt_lines import choice_options
from runtime.common.records import Usage
from runtime.common.shopping_mmlu import SKILLS
from runtime.common.wording import counted
from runtime.grading.predictions import PredictionLine
from runtime.grading.questions import Question
from runtime.grading.results import (
    Rescoring,
    Results,
    RunInfo,
    Timing,
    results_document,
)
from runtime.grading.run_files import (
    CHART_FILE,
    PREDICTIONS_FILE,
    REPORT_FILE,
    RESULTS_FILE,
    VIEW_FILE,
)
from runtime.grading.run_spec import RunSpec
from runtime.grading.schemes import scheme_of
from runtime.grading.scoring import Scores, as_utf8


def _fmt(value: float | None) -> str:
    return "unscored" if value is None else f"{value:.4f}"


def _fmt_with(value: float | None, bounds: tuple[float, float] | None,
              note: str | None = None) -> str:
    """A score with its interval, or "(n/a)" where the interval is withheld (`note`)."""
    if value is None:
        return _fmt(value)
    if bounds is None:
        return f"{value:.4f} (n/a)" if note else _fmt(value)
    return f"{value:.4f} ({bounds[0]:.3f}–{bounds[1]:.3f})"


def table_lines(results: Results) -> list[str]:
    """The per-task and per-track (per-skill) tables as Markdown lines (also printed to the
    console), n beside every score; under Shopping MMLU's scoring, also its leaderboard's one
    row of skills."""
    scheme = scheme_of(results.scoring)
    group = scheme.group
    lines = [
        f"| task | type | metric | {group} | n | score (interval) | parse failures |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for t in results.tasks:
        lines.append(
            f"| {t.task_name} | {t.task_type} | {t.metric} "
            f"| {scheme.group_name(t.track)} | {t.num_samples} "
            f"| {_fmt_with(t.score, t.interval, t.interval_note)} | {t.parse_failures} |"
        )
    lines += ["", f"| {group} | tasks | n | score (interval) |", "|---|---:|---:|---:|"]
    for entry in results.tracks.values():
        unscored = f" ({len(entry.unscored_tasks)} unscored)" if entry.unscored_tasks else ""
        lines.append(f"| {entry.name} | {entry.num_tasks}{unscored} | {entry.num_questions} "
                     f"| {_fmt_with(entry.score, entry.interval, entry.interval_note)} |")
    overall = results.overall
    name = overall.name or scheme.overall
    lines.append(f"| **{name}** | | {overall.num_questions} | "
                 f"**{_fmt_with(overall.score, overall.interval, overall.interval_note)}** |")
    scored = [t for t in results.tasks if t.score is not None]
    mean = results.tasks_mean
    lines.append(f"| {scheme.tasks_mean} | {len(scored)} | {sum(t.num_samples for t in scored)} "
                 f"| {_fmt_with(mean.score, mean.interval, mean.interval_note)} |")
    if scheme.leaderboard_row:
        lines += ["", "Shopping MMLU leaderboard (one score per skill: the mean of its "
                  "tasks' scores):", "", "| " + " | ".join(SKILLS.values()) + " |",
                  "|" + "---:|" * len(SKILLS),
                  "| " + " | ".join(_fmt(results.tracks[t].score) if t in results.tracks
                                    else "–" for t in SKILLS) + " |"]
    return lines + interval_legend(results)


def interval_legend(results: Results) -> list[str]:
    """How the intervals were made, and why some are withheld."""
    scheme = scheme_of(results.scoring)
    shown = [t for t in results.tasks if t.interval or t.interval_note]
    if not shown:
        return []
    lines = ["", f"note: n is the questions a score rests on; in brackets its bootstrap "
             f"interval over questions (95% unless configured), questions resampled within "
             f"each task with the tasks fixed, and every {scheme.group} and overall score "
             "recomputed from the resampled tasks."]
    withheld = results.overall.interval_note or next(
        (t.interval_note for t in results.tasks if t.interval_note), None)
    if withheld:
        lines.append(f"note: n/a: {withheld}; an aggregate needs every one of its "
                     "tasks to have enough, since a task too small to vary would make its "
                     "interval look narrower than it is.")
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
                  f"{_fmt(task.score)} over {counted(len(members), 'answer')}", "",
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
        f"{counted(run.num_questions, 'question')}; {counted(run.resumed_rows, 'answer')} "
        "reused from an earlier "
        f"run; started {run.started_at}, finished {run.finished_at}.",
        "",
        *([f"**{partial_line(run)}**", ""] if run.partial else []),
        *([f"**{slow_line(run)}**", ""] if run.slow_batches else []),
        *table_lines(results),
        "",
        f"![scores by track and task]({CHART_FILE})",
        "",
        f"Every answer, with filters: [{VIEW_FILE}]({VIEW_FILE}) (open it in a browser).",
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
    files = [Path(part.strip()).name for part in run.data.split(", ")]
    data = files[0] + (f" and {len(files) - 1} more" if len(files) > 1 else "")
    partial = f", partial: {run.answered} of {run.num_questions}" if run.partial else ""
    return f"{model}{weights}: {data} ({run.num_questions} questions{partial})"


# Abbreviations of the metrics in the task labels.
_METRIC_LABELS = {"accuracy": "acc", "hit rate@3": "hit@3", "ndcg": "ndcg", "micro f1": "f1",
                  "rougel": "rougeL", "bleu": "bleu", "jp-bleu": "jp-bleu",
                  "sent-transformer": "sent", "multilingual-sent-transformer": "m-sent"}


def write_chart(path: Path, scores: Scores, title: str) -> None:
    """Scores by track or skill (left) and by task (right, coloured by its group, labelled with
    the metric), every bar labelled with its value and drawn with its interval, every task with
    its metric and question count; a score of 0 shows as a mark on the axis, an unscored task
    as the word alone; where no task has a group (Shopping MMLU's task-wise files alone), the
    left panel says why."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    # Names are text: a task called "$x$" is not a formula.
    with plt.rc_context({"text.parse_math": False}):
        _draw_chart(plt, Patch, path, scores, title)


def group_colour(group: str) -> str:
    """A track's (skill's) colour, the same whatever groups a run has and in whatever order."""
    return f"C{list(TRACKS).index(group)}" if group in TRACKS else "grey"


def _draw_chart(plt: Any, patch: Any, path: Path, scores: Scores, title: str) -> None:
    scheme = scheme_of(scores.semantics)
    groups = list(scores.tracks.values())
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(14, 5.4), gridspec_kw={"width_ratios": [1, 2.6]}
    )
    fig.suptitle(title, fontsize=11, wrap=True)
    overall = scheme.overall_name(len(scores.tracks_in_overall), short=True)
    _bars(left, [_wrapped(scheme.short_group_name(g.track), 16) for g in groups]
          + [_wrapped(overall, 16)],
          [g.score for g in groups] + [scores.overall],
          [group_colour(g.track) for g in groups] + ["black"], 8,
          [g.interval for g in groups] + [scores.overall_interval])
    left.set_title(f"Score by {scheme.group} ({overall.lower()}: their mean)", fontsize=10)
    if not groups:
        left.text(0.5, 0.5, _wrapped(f"no {scheme.group} scores: {no_groups_reason(scores)}",
                                     40), ha="center", va="center", fontsize=8,
                  transform=left.transAxes)
    left.tick_params(axis="x", labelsize=7)
    names = [f"{t.task_name} ({_METRIC_LABELS.get(t.metric, t.metric)}, n={t.num_samples})"
             for t in scores.tasks]
    _bars(right, names, [t.score for t in scores.tasks],
          [group_colour(t.track) for t in scores.tasks], 6, [t.interval for t in scores.tasks])
    right.set_title("Score by task (metric and questions in brackets; lines: 95% intervals)",
                    fontsize=10)
    right.tick_params(axis="x", rotation=60, labelsize=7)
    for label in right.get_xticklabels():
        label.set_horizontalalignment("right")
    present = sorted({t.track for t in scores.tasks}, key=lambda g: (g not in TRACKS, g))
    right.legend(handles=[patch(color=group_colour(g), label=scheme.group_name(g))
                          for g in present], fontsize=7, loc="upper center", ncol=4)
    right.set_ylim(0, 1.2)  # room for the legend above the highest bar
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _wrapped(text: str, width: int) -> str:
    """A label broken into lines of at most `width` characters."""
    return "\n".join(textwrap.wrap(text, width)) or text


def no_groups_reason(scores: Scores) -> str:
    """Why a run has no track (skill) scores."""
    scheme = scheme_of(scores.semantics)
    if scheme.leaderboard_row:
        return ("task-wise files carry no skill; load the skill files with them to map tasks "
                "to skills")
    return "no task is of a track"


def _bars(ax: Any, labels: list[str], values: list[float | None], colours: list[str],
          fontsize: int, intervals: list[tuple[float, float] | None] | None = None) -> None:
    """Bars with their values written above and their intervals as error bars; 0 as a short
    mark on the axis; an unscored task as no bar at all, the word "unscored" standing on the
    axis (a bar of any height would read as a score)."""
    heights = [0.0 if v is None else v for v in values]
    bars = ax.bar(labels, heights, color=colours)
    for index, (bar, value) in enumerate(zip(bars, values, strict=True)):
        x = bar.get_x() + bar.get_width() / 2
        if value is None:
            ax.text(x, 0.02, "unscored", rotation=90, ha="center", va="bottom",
                    fontsize=fontsize, color="grey")
            continue
        if value == 0:
            ax.plot([bar.get_x(), bar.get_x() + bar.get_width()], [0.004, 0.004],
                    color=bar.get_facecolor(), linewidth=3, solid_capstyle="butt")
        bounds = intervals[index] if intervals else None
        top = value
        if bounds is not None:
            ax.errorbar(x, value, yerr=[[max(value - bounds[0], 0)], [max(bounds[1] - value, 0)]],
                        fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
            top = max(value, bounds[1])
        ax.text(x, top + 0.015, f"{value:.2f}", ha="center", va="bottom", fontsize=fontsize)
    ax.set_ylim(0, 1.08)


def write_reports(out: Path, scores: Scores, timing: Timing, usage: Usage | None,
                  run: RunInfo, questions: list[Question],
                  saved: dict[int, PredictionLine], spec: RunSpec | None = None,
                  rescorings: list[Rescoring] | None = None) -> Results:
    """Write results.json, report.md and the chart into `out`, print the tables; return the
    results as written. `saved` holds the predictions' lines by row."""
    results = results_document(scores, timing, usage, run, spec, rescorings)
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
    for line in usage_lines(usage):
        print(f"note: {line}")
    return results


def written_line(out: Path) -> str:
    """The console's last line: what the run left, and the page to open."""
    return (f"\nwritten to {out}: {PREDICTIONS_FILE}, {RESULTS_FILE}, {REPORT_FILE}, "
            f"{CHART_FILE}, {VIEW_FILE} (every answer: open {out / VIEW_FILE} in a browser)")


# What each kind of repair means, for the console and the report.
REPAIR_WORDS = {
    "completed": "a partial answer completed into the form the grader reads",
    "fallback": "nothing usable generated, replaced by a fallback answer",
    "deadline": "the deadline guard stopped decoding and the answer was completed",
}


def usage_lines(usage: Usage | None) -> list[str]:
    """What the model's records say the user should know: repairs and why, exemplars left
    out because they were the asked question."""
    if usage is None:
        return []
    lines = []
    if usage.repairs:
        kinds = "; ".join(f"{count} {kind} ({REPAIR_WORDS.get(kind, kind)})"
                          for kind, count in sorted(usage.repairs_by_kind.items()))
        lines.append(f"{usage.repairs} of the answers asked in this run were repaired: {kinds}")
    if usage.exemplars_excluded:
        lines.append(f"{usage.exemplars_excluded} few-shot pool questions were left out of "
                     "the exemplars because they are the question being asked")
    return lines
