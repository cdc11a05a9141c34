"""Sentence-embedding models load from folders only, once per process."""

import numpy as np
import pytest

from runtime.common.embeddings import (
    EmbeddingModelMissing,
    bundled_minilm_path,
    encode,
    load_encoder,
)


def test_a_folder_without_a_model_is_an_error_not_a_download(tmp_path):
    with pytest.raises(EmbeddingModelMissing, match="no sentence-transformers model"):
        load_encoder(tmp_path)


def test_the_bundled_minilm_loads_once_and_embeds():
    path = bundled_minilm_path()
    assert path is not None and (path / "modules.json").is_file()
    encoder = load_encoder(path)
    assert load_encoder(path) is encoder
    vectors = encode(encoder, ["a red mug", "a red cup", "tax law"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2]
    assert encode(encoder, []).shape == (0, 0)
