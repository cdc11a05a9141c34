"""Engine settings that need no engine: the dtype 'auto' resolves to."""

import json

from runtime.engine import EngineConfig, cpu_has_native_bfloat16, resolved_dtype


def model_dir(tmp_path, quantization=None):
    config = {"torch_dtype": "float16"}
    if quantization:
        config["quantization_config"] = quantization
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


def test_auto_dtype_on_this_cpu_avoids_float16(tmp_path):
    # These machines have no GPU; float16 matmuls on a CPU are emulated and slow.
    expected = "bfloat16" if cpu_has_native_bfloat16() else "float32"
    assert resolved_dtype(EngineConfig(model=model_dir(tmp_path))) == expected


def test_four_bit_checkpoints_run_in_float16(tmp_path):
    awq = {"quant_method": "awq", "bits": 4, "group_size": 128}
    assert resolved_dtype(EngineConfig(model=model_dir(tmp_path, awq))) == "float16"


def test_an_explicit_dtype_is_kept(tmp_path):
    config = EngineConfig(model=model_dir(tmp_path), dtype="float16")
    assert resolved_dtype(config) == "float16"
