"""What a profile shows: profile.md (the table of tracks against their limits, the worst batch)
and profile.png; `write_profile` writes profile.json (the profiler's `Profile`) beside them."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from runtime.budget.profiler import Profile
from runtime.common.competition import PER_QUESTION_LIMIT_S, track_name


def profile_markdown(document: Profile) -> str:
    run, fit = document.run, document.fit
    lines = [
        f"# Time profile: {run.model} on {run.hardware}",
        "",
        f"Sample: {run.sampled_questions} questions of {run.data} in "
        f"{fit.batches if fit else 0} batches"
        + (f"; the cost model's error per batch (root mean square) is "
           f"{fit.rms_residual_s:.3f} s against a mean batch of {fit.mean_batch_s:.3f} s"
           if fit else "") + ".",
        "Projections exclude engine start-up "
        f"({document.engine_load_s:.1f} s measured, reported apart).",
        f"Question counts: {document.counts_note or 'from the --counts file'}",
        *([f"Adapters served (their cost is in the times): {'; '.join(run.adapters)}"]
          if run.adapters else []),
        *(["", f"**Warning: {run.hardware_warning}.**"] if run.hardware_warning else []),
        "",
        "| track | projected | limit | margin | slowest task type | verdict |",
        "|---|---:|---:|---:|---|---|",
    ]
    for track, t in document.tracks.items():
        lines.append(f"| {track_name(track)} | {t.projected_s:.0f} s | {t.limit_s:.0f} s | "
                     f"{t.margin_s:.0f} s | {t.slowest_task_type} | {t.verdict} |")
    worst = document.worst_batch
    if worst:
        lines += ["", f"Worst batch against its per-batch limit "
                  f"({PER_QUESTION_LIMIT_S:g} s per question), by the cost model: batch "
                  f"{worst.index}, {worst.task_type}, {worst.batch_size} questions, "
                  f"{worst.fitted_s:.2f} s fitted, {worst.wall_s:.2f} s measured, of "
                  f"{worst.limit_s:.0f} s ({worst.share_of_limit:.1%} measured)."]
    lines += ["", "![projected time against limit per track](profile.png)", ""]
    return "\n".join(lines)


PROFILE_FILES = ("profile.json", "profile.md", "profile.png")


def write_profile(out: Path, document: Profile) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.json").write_text(document.model_dump_json(indent=2) + "\n",
                                      encoding="utf-8")
    (out / "profile.md").write_text(profile_markdown(document), encoding="utf-8")
    write_profile_chart(out / "profile.png", document)


def write_profile_chart(path: Path, document: Profile) -> None:
    """Each track's projected time as a share of its limit, labelled with both times."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context({"text.parse_math": False}):  # names are text, not formulas
        fig = profile_figure(plt, document)
        fig.savefig(path, dpi=110)
        plt.close(fig)


def profile_figure(plt: Any, document: Profile) -> Any:
    """The chart as a matplotlib figure (laid out, not yet saved)."""
    tracks = list(document.tracks.items())
    names = [track_name(t) for t, _ in tracks]
    shares = [100 * v.projected_s / v.limit_s for _, v in tracks]
    # The subtitle is wrapped to the figure's width, so that it fits inside it.
    subtitle = textwrap.fill(f"question counts: {document.counts_note}", width=100)
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(tracks) + 1.6 + 0.16 * subtitle.count("\n")))
    ax.barh(names, shares, color=["C3" if share > 100 else "C2" if share <= 80 else "C1"
                                  for share in shares])
    ax.axvline(100, color="black", linewidth=1)
    ax.axvline(80, color="grey", linewidth=0.8, linestyle="--")
    right = max([*shares, 100.0]) * 1.35
    for y, ((_, v), share) in enumerate(zip(tracks, shares, strict=True)):
        ax.text(share + right * 0.01, y, f"{share:.1f}%  ({v.projected_s / 60:.1f} of "
                f"{v.limit_s / 60:.0f} min)", va="center", fontsize=8)
    ax.set_xlim(0, right)
    ax.invert_yaxis()
    ax.set_xlabel("projected run time, % of the track's limit (line: the limit; dashed: 80%)")
    # Over the whole figure (not the axes, which the track names push right).
    fig.suptitle(f"{document.run.model} on {document.run.hardware}: projected time per track "
                 f"(engine start-up excluded)\n{subtitle}", fontsize=9)
    fig.tight_layout()
    return fig
