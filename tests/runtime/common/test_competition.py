"""The competition's facts: every task type has its metrics, tracks are named by id or
number, and track 5 is one of the challenge ids."""

import pytest

from runtime.common.competition import (
    CHALLENGE_IDS,
    METRIC_NAMES,
    METRICS_FOR_TASK_TYPE,
    TASK_TYPES,
    TRACK5,
    TRACK5_NAME,
    TRACK_LIMITS_S,
    TRACKS,
    track_id,
    track_name,
)


def test_every_metric_scores_exactly_one_task_type():
    assert set(METRICS_FOR_TASK_TYPE) == set(TASK_TYPES)
    named = [m for metrics in METRICS_FOR_TASK_TYPE.values() for m in metrics]
    assert sorted(named) == sorted(METRIC_NAMES)


def test_every_challenge_has_a_time_limit_and_track_5_is_the_longest():
    assert set(TRACK_LIMITS_S) == set(CHALLENGE_IDS) == {*TRACKS, TRACK5}
    assert TRACK_LIMITS_S[TRACK5] == max(TRACK_LIMITS_S.values()) == 140 * 60


@pytest.mark.parametrize(("text", "expected"), [
    ("1", "amazon-kdd-cup-24-understanding-shopping-concepts"),
    ("4", "amazon-kdd-cup-24-multi-lingual-abilities"),
    ("amazon-kdd-cup-24-user-behavior-alignment", "amazon-kdd-cup-24-user-behavior-alignment"),
])
def test_a_track_is_given_by_number_or_id(text, expected):
    assert track_id(text) == expected


@pytest.mark.parametrize("text", ["0", "5", "track-1", ""])
def test_other_tracks_are_refused_with_the_choices(text):
    with pytest.raises(ValueError, match="give 1-4 or one of"):
        track_id(text)


def test_track_names():
    assert track_name(TRACK5) == TRACK5_NAME
    assert track_name("amazon-kdd-cup-24-shopping-knowledge-reasoning").startswith("Track 2")
    assert track_name("elsewhere") == "elsewhere"
