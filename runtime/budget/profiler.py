"""The profiler: measure a model on a stratified sample, fit a per-task-type cost model, and
project every track's run time against its limit.

Records per batch, called as the grader calls: task type, batch size, wall time, prompt and
generated tokens and decode steps (when the model reports tokens) and the runtime's overhead
outside the engine. The cost model is batch time = a + b x prompt tokens + c x decode steps,
where decode steps are the most new tokens any one answer of the batch took (a batch decodes
until its longest answer ends). It is fitted by least squares per task type where the sample
holds enough batches of that type, else over all batches (prefill and decode costs belong to the
engine, not the task), else time per token or per question. Projections exclude engine
start-up, which is reported apart.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from tqdm import tqdm

from runtime.answering.router import route
from runtime.common.competition import (
    LEADERBOARD_HARDWARE,
    PER_QUESTION_LIMIT_S,
    TASK_TYPES,
    TRACK5,
    TRACK_LIMITS_S,
    TRACKS,
    TaskType,
)
from runtime.common.records import batch_records, reporting
from runtime.common.settings import ConfigError, read_json_object
from runtime.grading.grader import Batch, batches_as_grader, check_reply
from runtime.grading.questions import Question

Counts = dict[str, dict[str, int]]


@dataclass
class BatchRecord:
    task_type: TaskType
    batch_size: int
    wall_s: float
    prompt_tokens: int
    generated_tokens: int
    overhead_s: float | None = None
    # Per question of the batch: (track, prompt tokens, generated tokens), when reported.
    questions: list[tuple[str, int, int]] | None = None
    decode_steps: int = 0  # the most new tokens one answer took; 0 when tokens are unknown


@dataclass
class Cost:
    """Batch time = intercept + per_prompt_token x prompt tokens + per_decode_step x steps."""

    intercept: float
    per_prompt_token: float
    per_decode_step: float
    per_question: float  # used when tokens are unknown
    fitted_on: str = "task type"  # or "all batches", "tokens", "questions"

    def batch_s(self, questions: int, prompt_tokens: float, decode_steps: float) -> float:
        if prompt_tokens == 0 and decode_steps == 0:
            return self.per_question * questions
        return (self.intercept + self.per_prompt_token * prompt_tokens
                + self.per_decode_step * decode_steps)


@dataclass
class Projection:
    track: str
    projected_s: float
    limit_s: float
    slowest_task_type: str
    by_task_type: dict[str, float]
    # The cost model's error on the measured batches, as a share of their mean time: the
    # projection is taken to be this uncertain too.
    error_share: float = 0.0

    @property
    def margin_s(self) -> float:
        return self.limit_s - self.projected_s

    @property
    def error_s(self) -> float:
        return self.projected_s * self.error_share

    @property
    def verdict(self) -> str:
        """Over, fits (with its margin) or too close to call, the fit's error counted: a
        verdict holds at both ends of the projection plus or minus that error."""
        low, high = self.projected_s - self.error_s, self.projected_s + self.error_s
        if low > self.limit_s:
            return "over the limit: the run would be killed"
        if high <= self.limit_s:
            margin = 1 - high / self.limit_s
            word = "tight" if margin < 0.2 else "fits"
            return f"{word}: {margin:.0%} margin, the fit's error counted"
        return (f"too close to call: {self.projected_s:.0f} s ± {self.error_s:.0f} s (the "
                f"fit's error) against {self.limit_s:.0f} s")


def stratified_sample(questions: list[Question], size: int, seed: int = 0) -> list[Question]:
    """`size` questions, every task represented in proportion (largest remainders) and by at
    least one: more than `size` only where the data has more tasks than that."""
    by_task: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        by_task[q.labels.task_name].append(q)
    size = min(size, len(questions))
    share = {name: len(members) * size / len(questions) for name, members in by_task.items()}
    take = {name: min(len(by_task[name]), max(1, math.floor(s))) for name, s in share.items()}
    for name in sorted(share, key=lambda n: (-(share[n] - math.floor(share[n])), n)):
        if sum(take.values()) >= size:
            break
        if take[name] < len(by_task[name]):
            take[name] += 1
    rng = random.Random(seed)
    chosen = [q for name, members in by_task.items() for q in rng.sample(members, take[name])]
    return sorted(chosen, key=lambda q: q.row)


def profile_batches(model: Any, questions: list[Question],
                    progress: bool = True) -> list[BatchRecord]:
    """Answer `questions` as the grader would and record every batch."""
    records: list[BatchRecord] = []
    reporter = reporting(model)
    bar = tqdm(total=len(questions), desc="profiling", unit="q", disable=not progress,
               file=sys.stderr)
    for batch in batches_as_grader(questions, model):
        started = time.perf_counter()
        check_reply(model.batch_predict({"prompt": [q.input_field for q in batch.questions]},
                                        batch.is_multiple_choice), batch)
        wall = time.perf_counter() - started
        details = batch_records(reporter, len(batch.questions))
        engine_s = reporter.last_batch_engine_s if reporter is not None else None
        per_question = [(q.labels.track, d.prompt_tokens, d.generated_tokens)
                        for q, d in zip(batch.questions, details, strict=True) if d is not None]
        records.append(BatchRecord(
            task_type=batch.task_type,
            batch_size=len(batch.questions),
            wall_s=wall,
            prompt_tokens=sum(p for _, p, _ in per_question),
            generated_tokens=sum(g for _, _, g in per_question),
            overhead_s=None if engine_s is None else max(wall - engine_s, 0.0),
            questions=per_question or None,
            decode_steps=max((g for _, _, g in per_question), default=0),
        ))
        bar.update(len(batch.questions))
    bar.close()
    return records


def constraint_key(question: Question) -> tuple[Any, ...]:
    """What the decoding constraint of a question depends on, as the router sees it (two
    questions with the same key compile the same grammar)."""
    decision = route(question.input_field, question.is_multiple_choice)
    return (decision.task_type, tuple(decision.options), decision.num_candidates, decision.pick,
            decision.generation_kind)


def warm_up(model: Any, questions: list[Question]) -> float:
    """Answer one question of each answer shape, untimed in the profile: the first batch of a
    shape pays one-off costs (compiling its grammar, e.g. 3 of 20 differs from 3 of 15) that no
    later batch pays, and a long run amortises them to nothing."""
    firsts: dict[tuple[Any, ...], Question] = {}
    for q in questions:
        firsts.setdefault(constraint_key(q), q)
    started = time.perf_counter()
    for index, q in enumerate(firsts.values()):
        check_reply(model.batch_predict({"prompt": [q.input_field]}, q.is_multiple_choice),
                    Batch(index, q.labels.task_type, q.is_multiple_choice, [q]))
    return time.perf_counter() - started


def _least_squares(records: list[BatchRecord]) -> tuple[float, float, float] | None:
    """(a, b, c) >= 0 of batch time = a + b x prompt tokens + c x decode steps, with the least
    squared error (scipy's non-negative least squares: a negative cost would project less time
    for more work), from at least 3 batches; None with fewer.

    A term the batches cannot tell apart from the ones before it is left out (one-token answers
    all take 1 decode step, the same column as the intercept)."""
    from scipy.optimize import nnls

    if len(records) < 3:
        return None
    x = np.array([[1.0, r.prompt_tokens, r.decode_steps] for r in records])
    y = np.array([r.wall_s for r in records])
    columns: list[int] = []
    for column in range(3):
        if np.linalg.matrix_rank(x[:, [*columns, column]]) > len(columns):
            columns.append(column)
    coef = np.zeros(3)
    coef[columns], _ = nnls(x[:, columns], y)
    return float(coef[0]), float(coef[1]), float(coef[2])


def fit_costs(records: list[BatchRecord]) -> dict[str, Cost]:
    """One cost model per task type: its own fit where its batches determine one, else the fit
    over all batches, else time per token (or per question) of its own batches."""
    costs: dict[str, Cost] = {}
    by_type: dict[str, list[BatchRecord]] = defaultdict(list)
    for record in records:
        by_type[record.task_type].append(record)
    pooled = _least_squares(records)
    for task_type, group in by_type.items():
        per_question = sum(r.wall_s for r in group) / sum(r.batch_size for r in group)
        own = _least_squares(group)
        if own is not None:
            costs[task_type] = Cost(*own, per_question)
        elif pooled is not None:
            costs[task_type] = Cost(*pooled, per_question, fitted_on="all batches")
        else:
            tokens = sum(r.prompt_tokens + r.decode_steps for r in group)
            rate = sum(r.wall_s for r in group) / tokens if tokens else 0.0
            costs[task_type] = Cost(0.0, rate, rate, per_question,
                                    fitted_on="tokens" if tokens else "questions")
    return costs


def _prompt_means(records: list[BatchRecord]) -> dict[tuple[str, str], float]:
    """Mean prompt tokens per question, by (track, task type) where questions were reported
    one by one, and by ("", task type) over all tracks."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in records:
        sums[("", r.task_type)][0] += r.prompt_tokens
        sums[("", r.task_type)][1] += r.batch_size
        for track, prompt, _ in r.questions or []:
            sums[(track, r.task_type)][0] += prompt
            sums[(track, r.task_type)][1] += 1
    return {key: p / n for key, (p, n) in sums.items()}


