"""What a model reports about its answers and its run, typed.

`ModelInputs` is what decides a model's answers besides its code; `AnswerRecord` is one
answer's account (the router's decision, the constraint and budget, the raw output, tokens, and
how post-processing repaired it); `RunReport` is the run's (engine start-up,
the model directory, the deadline guard's events); `Usage` is what a run's answers used, summed
from the records (tokens, cached tokens, repairs by kind). A model that offers them satisfies
`ReportingModel`; the evaluation, the profiler and the command lines ask `reporting(model)` once,
where the model is loaded, instead of probing attributes answer by answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

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
    repair: Repair | None  # how post-processing repaired the answer; None: as generated
    guard_level: int
    choice_logprobs: dict[str, float] | None = None  # options' log-probs, where read
    calibrated: bool = False  # the answer is the calibrated choice, not the most likely one
    finish_reason: str | None = None  # the engine's: stop, length (budget), repetition, abort
    exemplars: int = 0  # few-shot exemplars in the prompt
    exemplars_excluded: int = 0  # pool questions left out as the asked question itself
    adapter: dict[str, str] | None = None  # the LoRA adapter that answered: name, path, print

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelInputs:
    """What decides a model's answers besides its code, for the weights it is given: the
    folder of weights it loads (None: none) and every file it reads (its configuration, prompt
    templates, an exemplar pool). A model class offers it as the optional classmethod
    `answer_inputs(weights)`, read before the model is built, so that a run can tell that its
    saved answers were made under the same inputs."""

    weights: Path | None
    files: tuple[Path, ...] = ()


@dataclass
class RunReport:
    engine_load_s: float
    model_dir: str | None = None
    guard_events: list[dict[str, Any]] = field(default_factory=list)


class Usage(BaseModel):
    """What a run's answers used, summed over the answers this run asked for."""

    prompt_tokens: int = Field(default=0, description="Prompt tokens given to the engine.")
    generated_tokens: int = Field(default=0, description="New tokens generated.")
    cached_prompt_tokens: int = Field(
        default=0, description="Prompt tokens served from the engine's prefix cache.")
    repairs: int = Field(default=0, description="Answers repaired, all kinds.")
    repairs_by_kind: dict[str, int] = Field(
        default_factory=dict, description="Those answers by kind: completed, fallback, "
        "deadline.")
    shortened_prompts: int = Field(default=0, description="Prompts shortened to fit.")
    exemplars_excluded: int = Field(default=0, description="Pool questions left out of the "
                                    "exemplars because they are the question being asked.")
    answers_by_adapter: dict[str, int] = Field(
        default_factory=dict, description="Answers per LoRA adapter that made them (by name; "
        "'base' for the base weights alone).")

    def add(self, record: AnswerRecord) -> None:
        self.prompt_tokens += record.prompt_tokens
        self.generated_tokens += record.generated_tokens
        self.cached_prompt_tokens += record.cached_prompt_tokens
        self.shortened_prompts += record.shortened
        self.exemplars_excluded += record.exemplars_excluded
        name = record.adapter["name"] if record.adapter else "base"
        self.answers_by_adapter[name] = self.answers_by_adapter.get(name, 0) + 1
        if record.repair is not None:
            self.repairs += 1
            self.repairs_by_kind[record.repair] = self.repairs_by_kind.get(record.repair, 0) + 1


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
