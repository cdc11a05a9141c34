"""Comparing two saved runs: differences per track, task and question, computed by hand."""

import json

from runtime.cli import runtime_main
from runtime.grading.compare import compare_runs

T1 = "amazon-kdd-cup-24-understanding-shopping-concepts"
T2 = "amazon-kdd-cup-24-shopping-knowledge-reasoning"


def row(task, track, number):
    return {"input_field": f"Question {number}?\n0. yes\n1. no\nAnswer: ", "output_field": 0,
            "task_name": task, "task_type": "multiple-choice", "metric": "accuracy",
            "is_multiple_choice": True, "track": track}


DATA = [row("x", T1, 0), row("x", T1, 1), row("y", T2, 2), row("y", T2, 3)]


def scored_run(tmp_path, name, answers):
    """A run scored by `runtime score` from kit-format predictions (0 right, 1 wrong)."""
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in DATA))
    kit = tmp_path / f"{name}.jsonl"
    kit.write_text("".join(json.dumps({**r, "model_output_str": a}) + "\n"
                           for r, a in zip(DATA, answers, strict=True)))
    out = tmp_path / name
    assert runtime_main(["score", "--data", str(data), "--predictions", str(kit),
                         "--output-dir", str(out)]) == 0
    return out


def test_compare_two_saved_runs(tmp_path, capsys):
    # A: x 2/2, y 1/2.  B: x 1/2, y 2/2.  Track 5 (mean of tracks) 0.75 in both.
    before = scored_run(tmp_path, "a", ["0", "0", "1", "0"])
    after = scored_run(tmp_path, "b", ["1", "0", "0", "0"])
    comparison = compare_runs(before, after)
    assert [(c.name, c.before, c.after, c.delta) for c in comparison.tasks] == [
        ("x", 1.0, 0.5, -0.5), ("y", 0.5, 1.0, 0.5)]
    assert [(c.name, c.delta) for c in comparison.tracks] == [(T1, -0.5), (T2, 0.5)]
    assert (comparison.track5.before, comparison.track5.after, comparison.track5.delta) == (
        0.75, 0.75, 0.0)
    assert [(q.row, q.change.delta) for q in comparison.questions] == [(0, -1.0), (2, 1.0)]
    assert comparison.matched_questions == 4

    capsys.readouterr()
    assert runtime_main(["compare", str(before), str(after)]) == 0
    printed = capsys.readouterr().out
    assert "| x | 1.0000 | 0.5000 | -0.5000 |" in printed
    assert "| **Track 5** | 0.7500 | 0.7500 | +0.0000 |" in printed
    assert (after / "compare-a.md").read_text() == printed


def test_compare_needs_finished_runs(tmp_path, capsys):
    assert runtime_main(["compare", str(tmp_path / "nope"), str(tmp_path)]) == 2
    assert "no results.json" in capsys.readouterr().err


def test_each_difference_has_its_paired_interval(tmp_path, capsys):
    # x: A right on both, B on one (per question B - A: -1, 0); y the other way round.
    before = scored_run(tmp_path, "a", ["0", "0", "1", "0"])
    after = scored_run(tmp_path, "b", ["1", "0", "0", "0"])
    comparison = compare_runs(before, after)
    x, y = comparison.tasks
    assert -1.0 <= x.interval[0] <= x.interval[1] <= 0.0 and not x.significant
    assert 0.0 <= y.interval[0] <= y.interval[1] <= 1.0 and not y.significant
    low, high = comparison.track5.interval
    assert -0.5 <= low <= 0.0 <= high <= 0.5 and not comparison.track5.significant

    # All wrong, then all right: every question gains 1, on every resample.
    worse = scored_run(tmp_path, "c", ["1", "1", "1", "1"])
    better = scored_run(tmp_path, "d", ["0", "0", "0", "0"])
    comparison = compare_runs(worse, better)
    assert comparison.track5.interval == (1.0, 1.0) and comparison.track5.significant
    capsys.readouterr()
    assert runtime_main(["compare", str(worse), str(better), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["track5"]["paired_interval"] == [1.0, 1.0]
    assert printed["track5"]["excludes_zero"] is True
