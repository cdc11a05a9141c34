"""The task-shape table: everything the runtime does with one shape of answer, in one entry.

A shape is a task type, and for generation a kind (a copied span, a translation, a title, a
list of keywords, a list of categories, a description). Its entry holds the decoding plan
builder, the post-processor, how the deadline guard may shorten it, its default new-token
budget, the answer length the paper estimate assumes, and the line of the task prompt that
states the answer's format. The router decides a prompt's shape; everything after looks the
entry up once (`shape_of`). The official parsers belong to grading
(runtime/grading/parsers.py).

Adding a generation kind is one entry here and its post-processor in postprocess.py (and
teaching the router to recognise it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from runtime.answering import postprocess as post
from runtime.answering.decoding import (
    DecodingPlan,
    extractive_plan,
    option_plan,
    ranking_plan,
    retrieval_plan,
    text_plan,
)
from runtime.answering.postprocess import Processed
from runtime.answering.router import Route
from runtime.common.competition import TaskType

# How the deadline guard may shorten an answer: free text from the first level down, short text
# (entity lists, copied spans) one level later, whole answers never.
GuardClass = Literal["free text", "short text", "whole"]


# The largest new-token budget a shape may be given (a context window's worth).
MAX_BUDGET = 2**16


class DecodingConfig(BaseModel):
    """New-token budgets by answer shape and the limit of enumerated constraints."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    new_tokens: dict[str, int] = Field(
        default_factory=dict,
        description="New-token budget by shape name (multiple-choice, retrieval, ranking, "
        "named_entity_recognition, extraction, translation, title, category, description), "
        "replacing the shape's default. For retrieval and ranking it is the budget under a "
        "regex; enumerated choices get exactly what their longest needs.",
    )
    max_enumerated_choices: int = Field(
        default=4096, ge=1,
        description="Largest list of complete answers given to the engine as a choice "
        "constraint; beyond it a regex is used and post-processing repairs duplicates.",
    )
    extractive_entities: bool = Field(
        default=False, description="Entity lists may hold only spans of the source text "
        "(a regex per question); off: free text, then spans not in the source are dropped. "
        "The default is what docs/measurements.md measured.")
    extractive_spans: bool = Field(
        default=True, description="Copied spans (generation kind extraction) may only be "
        "spans of the source text.")
    max_span_words: int = Field(default=6, ge=1,
                                description="Longest source span an extractive answer offers.")
    max_entities: int = Field(default=4, ge=1,
                              description="Most entities an extractive entity list holds.")
    max_spans: int = Field(default=512, ge=1,
                           description="Most source spans in one extractive grammar (long "
                           "sources: the first ones; the record says when the cap applied).")
    retrieval_order: Literal["ascending", "any"] = Field(
        default="ascending", description="Retrieval picks as ascending index combinations, "
        "or distinct indices in any order (a larger grammar; hit rate@3 ignores order).")
    compact_indices: bool = Field(
        default=True, description="Retrieval and ranking answers written with commas alone "
        "(\"1,5,8\"), not comma and space: the official parser splits on commas and drops "
        "spaces, and a separate space token costs a decode step per separator in tokenizers "
        "that do not join it to the digit (SmolLM2, Qwen2).")
    first_sentence: list[str] = Field(
        default_factory=lambda: ["title"], description="Shapes whose answer ends with its "
        "first full sentence (a stop at '. ', '! ', '? ', '。'), before the budget if sooner.")
    loop_stop_repeats: int = Field(
        default=3, ge=0, description="Free text stops where a pattern of 2 to "
        "loop_stop_pattern_tokens tokens has just repeated this many times in a row (vLLM's "
        "repetition detection; the record's finish reason says 'repetition'). Greedy decoding "
        "can fall into such a loop, which then runs to the budget and holds its whole batch. "
        "0: off. One token alone is no pattern: digits are one token each in many tokenizers, "
        "so '10000' would look like a loop.")
    loop_stop_pattern_tokens: int = Field(
        default=8, ge=2, description="Longest repeating pattern, in tokens, the loop stop "
        "looks for.")
    calibration: Literal["batch", "off"] = Field(
        default="off", description="Choices among options with contents: 'batch' divides "
        "each option's probability by its mean over the questions seen so far with the same "
        "option ids (batch calibration: removes the model's prior over ids; no extra pass); "
        "'off' takes the model's most likely option.")
    calibration_min_questions: int = Field(
        default=8, ge=1, description="Questions with the same option ids the prior must have "
        "seen (the current batch included) before it is applied.")

    @field_validator("new_tokens")
    @classmethod
    def _known_budgets(cls, value: dict[str, int]) -> dict[str, int]:
        _known_shape_names(value)
        for name, tokens in value.items():
            if not 1 <= tokens <= MAX_BUDGET:
                raise ValueError(f"the budget of {name!r} must be 1 to {MAX_BUDGET} tokens, "
                                 f"not {tokens}")
        return value

    @field_validator("first_sentence")
    @classmethod
    def _known_sentence_shapes(cls, value: list[str]) -> list[str]:
        _known_shape_names(value)
        return value

    @property
    def index_separator(self) -> str:
        return "," if self.compact_indices else ", "

    def budget(self, shape: Shape) -> int:
        return self.new_tokens.get(shape.name, shape.new_tokens)


def _known_shape_names(names: Iterable[str]) -> None:
    for name in names:
        if name not in SHAPES:
            raise ValueError(f"unknown answer shape {name!r} (expected one of "
                             f"{', '.join(SHAPES)})")


# Where a sentence ends: the stop strings of a first-sentence answer (the stop is not kept).
SENTENCE_ENDS = [". ", "! ", "? ", "。"]

