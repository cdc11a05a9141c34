"""Comparing two saved runs: differences per track, task and question on the questions both
runs answered, computed by hand; runs that cannot be compared refused."""

import fcntl
import json

import pytest

from runtime.cli import runtime_main
from runtime.common.settings import ConfigError
from runtime.grading.compare import compare_runs
from runtime.grading.predictions import OutputDirError

T1 = "amazon-kdd-cup-24-understanding-shopping-concepts"
T2 = "amazon-kdd-cup-24-shopping-knowledge-reasoning"


def row(task, track, number):
    return {"input_field": f"Question {number}?\n0. yes\n1. no\nAnswer: ", "output_field": 0,
            "task_name": task, "task_type": "multiple-choice", "metric": "accuracy",
            "is_multiple_choice": True, "track": track}


# Two tasks of three questions: x (rows 0-2, track 1) and y (rows 3-5, track 2).
DATA = [row("x", T1, 0), row("x", T1, 1), row("x", T1, 2),
        row("y", T2, 3), row("y", T2, 4), row("y", T2, 5)]


def scored_run(tmp_path, name, answers, data=DATA):
    """A run scored by `runtime score` from kit-format predictions (0 right, 1 wrong)."""
    path = tmp_path / f"{name}-data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in data))
    kit = tmp_path / f"{name}.jsonl"
    kit.write_text("".join(json.dumps({**r, "model_output_str": a}) + "\n"
                           for r, a in zip(data, answers, strict=True)))
    out = tmp_path / name
    assert runtime_main(["score", "--data", str(path), "--predictions", str(kit),
                         "--output-dir", str(out)]) == 0
    return out


def test_compare_two_saved_runs(tmp_path, capsys):
    # A: x 3/3, y 1/3.  B: x 2/3, y 3/3.  Mean of the two tracks: A 2/3, B 5/6.
    before = scored_run(tmp_path, "a", ["0", "0", "0", "1", "1", "0"])
    after = scored_run(tmp_path, "b", ["1", "0", "0", "0", "0", "0"])
    comparison = compare_runs(before, after)
    assert [(c.name, c.before, c.after, c.delta) for c in comparison.tasks] == [
        ("x", 1.0, pytest.approx(2 / 3), pytest.approx(-1 / 3)),
        ("y", pytest.approx(1 / 3), 1.0, pytest.approx(2 / 3))]
    assert [(c.name, c.shared, c.only_before, c.only_after) for c in comparison.tasks] == [
        ("x", 3, 0, 0), ("y", 3, 0, 0)]
    assert comparison.overall.delta == pytest.approx(5 / 6 - 2 / 3)
    # Losses are listed beside the gains.
    assert [(q.row, q.change.delta) for q in comparison.gains] == [(3, 1.0), (4, 1.0)]
    assert [(q.row, q.change.delta) for q in comparison.losses] == [(0, -1.0)]
    assert comparison.matched_questions == 6 and comparison.changed_questions == 3

    capsys.readouterr()
    assert runtime_main(["compare", str(before), str(after)]) == 0
    printed = capsys.readouterr().out
    assert "| x | 3 | 0 | 0 | 1.0000 | 0.6667 | -0.3333 |" in printed
    assert "| **2 of 4 tracks** | 6 | 0 | 0 | 0.6667 | 0.8333 | +0.1667 |" in printed
    assert "Losses (B below A)" in printed and "Gains (B above A)" in printed
    # Nothing is written into either run's folder.
    assert sorted(p.name for p in after.iterdir()) == sorted(p.name for p in before.iterdir())
    assert not any(p.name.startswith("compare") for p in [*before.iterdir(), *after.iterdir()])


def test_unequal_runs_are_compared_on_the_questions_both_answered(tmp_path):
    # A answered all six; B only x's three, all right. On the shared questions (x) A scores
    # 1/3 and B 3/3: every difference and interval is of x alone, and y is listed as A's only.
    before = scored_run(tmp_path, "a", ["1", "1", "0", "0", "0", "0"])
    after = scored_run(tmp_path, "b", ["0", "0", "0"], data=DATA[:3])
    comparison = compare_runs(before, after)
    x, y = comparison.tasks
    assert (x.shared, x.before, x.after) == (3, pytest.approx(1 / 3), 1.0)
    assert (y.name, y.shared, y.only_before, y.delta) == ("y", 0, 3, None)
    assert [(t.name, t.shared) for t in comparison.tracks] == [(T1, 3), (T2, 0)]
    overall = comparison.overall
    assert (overall.shared, overall.only_before, overall.only_after) == (3, 3, 0)
    assert overall.delta == pytest.approx(2 / 3)
    # Each difference lies in its own interval: both are on the same questions.
    for change in [*comparison.tasks, *comparison.tracks, overall]:
        if change.interval is not None:
            low, high = change.interval
            assert low - 1e-9 <= change.delta <= high + 1e-9, change
    assert any("on the 3 questions both runs scored" in note for note in comparison.notes)


