"""Decoding plans: how many new tokens each answer shape may take, and the constraint that makes
a malformed answer impossible where vLLM's structured outputs can express it.

- choice: one of the option digits actually present, 1 token;
- retrieval: k distinct indices within 1..n (every ascending combination while there are few
  enough, otherwise a regex that post-processing repairs);
- ranking: a permutation of 1..n (every permutation while there are few enough);
- entities, titles, translations, spans: a token budget and a newline stop (one-line answers).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from runtime.router import Route


class DecodingConfig(BaseModel):
    """New-token budgets per answer shape and the limits of enumerated constraints."""

    model_config = ConfigDict(extra="forbid")

    choice_tokens: int = Field(default=1, ge=1, description="New tokens for a choice (a digit).")
    retrieval_tokens: int = Field(default=12, ge=1,
                                  description="New tokens for indices under a regex constraint "
                                  "(enumerated choices get exactly what their longest needs).")
    ranking_tokens: int = Field(default=16, ge=1,
                                description="New tokens for a permutation under a regex.")
    entity_tokens: int = Field(default=15, ge=1, description="New tokens for an entity list.")
    extraction_tokens: int = Field(default=12, ge=1, description="New tokens for a copied span.")
    translation_tokens: int = Field(default=50, ge=1,
                                    description="New tokens for a translated or localised title.")
    description_tokens: int = Field(default=50, ge=1, description="New tokens for free text.")
    max_enumerated_choices: int = Field(
        default=4096, ge=1,
        description="Largest list of complete answers given to the engine as a choice "
        "constraint; beyond it a regex is used and post-processing repairs duplicates.",
    )


@dataclass
class DecodingPlan:
    max_tokens: int
    choices: list[str] | None = None
    regex: str | None = None
    stop: list[str] = field(default_factory=list)
    logit_bias: dict[int, float] | None = None  # token id -> added logit (reference recipes)

    @property
    def constraint(self) -> str:
        if self.choices is not None:
            return f"choice({len(self.choices)})"
        return "regex" if self.regex else "none"


def _joined(items: tuple[int, ...]) -> str:
    return ", ".join(str(i) for i in items)


def _index_regex(count: int, repeats: int) -> str:
    number = "(" + "|".join(str(i) for i in range(count, 0, -1)) + ")"
    return number + f"(, {number}){{{repeats - 1}}}" if repeats > 1 else number


def _choice_plan(choices: list[str]) -> DecodingPlan:
    # A token is at least one character, and the grammar ends the answer once a choice is
    # complete, so this budget never cuts an answer short and never adds a step.
    return DecodingPlan(max_tokens=max(len(c) for c in choices) + 1, choices=choices)


def retrieval_plan(count: int, pick: int, config: DecodingConfig) -> DecodingPlan:
    pick = max(1, min(pick, count))
    # hit rate@3 ignores order, so ascending combinations lose nothing and give the engine a
    # grammar k! times smaller than every ordered pick.
    if math.comb(count, pick) <= config.max_enumerated_choices:
        choices = [_joined(c) for c in itertools.combinations(range(1, count + 1), pick)]
    else:
        return DecodingPlan(max_tokens=config.retrieval_tokens, regex=_index_regex(count, pick))
    return _choice_plan(choices)


def ranking_plan(count: int, config: DecodingConfig) -> DecodingPlan:
    if math.factorial(count) <= config.max_enumerated_choices:
        return _choice_plan([_joined(p) for p in itertools.permutations(range(1, count + 1))])
    return DecodingPlan(max_tokens=config.ranking_tokens, regex=_index_regex(count, count))


def plan_for(decision: Route, config: DecodingConfig) -> DecodingPlan:
    """The decoding plan for one routed prompt."""
    if decision.task_type == "multiple-choice":
        return DecodingPlan(max_tokens=config.choice_tokens,
                            choices=[str(o) for o in decision.options])
    if decision.task_type == "retrieval" and decision.num_candidates:
        return retrieval_plan(decision.num_candidates, decision.pick, config)
    if decision.task_type == "ranking" and decision.num_candidates:
        return ranking_plan(decision.num_candidates, config)
    if decision.task_type == "named_entity_recognition":
        return DecodingPlan(max_tokens=config.entity_tokens, stop=["\n"])
    budgets = {
        "extraction": config.extraction_tokens,
        "translation": config.translation_tokens,
    }
    if decision.generation_kind in budgets:
        return DecodingPlan(max_tokens=budgets[decision.generation_kind], stop=["\n"])
    return DecodingPlan(max_tokens=config.description_tokens)
