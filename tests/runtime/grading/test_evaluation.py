"""The evaluation loop: grader-style batching, reply checks, resume, offline runs."""

import json
import subprocess
import sys
import time

import pytest

from runtime.grading.config import ScoringConfig, load_config
from runtime.grading.evaluation import OutputDirError, evaluate
from runtime.grading.grader import ModelReplyError
from runtime.grading.results import SCHEMA_VERSION, Results
from tests.conftest import REPO_ROOT


class PromptHashModel:
    """Deterministic answers that depend only on the prompt; counts what it is asked."""

    asked: list[str] = []
    fail_after_batches: int | None = None

    def __init__(self):
        self.batches = 0

    def get_batch_size(self):
        return 3

    def batch_predict(self, batch, is_multiple_choice):
        if self.fail_after_batches is not None and self.batches >= self.fail_after_batches:
            raise KeyboardInterrupt("killed")
        self.batches += 1
        PromptHashModel.asked.extend(batch["prompt"])
        answers = []
        for prompt in batch["prompt"]:
            value = sum(map(ord, prompt))
            answers.append(str(value % 4) if is_multiple_choice else f"{value % 5 + 1}, 2")
        return answers


class InterruptedModel(PromptHashModel):
    fail_after_batches = 4


class ExitingModel(PromptHashModel):
    """Ends the process "successfully" in its third batch."""

    def batch_predict(self, batch, is_multiple_choice):
        if self.batches == 2:
            sys.exit(0)
        return super().batch_predict(batch, is_multiple_choice)


class WrongCountModel(PromptHashModel):
    def batch_predict(self, batch, is_multiple_choice):
        return ["1"] * (len(batch["prompt"]) + 1)


class NonStringModel(PromptHashModel):
    def batch_predict(self, batch, is_multiple_choice):
        return [1 for _ in batch["prompt"]]


class BadBatchSizeModel(PromptHashModel):
    def get_batch_size(self):
        return 17


def config(tmp_path, model, **extra):
    return load_config(None, data=REPO_ROOT / "data" / "sample.jsonl", output_dir=tmp_path,
                       model=f"tests.runtime.grading.test_evaluation:{model}", progress=False,
                       **extra)


def task_scores(results):
    return {t.task_name: t.score for t in results.tasks}


@pytest.mark.parametrize(
    ("model", "message"),
    [("WrongCountModel", "returned 4 answers for 3 prompts"),
     ("NonStringModel", "answer 0 (row 0) is a int, not a string"),
     ("BadBatchSizeModel", "get_batch_size() returned 17")],
)
def test_a_model_that_breaks_the_interface_gets_a_clear_error(tmp_path, model, message):
    with pytest.raises(ModelReplyError) as err:
        evaluate(config(tmp_path, model))
    assert message in str(err.value)
    if model != "BadBatchSizeModel":
        assert "batch 0 (task type generation" in str(err.value)


