"""The command lines: local_evaluation.py and `python -m runtime score`."""

import json
import subprocess
import sys

from runtime.cli import evaluation_main, runtime_main
from tests.conftest import REPO_ROOT


def test_bad_data_is_one_clear_error_line(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input_field": "x", "is_multiple_choice": false}\n')
    code = evaluation_main(["--data", str(bad), "--model", "dummy", "--output-dir",
                            str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: {bad}: line 1: field 'output_field': missing" in err


def test_strict_fails_before_any_answer_is_generated(tmp_path, capsys):
    out = tmp_path / "out"
    code = evaluation_main(["--model", "dummy", "--output-dir", str(out), "--strict"])
    assert code == 2
    assert "multilingual-sent-transformer" in capsys.readouterr().err
    assert not (out / "predictions.jsonl").exists()


def test_score_command_rescores_saved_answers(tmp_path):
    first = tmp_path / "first"
    assert evaluation_main(["--model", "dummy", "--output-dir", str(first), "--no-progress"]) == 0
    again = tmp_path / "again"
    code = runtime_main(["score", "--data", str(REPO_ROOT / "data" / "sample.jsonl"),
                         "--predictions", str(first / "predictions.jsonl"),
                         "--output-dir", str(again)])
    assert code == 0
    before = json.loads((first / "results.json").read_text())
    after = json.loads((again / "results.json").read_text())
    assert after["tasks"] == before["tasks"]
    assert after["overall"] == before["overall"]
    for name in ("predictions.jsonl", "report.md", "scores.png"):
        assert (again / name).is_file()


def test_predictions_without_row_indices_are_matched_in_data_order(tmp_path):
    # The organisers' kit writes the data rows plus model_output_str, in data order.
    first = tmp_path / "first"
    assert evaluation_main(["--model", "dummy", "--output-dir", str(first), "--no-progress"]) == 0
    lines = [json.loads(x) for x in (first / "predictions.jsonl").read_text().splitlines()]
    kit = tmp_path / "kit.jsonl"
    kit.write_text("".join(json.dumps({k: v for k, v in line.items()
                                       if k not in ("row", "parsed", "score", "runtime")}) + "\n"
                           for line in sorted(lines, key=lambda x: x["row"])))
    code = runtime_main(["score", "--data", str(REPO_ROOT / "data" / "sample.jsonl"),
                         "--predictions", str(kit), "--output-dir", str(tmp_path / "again")])
    assert code == 0
    before = json.loads((first / "results.json").read_text())
    after = json.loads((tmp_path / "again" / "results.json").read_text())
    assert after["tasks"] == before["tasks"] and after["overall"] == before["overall"]


def test_partial_predictions_are_labelled_partial_with_their_counts(tmp_path, capsys):
    first = tmp_path / "first"
    assert evaluation_main(["--model", "dummy", "--output-dir", str(first), "--no-progress"]) == 0
    lines = (first / "predictions.jsonl").read_text(encoding="utf-8").split("\n")
    (tmp_path / "some.jsonl").write_text("\n".join(lines[:5]) + "\n", encoding="utf-8")
    capsys.readouterr()
    code = runtime_main(["score", "--data", str(REPO_ROOT / "data" / "sample.jsonl"),
                         "--predictions", str(tmp_path / "some.jsonl"),
                         "--output-dir", str(tmp_path / "again")])
    assert code == 0
    run = json.loads((tmp_path / "again" / "results.json").read_text())["run"]
    total = run["num_questions"]
    assert (run["answered"], run["missing"], run["partial"]) == (5, total - 5, True)
    said = f"5 of {total} questions answered, {total - 5} missing"
    assert said in capsys.readouterr().out
    assert said in (tmp_path / "again" / "report.md").read_text()
    whole = json.loads((first / "results.json").read_text())["run"]
    assert (whole["answered"], whole["missing"], whole["partial"]) == (total, 0, False)


def test_scoring_saved_answers_where_they_lie_leaves_them_as_they_are(tmp_path):
    out = tmp_path / "out"
    assert evaluation_main(["--model", "dummy", "--output-dir", str(out), "--no-progress"]) == 0
    evaluated = json.loads((out / "results.json").read_text())
    with (out / "predictions.jsonl").open("a") as handle:
        handle.write('{"row": 99, "input_fi')  # a line cut short by a kill: kept, not dropped
    before = (out / "predictions.jsonl").read_bytes()
    code = runtime_main(["score", "--data", str(REPO_ROOT / "data" / "sample.jsonl"),
                         "--predictions", str(out / "predictions.jsonl"),
                         "--output-dir", str(out)])
    assert code == 0
    assert (out / "predictions.jsonl").read_bytes() == before
    scored = json.loads((out / "results.json").read_text())
    assert scored["tasks"] == evaluated["tasks"] and scored["overall"] == evaluated["overall"]
    # The run's own record stays; the re-scoring is recorded beside it.
    assert scored["run"]["model"] == evaluated["run"]["model"] == "dummy"
    assert scored["run"]["answered"] == 42 and scored["spec"] == evaluated["spec"]
    assert scored["timing"]["generation_s"] == evaluated["timing"]["generation_s"]
    assert [r["scoring"] for r in scored["rescorings"]] == ["shopbench"]


def test_local_evaluation_script_runs_as_a_program(tmp_path):
    result = subprocess.run(
        [sys.executable, "local_evaluation.py", "--model", "dummy", "--limit", "5",
         "--output-dir", str(tmp_path), "--no-progress"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Track 5 (mean of tracks)" in result.stdout


def test_the_vllm_model_runs_on_weights_named_on_the_command_line(tiny_model_dir, tmp_path):
    # The path a user takes with real weights: nothing edited, one flag.
    result = subprocess.run(
        [sys.executable, "local_evaluation.py", "--model", "vllm", "--weights",
         str(tiny_model_dir), "--output-dir", str(tmp_path), "--no-progress"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # stdout is the results alone; the engine's log is in the run's log file.
    assert all(line == "" or line.startswith(("|", "note: ", "written to ", "scoring: "))
               for line in result.stdout.split("\n")), result.stdout
    log = (tmp_path / "run.log").read_text(encoding="utf-8")
    assert " vllm." in log and "INFO" in log
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["run"]["model"] == "vllm"
    assert document["run"]["weights"] == str(tiny_model_dir)
    assert sum(t["parse_failures"] for t in document["tasks"]) == 0
    assert document["timing"]["engine_load_s"] > 0


def test_the_main_job_answers_through_vllm_on_the_embedded_model(tmp_path):
    # The README's main job, on a few questions: the default UserModel, no flags.
    result = subprocess.run(
        [sys.executable, "local_evaluation.py", "--limit", "6", "--output-dir", str(tmp_path),
         "--no-progress"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Track 5 (mean of tracks)" in result.stdout
    lines = [json.loads(x) for x in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert len(lines) == 6 and all("runtime" in x for x in lines)
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["run"]["model"] == "UserModel"
    assert "/models/embedded/smollm2-135m-instruct" in document["run"]["model_dir"]
    assert document["timing"]["engine_load_s"] > 0
    assert sum(t["parse_failures"] for t in document["tasks"]) == 0
    assert "stopped by the deadline." in (tmp_path / "report.md").read_text(encoding="utf-8")


SHOPPING_MMLU = REPO_ROOT / "tests" / "fixtures" / "shopping_mmlu" / "data"


def test_a_shopping_mmlu_folder_scores_its_own_way_and_rescores_both_ways(tmp_path, capsys):
    run = tmp_path / "run"
    assert evaluation_main(["--data", str(SHOPPING_MMLU), "--model", "baseline",
                            "--output-dir", str(run), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("scoring: shopping-mmlu (")
    assert "Shopping MMLU leaderboard" in out and "| User Behavior Alignment |" in out
    evaluated = json.loads((run / "results.json").read_text())
    assert evaluated["scoring"] == "shopping-mmlu"

    runs = {}
    for semantics in ("shopping-mmlu", "shopbench"):
        runs[semantics] = tmp_path / semantics
        assert runtime_main(["score", "--data", str(SHOPPING_MMLU), "--predictions",
                             str(run / "predictions.jsonl"), "--output-dir",
                             str(runs[semantics]), "--scoring", semantics]) == 0
    again = json.loads((runs["shopping-mmlu"] / "results.json").read_text())
    assert again["tasks"] == evaluated["tasks"]
    assert again["tracks"] == evaluated["tracks"]
    assert json.loads((runs["shopbench"] / "results.json").read_text())["scoring"] == "shopbench"
    capsys.readouterr()
    assert runtime_main(["compare", str(runs["shopping-mmlu"]), str(runs["shopbench"])]) == 0
    assert "scored by different schemes" in capsys.readouterr().out
