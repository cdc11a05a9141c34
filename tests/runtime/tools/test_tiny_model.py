"""The tiny model's files and the shared AWQ packing: checked by hand, and what the directory
holds."""

import json

import numpy as np
import pytest

from runtime.tools.awq import largest_group_size, pack_int4, quantize
from runtime.tools.model_files import ModelDirError
from runtime.tools.tiny_model import write_tiny_model


def unpack_int4(packed):
    """AWQ's GEMM order: nibble slot i of each int32 holds column (0, 2, 4, 6, 1, 3, 5, 7)[i]."""
    order = (0, 2, 4, 6, 1, 3, 5, 7)
    words = packed.view(np.uint32)
    out = np.zeros((words.shape[0], words.shape[1] * 8), dtype=np.int64)
    for slot, column in enumerate(order):
        out[:, column::8] = (words >> (4 * slot)) & 15
    return out


def test_eight_values_pack_into_one_word_in_awq_order():
    packed = pack_int4(np.arange(8, dtype=np.uint32).reshape(1, 8))
    # nibbles from the lowest: columns 0, 2, 4, 6, 1, 3, 5, 7 -> 0x75316420
    assert int(packed.view(np.uint32)[0, 0]) == 0x75316420


def test_awq_weights_dequantize_to_the_float_weights():
    rng = np.random.default_rng(0)
    weight = rng.normal(0, 0.05, size=(64, 256)).astype(np.float16)  # (out, in)
    q = quantize(weight, group=128)
    assert q["qweight"].shape == (256, 8) and q["qzeros"].shape == (2, 8)
    assert q["scales"].shape == (2, 64)
    values = unpack_int4(q["qweight"])  # (in, out)
    zeros = np.repeat(unpack_int4(q["qzeros"]), 128, axis=0)
    scales = np.repeat(q["scales"].astype(np.float32), 128, axis=0)
    restored = (values - zeros) * scales
    error = np.abs(restored - weight.T.astype(np.float32))
    assert np.all(error <= scales / 2 + 1e-3)  # round to nearest: at most half a step


def test_the_awq_directory_declares_its_layout_and_chat_template(tmp_path):
    out = write_tiny_model(tmp_path / "tiny", awq=True)
    config = json.loads((out / "config.json").read_text())
    assert config["quantization_config"] == {
        "quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True,
        "version": "gemm",
        "note": "round-to-nearest weights written by runtime.tools.tiny_model, not calibrated AWQ",
    }
    assert config["vocab_size"] % 64 == 0
    assert "<|im_start|>" in json.loads((out / "tokenizer_config.json").read_text())[
        "chat_template"]
    assert (out / "model.safetensors").is_file()


def test_the_group_size_is_the_largest_that_divides_every_input():
    layer = "model.layers.0.mlp.down_proj.weight"
    assert largest_group_size({layer: np.zeros((8, 256))}) == 128
    assert largest_group_size({layer: np.zeros((8, 576)),
                               "model.embed_tokens.weight": np.zeros((10, 7))}) == 64
    with pytest.raises(ValueError, match="no group size"):
        largest_group_size({layer: np.zeros((8, 100))})


def test_an_existing_model_directory_is_never_overwritten(tmp_path):
    out = write_tiny_model(tmp_path / "tiny")
    before = (out / "model.safetensors").read_bytes()
    with pytest.raises(ModelDirError, match="never overwritten"):
        write_tiny_model(out, awq=True)
    assert (out / "model.safetensors").read_bytes() == before
