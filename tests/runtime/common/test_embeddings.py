"""Sentence-embedding models load from folders only, once per process."""

import json

import numpy as np
import pytest

from runtime.common.embeddings import (
    EmbeddingModelMissing,
    MeanPooledBert,
    bundled_minilm_path,
    encode,
    load_encoder,
    mean_pooled_bert_layout,
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


TRICKY_TEXTS = ["", "  padded  ", "A RED MUG", "line\nbreak\n", "日本語のテキスト", "café naïve",
                "word " * 400, "😀", "The quick brown fox. " * 20]


def test_the_own_forward_pass_gives_sentence_transformers_vectors():
    from sentence_transformers import SentenceTransformer

    path = bundled_minilm_path()
    encoder = load_encoder(path)
    assert isinstance(encoder, MeanPooledBert)
    reference = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    expected = np.stack([reference.encode([text])[0] for text in TRICKY_TEXTS])
    assert np.abs(encode(encoder, TRICKY_TEXTS) - expected).max() < 1e-5


def test_a_folder_of_another_layout_loads_through_sentence_transformers(tmp_path):
    source = bundled_minilm_path()
    for item in source.iterdir():
        if item.name != "1_Pooling":
            (tmp_path / item.name).symlink_to(item)
    (tmp_path / "1_Pooling").mkdir()
    pooling = json.loads((source / "1_Pooling" / "config.json").read_text())
    pooling |= {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    assert mean_pooled_bert_layout(source) == (256, True)
    assert mean_pooled_bert_layout(tmp_path) is None
    encoder = load_encoder(tmp_path)
    assert not isinstance(encoder, MeanPooledBert)
    mean, cls = encode(load_encoder(source), ["a red mug"]), encode(encoder, ["a red mug"])
    assert np.abs(mean - cls).max() > 1e-3
