"""A run knows what it was: its specification, what decides its answers, and how two differ;
replay and resume read it (issue 31: stale replay, a finished run narrowed by a resume)."""

import json
from pathlib import Path

import pytest

from models.vllm_model import VLLMShopModel
from runtime.cli import evaluation_main
from runtime.common.records import ModelInputs
from runtime.grading.run_spec import (
    SPEC_FILE,
    differences,
    folder_fingerprint,
    read_spec,
)
from tests.conftest import REPO_ROOT, SAMPLE


class FileModel:
    """Answers from a template file it reads (as a model reads its prompts), named by the class
    attribute `template`, and says so through `answer_inputs`."""

    template: Path = Path("unset")

    @classmethod
    def answer_inputs(cls, weights=None):
        return ModelInputs(weights=None, files=(cls.template,))

    def get_batch_size(self):
        return 4

    def batch_predict(self, batch, is_multiple_choice):
        word = self.template.read_text().strip()
        return ["1" if is_multiple_choice else f"{word} 1,2" for _ in batch["prompt"]]


MODEL = "tests.runtime.grading.test_run_spec:FileModel"


@pytest.fixture
def template(tmp_path, monkeypatch):
    path = tmp_path / "system.txt"
    path.write_text("You are a shopping assistant.")
    monkeypatch.setattr(FileModel, "template", path)
    return path


def run(out, *extra):
    return evaluation_main(["--model", MODEL, "--data", str(SAMPLE), "--output-dir", str(out),
                            "--no-progress", *extra])


def test_a_prompt_edited_since_the_answers_is_named_not_replayed(tmp_path, template, capsys):
    out = tmp_path / "run"
    assert run(out) == 0
    results = (out / "results.json").read_bytes()
    assert run(out) == 0  # the same run again: replayed
    assert "nothing asked" in capsys.readouterr().out
    template.write_text("You are a terse shopping assistant.")
    assert run(out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{template} changed since these answers were made" in err[0], err
    assert "--overwrite" in err[0]
    assert run(out, "--resume") == 2  # nor are its answers reused
    assert "changed since these answers were made" in capsys.readouterr().err
    assert (out / "results.json").read_bytes() == results
    assert run(out, "--overwrite") == 0
    assert json.loads((out / "results.json").read_text())["spec"]["model"]["files"][
        str(template)] == read_spec(out).model.files[str(template)]


def test_the_shop_models_specification_holds_its_configuration_and_every_template():
    inputs = VLLMShopModel.answer_inputs()
    names = {path.resolve().relative_to(REPO_ROOT).as_posix() for path in inputs.files}
    assert {"models/vllm_config.json", "prompts/system.txt", "prompts/generation.txt",
            "prompts/multiple-choice.txt", "prompts/retrieval.txt", "prompts/ranking.txt",
            "prompts/named_entity_recognition.txt"} <= names
    assert inputs.weights is not None and (inputs.weights / "config.json").is_file()


def test_a_finished_run_is_never_rewritten_by_a_narrower_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert evaluation_main(["--model", "dummy", "--output-dir", str(out), "--no-progress"]) == 0
    files = {name: (out / name).read_bytes()
             for name in ("results.json", "report.md", "scores.png", "predictions.jsonl")}
    capsys.readouterr()
    assert evaluation_main(["--model", "dummy", "--output-dir", str(out), "--no-progress",
                            "--resume", "--limit", "10"]) == 2
    err = capsys.readouterr().err
    assert "answers to 32 questions outside this selection (limit 10" in err, err
    assert {name: (out / name).read_bytes() for name in files} == files
    # The plain command still replays the finished run.
    assert evaluation_main(["--model", "dummy", "--output-dir", str(out), "--no-progress"]) == 0
    assert "nothing asked" in capsys.readouterr().out


def test_a_wider_resume_answers_the_rest_and_says_so(tmp_path, capsys):
    out = tmp_path / "run"
    assert evaluation_main(["--model", "dummy", "--output-dir", str(out), "--no-progress",
                            "--limit", "10"]) == 0
    assert read_spec(out).selection.limit == 10
    capsys.readouterr()
    assert evaluation_main(["--model", "dummy", "--output-dir", str(out), "--no-progress",
                            "--resume"]) == 0
    assert "widening the saved run from 10 to 42 questions" in capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert results["run"]["resumed_rows"] == 10 and results["run"]["asked_rows"] == 32
    assert results["spec"]["selection"]["limit"] is None


def test_the_specification_names_data_selection_model_scoring_and_version(tmp_path):
    out = tmp_path / "run"
    assert evaluation_main(["--model", "dummy", "--output-dir", str(out), "--no-progress",
                            "--task", "sample-t1-attribute"]) == 0
    spec = read_spec(out)
    assert json.loads((out / "results.json").read_text())["spec"] == json.loads(
        (out / SPEC_FILE).read_text())
    assert spec.data.files == [str(SAMPLE)] and spec.data.questions == 3
    assert len(spec.data.sha256) == 64
    assert spec.selection.tasks == ["sample-t1-attribute"]
    assert spec.model.model_class == "models.dummy_model:DummyModel"
    assert "models/dummy_model.py" in spec.model.files
    assert spec.scoring.semantics == "shopbench" and spec.scoring.interval_min_questions == 3
    assert spec.version.startswith(("git ", "shopbench-runtime "))
    lines = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert {line["spec_key"] for line in lines} == {spec.model.key()}


def test_differences_are_said_in_words(tmp_path):
    out = tmp_path / "run"
    assert evaluation_main(["--model", "dummy", "--output-dir", str(out), "--no-progress"]) == 0
    spec = read_spec(out)
    assert differences(spec, spec) == []
    later = spec.model_copy(update={"version": "git 0123", "created_at": "later"})
    assert differences(spec, later) == []  # the version and the start are not the run
    other = spec.model_copy(update={"selection": spec.selection.model_copy(
        update={"limit": 5})})
    assert differences(spec, other) == ["another selection (every question → limit 5)"]


def test_a_weights_fingerprint_is_cheap_and_sees_a_changed_file(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    (tmp_path / "loop").symlink_to(tmp_path)  # a link loop is not followed
    before = folder_fingerprint(tmp_path)
    assert set(before) == {"config.json", "model.safetensors"}
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    assert folder_fingerprint(tmp_path)["config.json"] != before["config.json"]
