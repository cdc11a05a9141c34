"""The 4-bit packing: AWQ's interleaved order, round-to-nearest within half a step, the group
size chosen and refused."""

import numpy as np
import pytest

from runtime.tools.awq import (
    PACK_ORDER,
    largest_group_size,
    pack_int4,
    quantize,
    quantize_linear_layers,
)


def unpack_int4(packed: np.ndarray) -> np.ndarray:
    """The inverse of the packing, written from AWQ's order independently of pack_int4."""
    words = packed.view(np.uint32)
    out = np.zeros((words.shape[0], words.shape[1] * 8), dtype=np.uint32)
    for slot, source in enumerate(PACK_ORDER):
        out[:, source::8] = (words >> np.uint32(4 * slot)) & np.uint32(15)
    return out


def dequantize(packed: dict[str, np.ndarray], group: int) -> np.ndarray:
    q = unpack_int4(packed["qweight"]).astype(np.float32)
    zeros = np.repeat(unpack_int4(packed["qzeros"]).astype(np.float32), group, axis=0)
    scales = np.repeat(packed["scales"].astype(np.float32), group, axis=0)
    return ((q - zeros) * scales).T


def test_eight_values_pack_into_one_word_in_awq_order():
    values = np.arange(8, dtype=np.uint32).reshape(1, 8)
    word = int(pack_int4(values).view(np.uint32)[0, 0])
    assert [(word >> (4 * slot)) & 15 for slot in range(8)] == [0, 2, 4, 6, 1, 3, 5, 7]
    assert (unpack_int4(pack_int4(values)) == values).all()


def test_round_to_nearest_stays_within_half_a_step():
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(64, 128)).astype(np.float32)
    packed = quantize(weight, 32)
    error = np.abs(dequantize(packed, 32) - weight)
    steps = np.repeat(packed["scales"].astype(np.float32), 32, axis=0).T
    assert (error <= steps / 2 + 1e-6).all()
    assert packed["qweight"].shape == (128, 64 // 8) and packed["scales"].shape == (4, 64)


def test_the_largest_group_that_divides_every_layer_is_chosen_and_none_is_an_error():
    layer = "model.layers.0.mlp.down_proj.weight"
    assert largest_group_size({layer: np.zeros((8, 576))}) == 64
    assert largest_group_size({layer: np.zeros((8, 256))}) == 128
    with pytest.raises(ValueError, match="no group size"):
        largest_group_size({layer: np.zeros((8, 100))})


def test_only_projection_weights_are_quantized():
    weights = {"model.layers.0.self_attn.q_proj.weight": np.ones((32, 64), np.float32),
               "model.embed_tokens.weight": np.ones((10, 64), np.float32)}
    out = quantize_linear_layers(weights, 32)
    assert set(out) == {"model.layers.0.self_attn.q_proj.qweight",
                        "model.layers.0.self_attn.q_proj.qzeros",
                        "model.layers.0.self_attn.q_proj.scales", "model.embed_tokens.weight"}
    with pytest.raises(ValueError, match="do not divide by the group size 48"):
        quantize_linear_layers(weights, 48)


def test_the_runtimes_dequantize_reads_the_packing_back():
    from runtime.tools.awq import dequantize as runtime_dequantize
    from runtime.tools.awq import unpack_int4 as runtime_unpack

    rng = np.random.default_rng(3)
    values = rng.integers(0, 16, size=(4, 64), dtype=np.uint32)
    assert (runtime_unpack(pack_int4(values)) == values).all()
    weight = rng.normal(size=(64, 256)).astype(np.float32)
    packed = quantize(weight, 64)
    assert np.array_equal(runtime_dequantize(**packed), dequantize(packed, 64))
