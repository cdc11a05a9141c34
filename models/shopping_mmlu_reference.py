"""ShoppingMMLUReference: Shopping MMLU's zero-shot protocol on any weights, through vLLM in
batches (`--model shopping-mmlu-reference --weights DIR`).

The protocol as the benchmark's own skill evaluation runs it: its system sentence, then the
prompt, as plain text (no chat template), greedy; 1 new token for a multiple-choice question,
100 otherwise (runtime/common/shopping_mmlu.py). Nothing is constrained or repaired: it is the
paper's setting, so that the runtime's own model can be measured against it on the same
weights. The engine's settings are the runtime's for those weights (models/vllm_config.json,
an engine.json beside them). It is also the organisers' KDD Cup recipe, which
benchmarks/recipes.py runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.base_model import ShopBenchBaseModel
from models.vllm_config import load_shop_model_config, shop_model_inputs
from runtime.answering.decoding import DecodingPlan
from runtime.answering.engine import Engine, check_4bit_kernels
from runtime.common.competition import MAX_BATCH_SIZE
from runtime.common.records import ModelInputs
from runtime.common.shopping_mmlu import CHOICE_NEW_TOKENS, OTHER_NEW_TOKENS, ZERO_SHOT_SYSTEM


class ShoppingMMLUReference(ShopBenchBaseModel):
    def __init__(self, weights: Path | None = None, engine: Any = None) -> None:
        if engine is None:
            config = load_shop_model_config(None, weights)
            check_4bit_kernels(config.engine)
            engine = Engine(config.engine)
        self.engine = engine
        # Per answer of the last batch, for the benchmarks: new tokens, prompt tokens.
        self.last_batch_tokens: list[int] = []
        self.last_batch_prompt_tokens: list[int] = []

    @classmethod
    def answer_inputs(cls, weights: Path | None = None) -> ModelInputs:
        """The weights and the engine settings its answers depend on (no templates)."""
        return shop_model_inputs(None, weights, templates=False)

    def get_batch_size(self) -> int:
        return MAX_BATCH_SIZE

    def batch_predict(self, batch: dict[str, Any], is_multiple_choice: bool) -> list[str]:
        plan = DecodingPlan(max_tokens=CHOICE_NEW_TOKENS if is_multiple_choice
                            else OTHER_NEW_TOKENS)
        prompts = [ZERO_SHOT_SYSTEM + prompt for prompt in batch["prompt"]]
        results = self.engine.generate(prompts, [plan] * len(prompts))
        self.last_batch_tokens = [r.generated_tokens for r in results]
        self.last_batch_prompt_tokens = [r.prompt_tokens for r in results]
        return [r.text for r in results]