def _answer_lengths(records: list[BatchRecord]) -> dict[tuple[str, str], list[int]]:
    """New tokens of each reported answer by (track, task type) and by ("", task type)."""
    lengths: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in records:
        for track, _, generated in r.questions or []:
            lengths[(track, r.task_type)].append(generated)
            lengths[("", r.task_type)].append(generated)
    return lengths


def expected_longest(lengths: list[int], n: int) -> float:
    """Expected longest of `n` answers drawn from `lengths`: the decode steps of a batch of n.

    A batch decodes until its longest answer ends, so its steps are the maximum of its
    answers' lengths, not their mean; a batch of a track run alone holds n answers of that
    track where the profile's batches held a few. Exact for draws with replacement from the
    observed lengths: P(max <= x_(k)) = (k/m)^n."""
    ordered = np.sort(np.asarray(lengths, dtype=float))
    below = (np.arange(len(ordered) + 1) / len(ordered)) ** n
    return float(np.dot(ordered, np.diff(below)))


def project_task_type(cost: Cost, questions: int, batch_size: int,
                      prompt_per_question: float, steps: Callable[[int], float]) -> float:
    """Time for `questions` of one type in full batches plus one remainder batch; `steps(n)`
    is the decode steps of a batch of n."""
    full, rest = divmod(questions, batch_size)
    total = full * cost.batch_s(batch_size, batch_size * prompt_per_question, steps(batch_size))
    if rest:
        total += cost.batch_s(rest, rest * prompt_per_question, steps(rest))
    return total


