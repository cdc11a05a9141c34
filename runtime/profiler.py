"""The profiler: measure a model on a stratified sample, fit a per-task-type cost model, and
project every track's run time against its limit.

Records per batch, called as the grader calls: task type, batch size, wall time, prompt and
generated tokens (when the model reports them) and the runtime's overhead outside the engine.
The cost model is, per task type, batch time = a + b x prompt tokens + c x generated tokens
(least squares; with too few distinct batches, time per question). Projections exclude engine
start-up, which is reported apart.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runtime.data import TRACK5, TRACKS, Question
from runtime.evaluation import batches_as_grader

TRACK_LIMITS_S: dict[str, float] = {
    "amazon-kdd-cup-24-understanding-shopping-concepts": 70 * 60,
    "amazon-kdd-cup-24-shopping-knowledge-reasoning": 20 * 60,
    "amazon-kdd-cup-24-user-behavior-alignment": 30 * 60,
    "amazon-kdd-cup-24-multi-lingual-abilities": 20 * 60,
    TRACK5: 140 * 60,
}
PER_QUESTION_LIMIT_S = 10.0
Counts = dict[str, dict[str, int]]


@dataclass
class BatchRecord:
    task_type: str
    batch_size: int
    wall_s: float
    prompt_tokens: int
    generated_tokens: int
    overhead_s: float | None = None
    # Per question of the batch: (track, prompt tokens, generated tokens), when reported.
    questions: list[tuple[str, int, int]] | None = None


@dataclass
class Cost:
    """Batch time = intercept + per_prompt_token x prompt tokens + per_generated_token x new."""

    intercept: float
    per_prompt_token: float
    per_generated_token: float
    per_question: float  # used when tokens are unknown

    def batch_s(self, questions: int, prompt_tokens: float, generated_tokens: float) -> float:
        if prompt_tokens == 0 and generated_tokens == 0:
            return self.per_question * questions
        return (self.intercept + self.per_prompt_token * prompt_tokens
                + self.per_generated_token * generated_tokens)


@dataclass
class Projection:
    track: str
    projected_s: float
    limit_s: float
    slowest_task_type: str
    by_task_type: dict[str, float]

    @property
    def margin_s(self) -> float:
        return self.limit_s - self.projected_s

    @property
    def verdict(self) -> str:
        if self.projected_s > self.limit_s:
            return "over the limit: the run would be killed"
        if self.projected_s > 0.8 * self.limit_s:
            return "tight: under 20% margin"
        return "fits"


def stratified_sample(questions: list[Question], size: int, seed: int = 0) -> list[Question]:
    """About `size` questions, every task represented in proportion (at least one each)."""
    by_task: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        by_task[q.task_name or q.task_type or ""].append(q)
    rng = random.Random(seed)
    chosen: list[Question] = []
    fraction = min(1.0, size / max(len(questions), 1))
    for members in by_task.values():
        take = max(1, round(len(members) * fraction))
        chosen += rng.sample(members, min(take, len(members)))
    return sorted(chosen, key=lambda q: q.row)


def profile_batches(model: Any, questions: list[Question]) -> list[BatchRecord]:
    """Answer `questions` as the grader would and record every batch."""
    records: list[BatchRecord] = []
    for batch in batches_as_grader(questions, model):
        started = time.perf_counter()
        model.batch_predict({"prompt": [q.input_field for q in batch.questions]},
                            batch.is_multiple_choice)
        wall = time.perf_counter() - started
        details = getattr(model, "last_batch_records", None) or []
        engine_s = getattr(model, "last_batch_engine_s", None)
        per_question = [
            (q.track or "", int(d.get("prompt_tokens", 0)), int(d.get("generated_tokens", 0)))
            for q, d in zip(batch.questions, details, strict=False)
        ]
        records.append(BatchRecord(
            task_type=batch.task_type,
            batch_size=len(batch.questions),
            wall_s=wall,
            prompt_tokens=sum(p for _, p, _ in per_question),
            generated_tokens=sum(g for _, _, g in per_question),
            overhead_s=None if engine_s is None else max(wall - engine_s, 0.0),
            questions=per_question or None,
        ))
    return records


def warm_up(model: Any, questions: list[Question]) -> float:
    """Answer one question of each task type, untimed in the profile: the first batch of an
    answer shape pays one-off costs (grammar compilation, caches) that no later batch pays."""
    firsts: dict[str, Question] = {}
    for q in questions:
        firsts.setdefault(q.task_type or "", q)
    started = time.perf_counter()
    for q in firsts.values():
        model.batch_predict({"prompt": [q.input_field]}, q.is_multiple_choice)
    return time.perf_counter() - started


def fit_costs(records: list[BatchRecord]) -> dict[str, Cost]:
    """One cost model per task type."""
    costs: dict[str, Cost] = {}
    by_type: dict[str, list[BatchRecord]] = defaultdict(list)
    for record in records:
        by_type[record.task_type].append(record)
    for task_type, group in by_type.items():
        per_question = sum(r.wall_s for r in group) / sum(r.batch_size for r in group)
        x = np.array([[1.0, r.prompt_tokens, r.generated_tokens] for r in group])
        y = np.array([r.wall_s for r in group])
        if len(group) >= 3 and np.linalg.matrix_rank(x) == 3:
            coef, *_ = np.linalg.lstsq(x, y, rcond=None)
            if (coef[1:] >= 0).all():
                costs[task_type] = Cost(float(coef[0]), float(coef[1]), float(coef[2]),
                                        per_question)
                continue
        # Too few or collinear batches: time proportional to tokens through the origin.
        tokens = sum(r.prompt_tokens + r.generated_tokens for r in group)
        rate = sum(r.wall_s for r in group) / tokens if tokens else 0.0
        costs[task_type] = Cost(0.0, rate, rate, per_question)
    return costs


def _token_means(records: list[BatchRecord]) -> dict[tuple[str, str], tuple[float, float]]:
    """Mean prompt and generated tokens per question, by (track, task type) where questions
    were reported one by one, and by ("", task type) over all tracks."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for r in records:
        for key, p, g, n in [(("", r.task_type), r.prompt_tokens, r.generated_tokens,
                               r.batch_size)] + [((track, r.task_type), p, g, 1)
                                                 for track, p, g in (r.questions or [])]:
            sums[key][0] += p
            sums[key][1] += g
            sums[key][2] += n
    return {key: (p / n, g / n) for key, (p, g, n) in sums.items()}


