"""The paper's zero-shot protocol through the real engine (the tiny model: plumbing only), and
the runtime's own model on Shopping MMLU's files, both through the evaluation path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.shopping_mmlu_reference import ShoppingMMLUReference
from models.vllm_config import ShopModelConfig
from models.vllm_model import VLLMShopModel
from runtime.answering.engine import EngineConfig
from runtime.common.shopping_mmlu import SKILLS, ZERO_SHOT_SYSTEM
from runtime.grading.config import load_config
from runtime.grading.evaluation import evaluate
from tests.conftest import ENGINE_MAX_MODEL_LEN

pytestmark = pytest.mark.engine

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "shopping_mmlu" / "data"


class Recording:
    """The real engine, with every prompt and budget it was given kept for the test."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.calls: list[tuple[list, list]] = []

    def generate(self, prompts, plans):
        self.calls.append((list(prompts), list(plans)))
        return self.engine.generate(prompts, plans)


def test_the_reference_protocol_as_the_paper_runs_it(tiny_engine, tmp_path):
    engine = Recording(tiny_engine)
    config = load_config(None, data=DATA, output_dir=tmp_path, progress=False)
    results = evaluate(config, model=ShoppingMMLUReference(engine=engine))
    assert results.scoring == "shopping-mmlu"
    assert {entry.name for entry in results.tracks.values()} <= set(SKILLS.values())
    prompts = [p for call in engine.calls for p in call[0]]
    assert len(prompts) == 16
    assert all(isinstance(p, str) and p.startswith(ZERO_SHOT_SYSTEM) for p in prompts)
    for call_prompts, plans in engine.calls:
        choice = call_prompts[0].rstrip().endswith("Answer:")
        assert {plan.max_tokens for plan in plans} == ({1} if choice else {100})
        assert all(plan.regex is None and plan.choices is None for plan in plans)
    lines = [json.loads(x) for x in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert len(lines) == 16


def test_the_runtimes_model_answers_shopping_mmlu_files_without_parse_failures(
        tiny_engine, tiny_model_dir, tmp_path):
    model = VLLMShopModel(config=ShopModelConfig(engine=EngineConfig(
        model=tiny_model_dir, max_model_len=ENGINE_MAX_MODEL_LEN)), engine=tiny_engine)
    config = load_config(None, data=DATA, output_dir=tmp_path, progress=False)
    results = evaluate(config, model=model)
    assert results.run.answered == 16
    assert sum(t.parse_failures for t in results.tasks) == 0


@pytest.mark.parametrize("semantics", ["shopbench", "shopping-mmlu"])
def test_the_scoring_asked_for_is_used(tmp_path, semantics):
    config = load_config(None, data=DATA, model="dummy", output_dir=tmp_path, progress=False,
                         scoring_semantics=semantics)
    assert evaluate(config).scoring == semantics
