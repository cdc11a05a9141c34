"""LoRA adapters served over the base weights, unmerged: reading a PEFT adapter folder
(`adapter_config.json` and `adapter_model.safetensors`), checking it against the base model's
config.json before the engine starts, its fingerprint, and which adapter answers a question.

An adapter's tensors are read from their safetensors header only: names, shapes. Each targets
projections of the decoder (q, k, v, o, gate, up, down); its `lora_A` is rank x input features
and its `lora_B` output features x rank, which must match the base's projection of that name.
The engine (engine.py) turns the served adapters into vLLM's own `LoRARequest`s.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from runtime.common.checkpoint import safetensors_tensors
from runtime.common.errors import one_line
from runtime.common.settings import ConfigError

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
# The ranks vLLM serves (its max_lora_rank must be one of them).
VLLM_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
_PROJECTION = re.compile(r"\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])\.weight$")


@dataclass(frozen=True)
class Adapter:
    """One adapter folder as read: its name (the folder's), rank, alpha, target modules, the
    shape of every LoRA matrix by (layer, module, A or B), and a short fingerprint (read
    lazily)."""

    name: str
    path: Path
    rank: int
    alpha: float
    targets: tuple[str, ...]
    base: str  # base_model_name_or_path, as the adapter records it
    shapes: dict[tuple[int, str, str], tuple[int, ...]]

    @cached_property
    def fingerprint(self) -> str:
        """The sha256 of the configuration and every weight byte (16 hex digits), read when
        first asked: checking an adapter needs its header alone, and a run reads it once."""
        # Every byte, not the header alone: two trainings of one configuration have the same
        # shapes, and an adapter is small beside its base (rank 16 on a 72B base: about 0.4 GB).
        digest = hashlib.sha256((self.path / ADAPTER_CONFIG).read_bytes())
        with (self.path / ADAPTER_WEIGHTS).open("rb") as handle:
            for chunk in iter(lambda: handle.read(2**20), b""):
                digest.update(chunk)
        return digest.hexdigest()[:16]

    @property
    def parameters(self) -> int:
        """How many numbers the adapter holds (its memory is this times the dtype's size)."""
        total = 0
        for shape in self.shapes.values():
            count = 1
            for size in shape:
                count *= size
            total += count
        return total

    def record(self) -> dict[str, str]:
        """What an answer's record says of the adapter that made it."""
        return {"name": self.name, "path": str(self.path), "fingerprint": self.fingerprint}

    def describe(self) -> str:
        return (f"{self.name} (rank {self.rank}, alpha {self.alpha:g}, "
                f"{', '.join(self.targets)}; fingerprint {self.fingerprint})")


def _problem(path: Path, why: str) -> ConfigError:
    return ConfigError(f"adapter {path}: {why}")


def read_adapter(path: Path) -> Adapter:
    """An adapter folder, or one line saying what is wrong with it."""
    path = Path(path)
    if not path.is_dir():
        raise _problem(path, "no such folder: point at a PEFT adapter folder "
                       f"({ADAPTER_CONFIG} and {ADAPTER_WEIGHTS})")
    config_path, weights = path / ADAPTER_CONFIG, path / ADAPTER_WEIGHTS
    if not config_path.is_file():
        model = " (it holds a model's config.json: the base model's folder?)" if (
            path / "config.json").is_file() else ""
        raise _problem(path, f"no {ADAPTER_CONFIG}{model}: give a PEFT adapter folder, as "
                       "peft's save_pretrained writes it")
    if not weights.is_file():
        pickles = [p.name for p in path.iterdir() if p.suffix in (".bin", ".pt", ".pth")]
        found = f" (only {', '.join(sorted(pickles))}, pickle files the runtime never loads)" \
            if pickles else ""
        raise _problem(path, f"no {ADAPTER_WEIGHTS}{found}: save it with "
                       "save_pretrained(safe_serialization=True)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise _problem(path, f"{ADAPTER_CONFIG} cannot be read ({one_line(err)})") from None
    if not isinstance(config, dict) or config.get("peft_type", "LORA") != "LORA":
        raise _problem(path, f"{ADAPTER_CONFIG} is not a LoRA adapter's (peft_type "
                       f"{config.get('peft_type') if isinstance(config, dict) else None!r})")
    rank, alpha = config.get("r"), config.get("lora_alpha", config.get("r"))
    targets = config.get("target_modules")
    if isinstance(targets, str):
        targets = [targets]
    if (not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= max(VLLM_RANKS)
            or not isinstance(alpha, int | float) or not isinstance(targets, list)
            or not all(isinstance(t, str) for t in targets)):
        raise _problem(path, f"{ADAPTER_CONFIG} needs r (1 to {max(VLLM_RANKS)}), lora_alpha "
                       "and target_modules (a list of names)")
    if config.get("use_dora") or config.get("modules_to_save"):
        raise _problem(path, "DoRA and modules_to_save are not served unmerged by vLLM: merge "
                       "it (python -m runtime merge-adapter) and quantize the result")
    try:
        tensors = safetensors_tensors(weights)
    except ValueError as err:
        raise _problem(path, f"{ADAPTER_WEIGHTS} is not a safetensors file ({err})") from None
    shapes: dict[tuple[int, str, str], tuple[int, ...]] = {}
    for tensor, entry in tensors.items():
        match = _PROJECTION.search(tensor)
        if match:
            shapes[(int(match.group(1)), match.group(2), match.group(3))] = tuple(
                entry["shape"])
    if not shapes:
        raise _problem(path, f"{ADAPTER_WEIGHTS} holds no LoRA matrices of decoder "
                       "projections (…layers.N.self_attn|mlp.NAME.lora_A|B.weight)")
    return Adapter(path.resolve().name, path.resolve(), rank, float(alpha),
                   tuple(sorted({module for _, module, _ in shapes})),
                   str(config.get("base_model_name_or_path") or ""), shapes)


def projection_shapes(base: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(input, output) features of each decoder projection, from the base's config.json."""
    hidden = int(base.get("hidden_size", 0))
    heads = int(base.get("num_attention_heads", 1))
    kv_heads = int(base.get("num_key_value_heads") or heads)
    head_dim = int(base.get("head_dim") or hidden // max(heads, 1))
    intermediate = int(base.get("intermediate_size", 0))
    return {"q_proj": (hidden, heads * head_dim), "k_proj": (hidden, kv_heads * head_dim),
            "v_proj": (hidden, kv_heads * head_dim), "o_proj": (heads * head_dim, hidden),
            "gate_proj": (hidden, intermediate), "up_proj": (hidden, intermediate),
            "down_proj": (intermediate, hidden)}


def check_against_base(adapter: Adapter, base_dir: Path) -> None:
    """The adapter fits the base: not the base folder itself, every matrix of the shape the
    base's projection of that name needs, no layer the base lacks; else one line."""
    if adapter.path == Path(base_dir).resolve():
        raise _problem(adapter.path, "is the base model's folder: give the adapter's own "
                       "folder (adapter_config.json, adapter_model.safetensors)")
    base = json.loads((Path(base_dir) / "config.json").read_text(encoding="utf-8"))
    wanted = projection_shapes(base)
    layers = int(base.get("num_hidden_layers", 0))
    for (layer, module, part), shape in sorted(adapter.shapes.items()):
        if module not in wanted or layer >= layers:
            raise _problem(adapter.path, f"targets {module} of layer {layer}, which the base "
                           f"{base_dir} does not have: an adapter of another base model")
        features_in, features_out = wanted[module]
        expected = (adapter.rank, features_in) if part == "A" else (features_out, adapter.rank)
        if tuple(shape) != expected:
            raise _problem(adapter.path, f"its {module} lora_{part} of layer {layer} is "
                           f"{list(shape)}, the base {base_dir} needs {list(expected)}: an "
                           "adapter of another base model (base_model_name_or_path: "
                           f"{adapter.base or 'unrecorded'})")


def served_rank(rank: int) -> int:
    """The smallest rank vLLM serves that holds `rank`."""
    return next(r for r in VLLM_RANKS if r >= rank)


def lora_slot_bytes(base: dict[str, Any], max_loras: int, max_rank: int, gpus: int = 1,
                    dtype_bytes: int = 2) -> int:
    """The memory vLLM sets aside on each GPU for serving adapters: for every LoRA-capable
    projection of every layer, `max_loras` slots of A (rank x in) and B (out x rank) matrices
    at the largest rank served (float16 unless told otherwise), whatever the adapters target.

    Under tensor parallelism over `gpus`, as vLLM shards them (fully_sharded_loras off): a
    column-parallel projection (q, k, v, gate, up) keeps A whole and splits B's outputs; a
    row-parallel one (o, down) splits A's inputs and keeps B whole."""
    row_parallel = ("o_proj", "down_proj")
    per_layer = 0.0
    for module, (features_in, features_out) in projection_shapes(base).items():
        if module in row_parallel:
            per_layer += features_in / gpus + features_out
        else:
            per_layer += features_in + features_out / gpus
    layers = int(base.get("num_hidden_layers", 0))
    return int(layers * per_layer * max_rank * max_loras * dtype_bytes)