def project_task_type(cost: Cost, questions: int, batch_size: int,
                      prompt_per_question: float, generated_per_question: float) -> float:
    """Time for `questions` of one type in full batches plus one remainder batch."""
    full, rest = divmod(questions, batch_size)
    total = full * cost.batch_s(batch_size, batch_size * prompt_per_question,
                                batch_size * generated_per_question)
    if rest:
        total += cost.batch_s(rest, rest * prompt_per_question, rest * generated_per_question)
    return total


def project_tracks(records: list[BatchRecord], costs: dict[str, Cost], counts: Counts,
                   batch_size: int) -> dict[str, Projection]:
    means = _token_means(records)
    fallback_type = max(costs, key=lambda t: costs[t].per_question)
    projections: dict[str, Projection] = {}
    whole: dict[str, float] = defaultdict(float)
    for track, per_type in counts.items():
        by_type = {}
        for task_type, count in per_type.items():
            known = task_type if task_type in costs else fallback_type
            prompt, generated = means.get((track, known), means[("", known)])
            by_type[task_type] = project_task_type(costs[known], count, batch_size, prompt,
                                                   generated)
            whole[task_type] += by_type[task_type]
        projections[track] = _projection(track, by_type)
    if counts and TRACK5 not in counts:
        # Track 5 answers every question with one solution: the tracks' times added up.
        projections[TRACK5] = _projection(TRACK5, dict(whole))
    return projections


def _projection(track: str, by_type: dict[str, float]) -> Projection:
    return Projection(track=track, projected_s=sum(by_type.values()),
                      limit_s=TRACK_LIMITS_S.get(track, math.inf),
                      slowest_task_type=max(by_type, key=lambda t: by_type[t]) if by_type
                      else "", by_task_type=by_type)