PlanBuilder = Callable[[Route, int, DecodingConfig], DecodingPlan]


@dataclass(frozen=True)
class Shape:
    name: str
    task_type: TaskType
    plan: PlanBuilder
    postprocess: Callable[[str, Route], Processed]
    guard: GuardClass
    new_tokens: int  # the default budget
    estimate_tokens: int | None = None  # the estimate's answer length when not the budget
    format_line: str = ""  # fills {format_line} in the task type's prompt template

    def decoding_plan(self, route: Route, config: DecodingConfig) -> DecodingPlan:
        """This shape's plan for a routed prompt under the configured budget and stops."""
        plan = self.plan(route, config.budget(self), config)
        free_text = plan.choices is None and plan.regex is None
        if self.name in config.first_sentence and free_text:
            plan.stop = [*plan.stop, *SENTENCE_ENDS]
        if config.loop_stop_repeats and free_text:
            plan.loop_stop = (config.loop_stop_pattern_tokens, config.loop_stop_repeats)
        return plan

    def typical_new_tokens(self, config: DecodingConfig) -> int:
        return self.estimate_tokens or config.budget(self)


def _options(route: Route, budget: int, config: DecodingConfig) -> DecodingPlan:
    # On a rating scale (no option texts) the ids are the answer's meaning, not labels.
    calibrate = config.calibration != "off" and bool(route.option_texts)
    return option_plan(route.options, budget, option_logprobs=calibrate)


def _indices(route: Route, budget: int, config: DecodingConfig) -> DecodingPlan:
    if not route.num_candidates:
        return text_plan(budget, one_line=False)
    return retrieval_plan(route.num_candidates, route.pick, budget,
                          config.max_enumerated_choices, config.retrieval_order == "any",
                          config.index_separator)


def _permutation(route: Route, budget: int, config: DecodingConfig) -> DecodingPlan:
    if not route.num_candidates:
        return text_plan(budget, one_line=False)
    return ranking_plan(route.num_candidates, budget, config.max_enumerated_choices,
                        config.index_separator)


def _one_line(route: Route, budget: int, config: DecodingConfig) -> DecodingPlan:
    return text_plan(budget, one_line=True)


def _entity_spans(route: Route, budget: int, config: DecodingConfig) -> DecodingPlan:
    plan = None
    if config.extractive_entities:
        plan = extractive_plan(route.source_text, True, budget, config.max_span_words,
                               config.max_spans, config.max_entities)
    return plan or text_plan(budget, one_line=True)


def _source_span(route: Route, budget: int, config: DecodingConfig) -> DecodingPlan:
    plan = None
    if config.extractive_spans:
        plan = extractive_plan(route.source_text, False, budget, config.max_span_words,
                               config.max_spans)
    return plan or text_plan(budget, one_line=True)


def _free_text(route: Route, budget: int, config: DecodingConfig) -> DecodingPlan:
    return text_plan(budget, one_line=False)


# One entry per shape; a generation kind is the router's `generation_kind`.
SHAPES: dict[str, Shape] = {shape.name: shape for shape in (
    Shape("multiple-choice", "multiple-choice", plan=_options, postprocess=post.postprocess_choice,
          guard="whole", new_tokens=1),
    Shape("retrieval", "retrieval", plan=_indices, postprocess=post.postprocess_retrieval,
          guard="whole", new_tokens=12, estimate_tokens=len("13, 14, 15") + 1),
    Shape("ranking", "ranking", plan=_permutation, postprocess=post.postprocess_ranking,
          guard="whole", new_tokens=16, estimate_tokens=len("1, 2, 3, 4, 5") + 1),
    Shape("named_entity_recognition", "named_entity_recognition", plan=_entity_spans,
          postprocess=post.postprocess_entities, guard="short text", new_tokens=15),
    Shape("extraction", "generation", plan=_source_span, postprocess=post.postprocess_span,
          guard="short text", new_tokens=12,
          format_line="Answer with one short phrase copied from the text, on one line."),
    Shape("translation", "generation", plan=_one_line, postprocess=post.postprocess_translation,
          guard="free text", new_tokens=50,
          format_line="Answer with the result in {language}, on one line."),
    Shape("title", "generation", plan=_one_line, postprocess=post.postprocess_title,
          guard="short text", new_tokens=24,
          format_line="Answer with a short title of a few words{language_clause}, on one line."),
    Shape("keywords", "generation", plan=_one_line, postprocess=post.postprocess_keywords,
          guard="short text", new_tokens=24,
          format_line="Answer with short phrases, separated by commas, on one line."),
    Shape("category", "generation", plan=_one_line, postprocess=post.postprocess_category,
          guard="short text", new_tokens=24,
          format_line="Answer with the categories it belongs to, broadest first, separated by "
          "\", \", on one line."),
    Shape("description", "generation", plan=_free_text, postprocess=post.postprocess_description,
          guard="free text", new_tokens=32,
          format_line="Answer in one or two plain sentences{language_clause}."),
)}


def shape_of(route: Route) -> Shape:
    """The entry of a routed prompt (a generation without a kind is a description)."""
    if route.task_type == "generation":
        return SHAPES[route.generation_kind or "description"]
    return SHAPES[route.task_type]


def typical_new_tokens(config: DecodingConfig) -> dict[str, int]:
    """New tokens per task type for the paper estimate: its longest shape's."""
    tokens: dict[str, int] = {}
    for shape in SHAPES.values():
        tokens[shape.task_type] = max(tokens.get(shape.task_type, 0),
                                      shape.typical_new_tokens(config))
    return tokens


def largest_new_tokens(config: DecodingConfig) -> int:
    """The largest budget of any shape: what the model's context must leave room for."""
    return max(config.budget(shape) for shape in SHAPES.values())
