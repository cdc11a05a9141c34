"""What a model reports about its answers and its run, typed.

`AnswerRecord` is one answer's account (the router's decision, the constraint and budget, the raw
output, tokens, and how post-processing repaired it); `RunReport` is the run's (engine start-up,
the model directory, the deadline guard's events). A model that offers them satisfies
`ReportingModel`; the evaluation, the profiler and the command lines ask `reporting(model)` once,
where the model is loaded, instead of probing attributes answer by answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

# "completed": a partial answer filled in; "fallback": nothing usable, replaced;
# "deadline": the batch's deadline stopped decoding.
Repair = Literal["completed", "fallback", "deadline"]


@dataclass
class AnswerRecord:
    route: dict[str, Any]
    constraint: str
    max_tokens: int
    raw_output: str
    prompt_tokens: int
    generated_tokens: int
    cached_prompt_tokens: int
    shortened: bool
    fallback: Repair | None
    guard_level: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunReport:
    engine_load_s: float
    model_dir: str | None = None
    guard_events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Usage:
    """Totals over the answers a run asked for."""

    prompt_tokens: int = 0
    generated_tokens: int = 0
    cached_prompt_tokens: int = 0
    fallbacks: int = 0
    shortened_prompts: int = 0

    def add(self, record: AnswerRecord) -> None:
        self.prompt_tokens += record.prompt_tokens
        self.generated_tokens += record.generated_tokens
        self.cached_prompt_tokens += record.cached_prompt_tokens
        self.fallbacks += record.fallback is not None
        self.shortened_prompts += record.shortened


@runtime_checkable
class ReportingModel(Protocol):
    """The optional reporting a model offers beside the grader's interface."""

    last_batch_records: list[AnswerRecord]  # one per answer of the last batch, in order
    last_batch_engine_s: float  # of the last batch's time, what the engine took

    def run_report(self) -> RunReport: ...


def reporting(model: object) -> ReportingModel | None:
    """The model as a `ReportingModel`, or None when it reports nothing."""
    return model if isinstance(model, ReportingModel) else None


def batch_records(reporter: ReportingModel | None, count: int) -> list[AnswerRecord | None]:
    """The last batch's records when the model gave one per answer, else Nones."""
    if reporter is not None and len(reporter.last_batch_records) == count:
        return list(reporter.last_batch_records)
    return [None] * count
