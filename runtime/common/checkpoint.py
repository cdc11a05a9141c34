"""What a checkpoint folder says of itself, read alike by the engine, the checker and quantize:
its quantization as config.json states it (the engine refuses 4-bit weights without a kernel,
the checker checks kernels and shards on the target), and whether config.json and the
safetensors headers can describe a model at all (one error line before anything slow starts,
never a traceback from a loader)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from runtime.common.errors import one_line


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


# config.json fields read as whole numbers (by the engine, the checker, quantize).
CONFIG_INTEGERS = ("hidden_size", "intermediate_size", "num_attention_heads",
                   "num_key_value_heads", "num_hidden_layers", "head_dim", "vocab_size",
                   "max_position_embeddings")
# Tensor names that only a 4-bit checkpoint's packed layers have (AWQ/GPTQ, compressed-tensors).
PACKED_SUFFIXES = (".qweight", ".weight_packed")
# A safetensors header larger than this is no header (the format caps it at 100 MB).
MAX_HEADER_BYTES = 100_000_000


def config_problem(config: Any) -> str | None:
    """Why a config.json's content cannot describe a model (a field of the wrong type), or
    None."""
    if not isinstance(config, dict):
        return "it is not a JSON object"
    for name in CONFIG_INTEGERS:
        value = config.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 0):
            return f"{name} is {value!r}, not a whole number"
    return None


def safetensors_tensors(path: Path) -> dict[str, Any]:
    """A safetensors file's header (tensor name -> dtype, shape, offsets), read without
    loading a tensor; ValueError with the reason when the file is no safetensors file."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            if size < 8 or length <= 0 or length > min(size - 8, MAX_HEADER_BYTES):
                raise ValueError(f"its header length ({length}) does not fit the file "
                                 f"({size} bytes)")
            header = json.loads(handle.read(length).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"its header is not readable ({one_line(err)})") from None
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object")
    tensors = {name: entry for name, entry in header.items() if name != "__metadata__"}
    for name, entry in tensors.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("shape"), list)
                and isinstance(entry.get("data_offsets"), list)):
            raise ValueError(f"its header entry {name!r} is not a tensor")
    return tensors


def checkpoint_problem(folder: Path) -> str | None:
    """Why a model folder cannot be loaded (config.json unreadable or of the wrong types, a
    safetensors file that is none), or None; read before anything slow starts."""
    config_path = folder / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # ValueError: not JSON, not UTF-8
        return f"{config_path} cannot be read ({one_line(err)})"
    problem = config_problem(config)
    if problem is not None:
        return f"{config_path}: {problem}"
    for path in sorted(folder.glob("*.safetensors")):
        try:
            safetensors_tensors(path)
        except ValueError as err:
            return f"{path} is not a safetensors file: {err}"
    return None
