"""Writing a model directory: never over existing files, tensors as safetensors only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from runtime.common.files import as_any_new_file


class ModelDirError(ValueError):
    """A model directory that cannot be written, or a model that cannot be read into one; the
    message says which and what to do."""


def fresh_model_dir(out_dir: str | Path) -> Path:
    """Create `out_dir`, refusing one that already holds files (a model is never overwritten
    silently)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ModelDirError(f"{out} is a file: name a new directory for the model")
    if out.is_dir() and any(out.iterdir()):
        raise ModelDirError(f"{out} already holds files; a model directory is never "
                            "overwritten: name a new directory, or delete this one first")
    out.mkdir(parents=True, exist_ok=True)
    return out


def save_weights(out: Path, weights: dict[str, np.ndarray]) -> None:
    import torch
    from safetensors.torch import save_file

    path = out / "model.safetensors"
    save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()},
              str(path), metadata={"format": "pt"})
    as_any_new_file(path)  # safetensors writes it 0600


def save_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
