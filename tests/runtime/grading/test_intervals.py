"""Bootstrap intervals: the resampling arithmetic against scores recomputed by hand, pairing,
and what the intervals of a known distribution must be."""

import numpy as np
import pytest

from runtime.common.competition import TRACKS
from runtime.grading.intervals import (
    TaskUnits,
    excludes_zero,
    interval,
    resample_counts,
    resample_runs,
    units_of_task,
)
from runtime.grading.metrics import entity_counts, micro_f1

T1, T2 = list(TRACKS)[:2]


def accuracy_task(name: str, track: str, scores: list[float]) -> TaskUnits:
    return units_of_task(name, "accuracy", track, [0] * len(scores), [0] * len(scores), scores)


def test_counts_draw_each_resample_from_the_task_alone():
    counts = resample_counts(7, 50, np.random.default_rng(3))
    assert counts.shape == (50, 7)
    assert (counts.sum(axis=1) == 7).all()
    assert (counts >= 0).all() and counts.max() > 1  # with replacement


def test_a_micro_f1_resample_sums_counts_before_f1():
    predictions = [["nike"], ["adidas", "puma"], [], ["cotton", "wool"]]
    truths = [["Nike"], ["Reebok"], ["silk"], ["wool"]]
    task = units_of_task("ner", "micro f1", T1, predictions, truths, [0.0] * 4)
    # resample_runs draws each task's counts from a generator seeded with its seed.
    counts = resample_counts(4, 20, np.random.default_rng(0))
    resampled = resample_runs([[task]], 20, seed=0)[0].tasks["ner"]
    for draw, value in zip(counts, resampled, strict=True):
        chosen = [i for i, times in enumerate(draw) for _ in range(int(times))]
        by_hand = micro_f1([entity_counts(predictions[i], truths[i]) for i in chosen])
        assert value == pytest.approx(by_hand)


def test_aggregates_are_recomputed_from_the_resampled_tasks():
    tasks = [accuracy_task("a", T1, [1, 0, 1, 1]), accuracy_task("b", T1, [0, 0, 1]),
             accuracy_task("c", T2, [1, 1, 0, 0, 1])]
    r = resample_runs([tasks], 200, seed=5)[0]
    assert r.tracks[T1] == pytest.approx((r.tasks["a"] + r.tasks["b"]) / 2)
    assert r.overall == pytest.approx((r.tracks[T1] + r.tracks[T2]) / 2)
    assert r.tasks_mean == pytest.approx((r.tasks["a"] + r.tasks["b"] + r.tasks["c"]) / 3)


def test_the_same_seed_gives_the_same_interval_and_a_constant_task_has_no_width():
    tasks = [accuracy_task("a", T1, [1, 0, 1, 1, 0, 1]), accuracy_task("k", T2, [0.5] * 9)]
    first = resample_runs([tasks], 300, seed=1)[0]
    again = resample_runs([tasks], 300, seed=1)[0]
    assert interval(first.tasks["a"], 0.95) == interval(again.tasks["a"], 0.95)
    assert interval(first.tasks["k"], 0.95) == (0.5, 0.5)


def test_a_proportion_gets_the_width_its_standard_error_says():
    # 200 answers, half right: the standard error of the mean is 0.5 / sqrt(200) = 0.0354,
    # so a 95% interval spans about 2 x 1.96 x 0.0354 = 0.139 around 0.5.
    scores = [1.0, 0.0] * 100
    low, high = interval(resample_runs([[accuracy_task("a", T1, scores)]], 4000, 0)[0]
                         .tasks["a"], 0.95)
    assert low < 0.5 < high
    assert high - low == pytest.approx(0.139, abs=0.015)


def test_pairing_cancels_what_two_runs_share():
    rng = np.random.default_rng(2)
    hard = list(rng.random(300))  # questions differ a lot in difficulty, for both runs
    a = [accuracy_task("t", T1, hard)]
    b = [accuracy_task("t", T1, [s + 0.01 for s in hard])]
    first, second = resample_runs([a, b], 1000, seed=0)
    paired = interval(second.tasks["t"] - first.tasks["t"], 0.95)
    assert paired == pytest.approx((0.01, 0.01))
    assert excludes_zero(paired)
    # Unpaired, the same difference is lost in the spread of question difficulty.
    alone_a = interval(first.tasks["t"], 0.95)
    assert alone_a[1] - alone_a[0] > 0.05


def test_identical_runs_differ_by_exactly_nothing():
    tasks = [accuracy_task("a", T1, [1, 0, 1]), accuracy_task("b", T2, [0.2, 0.9])]
    first, second = resample_runs([tasks, tasks], 100, seed=0)
    assert interval(second.overall - first.overall, 0.95) == (0.0, 0.0)
    assert not excludes_zero((0.0, 0.0))
