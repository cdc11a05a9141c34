"""A checkpoint's quantization as its config.json states it, read alike by the engine (which
refuses 4-bit weights without a kernel) and the checker (kernels and shards on the target)."""

from __future__ import annotations

from typing import Any, NamedTuple


class Scheme(NamedTuple):
    method: str
    bits: Any
    group_size: Any  # -1: one group per output channel
    zero_point: Any
    format: str


def quantization_scheme(quant: dict[str, Any]) -> Scheme:
    """AWQ and GPTQ configs keep bits and group size at the top; compressed-tensors per
    scheme, in `config_groups` (the first scheme with weights is read)."""
    method = str(quant.get("quant_method", "")).lower()
    if method == "compressed-tensors":
        groups = quant.get("config_groups")
        schemes = [g.get("weights") for g in groups.values() if isinstance(g, dict)] if \
            isinstance(groups, dict) else []
        weights = next((w for w in schemes if isinstance(w, dict)), {})
        group = weights.get("group_size")
        if weights.get("strategy") == "channel" or group is None:
            group = -1
        return Scheme(method, weights.get("num_bits"), group,
                      not weights.get("symmetric", True), str(quant.get("format", "")))
    bits = quant.get("bits", quant.get("w_bit"))
    group = quant.get("group_size", quant.get("q_group_size", -1))
    zero = quant.get("zero_point", not quant.get("sym", True))
    return Scheme(method, bits, group, zero,
                  str(quant.get("version", quant.get("format", ""))).lower())
