"""Shopping MMLU's metrics on adversarial answers, scored both ways.

Each table row: an answer, the value Shopping MMLU's definition gives it (worked out by hand
in the comment), and the value the KDD Cup grader gives the same answer. Every metric whose
reading differs has at least one row where the two differ.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from runtime.grading.config import ScoringConfig
from runtime.grading.questions import Question
from runtime.grading.scoring import score_answers
from runtime.grading.shopping_mmlu_parsers import read_answer

TRACK = "amazon-kdd-cup-24-user-behavior-alignment"


def question(row: int, task_type: str, metric: str, truth: object, task: str = "t") -> Question:
    return Question(row=row, input_field=f"prompt {row}", task_name=task, task_type=task_type,
                    metric=metric, track=TRACK, output_field=truth,
                    is_multiple_choice=task_type == "multiple-choice")


def scored(task_type: str, metric: str, truth: object, answer: str,
           semantics: str) -> float:
    """One answer's score as `semantics` scores it."""
    q = question(0, task_type, metric, truth)
    config = ScoringConfig(semantics=semantics, bootstrap_resamples=0)
    value = score_answers([q], {0: answer}, config).rows[0].score
    assert value is not None
    return value


def both(task_type: str, metric: str, truth: object, answer: str) -> tuple[float, float]:
    return (scored(task_type, metric, truth, answer, "shopping-mmlu"),
            scored(task_type, metric, truth, answer, "shopbench"))


ACCURACY = [  # truth 1: (answer, Shopping MMLU, KDD Cup)
    ("1", 1.0, 1.0),
    ("  1  ", 1.0, 1.0),     # spaces stripped by both
    ("\n1", 0.0, 1.0),       # only spaces are stripped: the first character is "\n"
    ("\t1", 0.0, 1.0),
    ("10", 1.0, 1.0),        # the first character only
    ("", 0.0, 0.0),          # empty is 0
    ("   ", 0.0, 0.0),
    ("one", 0.0, 0.0),
    ("\u0661", 0.0, 1.0),    # Arabic-Indic one: not the character "1"; int() reads it as 1
]


@pytest.mark.parametrize(("answer", "mmlu", "kdd"), ACCURACY)
def test_accuracy(answer, mmlu, kdd):
    assert both("multiple-choice", "accuracy", 1, answer) == (mmlu, kdd)


HIT_RATE = [  # truth [2, 6, 5]
    ("2,6,5", 1.0, 1.0),
    ("2, 6, 5", 1.0, 1.0),          # int() takes the spaces around a piece
    ("[2, 6, 5]", 1 / 3, 1.0),      # "[2" and " 5]" are no integers; the grader keeps digits
    ("-2,6,5", 2 / 3, 1.0),         # int("-2") is -2; the grader drops the sign
    ("6,\n2,5", 1.0, 1.0),          # a newline does not cut the list
    ("1,2,6,5", 2 / 3, 2 / 3),      # the first three pieces only
    ("2,2,2", 1 / 3, 1 / 3),        # duplicates are not special
    ("2 6 5", 0.0, 0.0),            # one piece, no integer
    ("", 0.0, 0.0),
    ("0,0,0", 0.0, 0.0),
]


@pytest.mark.parametrize(("answer", "mmlu", "kdd"), HIT_RATE)
def test_hit_rate(answer, mmlu, kdd):
    got = both("retrieval", "hit rate@3", [2, 6, 5], answer)
    assert got == pytest.approx((mmlu, kdd))


def _gain(relevance: float, position: int) -> float:
    return (2 ** relevance - 1) / math.log2(position + 1)


# truth [0, 3, 1, 3, 0]: the ideal order's relevances are 3, 3, 1, 0, 0.
IDEAL = _gain(3, 1) + _gain(3, 2) + _gain(1, 3)
NDCG = [
    ("2,4,3,1,5", 1.0, 1.0),
    # duplicates count again for Shopping MMLU (above 1); the grader empties the list.
    ("2,2,4,3,1", (_gain(3, 1) + _gain(3, 2) + _gain(3, 3) + _gain(1, 4)) / IDEAL, 0.0),
    # 0 reads the truth's last entry (0) in both.
    ("0,2,4", (_gain(3, 2) + _gain(3, 3)) / IDEAL, (_gain(3, 2) + _gain(3, 3)) / IDEAL),
    # The first line only; the grader joins "3\n1" into 31 and drops it (above 5).
    ("\n2,4,3\n1,5", 1.0, (_gain(3, 1) + _gain(3, 2)) / IDEAL),
    # 7 is past the truth (0) but keeps its place; the grader drops it (above 5).
    ("7,2,4", (_gain(3, 2) + _gain(3, 3)) / IDEAL, (_gain(3, 1) + _gain(3, 2)) / IDEAL),
    # -1 reads truth[-2] (3); the grader drops the sign and reads item 1 (0).
    ("-1,2", (_gain(3, 1) + _gain(3, 2)) / IDEAL, _gain(3, 2) / IDEAL),
    # -9 is before the truth's start: nothing (their code raises IndexError there); the
    # grader reads 9, drops it (above 5) and ranks 2 first.
    ("-9,2", _gain(3, 2) / IDEAL, _gain(3, 1) / IDEAL),
    ("2,4,3,1,5,6", 1.0, 1.0),      # cut to the truth's length
    ("", 0.0, 0.0),
]


