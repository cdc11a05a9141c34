import math

import pytest

from runtime.answering.calibration import (
    ChoicePrior,
    best_choice,
    calibrated,
    option_probabilities,
)

CHOICES = ("0", "1", "2", "3")
PRIOR = [0.55, 0.25, 0.15, 0.05]  # a model that prefers "0" whatever the options say


def biased(content: list[float], prior: list[float]) -> list[float]:
    """What a model with `prior` over ids reports for options whose contents merit `content`."""
    joint = [c * p for c, p in zip(content, prior, strict=True)]
    return [j / sum(joint) for j in joint]


def test_a_known_prior_is_removed_exactly():
    content = [0.1, 0.2, 0.3, 0.4]
    assert calibrated(biased(content, PRIOR), PRIOR) == pytest.approx(content, abs=1e-12)
    # Uncalibrated, the prior wins; calibrated, the content does.
    assert best_choice(biased(content, PRIOR), CHOICES) == "0"
    assert best_choice(calibrated(biased(content, PRIOR), PRIOR), CHOICES) == "3"


def test_the_running_prior_is_the_mean_of_what_was_seen():
    prior = ChoicePrior()
    assert prior.count(CHOICES) == 0
    assert prior.prior(CHOICES) == [0.25] * 4
    prior.add(CHOICES, [0.7, 0.1, 0.1, 0.1])
    prior.add(CHOICES, [0.1, 0.3, 0.5, 0.1])
    assert prior.count(CHOICES) == 2
    assert prior.prior(CHOICES) == pytest.approx([0.4, 0.2, 0.3, 0.1])
    # Each set of option ids keeps its own prior.
    assert prior.count(("1", "2", "3")) == 0


def test_questions_with_uninformative_options_reveal_the_prior_exactly():
    prior = ChoicePrior()
    for _ in range(5):
        prior.add(CHOICES, biased([0.25] * 4, PRIOR))
    assert prior.prior(CHOICES) == pytest.approx(PRIOR, abs=1e-12)
    content = [0.2, 0.3, 0.4, 0.1]
    assert calibrated(biased(content, PRIOR), prior.prior(CHOICES)) == pytest.approx(content)


def test_log_probs_become_probabilities_over_the_options_only():
    logprobs = {"0": math.log(0.2), "1": math.log(0.2), "2": math.log(0.1)}
    # "3" was never returned: impossible; the rest renormalised.
    assert option_probabilities(logprobs, CHOICES) == pytest.approx([0.4, 0.4, 0.2, 0.0])
    assert option_probabilities({}, CHOICES) == [0.25] * 4


def test_an_id_the_model_never_weights_stays_impossible():
    assert calibrated([0.5, 0.5, 0.0], [0.6, 0.4, 0.0]) == pytest.approx([0.4, 0.6, 0.0])
    # A tie goes to the earlier option: the same answer every run.
    assert best_choice([0.3, 0.3, 0.0], ("1", "2", "3")) == "1"
