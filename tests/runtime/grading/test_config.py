"""The evaluation's configuration: defaults that keep runs apart, and validation."""

from pathlib import Path

import pytest

from runtime.common.paths import REPO_ROOT
from runtime.common.settings import ConfigError
from runtime.grading.config import load_config


def test_default_output_folders_keep_models_and_weights_apart():
    data = Path("/data/development.json")
    plain = load_config(None, model="vllm", data=data).resolved_output_dir()
    first = load_config(None, model="vllm", data=data, weights=Path("/w/qwen-72b-awq"))
    second = load_config(None, model="vllm", data=data, weights=Path("/w/llama-8b"))
    assert plain == REPO_ROOT / "outputs" / "vllm_development"
    assert first.resolved_output_dir().name == "vllm_qwen-72b-awq_development"
    assert second.resolved_output_dir().name == "vllm_llama-8b_development"


def test_tracks_are_named_by_number_or_id():
    config = load_config(None, tracks=["2", "amazon-kdd-cup-24-user-behavior-alignment"])
    assert config.tracks == ["amazon-kdd-cup-24-shopping-knowledge-reasoning",
                             "amazon-kdd-cup-24-user-behavior-alignment"]
    with pytest.raises(ConfigError, match="unknown track '5'"):
        load_config(None, tracks=["5"])