def test_runs_that_share_no_question_are_refused(tmp_path):
    before = scored_run(tmp_path, "a", ["0", "0", "0"], data=DATA[:3])
    after = scored_run(tmp_path, "b", ["0", "0", "0"], data=DATA[3:])
    with pytest.raises(ConfigError, match="share no question"):
        compare_runs(before, after)


def test_a_run_still_being_written_is_refused(tmp_path):
    before = scored_run(tmp_path, "a", ["0"] * 6)
    after = scored_run(tmp_path, "b", ["1"] * 6)
    with (after / ".lock").open("a+") as held:
        held.write("process 4242")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(OutputDirError, match="in use by another run"):
            compare_runs(before, after)
    compare_runs(before, after)  # released: compared


def test_compare_lists_where_the_specifications_differ(tmp_path):
    from runtime.cli import evaluation_main
    from tests.conftest import SAMPLE

    first, second = tmp_path / "dummy", tmp_path / "dummy-other-seed"
    assert evaluation_main(["--model", "dummy", "--data", str(SAMPLE), "--output-dir",
                            str(first), "--no-progress"]) == 0
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"scoring": {"bootstrap_seed": 7}}))
    assert evaluation_main(["--model", "dummy", "--data", str(SAMPLE), "--output-dir",
                            str(second), "--no-progress", "--config", str(config)]) == 0
    comparison = compare_runs(first, second)
    assert any("bootstrap_seed" in change for change in comparison.spec_differences)


def test_results_of_the_previous_schema_still_compare_with_a_note(tmp_path):
    before = scored_run(tmp_path, "a", ["0", "0", "0", "1", "1", "0"])
    after = scored_run(tmp_path, "b", ["1", "0", "0", "0", "0", "0"])
    # results.json as schema 6 wrote it: `track5`, no specification, no rescorings.
    path = before / "results.json"
    old = json.loads(path.read_text())
    old["track5"] = old.pop("overall")
    for name in ("spec", "rescorings"):
        old.pop(name)
    old["track5"].pop("name")
    old["schema_version"] = 6
    path.write_text(json.dumps(old))
    comparison = compare_runs(before, after)
    assert comparison.overall.delta == pytest.approx(5 / 6 - 2 / 3)
    assert any("run A was written by an earlier version (results schema 6" in note
               and "run specification" in note for note in comparison.notes)


def test_compare_needs_finished_runs(tmp_path, capsys):
    assert runtime_main(["compare", str(tmp_path / "nope"), str(tmp_path)]) == 2
    assert "no results.json" in capsys.readouterr().err


def test_each_difference_has_its_paired_interval(tmp_path, capsys):
    before = scored_run(tmp_path, "a", ["0", "0", "0", "1", "1", "0"])
    after = scored_run(tmp_path, "b", ["1", "0", "0", "0", "0", "0"])
    comparison = compare_runs(before, after)
    x, y = comparison.tasks
    assert -1.0 <= x.interval[0] <= x.interval[1] <= 0.0 and not x.significant
    assert 0.0 <= y.interval[0] <= y.interval[1] <= 1.0
    low, high = comparison.overall.interval
    assert -0.5 <= low <= high <= 1.0

    # All wrong, then all right: every question gains 1, on every resample.
    worse = scored_run(tmp_path, "c", ["1"] * 6)
    better = scored_run(tmp_path, "d", ["0"] * 6)
    comparison = compare_runs(worse, better)
    assert comparison.overall.interval == (1.0, 1.0) and comparison.overall.significant
    capsys.readouterr()
    assert runtime_main(["compare", str(worse), str(better), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["overall"]["paired_interval"] == [1.0, 1.0]
    assert printed["overall"]["excludes_zero"] is True


def test_a_task_of_too_few_shared_questions_has_no_interval(tmp_path):
    before = scored_run(tmp_path, "a", ["0", "1"], data=[DATA[0], DATA[3]])
    after = scored_run(tmp_path, "b", ["1", "0"], data=[DATA[0], DATA[3]])
    comparison = compare_runs(before, after)
    for change in [*comparison.tasks, *comparison.tracks, comparison.overall]:
        assert change.interval is None and "too few questions" in change.interval_note


def test_the_comparison_is_written_only_outside_both_runs(tmp_path, capsys):
    before = scored_run(tmp_path, "a", ["0"] * 6)
    after = scored_run(tmp_path, "b", ["1"] * 6)
    saved = (before / "predictions.jsonl").read_bytes()
    (before / "compare-x.md").symlink_to(before / "predictions.jsonl")
    for output in (before / "compare-x.md", after / "new.md", before / "predictions.jsonl"):
        assert runtime_main(["compare", str(after), str(before), "--output", str(output)]) == 2
        assert "inside run folder" in capsys.readouterr().err
    assert (before / "predictions.jsonl").read_bytes() == saved
    elsewhere = tmp_path / "comparison.md"
    assert runtime_main(["compare", str(before), str(after), "--output", str(elsewhere)]) == 0
    assert elsewhere.read_text() == capsys.readouterr().out
