"""The profiler's arithmetic on synthetic records, and the paper estimate."""

import json

import pytest

from runtime.budget.profiler import (
    BatchRecord,
    Cost,
    Profile,
    counts_of,
    expected_longest,
    fit_costs,
    load_counts,
    project_tracks,
    stratified_sample,
    worst_batch,
)
from runtime.common.competition import TRACK5
from runtime.grading.questions import Question, load_questions
from tests.conftest import REPO_ROOT

T1 = "amazon-kdd-cup-24-understanding-shopping-concepts"
T2 = "amazon-kdd-cup-24-shopping-knowledge-reasoning"


def synthetic(task_type, a, b, c, shapes):
    """Batches of (questions, prompt tokens, decode steps) costing exactly a + b p + c s."""
    return [BatchRecord(task_type, n, a + b * p + c * s, p, s * n, decode_steps=s)
            for n, p, s in shapes]


RECORDS = (synthetic("generation", 0.5, 0.001, 0.02, [(4, 400, 50), (4, 800, 20),
                                                       (2, 300, 30), (4, 500, 45)])
           + synthetic("multiple-choice", 0.1, 0.002, 0.0, [(4, 400, 1), (4, 600, 1),
                                                            (3, 450, 1), (4, 520, 1)]))


def test_the_cost_model_recovers_exact_coefficients():
    costs = fit_costs(RECORDS)
    gen = costs["generation"]
    assert (gen.intercept, gen.per_prompt_token, gen.per_decode_step) == pytest.approx(
        (0.5, 0.001, 0.02))
    assert gen.fitted_on == "task type"
    assert costs["multiple-choice"].per_prompt_token == pytest.approx(0.002)


def test_a_task_type_with_one_batch_uses_the_fit_over_all_batches():
    # Engine-wide costs: 0.1 s a batch, 1 ms a prompt token, 10 ms a decode step.
    records = synthetic("multiple-choice", 0.1, 0.001, 0.01, [(8, 800, 1), (8, 1600, 1)]) + \
        synthetic("ranking", 0.1, 0.001, 0.01, [(2, 300, 12)]) + \
        synthetic("generation", 0.1, 0.001, 0.01, [(4, 200, 50)])
    ranking = fit_costs(records)["ranking"]
    assert ranking.fitted_on == "all batches"
    assert (ranking.intercept, ranking.per_prompt_token, ranking.per_decode_step) == \
        pytest.approx((0.1, 0.001, 0.01))


def test_no_coefficient_comes_out_negative():
    # Unconstrained least squares gives these a negative intercept (time = 0.002 p - 0.5).
    records = [BatchRecord("generation", 4, 0.002 * p - 0.5 + noise, p, 4, decode_steps=s)
               for p, s, noise in [(400, 1, 0.0), (800, 2, 0.01), (1200, 1, 0.0),
                                   (1600, 2, -0.01)]]
    cost = fit_costs(records)["generation"]
    assert min(cost.intercept, cost.per_prompt_token, cost.per_decode_step) >= 0
    assert cost.batch_s(4, 800, 2) > cost.batch_s(4, 400, 1)


def test_projection_arithmetic_is_exact():
    costs = fit_costs(RECORDS)
    counts = {T1: {"generation": 10}, T2: {"multiple-choice": 9, "generation": 6}}
    projections = project_tracks(RECORDS, costs, counts, batch_size=4)
    # generation: 2000/14 prompt tokens a question, (50 + 20 + 30 + 45)/4 decode steps a batch
    p, s = 2000 / 14, 145 / 4
    batch = lambda n: 0.5 + 0.001 * n * p + 0.02 * s  # noqa: E731
    assert projections[T1].projected_s == pytest.approx(2 * batch(4) + batch(2))
    mp = 1970 / 15
    choice = lambda n: 0.1 + 0.002 * n * mp  # noqa: E731
    assert projections[T2].projected_s == pytest.approx(2 * choice(4) + choice(1)
                                                        + batch(4) + batch(2))
    # Track 5 is one run batched by task type: 16 generation questions are 4 full batches.
    assert projections[TRACK5].projected_s == pytest.approx(4 * batch(4)
                                                            + 2 * choice(4) + choice(1))
    assert projections[T1].limit_s == 4200 and projections[T2].limit_s == 1200
    assert projections[T1].margin_s == pytest.approx(4200 - projections[T1].projected_s)
    assert projections[T1].verdict.startswith("fits: ")  # an exact fit: no error to count


