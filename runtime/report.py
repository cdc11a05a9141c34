"""What an evaluation leaves behind: results.json, report.md, a PNG chart and the console table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runtime.competition import TRACK5, TRACKS
from runtime.scoring import Scores

SCHEMA_VERSION = 1
CHART_FILE = "scores.png"


def _fmt(value: float | None) -> str:
    return "unscored" if value is None else f"{value:.4f}"


def results_document(
    scores: Scores, timing: dict[str, Any], run: dict[str, Any]
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tasks": [
            {
                "task_name": t.task_name,
                "task_type": t.task_type,
                "metric": t.metric,
                "track": t.track,
                "num_samples": t.num_samples,
                "score": t.score,
                "parse_failures": t.parse_failures,
                "unscored_reason": t.unscored_reason,
            }
            for t in scores.tasks
        ],
        "tracks": {
            track: {
                "name": TRACKS[track],
                "score": result.score,
                "num_tasks": result.num_tasks,
                "unscored_tasks": result.unscored_tasks,
            }
            for track, result in scores.tracks.items()
        },
        "track5": {
            "track": TRACK5,
            "score": scores.track5,
            "definition": "mean of the track scores (leaderboard track 5)",
            "tracks_included": scores.tracks_in_track5,
        },
        "tasks_mean": {
            "score": scores.tasks_mean,
            "definition": "mean over tasks (what the organisers' local script printed)",
        },
        "notes": scores.notes,
        "timing": timing,
        "run": run,
    }


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


def report_markdown(scores: Scores, timing: dict[str, Any], run: dict[str, Any]) -> str:
    parts = [
        f"# Local evaluation: {run.get('model') or 'saved answers'} on {Path(run['data']).name}",
        "",
        f"{run['num_questions']} questions; {run['resumed_rows']} answers reused from an earlier "
        f"run; started {run['started_at']}, finished {run['finished_at']}.",
        "",
        *table_lines(scores),
        "",
        f"![scores by track and task]({CHART_FILE})",
        "",
        "## Timing",
        "",
        *[f"- {name}: {value}" for name, value in timing.items()],
    ]
    if scores.notes:
        parts += ["", "## Notes", "", *[f"- {note}" for note in scores.notes]]
    return "\n".join(parts) + "\n"


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


def write_reports(
    out: Path,
    scores: Scores,
    timing: dict[str, Any],
    run: dict[str, Any],
) -> dict[str, Any]:
    """Write results.json, report.md and the chart into `out`, print the tables; return results."""
    document = results_document(scores, timing, run)
    (out / "results.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    (out / "report.md").write_text(report_markdown(scores, timing, run), encoding="utf-8")
    write_chart(out / CHART_FILE, scores)
    print("\n".join(table_lines(scores)))
    for note in scores.notes:
        print(f"note: {note}")
    print(f"\nwritten to {out}: predictions.jsonl, results.json, report.md, {CHART_FILE}")
    return document
