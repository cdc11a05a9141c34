"""The profiler's arithmetic on synthetic records, and the paper estimate."""

import json
import math
import subprocess
import sys

import pytest

from runtime.data import TRACK5, Question
from runtime.estimate import GPUS, Workload, lower_bound
from runtime.profiler import (
    BatchRecord,
    counts_of,
    fit_costs,
    load_counts,
    project_tracks,
    stratified_sample,
    worst_batch,
)
from tests.conftest import REPO_ROOT

T1 = "amazon-kdd-cup-24-understanding-shopping-concepts"
T2 = "amazon-kdd-cup-24-shopping-knowledge-reasoning"


def synthetic(task_type, a, b, c, shapes):
    return [BatchRecord(task_type, n, a + b * p + c * g, p, g) for n, p, g in shapes]


RECORDS = (synthetic("generation", 0.5, 0.001, 0.02, [(4, 400, 200), (4, 800, 100),
                                                       (2, 300, 60), (4, 500, 180)])
           + synthetic("multiple-choice", 0.1, 0.002, 0.0, [(4, 400, 4), (4, 600, 4),
                                                            (3, 450, 3), (4, 520, 4)]))


def test_the_cost_model_recovers_exact_coefficients():
    costs = fit_costs(RECORDS)
    gen = costs["generation"]
    assert (gen.intercept, gen.per_prompt_token, gen.per_generated_token) == pytest.approx(
        (0.5, 0.001, 0.02))
    assert costs["multiple-choice"].per_prompt_token == pytest.approx(0.002)


def test_projection_arithmetic_is_exact():
    costs = fit_costs(RECORDS)
    counts = {T1: {"generation": 10}, T2: {"multiple-choice": 9}}
    projections = project_tracks(RECORDS, costs, counts, batch_size=4)
    # generation: per question 2000/14 prompt and 540/14 generated tokens
    p, g = 2000 / 14, 540 / 14
    batch = lambda n: 0.5 + 0.001 * n * p + 0.02 * n * g  # noqa: E731
    assert projections[T1].projected_s == pytest.approx(2 * batch(4) + batch(2))
    mp, mg = 1970 / 15, 15 / 15
    choice = lambda n: 0.1 + 0.002 * n * mp + 0.0 * n * mg  # noqa: E731
    assert projections[T2].projected_s == pytest.approx(2 * choice(4) + choice(1))
    assert projections[TRACK5].projected_s == pytest.approx(
        projections[T1].projected_s + projections[T2].projected_s)
    assert projections[T1].limit_s == 4200 and projections[T2].limit_s == 1200
    assert projections[T1].margin_s == pytest.approx(4200 - projections[T1].projected_s)
    assert projections[T1].verdict == "fits"


def test_verdicts_and_worst_batch():
    records = [BatchRecord("generation", 4, 39.0, 0, 0), BatchRecord("generation", 2, 2.0, 0, 0)]
    costs = fit_costs(records)
    assert costs["generation"].per_question == pytest.approx(41 / 6)
    projection = project_tracks(records, costs, {T2: {"generation": 300}}, 4)[T2]
    assert projection.projected_s == pytest.approx(300 * 41 / 6)
    assert projection.verdict.startswith("over the limit")
    worst = worst_batch(records)
    assert worst["wall_s"] == 39.0 and worst["share_of_limit"] == pytest.approx(39 / 40)


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


def test_lower_bound_arithmetic():
    t4 = GPUS["T4"]
    bound = lower_bound(8, 16, t4, 4, [Workload(questions=32, prompt_tokens=100,
                                                new_tokens=100)], batch_size=16)
    read = 16e9 / (320e9 * 4)
    assert bound.decode_steps == 2 * 99
    assert bound.decode_s == pytest.approx(198 * read)
    assert bound.prefill_s == pytest.approx(max(2 * 8e9 * 3200 / 260e12, 2 * read))


def estimate(*args):
    result = subprocess.run([sys.executable, "-m", "runtime", "profile", "--estimate", *args],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def bounds(text):
    out = {}
    for line in text.splitlines():
        if "; bound " in line:
            name = line.strip().split(":")[0]
            out[name] = float(line.split("; bound ")[1].split(" s")[0])
    return out


def test_the_organisers_8b_baseline_timings_lie_above_the_8b_bound(development_path):
    text = estimate("--params", "8", "--bits", "16", "--recipe", "baseline", "--data",
                    str(development_path))
    measured = {"Track 1": 1490, "Track 2": 397, "Track 3": 576, "Track 4": 359}
    found = bounds(text)
    for track, seconds in measured.items():
        assert found[track] < seconds, text
    assert "12.5 ms" in text  # 16 GB read at 4 x 320 GB/s


def test_a_72b_4bit_model_on_4_t4_is_estimated(development_path):
    text = estimate("--params", "72", "--bits", "4", "--data", str(development_path))
    assert "36.0 GB = 9.0 GB per GPU" in text
    assert all(not math.isnan(v) and v > 0 for v in bounds(text).values())


def test_profile_command_writes_json_markdown_and_chart(tmp_path, capsys):
    from runtime.cli import runtime_main

    code = runtime_main(["profile", "--model", "dummy", "--fraction", "0.5",
                         "--output-dir", str(tmp_path)])
    assert code == 0
    document = json.loads((tmp_path / "profile.json").read_text())
    assert (tmp_path / "profile.md").is_file() and (tmp_path / "profile.png").is_file()
    assert TRACK5 in document["tracks"]
    for track in document["tracks"].values():
        assert {"projected_s", "limit_s", "margin_s", "verdict"} <= set(track)
        assert track["margin_s"] == pytest.approx(track["limit_s"] - track["projected_s"],
                                                  abs=1e-2)
    assert "engine_load_s" in document and document["worst_batch"]["limit_s"] > 0
    assert "| track | projected | limit |" in capsys.readouterr().out