def project_tracks(records: list[BatchRecord], costs: dict[str, Cost], counts: Counts,
                   batch_size: int) -> dict[str, Projection]:
    prompts, lengths = _prompt_means(records), _answer_lengths(records)
    fallback_type = max(costs, key=lambda t: costs[t].per_question)

    def steps_of(track: str, task_type: str) -> Callable[[int], float]:
        observed = lengths.get((track, task_type)) or lengths.get(("", task_type))
        if observed:
            return lambda n: expected_longest(observed, n)
        # Answers not reported one by one: the profiled batches' own decode steps.
        batches = [r.decode_steps for r in records if r.task_type == task_type]
        return lambda n: sum(batches) / len(batches)

    def project(track: str, per_type: dict[str, int]) -> Projection:
        by_type = {}
        for task_type, count in per_type.items():
            known = task_type if task_type in costs else fallback_type
            prompt = prompts.get((track, known), prompts[("", known)])
            by_type[task_type] = project_task_type(costs[known], count, batch_size, prompt,
                                                   steps_of(track, known))
        return _projection(track, by_type, share)

    share = error_share(records, costs)
    projections = {track: project(track, per_type) for track, per_type in counts.items()}
    if counts and TRACK5 not in counts:
        # Track 5 answers every question in one run, batched by task type across the tracks.
        every: dict[str, int] = defaultdict(int)
        for per_type in counts.values():
            for task_type, count in per_type.items():
                every[task_type] += count
        projections[TRACK5] = project(TRACK5, dict(every))
    return projections


