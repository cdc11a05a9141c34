"""The nine ShopBench metrics with the leaderboard's semantics, offline.

`METRICS` maps each metric name of the data to a `Metric`: the type its truth must have (checked
when data is loaded), a per-answer score over a batch of parsed answers and truths
(`score(predictions, truths, encoder) -> list[float]`, one per answer) paired with the
task-level aggregation (`aggregate(predictions, truths, scores) -> float`): the
mean of the answers' scores, or for micro F1 the true/false positives and negatives summed over
the task (its per-answer score, the answer's own F1, is for reading predictions only). Only the
two sentence-embedding metrics use `encoder` (named by `embedding_model`); they embed every text
of the batch in a few large calls instead of one call per answer.

Edge cases the official code leaves undefined (it divides by zero) score 0 here: a micro-F1 task
with no predicted entities at all, and an NDCG truth whose relevances are all zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, NamedTuple

import numpy as np
from pydantic import Field, StrictFloat, StrictInt, StrictStr, TypeAdapter

from runtime.common.embeddings import ALL_MINILM, MULTILINGUAL_MINILM, Encoder, encode

BatchMetric = Callable[[Sequence[Any], Sequence[Any], Encoder | None], list[float]]
Aggregation = Callable[[Sequence[Any], Sequence[Any], Sequence[float]], float]


class EntityCounts(NamedTuple):
    true_positives: int
    false_positives: int
    false_negatives: int


def accuracy(prediction: int, truth: int) -> float:
    return float(prediction == truth)


def hit_rate_at_3(prediction: list[int], truth: list[int]) -> float:
    return len(set(truth) & set(prediction[:3])) / len(truth)


def ndcg(prediction: list[int], truth: list[float]) -> float:
    """Item k of the answer (1-based) has relevance truth[k-1]; gain 2^rel - 1, log2 discount."""
    ranked = prediction[: len(truth)]
    dcg = 0.0
    for position, item in enumerate(ranked, start=1):
        # An item 0 reads truth[-1], as the official code does; items past the end score 0,
        # and so do negative items past the start (Shopping MMLU reads "-7"; its code raises).
        relevance = truth[item - 1] if -len(truth) <= item - 1 < len(truth) else 0
        dcg += (np.power(2, relevance) - 1) / np.log2(position + 1)
    idcg = 0.0
    for position, relevance in enumerate(sorted(truth, reverse=True), start=1):
        idcg += (np.power(2, relevance) - 1) / np.log2(position + 1)
    return float(dcg / idcg) if idcg > 0 else 0.0


@lru_cache(maxsize=1)
def _rouge_scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(prediction: str, truth: str) -> float:
    return float(_rouge_scorer().score(prediction, truth)["rougeL"].fmeasure)


@lru_cache(maxsize=2)
def _bleu_scorer(tokenize: str) -> Any:
    from sacrebleu.metrics import BLEU

    return BLEU(lowercase=True, tokenize=tokenize)


def _graded_line(text: str) -> str:
    """The line the translation metrics read: the first, once surrounding newlines are cut."""
    return text.lstrip("\n").rstrip("\n").split("\n")[0]


def bleu(prediction: str, truth: str) -> float:
    """Corpus BLEU of one sentence (13a tokens, lower-cased) on the answer's first line, /100."""
    scorer = _bleu_scorer("13a")
    return float(scorer.corpus_score([_graded_line(prediction)], [[truth]]).score) / 100


def jp_bleu(prediction: str, truth: str) -> float:
    """As `bleu`, tokenised with MeCab (ja-mecab)."""
    scorer = _bleu_scorer("ja-mecab")
    return float(scorer.corpus_score([_graded_line(prediction)], [[truth]]).score) / 100


def entity_counts(prediction: list[str], truth: list[str]) -> EntityCounts:
    """Answers are lower-cased and stripped of spaces, truths lower-cased, as the grader does."""
    answers = [entity.lower().strip(" ") for entity in prediction]
    truths = [entity.lower() for entity in truth]
    true_positives = len(set(answers) & set(truths))
    return EntityCounts(
        true_positives, len(answers) - true_positives, len(truths) - true_positives
    )


def micro_f1(counts: Sequence[EntityCounts]) -> float:
    tp = sum(c.true_positives for c in counts)
    fp = sum(c.false_positives for c in counts)
    fn = sum(c.false_negatives for c in counts)
    if tp + fp == 0 or tp + fn == 0:
        return 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def entity_f1(prediction: list[str], truth: list[str]) -> float:
    """One sample's own F1, for reading predictions; task scores use `micro_f1`."""
    tp, fp, fn = entity_counts(prediction, truth)
    if tp + fp + fn == 0:
        return 1.0
    return 2 * tp / (2 * tp + fp + fn)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum() / (np.linalg.norm(a, ord=2) * np.linalg.norm(b, ord=2)))


def sentence_similarity(
    predictions: Sequence[str],
    truths: Sequence[str | list[str]],
    encoder: Encoder | None,
) -> list[float]:
    """Cosine of answer and truth embeddings, clipped at 0; a list of truths is averaged first.

    Every distinct text of the batch is embedded once, in a few batched calls.
    """
    if encoder is None:
        raise ValueError("sentence similarity needs an embedding model")
    texts: dict[str, int] = {}
    for text in [*predictions, *(t for truth in truths for t in _as_list(truth))]:
        texts.setdefault(text, len(texts))
    vectors = encode(encoder, list(texts))
    scores = []
    for prediction, truth in zip(predictions, truths, strict=True):
        answer = vectors[texts[prediction]]
        score = float(np.mean([_cosine(answer, vectors[texts[t]]) for t in _as_list(truth)]))
        scores.append(score if score > 0 else 0.0)
    return scores


