"""End-to-end local evaluations of the dummy and the CPU baseline, on the bundled sample set and
on the shared development set, through the same path the command line uses."""

import pytest

from runtime.grading.config import load_config
from runtime.grading.evaluation import evaluate


@pytest.fixture(scope="module")
def runs(tmp_path_factory, sample_path, development_path):
    results = {}
    for data_name, data in (("sample", sample_path), ("development", development_path)):
        for model in ("dummy", "baseline"):
            out = tmp_path_factory.mktemp(f"{model}-{data_name}")
            config = load_config(None, data=data, model=model, output_dir=out, progress=False)
            results[model, data_name] = evaluate(config)
    return results


@pytest.mark.parametrize("data_name", ["sample", "development"])
@pytest.mark.parametrize("model", ["dummy", "baseline"])
def test_every_question_is_answered_and_scored(runs, model, data_name):
    results = runs[model, data_name]
    assert sum(t.num_samples for t in results.tasks) == results.run.num_questions
    assert results.overall.score is not None
    assert set(results.tracks) == set(results.overall.tracks_included)


def test_dummy_scores_about_chance_on_development(runs):
    assert 0.10 < runs["dummy", "development"].overall.score < 0.22


def test_baseline_beats_the_dummy(runs):
    dummy = runs["dummy", "development"].overall.score
    baseline = runs["baseline", "development"].overall.score
    assert baseline >= 1.5 * dummy
    assert runs["baseline", "sample"].overall.score > runs["dummy", "sample"].overall.score


def test_baseline_answers_always_parse_on_development(runs):
    assert sum(t.parse_failures for t in runs["baseline", "development"].tasks) == 0