def worst_batch(records: list[BatchRecord]) -> dict[str, Any]:
    """The batch closest to (or past) its per-batch limit of 10 s per question."""
    record = max(records, key=lambda r: r.wall_s / (PER_QUESTION_LIMIT_S * r.batch_size))
    limit = PER_QUESTION_LIMIT_S * record.batch_size
    return {**asdict(record), "limit_s": limit, "share_of_limit": record.wall_s / limit}


def load_counts(path: Path) -> tuple[Counts, str]:
    """A question-count file: {track_id: {task_type: count}} (a top-level "note" is kept)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    note = str(data.pop("note", ""))
    for track, per_type in data.items():
        if track not in TRACKS and track != TRACK5:
            raise ValueError(f"{path}: unknown track {track!r}")
        if not all(isinstance(n, int) and n >= 0 for n in per_type.values()):
            raise ValueError(f"{path}: counts for {track} must be non-negative integers")
    order = [*TRACKS, TRACK5]
    return {t: data[t] for t in sorted(data, key=order.index)}, note


def counts_of(questions: list[Question]) -> Counts:
    counts: Counts = defaultdict(lambda: defaultdict(int))
    for q in questions:
        counts[q.track or ""][q.task_type or ""] += 1
    return {track: dict(per_type) for track, per_type in counts.items()}


def profile_document(
    projections: dict[str, Projection], records: list[BatchRecord], costs: dict[str, Cost],
    engine_load_s: float, counts_note: str, run: dict[str, Any],
) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "tracks": {
            track: {
                "projected_s": round(p.projected_s, 3),
                "limit_s": p.limit_s,
                "margin_s": round(p.margin_s, 3),
                "verdict": p.verdict,
                "slowest_task_type": p.slowest_task_type,
                "by_task_type_s": {t: round(v, 3) for t, v in p.by_task_type.items()},
            }
            for track, p in projections.items()
        },
        "engine_load_s": round(engine_load_s, 3),
        "worst_batch": worst_batch(records) if records else None,
        "cost_model": {t: asdict(c) for t, c in costs.items()},
        "counts_note": counts_note,
        "records": [asdict(r) for r in records],
        "run": run,
    }


def profile_markdown(document: dict[str, Any]) -> str:
    lines = [
        "# Time profile",
        "",
        "Projections exclude engine start-up "
        f"({document['engine_load_s']:.1f} s measured, reported apart).",
        f"Question counts: {document['counts_note'] or 'from the --counts file'}",
        "",
        "| track | projected | limit | margin | slowest task type | verdict |",
        "|---|---:|---:|---:|---|---|",
    ]
    for track, t in document["tracks"].items():
        name = TRACKS.get(track, "Track 5: all-around")
        lines.append(f"| {name} | {t['projected_s']:.0f} s | {t['limit_s']:.0f} s | "
                     f"{t['margin_s']:.0f} s | {t['slowest_task_type']} | {t['verdict']} |")
    worst = document["worst_batch"]
    if worst:
        lines += ["", f"Worst batch against its per-batch limit (10 s per question): "
                  f"{worst['task_type']}, {worst['batch_size']} questions, "
                  f"{worst['wall_s']:.2f} s of {worst['limit_s']:.0f} s "
                  f"({worst['share_of_limit']:.1%})."]
    lines += ["", "![projected time against limit per track](profile.png)", ""]
    return "\n".join(lines)


def write_profile(out: Path, document: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    (out / "profile.md").write_text(profile_markdown(document), encoding="utf-8")
    tracks = list(document["tracks"].items())
    fig, ax = plt.subplots(figsize=(8, 3.8))
    names = [TRACKS.get(t, "Track 5").split(":")[0] for t, _ in tracks]
    projected = [v["projected_s"] / 60 for _, v in tracks]
    limits = [v["limit_s"] / 60 for _, v in tracks]
    ax.bar(names, limits, color="lightgrey", label="limit")
    ax.bar(names, projected, width=0.5,
           color=["C3" if p > lim else "C0" for p, lim in zip(projected, limits, strict=True)],
           label="projected")
    ax.set_ylabel("minutes")
    ax.set_title("Projected run time against the limit (engine start-up excluded)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "profile.png", dpi=110)
    plt.close(fig)