def test_a_track_is_projected_with_the_decode_steps_of_its_own_answers():
    # Mixed batches: track 1's answers run to 50 tokens, track 2's stop after 5.
    answers = [(T1, 100, 50), (T1, 100, 40), (T2, 100, 5), (T2, 100, 3)]
    records = [BatchRecord("generation", 4, 0.0, 400, 98, questions=answers,
                           decode_steps=50)] * 3
    cost = Cost(0.1, 0.001, 0.01, 0.0)
    projections = project_tracks(records, {"generation": cost}, {T2: {"generation": 4}}, 4)
    # A batch of 4 of track 2's answers (lengths 5 and 3, equally often) decodes 5 steps
    # unless all four are 3s: 5 - 2 / 2^4.
    assert projections[T2].projected_s == pytest.approx(0.1 + 0.001 * 400 + 0.01 * 4.875)
    # Track 5 draws its 4 from 3, 5, 40 and 50: P(longest <= k-th) = (k/4)^4.
    steps = (3 * 1 + 5 * (16 - 1) + 40 * (81 - 16) + 50 * (256 - 81)) / 256
    assert projections[TRACK5].projected_s == pytest.approx(0.1 + 0.001 * 400 + 0.01 * steps)


def test_a_batch_decodes_the_expected_longest_of_its_answers():
    assert expected_longest([1, 2, 3], 1) == pytest.approx(2.0)  # one answer: the mean
    assert expected_longest([1, 2, 3], 2) == pytest.approx((1 * 1 + 2 * 3 + 3 * 5) / 9)
    assert expected_longest([7, 7], 16) == pytest.approx(7.0)
    assert 2.99 < expected_longest([1, 2, 3], 64) <= 3.0  # a large batch: nearly the longest


def test_verdicts_and_worst_batch():
    records = [BatchRecord("generation", 4, 39.0, 0, 0), BatchRecord("generation", 2, 2.0, 0, 0)]
    costs = fit_costs(records)
    assert costs["generation"].per_question == pytest.approx(41 / 6)
    projection = project_tracks(records, costs, {T2: {"generation": 300}}, 4)[T2]
    assert projection.projected_s == pytest.approx(300 * 41 / 6)
    # The per-question fit misses these two batches by 57% of a batch: 2050 s against a
    # 1200 s limit is within that error, so no verdict is claimed.
    assert projection.error_share == pytest.approx(1167 / 2050, abs=0.001)
    assert projection.verdict.startswith("too close to call: 2050 s ± 1167 s")
    further = project_tracks(records, costs, {T2: {"generation": 1000}}, 4)[T2]
    assert further.verdict.startswith("over the limit")
    worst = worst_batch(records, costs)
    assert worst.wall_s == 39.0 and worst.share_of_limit == pytest.approx(39 / 40)


def test_the_worst_batch_does_not_depend_on_timing_noise():
    # Batches 2 and 3 do the same work, timed twice with 5% noise the other way round: the
    # slowest measured batch differs between the runs; the named worst batch does not.
    exact = synthetic("generation", 0.5, 0.001, 0.02,
                      [(4, 400, 40), (4, 800, 20), (4, 500, 45), (4, 500, 45)])

    def timed(noise):
        return [BatchRecord(r.task_type, r.batch_size, r.wall_s * (1 + n), r.prompt_tokens,
                            r.generated_tokens, decode_steps=r.decode_steps)
                for r, n in zip(exact, noise, strict=True)]

    first, second = timed([0.01, -0.01, 0.05, -0.05]), timed([-0.01, 0.01, -0.05, 0.05])
    assert max(range(4), key=lambda i: first[i].wall_s) == 2
    assert max(range(4), key=lambda i: second[i].wall_s) == 3
    assert worst_batch(first, fit_costs(first)).index == 2
    assert worst_batch(second, fit_costs(second)).index == 2


