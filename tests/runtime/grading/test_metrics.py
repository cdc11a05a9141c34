"""Each metric against values computed by hand, with the official semantics (FACTS.md)."""

import math

import numpy as np
import pytest

from runtime.common.embeddings import bundled_minilm_path, load_encoder
from runtime.grading.metrics import (
    METRICS,
    EntityCounts,
    accuracy,
    bleu,
    entity_counts,
    hit_rate_at_3,
    jp_bleu,
    micro_f1,
    ndcg,
    rouge_l,
    sentence_similarity,
)


def test_metric_mapping_covers_every_metric_name_of_the_data():
    from runtime.common.competition import METRIC_NAMES

    assert set(METRICS) == set(METRIC_NAMES)


def test_accuracy():
    assert accuracy(2, 2) == 1.0
    assert accuracy(-1, 0) == 0.0


def test_hit_rate_counts_only_the_first_three():
    assert hit_rate_at_3([9, 1, 6, 15], [6, 9, 15]) == pytest.approx(2 / 3)
    assert hit_rate_at_3([4, 1, 2], [4]) == 1.0
    assert hit_rate_at_3([], [4]) == 0.0


def test_ndcg_by_hand():
    truth = [1, 0.01, 0.1, 1, 0]
    gain = [2**r - 1 for r in (0, 1, 0.1, 0.01, 1)]  # items 5, 4, 3, 2, 1
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gain))
    ideal = [2**r - 1 for r in (1, 1, 0.1, 0.01, 0)]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    assert ndcg([5, 4, 3, 2, 1], truth) == pytest.approx(dcg / idcg)
    assert ndcg([5, 4, 3, 2, 1], truth) == pytest.approx(0.632805, abs=1e-5)
    assert ndcg([1, 4, 3, 2, 5], truth) == pytest.approx(1.0)
    assert ndcg([], truth) == 0.0


def test_ndcg_quirks():
    truth = [1, 0, 0]
    # item 0 reads the last relevance (official indexing); items past the end count 0
    assert ndcg([0], [0, 0, 1]) == pytest.approx(1.0)
    assert ndcg([9, 1], truth) == pytest.approx((1 / math.log2(3)) / 1)
    # answers longer than the truth are cut to its length
    assert ndcg([2, 3, 1], truth) == pytest.approx(1 / math.log2(4))
    assert ndcg([1, 2], [0, 0]) == 0.0


def test_rouge_l_with_stemming():
    # LCS("the cat sat", "the cat was sitting") = 2: P = 2/3, R = 2/4
    assert rouge_l("the cat sat", "the cat was sitting") == pytest.approx(4 / 7)
    assert rouge_l("running shoes", "run shoe") == pytest.approx(1.0)
    assert rouge_l("", "anything") == 0.0


def test_bleu_by_hand():
    assert bleu("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(1.0)
    # 1-4 gram precisions 3/4, 2/3, 1/2, 0/1 -> exp smoothing gives 1/2 for the zero; BP = 1
    assert bleu("A B C D", "a b c e") == pytest.approx((0.75 * (2 / 3) * 0.5 * 0.5) ** 0.25)
    # only the first line of the answer is read
    first_line_only = bleu("\nthe cat sat on the mat\nnoise noise", "the cat sat on the mat")
    assert first_line_only == pytest.approx(1.0)
    assert bleu("", "the cat") == 0.0


def test_jp_bleu_tokenises_with_mecab():
    reference = "綿 バスタオル 4枚セット グレー"
    assert jp_bleu(reference, reference) == pytest.approx(1.0)
    # Without spaces, 13a sees one token and no overlap; MeCab splits the words.
    assert bleu("東京のホテルに泊まる", "東京のホテルに行く") == 0.0
    assert jp_bleu("東京のホテルに泊まる", "東京のホテルに行く") > 0.3


def test_entity_counts_and_micro_f1_aggregate_over_the_task():
    first = entity_counts([" Samsung ", "case"], ["samsung", "otterbox"])
    second = entity_counts(["Red", "red"], ["red"])
    assert first == EntityCounts(1, 1, 1)
    assert second == EntityCounts(1, 1, 0)
    # tp 2, fp 2, fn 1: P = 1/2, R = 2/3, F1 = 4/7 (not the mean of per-sample F1s)
    assert micro_f1([first, second]) == pytest.approx(4 / 7)
    preds, truths = [[" Samsung ", "case"], ["Red", "red"]], [["samsung", "otterbox"], ["red"]]
    assert METRICS["micro f1"].aggregate(preds, truths, [0.5, 0.6667]) == pytest.approx(4 / 7)
    assert micro_f1([EntityCounts(0, 0, 3)]) == 0.0


def test_truth_is_lowercased_but_not_stripped():
    assert entity_counts(["nike"], [" Nike"]) == EntityCounts(0, 1, 1)


class FixedVectors:
    """An encoder with known vectors, so cosines can be computed by hand."""

    VECTORS = {"a": [1.0, 0.0], "b": [0.0, 1.0], "ab": [1.0, 1.0], "-a": [-1.0, 0.0]}

    def __init__(self):
        self.calls = 0

    def encode(self, sentences, batch_size=32, **kwargs):
        self.calls += 1
        return np.array([self.VECTORS[s] for s in sentences], dtype=np.float32)


def test_sentence_similarity_by_hand():
    encoder = FixedVectors()
    scores = sentence_similarity(["a", "a", "a", "ab"], ["ab", "-a", ["b", "ab"], ["a", "-a"]],
                                 encoder)
    assert scores[0] == pytest.approx(1 / math.sqrt(2))
    assert scores[1] == 0.0  # cosine -1 clipped at 0
    assert scores[2] == pytest.approx((0 + 1 / math.sqrt(2)) / 2)  # a list of truths: averaged
    assert scores[3] == 0.0  # mean of +0.707 and -0.707 is 0
    assert encoder.calls == 1  # all texts of the batch in one call


@pytest.fixture(scope="module")
def minilm():
    return load_encoder(bundled_minilm_path())


def test_real_minilm_batched_equals_one_call_per_sample(minilm):
    predictions = ["A toggle switch is a lever switch.", "cotton", "A bag for personal items."]
    truths = ["A toggle switch is an electric switch operated by a lever.", "cotton",
              ["Handbags hold personal items.", "A bag carried by hand."]]
    batched = sentence_similarity(predictions, truths, minilm)
    pairs = zip(predictions, truths, strict=True)
    single = [sentence_similarity([p], [t], minilm)[0] for p, t in pairs]
    assert batched == pytest.approx(single, abs=1e-5)
    assert batched[1] == pytest.approx(1.0, abs=1e-5)
    assert 0.3 < batched[0] < 1.0