def _as_list(truth: str | list[str]) -> list[str]:
    return [truth] if isinstance(truth, str) else list(truth)


def per_answer(sample_metric: Callable[[Any, Any], float]) -> BatchMetric:
    def batch(
        predictions: Sequence[Any], truths: Sequence[Any], encoder: Encoder | None = None
    ) -> list[float]:
        return [sample_metric(p, t) for p, t in zip(predictions, truths, strict=True)]

    batch.__name__ = sample_metric.__name__
    return batch


def mean_of_answers(predictions: Sequence[Any], truths: Sequence[Any],
                    scores: Sequence[float]) -> float:
    return float(np.mean(scores)) if len(scores) else 0.0


def micro_f1_of_task(predictions: Sequence[Any], truths: Sequence[Any],
                     scores: Sequence[float]) -> float:
    """Entity counts summed over the whole task, then F1 (the answers' own F1s are unused)."""
    return micro_f1([entity_counts(p, t) for p, t in zip(predictions, truths, strict=True)])


@dataclass(frozen=True)
class Truth:
    """The type a metric's truth must have, and how a data error words it."""

    type: TypeAdapter[Any]
    wants: str


def _truth(type_: Any, wants: str) -> Truth:
    return Truth(TypeAdapter(type_), wants)


_TEXT = _truth(StrictStr, "must be a string")
# A relevance is a small grade (0-3 in the data); 2^relevance must stay exact in 64 bits.
MAX_RELEVANCE = 30
_RELEVANCE = Annotated[StrictInt | StrictFloat, Field(ge=0, le=MAX_RELEVANCE,
                                                      allow_inf_nan=False)]
_TEXTS = _truth(StrictStr | Annotated[list[StrictStr], Field(min_length=1)],
                "must be a string or a non-empty list of strings")


def answer_scores(predictions: Sequence[Any], truths: Sequence[Any],
                  scores: Sequence[float]) -> np.ndarray:
    """One column: the answers' own scores (a task's mean is their sum over the count)."""
    return np.asarray(scores, dtype=float).reshape(-1, 1)


def mean_of_sums(sums: np.ndarray, count: int) -> np.ndarray:
    return sums[:, 0] / count


def answer_entity_counts(predictions: Sequence[Any], truths: Sequence[Any],
                         scores: Sequence[float]) -> np.ndarray:
    """Three columns: each answer's true positives, false positives and false negatives."""
    return np.array([entity_counts(p, t) for p, t in zip(predictions, truths, strict=True)],
                    dtype=float).reshape(-1, 3)


def micro_f1_of_sums(sums: np.ndarray, count: int) -> np.ndarray:
    """`micro_f1` of summed counts, one row of sums each (0 where it is undefined)."""
    tp, fp, fn = sums[:, 0], sums[:, 1], sums[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = 2 * tp / (2 * tp + fp + fn)
    return np.where((tp + fp == 0) | (tp + fn == 0) | (tp == 0), 0.0, f1)


Units = Callable[[Sequence[Any], Sequence[Any], Sequence[float]], np.ndarray]
OfSums = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class Metric:
    """A metric: its per-answer score, its task-level aggregation and the truth it takes.

    `units` and `of_sums` are the aggregation again, for resampling: a task's score is a
    function of column sums of one row per answer (`units`), so a resample of the answers is a
    weighted sum of rows and `of_sums` turns many such sums into task scores at once."""

    score: BatchMetric
    truth: Truth
    aggregate: Aggregation = mean_of_answers
    embedding_model: str | None = None  # the sentence-embedding model `score` needs
    units: Units = answer_scores
    of_sums: OfSums = mean_of_sums


METRICS: dict[str, Metric] = {
    "accuracy": Metric(per_answer(accuracy),
                       _truth(StrictInt, "must be an integer option number")),
    "hit rate@3": Metric(per_answer(hit_rate_at_3),
                         _truth(Annotated[list[StrictInt], Field(min_length=1)],
                                "must be a non-empty list of integer indices")),
    "ndcg": Metric(per_answer(ndcg),
                   _truth(Annotated[list[_RELEVANCE], Field(min_length=1)],
                          f"must be a non-empty list of relevance numbers from 0 to "
                          f"{MAX_RELEVANCE}")),
    "micro f1": Metric(per_answer(entity_f1),
                       _truth(list[StrictStr], "must be a list of entity strings"),
                       aggregate=micro_f1_of_task, units=answer_entity_counts,
                       of_sums=micro_f1_of_sums),
    "rougel": Metric(per_answer(rouge_l), _TEXT),
    "bleu": Metric(per_answer(bleu), _TEXT),
    "jp-bleu": Metric(per_answer(jp_bleu), _TEXT),
    "sent-transformer": Metric(sentence_similarity, _TEXTS, embedding_model=ALL_MINILM),
    "multilingual-sent-transformer": Metric(sentence_similarity, _TEXTS,
                                            embedding_model=MULTILINGUAL_MINILM),
}
EMBEDDING_MODEL_FOR_METRIC: dict[str, str] = {
    name: metric.embedding_model for name, metric in METRICS.items() if metric.embedding_model
}