def test_batches_are_one_task_type_and_answers_are_saved_as_they_come(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        evaluate(config(tmp_path, "InterruptedModel"))
    lines = [json.loads(x) for x in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert len(lines) == 12  # 4 answered batches of 3 survive the interruption
    assert {line["task_type"] for line in lines[:3]} == {"generation"}
    assert all(line["model_output_str"] for line in lines)


def test_resume_after_an_interruption_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    whole = evaluate(config(tmp_path / "whole", "PromptHashModel"))

    broken = tmp_path / "broken"
    monkeypatch.setattr(PromptHashModel, "fail_after_batches", 4)
    with pytest.raises(KeyboardInterrupt):
        evaluate(config(broken, "PromptHashModel"))
    monkeypatch.setattr(PromptHashModel, "fail_after_batches", None)
    saved = [json.loads(x) for x in (broken / "predictions.jsonl").read_text().splitlines()]
    with (broken / "predictions.jsonl").open("a") as handle:
        handle.write('{"row": 99, "input_fi')  # a kill in the middle of a write
    with pytest.raises(OutputDirError, match="--resume"):
        evaluate(config(broken, "PromptHashModel"))

    PromptHashModel.asked = []
    resumed = evaluate(config(broken, "PromptHashModel", resume=True))
    saved_prompts = {line["input_field"] for line in saved}
    assert len(PromptHashModel.asked) == whole.run.num_questions - len(saved)
    assert not saved_prompts & set(PromptHashModel.asked)
    assert resumed.run.resumed_rows == len(saved)
    assert task_scores(resumed) == task_scores(whole)
    assert resumed.overall == whole.overall
    assert resumed.tasks_mean == whole.tasks_mean


def test_resume_refuses_answers_written_for_other_data(tmp_path):
    evaluate(config(tmp_path, "PromptHashModel", limit=3))
    path = tmp_path / "predictions.jsonl"
    first = json.loads(path.read_text().splitlines()[0])
    first["input_field"] = "something else"
    path.write_text(json.dumps(first) + "\n")
    with pytest.raises(OutputDirError, match="different prompt"):
        evaluate(config(tmp_path, "PromptHashModel", resume=True))


def test_resume_with_overwrite_is_refused_and_the_saved_answers_stay(tmp_path):
    evaluate(config(tmp_path, "PromptHashModel", limit=3))
    saved = (tmp_path / "predictions.jsonl").read_bytes()
    result = subprocess.run(
        [sys.executable, "local_evaluation.py", "--model", "dummy", "--resume", "--overwrite",
         "--output-dir", str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "pass one of them, not both" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "predictions.jsonl").read_bytes() == saved


def test_a_model_that_exits_is_an_error_and_the_answers_before_are_kept(tmp_path):
    result = subprocess.run(
        [sys.executable, "local_evaluation.py", "--model",
         "tests.runtime.grading.test_evaluation:ExitingModel", "--output-dir", str(tmp_path),
         "--no-progress"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "sys.exit(0)" in errors[0] and "--resume" in errors[0]
    assert "Traceback" not in result.stderr
    assert len((tmp_path / "predictions.jsonl").read_text().splitlines()) == 6  # 2 batches of 3
    assert not (tmp_path / "results.json").exists()


def test_outputs_are_written(tmp_path):
    results = evaluate(config(tmp_path, "PromptHashModel"))
    for name in ("predictions.jsonl", "results.json", "report.md", "scores.png"):
        assert (tmp_path / name).is_file()
    assert results.schema_version == SCHEMA_VERSION
    written = json.loads((tmp_path / "results.json").read_text())
    assert Results.model_validate(written) == results
    assert results.model_dump(mode="json") == written
    assert results.usage is None  # the model reports no per-answer records
    assert {"total_s", "model_s", "scoring_s"} <= set(written["timing"])
    assert {"model", "data", "started_at", "finished_at", "resumed_rows"} <= set(written["run"])
    assert {"task_name", "task_type", "metric", "track", "num_samples", "score",
            "parse_failures"} <= set(written["tasks"][0])
    lines = [json.loads(x) for x in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert [line["row"] for line in lines] == list(range(len(lines)))
    assert all({"model_output_str", "parsed", "score"} <= set(line) for line in lines)
    unscored = [t for t in results.tasks if t.metric == "multilingual-sent-transformer"]
    assert unscored and all(t.score is None for t in unscored)
    assert all(t.interval is None for t in unscored)
    assert "unscored" in (tmp_path / "report.md").read_text()
    scored = [t for t in results.tasks if t.score is not None]
    for entry in [*scored, *results.tracks.values(), results.overall, results.tasks_mean]:
        if entry.interval is None:  # the sample set's tasks of one or two questions
            assert "too few questions" in entry.interval_note, entry
            continue
        low, high = entry.interval
        assert low <= entry.score <= high, entry
    assert all((t.interval is not None) == (t.num_samples >= 3) for t in scored)


def test_intervals_can_be_turned_off(tmp_path):
    settings = config(tmp_path, "PromptHashModel").model_copy(
        update={"scoring": ScoringConfig(bootstrap_resamples=0)})
    results = evaluate(settings)
    assert results.overall.interval is None
    assert all(t.interval is None for t in results.tasks)


NO_NETWORK = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network disabled by the test")
class NoSocket(socket.socket):
    def __init__(self, *args, **kwargs):
        raise OSError("network disabled by the test")
socket.socket = NoSocket
socket.create_connection = refuse
socket.getaddrinfo = refuse
sys.argv = ["local_evaluation.py"] + sys.argv[1:]
from runtime.cli import evaluation_main
sys.exit(evaluation_main())
"""


def test_evaluation_completes_with_sockets_disabled(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, "--model", "baseline", "--output-dir", str(tmp_path),
         "--no-progress"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["overall"]["score"] > 0


class SlowModel(PromptHashModel):
    def batch_predict(self, batch, is_multiple_choice):
        time.sleep(0.02)
        return super().batch_predict(batch, is_multiple_choice)


def test_batches_over_the_grader_limit_are_recorded_in_the_results(tmp_path, monkeypatch):
    # The grader allows 10 s per prompt; a limit of 1 ms per prompt makes every batch late.
    monkeypatch.setattr("runtime.grading.grader.PER_QUESTION_LIMIT_S", 0.001)
    results = evaluate(config(tmp_path, "SlowModel"))
    slow = results.run.slow_batches
    assert slow and all(b.seconds > b.limit_s == pytest.approx(0.001 * len(b.rows))
                        for b in slow)
    assert "took longer than the grader allows" in (tmp_path / "report.md").read_text()


def test_the_report_lists_each_tasks_lowest_scoring_answers(tmp_path):
    results = evaluate(config(tmp_path, "PromptHashModel"))
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    analysis = report.split("## Answers by task", 1)[1]
    lines = [json.loads(x) for x in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    for task in results.tasks:
        section = analysis.split(f"### {task.task_name} (", 1)[1].split("\n### ", 1)[0]
        assert "repaired: not reported by this model" in section
        imperfect = sorted((x["score"], x["row"]) for x in lines
                           if x["task_name"] == task.task_name and x["score"] is not None
                           and x["score"] < 1)
        listed = [int(r.split("|")[1]) for r in section.split("\n") if r.startswith("| ")
                  and r.split("|")[1].strip().isdigit()]
        assert listed == [row for _, row in imperfect[:3]], task.task_name


def test_a_saved_model_name_is_compared_as_text_and_never_imported(tmp_path, monkeypatch):
    (tmp_path / "planted.py").write_text(
        "from pathlib import Path\nPath(__file__).with_name('imported').touch()\n"
        "class Model:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "out"
    evaluate(config(out, "PromptHashModel", limit=3))
    path = out / "predictions.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    # Lines of a version that saved no specification key: the model name is what is compared.
    path.write_text("".join(json.dumps({**{k: v for k, v in line.items() if k != "spec_key"},
                                        "model": "planted:Model"}) + "\n" for line in lines))
    with pytest.raises(OutputDirError, match="written by planted:Model"):
        evaluate(config(out, "PromptHashModel", limit=3, resume=True))
    assert not (tmp_path / "imported").exists()


def test_answers_of_the_default_model_resume_under_its_class_name(tmp_path):
    from runtime.grading.evaluation import same_model_family

    assert same_model_family("models.user_config:UserModel", "models.vllm_model:VLLMShopModel")
    assert same_model_family("models.vllm_model:VLLMShopModel", "models.user_config:UserModel")
    assert not same_model_family("models.dummy_model:DummyModel", "models.user_config:UserModel")


def test_a_task_of_one_question_has_no_interval_and_says_why(tmp_path):
    # --limit 24 over the sample set's 18 tasks: most tasks hold one question, so no task,
    # track or overall interval may look certain; each says why it has none.
    results = evaluate(config(tmp_path, "PromptHashModel", limit=24))
    ones = [t for t in results.tasks if t.num_samples == 1 and t.score is not None]
    assert ones and all(t.interval is None and "too few questions" in t.interval_note
                        for t in ones)
    assert results.overall.interval is None and "too few questions" in \
        results.overall.interval_note
    assert results.overall.num_questions == 24 - sum(
        t.num_samples for t in results.tasks if t.score is None)
    assert all(t.interval is None for t in results.tracks.values())
    report = (tmp_path / "report.md").read_text()
    assert "(n/a)" in report and "resampled within each task" in report


def test_a_limit_reaches_every_track_before_a_second_task_of_one(tmp_path):
    results = evaluate(config(tmp_path, "PromptHashModel", limit=4))
    assert len(results.tracks) == 4
    assert results.overall.name == "Track 5 (mean of tracks)"
    five = evaluate(config(tmp_path / "five", "PromptHashModel", limit=5))
    assert len(five.tracks) == 4 and {t.task_type for t in five.tasks} == {
        "multiple-choice", "generation", "ranking", "retrieval", "named_entity_recognition"}


def test_an_overall_score_of_fewer_tracks_is_not_called_track_5(tmp_path, capsys):
    results = evaluate(config(tmp_path, "PromptHashModel", limit=2))
    assert len(results.tracks) == 2
    assert results.overall.name == "Mean of 2 of 4 tracks"
    printed = capsys.readouterr().out
    assert "| **Mean of 2 of 4 tracks** |" in printed and "Track 5 (mean" not in printed