def _projection(track: str, by_type: dict[str, float], share: float) -> Projection:
    return Projection(track=track, projected_s=sum(by_type.values()),
                      limit_s=TRACK_LIMITS_S.get(track, math.inf),
                      slowest_task_type=max(by_type, key=lambda t: by_type[t]) if by_type
                      else "", by_task_type=by_type, error_share=share)


def error_share(records: list[BatchRecord], costs: dict[str, Cost]) -> float:
    """The cost model's root-mean-square error on the measured batches over their mean
    time (0 without batches)."""
    if not records:
        return 0.0
    quality = fit_quality(records, costs)
    return quality.rms_residual_s / quality.mean_batch_s if quality.mean_batch_s else 0.0


def _fitted_s(record: BatchRecord, costs: dict[str, Cost]) -> float:
    return costs[record.task_type].batch_s(record.batch_size, record.prompt_tokens,
                                           record.decode_steps)


def worst_batch(records: list[BatchRecord], costs: dict[str, Cost]) -> WorstBatch:
    """The batch closest to (or past) its per-batch limit, by the cost model."""
    def share(index: int) -> float:
        record = records[index]
        return round(_fitted_s(record, costs) / (PER_QUESTION_LIMIT_S * record.batch_size), 4)

    index = max(range(len(records)), key=lambda i: (share(i), -i))
    record = records[index]
    limit = PER_QUESTION_LIMIT_S * record.batch_size
    return WorstBatch(**asdict(record), index=index, limit_s=limit,
                      fitted_s=round(_fitted_s(record, costs), 3),
                      share_of_limit=record.wall_s / limit)


def fit_quality(records: list[BatchRecord], costs: dict[str, Cost]) -> FitQuality:
    """How well the cost model matches the measured batches."""
    residuals = [r.wall_s - _fitted_s(r, costs) for r in records]
    return FitQuality(
        batches=len(records),
        mean_batch_s=round(sum(r.wall_s for r in records) / len(records), 4),
        rms_residual_s=round(math.sqrt(sum(x * x for x in residuals) / len(records)), 4))


def profiled_hardware() -> str:
    """What this profile runs on, in the words of a target ("4x Tesla T4", "cpu")."""
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    return f"{torch.cuda.device_count()}x {torch.cuda.get_device_name(0)}"


def hardware_warning(hardware: str, target: str = LEADERBOARD_HARDWARE) -> str | None:
    """A warning when the profile ran on other hardware than the leaderboard's."""
    if hardware.replace("Tesla ", "") == target:
        return None
    return (f"this profile ran on {hardware}, not on the leaderboard's {target}: its "
            "projections say how this machine would fare, not the leaderboard; for "
            f"{target}, profile there or see `python -m runtime estimate`")


def load_counts(path: Path) -> tuple[Counts, str]:
    """A question-count file: {track_id: {task_type: count}} (a top-level "note" is kept)."""
    data = read_json_object(Path(path), "the question counts")
    note = str(data.pop("note", ""))
    for track, per_type in data.items():
        if track not in TRACKS and track != TRACK5:
            raise ConfigError(f"{path}: unknown track {track!r} (expected one of "
                              f"{', '.join([*TRACKS, TRACK5])})")
        if not isinstance(per_type, dict):
            raise ConfigError(f"{path}: {track} must map task types to counts")
        unknown = sorted(set(per_type) - set(TASK_TYPES))
        if unknown:
            raise ConfigError(f"{path}: unknown task type {unknown[0]!r} under {track} "
                              f"(expected one of {', '.join(TASK_TYPES)})")
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                   for n in per_type.values()):
            raise ConfigError(f"{path}: counts for {track} must be non-negative integers")
    order = [*TRACKS, TRACK5]
    return {t: data[t] for t in sorted(data, key=order.index)}, note


def counts_of(questions: list[Question]) -> Counts:
    counts: Counts = defaultdict(lambda: defaultdict(int))
    for q in questions:
        counts[q.labels.track][q.labels.task_type] += 1
    return {track: dict(per_type) for track, per_type in counts.items()}


