"""The deadline guard: keeps every batch and the whole track inside their time limits.

The grader kills a run whose batch takes more than its per-question limit (PER_QUESTION_LIMIT_S
in runtime/common/competition.py) per question, or whose track passes its total limit. The
guard gives each batch a deadline (that limit x batch size x a safety factor) that the
engine stops at, and, when told the track's budget and question count, measures throughput as
it goes: when the projected finish passes the budget it first drops few-shot exemplars (where
configured), then lowers generation budgets step by step (free text first, never the 1-token or
fully constrained answers), and restores them when the run catches up. Every change of level
is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from runtime.answering.decoding import DecodingPlan
from runtime.answering.shapes import GuardClass
from runtime.common.competition import PER_QUESTION_LIMIT_S


class GuardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    per_question_limit_s: float = Field(default=PER_QUESTION_LIMIT_S, gt=0, le=3600,
                                        description="The grader's limit per question.")
    safety_factor: float = Field(default=0.8, gt=0, le=1,
                                 description="Share of each limit the guard plans to use.")
    track_budget_s: float | None = Field(
        default=None, gt=0, le=10**7,
        description="The track's total limit (e.g. 1200 for track 2).")
    track_questions: int | None = Field(
        default=None, ge=1, description="Questions in the track, to project the finish.")
    levels: list[Annotated[float, Field(gt=0, le=1)]] = Field(
        default=[1.0, 0.6, 0.35, 0.15], min_length=1, max_length=16,
        description="Budget multipliers, one per degradation level (level 0 first).")
    min_tokens: int = Field(default=4, ge=1, le=2**16,
                            description="Smallest budget a level may leave.")
    recover_below: float = Field(
        default=0.85, gt=0, lt=1,
        description="Restore one level when the projection falls below this share of target.")


class DeadlineGuard:
    def __init__(
        self, config: GuardConfig, clock: Callable[[], float] = time.perf_counter,
        exemplars: bool = False,
    ) -> None:
        self.config = config
        self.clock = clock
        # With few-shot exemplars the first level drops them and shortens nothing: exemplars
        # cost prompt tokens only, budgets cost answers.
        self.exemplar_levels = 1 if exemplars else 0
        self.level = 0
        self.answered = 0
        self.spent_s = 0.0
        self.events: list[dict[str, float | int | str]] = []

    def exemplars(self, k: int) -> int:
        """How many few-shot exemplars a prompt gets at the current level."""
        return k if self.level == 0 else 0

    def batch_deadline_s(self, batch_size: int) -> float:
        return self.config.per_question_limit_s * batch_size * self.config.safety_factor

    def _multiplier(self, guard_class: GuardClass) -> float:
        """Free text shortens from level 1, short text (entity lists, spans) one level later."""
        levels = self.config.levels
        level = self.level - self.exemplar_levels
        step = {"free text": level, "short text": level - 1}.get(guard_class, 0)
        return levels[min(step, len(levels) - 1)] if step > 0 else 1.0

    def adjust(self, plan: DecodingPlan, guard_class: GuardClass) -> DecodingPlan:
        """The plan under the current level for an answer shape of `guard_class` (the shape
        table's); constrained and 1-token answers stay whole."""
        if plan.choices is not None or plan.regex is not None or plan.max_tokens <= 1:
            return plan
        multiplier = self._multiplier(guard_class)
        if multiplier >= 1.0:
            return plan
        budget = max(self.config.min_tokens, int(plan.max_tokens * multiplier))
        return replace(plan, max_tokens=min(budget, plan.max_tokens))

    def projected_total_s(self) -> float | None:
        total = self.config.track_questions
        if total is None or self.answered == 0:
            return None
        rate = self.spent_s / self.answered
        return self.spent_s + max(total - self.answered, 0) * rate

    def record_batch(self, batch_size: int, elapsed_s: float) -> None:
        """Account a finished batch and move one level up or down if the projection says so."""
        self.answered += batch_size
        self.spent_s += elapsed_s
        projected = self.projected_total_s()
        if projected is None or self.config.track_budget_s is None:
            return
        target = self.config.track_budget_s * self.config.safety_factor
        if projected > target and self.level < len(self.config.levels) - 1 + \
                self.exemplar_levels:
            self.level += 1
            self.events.append({"event": "degrade", "level": self.level,
                                "answered": self.answered, "projected_s": round(projected, 3)})
        elif projected < target * self.config.recover_below and self.level > 0:
            self.level -= 1
            self.events.append({"event": "restore", "level": self.level,
                                "answered": self.answered, "projected_s": round(projected, 3)})
