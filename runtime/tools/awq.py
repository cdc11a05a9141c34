"""The one 4-bit packing implementation: round-to-nearest weights in the AWQ GEMM layout.

Asymmetric 4-bit integers with a zero point and a float16 scale per group of input features,
packed eight to an int32 in AWQ's interleaved order, as vLLM's AWQ loader reads them. This is
plain round-to-nearest quantisation, not activation-aware scaling: it proves loading and the
kernels, and gives a usable small model, not the quality of calibrated AWQ (llm-compressor).
"""

from __future__ import annotations

import numpy as np

PACK_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)
GROUP_SIZES = (128, 64, 32)  # largest first: what real AWQ checkpoints and Marlin prefer
LINEAR_SUFFIX = "_proj.weight"  # q/k/v/o and gate/up/down projections of Llama and Qwen2


def pack_int4(values: np.ndarray) -> np.ndarray:
    """Pack 4-bit integers along the last axis, eight per int32, in AWQ's interleaved order."""
    rows, columns = values.shape
    grouped = values.reshape(rows, columns // 8, 8).astype(np.uint32)
    packed = np.zeros((rows, columns // 8), dtype=np.uint32)
    for slot, source in enumerate(PACK_ORDER):
        packed |= grouped[:, :, source] << np.uint32(4 * slot)
    return packed.view(np.int32)


def unpack_int4(packed: np.ndarray) -> np.ndarray:
    """The 4-bit integers of `pack_int4`'s output, in their original order."""
    words = packed.view(np.uint32)
    rows, columns = words.shape
    values = np.zeros((rows, columns, 8), dtype=np.uint32)
    for slot, source in enumerate(PACK_ORDER):
        values[:, :, source] = (words >> np.uint32(4 * slot)) & np.uint32(0xF)
    return values.reshape(rows, columns * 8)


def dequantize(qweight: np.ndarray, qzeros: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """The (out, in) float32 weight that AWQ GEMM tensors stand for: (q - zero) x scale."""
    q = unpack_int4(qweight).astype(np.float32)  # (in, out)
    zeros = unpack_int4(qzeros).astype(np.float32)  # (in / group, out)
    group = q.shape[0] // zeros.shape[0]
    scale = scales.astype(np.float32)
    return ((q - np.repeat(zeros, group, axis=0)) * np.repeat(scale, group, axis=0)).T


def _float16_at_least(values: np.ndarray) -> np.ndarray:
    """The smallest float16 values not below `values` (as float32): a scale stored in float16
    that rounded down would stretch the range past 15 steps, and the top value would be
    clipped by more than half a step."""
    rounded = values.astype(np.float16)
    up = np.nextafter(rounded, np.float16(np.inf))
    return np.where(rounded.astype(np.float32) < values, up, rounded).astype(np.float32)


def quantize(weight: np.ndarray, group: int) -> dict[str, np.ndarray]:
    """Round-to-nearest asymmetric 4-bit quantisation of an (out, in) weight, AWQ GEMM layout."""
    w = weight.astype(np.float32).T  # (in, out)
    in_features, out_features = w.shape
    groups = w.reshape(in_features // group, group, out_features)
    # The range always holds 0, so the rounded zero point needs no clipping.
    low, high = np.minimum(groups.min(axis=1), 0), np.maximum(groups.max(axis=1), 0)
    scales = _float16_at_least(np.maximum((high - low) / 15.0, 1e-6))
    zeros = np.clip(np.round(-low / scales), 0, 15)
    q = np.clip(np.round(groups / scales[:, None, :]) + zeros[:, None, :], 0, 15)
    return {
        "qweight": pack_int4(q.reshape(in_features, out_features).astype(np.uint32)),
        "qzeros": pack_int4(zeros.astype(np.uint32)),
        "scales": scales.astype(np.float16),
    }


def is_quantized_linear(name: str, value: np.ndarray) -> bool:
    """The decoder layers' projection weights; embeddings, norms and the head stay float."""
    return value.ndim == 2 and ".layers." in name and name.endswith(LINEAR_SUFFIX)


def largest_group_size(weights: dict[str, np.ndarray]) -> int:
    """The largest of 128, 64, 32 that divides every quantized layer's input features."""
    inputs = {v.shape[1] for k, v in weights.items() if is_quantized_linear(k, v)}
    for group in GROUP_SIZES:
        if all(features % group == 0 for features in inputs):
            return group
    raise ValueError(f"no group size of {GROUP_SIZES} divides the input features "
                     f"{sorted(inputs)}: this model cannot be packed in the AWQ layout")


def quantize_linear_layers(weights: dict[str, np.ndarray], group: int) -> dict[str, np.ndarray]:
    """Every projection weight replaced by its qweight, qzeros and scales; the rest as it is."""
    out: dict[str, np.ndarray] = {}
    for name, value in weights.items():
        if not is_quantized_linear(name, value):
            out[name] = value
            continue
        if value.shape[1] % group:
            raise ValueError(f"{name}: {value.shape[1]} input features do not divide by the "
                             f"group size {group}")
        base = name.removesuffix(".weight")
        for suffix, tensor in quantize(value, group).items():
            out[f"{base}.{suffix}"] = tensor
    return out


def quantization_config(group: int, written_by: str) -> dict[str, object]:
    """The checkpoint's `quantization_config`, saying that the weights are round-to-nearest."""
    return {
        "quant_method": "awq",
        "bits": 4,
        "group_size": group,
        "zero_point": True,
        "version": "gemm",
        "note": f"round-to-nearest weights written by {written_by}, not calibrated AWQ",
    }
