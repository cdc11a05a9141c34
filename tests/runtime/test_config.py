"""Loading the model configuration: defaults, --weights, and engine.json beside the weights."""

import json

import pytest

from runtime.config import ConfigError, load_shop_model_config


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