class TrackProjection(BaseModel):
    projected_s: float = Field(description="Projected run time of the track, engine start-up "
                               "excluded.")
    limit_s: float = Field(description="The track's time limit.")
    margin_s: float = Field(description="Limit minus projection; negative: over the limit.")
    verdict: str = Field(description="fits or tight (with the margin left when the fit's "
                         "error is added), too close to call, or over the limit.")
    error_s: float = Field(default=0.0, description="The projection's uncertainty: the cost "
                           "model's error on the measured batches, as a share of them, "
                           "applied to the projection.")
    slowest_task_type: str = Field(description="The task type with the largest share.")
    by_task_type_s: dict[str, float] = Field(description="Projected seconds per task type.")


class WorstBatch(BaseModel):
    """The measured batch that comes closest to its per-batch limit, by the cost model."""

    index: int = Field(description="The batch's index in the profile run.")
    task_type: str
    batch_size: int
    wall_s: float = Field(description="Measured batch_predict time.")
    prompt_tokens: int
    generated_tokens: int
    overhead_s: float | None = Field(description="Wall time outside the engine, where "
                                     "reported.")
    questions: list[tuple[str, int, int]] | None = Field(
        description="Per question: track, prompt tokens, generated tokens (where reported).")
    decode_steps: int = Field(description="The most new tokens one answer of it took.")
    limit_s: float = Field(description="What the grader allows it (per question x size).")
    fitted_s: float = Field(description="The cost model's time for it.")
    share_of_limit: float = Field(description="Measured time over the limit.")


class FitQuality(BaseModel):
    batches: int = Field(description="Measured batches the cost model was fitted on.")
    mean_batch_s: float = Field(description="Their mean measured time.")
    rms_residual_s: float = Field(description="Root mean square of measured minus fitted.")


class ProfileRun(BaseModel):
    model: str = Field(description="The model spec profiled.")
    data: str = Field(description="The data the sample was drawn from.")
    sampled_questions: int = Field(description="Questions answered in the profile.")
    warm_up_s: float = Field(description="The untimed warm-up (one question per constraint).")
    hardware: str = Field(description="What the profile ran on, e.g. 'cpu', '4x Tesla T4'.")
    hardware_warning: str | None = Field(description="Set when that is not the leaderboard's "
                                         "hardware.")
    adapters: list[str] = Field(default_factory=list, description="The LoRA adapters the "
                                "model served while profiled (their cost is in the times).")


class Profile(BaseModel):
    """profile.json: every track's projected time against its limit, the cost model fitted on
    the measured batches, and the batches themselves."""

    schema_version: int = 1
    tracks: dict[str, TrackProjection] = Field(description="By track id, track 5 included.")
    engine_load_s: float = Field(description="Engine start-up, measured, reported apart.")
    worst_batch: WorstBatch | None
    fit: FitQuality | None
    cost_model: dict[str, dict[str, Any]] = Field(description="The fitted cost per task type "
                                                  "(intercept, per prompt token, per step).")
    counts_note: str = Field(description="Where the projected question counts come from.")
    records: list[dict[str, Any]] = Field(description="Every measured batch.")
    run: ProfileRun


def profile_document(
    projections: dict[str, Projection], records: list[BatchRecord], costs: dict[str, Cost],
    engine_load_s: float, counts_note: str, run: ProfileRun,
) -> Profile:
    return Profile(
        tracks={
            track: TrackProjection(
                projected_s=round(p.projected_s, 3), limit_s=p.limit_s,
                margin_s=round(p.margin_s, 3), verdict=p.verdict, error_s=round(p.error_s, 3),
                slowest_task_type=p.slowest_task_type,
                by_task_type_s={t: round(v, 3) for t, v in p.by_task_type.items()})
            for track, p in projections.items()
        },
        engine_load_s=round(engine_load_s, 3),
        worst_batch=worst_batch(records, costs) if records else None,
        fit=fit_quality(records, costs) if records else None,
        cost_model={t: asdict(c) for t, c in costs.items()},
        counts_note=counts_note,
        records=[asdict(r) for r in records],
        run=run,
    )