def question(row, task):
    return Question(row=row, input_field=str(row), is_multiple_choice=False, task_name=task,
                    task_type="generation", metric="rougel", track=T1, output_field="x")


def test_stratified_sample_keeps_every_task():
    questions = [question(i, "a") for i in range(40)] + [question(40 + i, "b") for i in range(4)]
    sample = stratified_sample(questions, 11)
    assert {q.task_name for q in sample} == {"a", "b"}
    assert len([q for q in sample if q.task_name == "a"]) == 10
    assert counts_of(questions) == {T1: {"generation": 44}}


def test_counts_file_is_validated(tmp_path):
    path = tmp_path / "counts.json"
    path.write_text(json.dumps({"note": "mine", T1: {"generation": 5}}))
    assert load_counts(path) == ({T1: {"generation": 5}}, "mine")
    path.write_text(json.dumps({"track-9": {"generation": 5}}))
    with pytest.raises(ValueError, match="unknown track"):
        load_counts(path)


def test_profile_command_writes_json_markdown_and_chart(tmp_path, capsys):
    from runtime.cli import runtime_main

    code = runtime_main(["profile", "--model", "dummy", "--fraction", "0.5",
                         "--output-dir", str(tmp_path), "--no-progress"])
    assert code == 0
    document = json.loads((tmp_path / "profile.json").read_text())
    # By default the test set's estimated counts are projected, not the sample set's own.
    estimate = json.loads((REPO_ROOT / "data" / "track_counts_estimate.json").read_text())
    assert document["counts_note"] == estimate["note"]
    assert document["fit"]["batches"] == len(document["records"])
    assert document["run"]["hardware"] == "cpu" and document["run"]["hardware_warning"]
    assert "not on the leaderboard's 4x T4" in capsys.readouterr().err
    assert runtime_main(["profile", "--model", "dummy", "--fraction", "0.5", "--data-counts",
                         "--output-dir", str(tmp_path / "own"), "--no-progress"]) == 0
    own = json.loads((tmp_path / "own" / "profile.json").read_text())
    assert own["counts_note"].startswith("the questions of ")
    assert (tmp_path / "profile.md").is_file() and (tmp_path / "profile.png").is_file()
    assert TRACK5 in document["tracks"]
    for track in document["tracks"].values():
        assert {"projected_s", "limit_s", "margin_s", "verdict"} <= set(track)
        assert track["margin_s"] == pytest.approx(track["limit_s"] - track["projected_s"],
                                                  abs=1e-2)
    assert "engine_load_s" in document and document["worst_batch"]["limit_s"] > 0
    assert Profile.model_validate(document).run.model == "dummy"  # the typed model reads it
    assert "| track | projected | limit |" in capsys.readouterr().out


def test_a_sample_has_the_size_asked_and_says_why_when_it_cannot(sample_path, capsys,
                                                                 tmp_path):
    questions = load_questions(sample_path).questions
    tasks = {q.task_name for q in questions}
    for size in (len(tasks), 24, 30, len(questions)):
        sample = stratified_sample(questions, size)
        assert len(sample) == size and {q.task_name for q in sample} == tasks
    assert len(stratified_sample(questions, 5)) == len(tasks)  # each task keeps one
    from runtime.cli import runtime_main

    assert runtime_main(["profile", "--model", "dummy", "--sample", "5", "--no-progress",
                         "--output-dir", str(tmp_path)]) == 0
    said = capsys.readouterr().err
    assert f"profiling {len(tasks)} of {len(questions)} questions (--sample 5" in said
    assert f"more than asked: each of the {len(tasks)} tasks keeps one question" in said