@pytest.mark.parametrize(("answer", "mmlu", "kdd"), NDCG)
def test_ndcg(answer, mmlu, kdd):
    got = both("ranking", "ndcg", [0, 3, 1, 3, 0], answer)
    assert got == pytest.approx((mmlu, kdd))


ENTITIES = [  # truth ["Samsung", "phone case"]: (answer, Shopping MMLU tp/fp/fn, KDD tp/fp/fn)
    ("Samsung, Phone Case", (2, 0, 0), (2, 0, 0)),
    ("['samsung', 'phone case']", (0, 2, 2), (2, 0, 0)),  # no list literal for Shopping MMLU
    ("samsung,,phone case", (2, 0, 0), (2, 0, 0)),        # the empty piece is dropped
    ("samsung, ,phone case", (2, 1, 0), (2, 0, 0)),       # " " is no empty piece: it counts
    ("samsung, samsung", (1, 1, 1), (1, 1, 1)),           # duplicates count as answers
    ("\nsamsung\nphone case", (1, 0, 1), (0, 1, 2)),      # the first line after newlines
    ("", (0, 0, 2), (0, 0, 2)),
]


def _f1(tp: int, fp: int, fn: int) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


@pytest.mark.parametrize(("answer", "mmlu", "kdd"), ENTITIES)
def test_micro_f1_of_one_answer(answer, mmlu, kdd):
    got = both("named_entity_recognition", "micro f1", ["Samsung", "phone case"], answer)
    assert got == pytest.approx((_f1(*mmlu), _f1(*kdd)))


def test_micro_f1_sums_counts_over_the_task():
    truth = ["Samsung", "phone case"]
    questions = [question(i, "named_entity_recognition", "micro f1", truth)
                 for i in range(len(ENTITIES))]
    answers = {i: row[0] for i, row in enumerate(ENTITIES)}
    for semantics, column in (("shopping-mmlu", 1), ("shopbench", 2)):
        tp, fp, fn = (sum(row[column][k] for row in ENTITIES) for k in range(3))
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        expected = 2 * precision * recall / (precision + recall)
        config = ScoringConfig(semantics=semantics, bootstrap_resamples=0)
        assert score_answers(questions, answers, config).tasks[0].score == pytest.approx(
            expected)


def test_micro_f1_of_a_task_without_entities_is_0_and_said():
    questions = [question(i, "named_entity_recognition", "micro f1", ["nike"])
                 for i in range(2)]
    scores = score_answers(questions, {0: "", 1: "\n\n"},
                           ScoringConfig(semantics="shopping-mmlu", bootstrap_resamples=0))
    assert scores.tasks[0].score == 0.0
    assert any("divides by zero" in note for note in scores.notes)


def test_generation_reads_past_the_graders_5000_characters():
    """The grader reads the first 5,000 characters; Shopping MMLU reads the whole answer."""
    truth = "stainless steel water bottle"
    answer = "\n" * 5000 + truth
    assert both("generation", "bleu", truth, answer) == pytest.approx((1.0, 0.0))
    assert both("generation", "rougel", truth, " " * 5000 + truth) == pytest.approx((1.0, 0.0))


def test_sentence_similarity_is_the_mean_cosine_clipped_after_the_mean():
    from runtime.common.embeddings import ALL_MINILM, encode
    from runtime.grading.scoring import load_metric_model

    config = ScoringConfig(semantics="shopping-mmlu", bootstrap_resamples=0)
    encoder = load_metric_model(ALL_MINILM, config)
    truth = ["A strap that holds a watch.", "Running shoes for trails."]
    answer = " a watch strap "
    vectors = encode(encoder, [answer, *truth])
    cosines = [float(vectors[0] @ v / (np.linalg.norm(vectors[0]) * np.linalg.norm(v)))
               for v in vectors[1:]]
    q = question(0, "generation", "sent-transformer", truth)
    got = score_answers([q], {0: answer}, config, {ALL_MINILM: encoder}).rows[0].score
    assert got == pytest.approx(max(0.0, sum(cosines) / 2), abs=1e-5)


def test_readings_of_the_whole_answer():
    assert read_answer(" 3 ", "multiple-choice") == 3
    assert read_answer(" 1_0 ,2", "retrieval") == [10, 2]  # int() takes underscores
    assert read_answer("\n\n3,1\n2", "ranking") == [3, 1]
    assert read_answer(" Nike , AIR ", "named_entity_recognition") == ["nike", "air"]
    assert read_answer(" as is \n", "generation") == " as is \n"
    with pytest.raises(ValueError, match="unknown task type"):
        read_answer("1", "summary")
