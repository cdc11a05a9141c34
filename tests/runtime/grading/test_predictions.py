"""predictions.jsonl: lines end at "\n" only, one read per run, appends on disk, kept lines."""

import json
import sys
from pathlib import Path

import pytest

from runtime.grading.config import load_config
from runtime.grading.evaluation import evaluate
from runtime.grading.predictions import (
    AnsweredBy,
    OutputDirError,
    Predictions,
    prediction_line,
)
from runtime.grading.questions import load_questions
from tests.conftest import REPO_ROOT

SEPARATORS = "a\u2028b\u2029c\x85d\x0be\x0cf\x1cg\rh"


class SeparatorModel:
    """Answers that hold every character str.splitlines() would split on."""

    def get_batch_size(self):
        return 4

    def batch_predict(self, batch, is_multiple_choice):
        return ["1" if is_multiple_choice else f"2, 1 {SEPARATORS}" for _ in batch["prompt"]]


def test_answers_with_unicode_line_separators_survive_a_resume_and_scoring(tmp_path):
    data = tmp_path / "data.jsonl"
    rows = [json.loads(line) for line in
            (REPO_ROOT / "data" / "sample.jsonl").read_text().split("\n") if line]
    rows[0]["input_field"] += f" {SEPARATORS}"  # a prompt with them too
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    questions = load_questions(data).questions
    assert len(questions) == len(rows) and SEPARATORS in questions[0].input_field
    settings = {"data": data, "output_dir": tmp_path / "out", "progress": False,
                "model": "tests.runtime.grading.test_predictions:SeparatorModel"}
    evaluate(load_config(None, **settings))
    resumed = evaluate(load_config(None, resume=True, **settings))
    assert resumed.run.resumed_rows == len(rows) and resumed.run.asked_rows == 0
    saved = Predictions.read(tmp_path / "out" / "predictions.jsonl", questions)
    assert len(saved.by_row) == len(rows)
    free = [line for line in saved.by_row.values() if not line.is_multiple_choice]
    assert free and all(line.model_output_str.endswith(SEPARATORS) for line in free)


def test_a_line_cut_short_is_asked_again_and_other_rows_are_kept(tmp_path, capsys):
    questions = load_questions(REPO_ROOT / "data" / "sample.jsonl").questions
    path = tmp_path / "predictions.jsonl"
    first, second = (prediction_line(q, "1", None) for q in questions[:2])
    beyond = prediction_line(questions[2], "1", None).model_copy(update={"row": 999})
    whole = json.dumps(second.written())
    path.write_text(json.dumps(first.written()) + "\n" + json.dumps(beyond.written()) + "\n"
                    + whole[:20])
    saved = Predictions.read(path, questions)
    assert list(saved.by_row) == [0] and saved.other_lines == [beyond]
    assert "predictions.jsonl:3 is incomplete" in capsys.readouterr().err
    # Resuming only cuts off the unfinished line: every saved line stays as it is, nothing is
    # rewritten, no second copy is needed.
    before, inode = path.read_bytes(), path.stat().st_ino
    saved.drop_cut_line()
    saved.drop_cut_line()
    assert path.read_bytes() == before[: before.rfind(b"\n") + 1]
    assert path.stat().st_ino == inode
    saved.append_batch([second])
    assert Predictions.read(path, questions).by_row == {0: first, 1: second}
    saved.finalise({0: ([1], 1.0), 1: ([1], 0.0)})
    lines = [json.loads(x) for x in path.read_text().split("\n") if x]
    assert [(x["row"], x["score"]) for x in lines] == [(0, 1.0), (1, 0.0), (999, None)]


def test_answers_written_for_other_prompts_are_refused(tmp_path):
    questions = load_questions(REPO_ROOT / "data" / "sample.jsonl").questions
    path = tmp_path / "predictions.jsonl"
    line = {**prediction_line(questions[0], "1", None).written(), "input_field": "another prompt"}
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(OutputDirError, match="different prompt"):
        Predictions.read(path, questions)


# Files opened for reading while a test listens (an audit hook cannot be removed, so it stays
# installed and records only while this list is not None).
OPENED: list[str] | None = None


def _record_open(event: str, args: tuple) -> None:
    if event == "open" and OPENED is not None and isinstance(args[0], (str, Path)):
        mode = args[1] if isinstance(args[1], str) else "r"
        if "r" in mode and "+" not in mode:
            OPENED.append(str(args[0]))


sys.addaudithook(_record_open)


def test_one_run_reads_the_file_once(tmp_path):
    global OPENED
    settings = {"data": REPO_ROOT / "data" / "sample.jsonl", "output_dir": tmp_path,
                "progress": False,
                "model": "tests.runtime.grading.test_predictions:SeparatorModel"}
    evaluate(load_config(None, **settings))
    OPENED = []
    try:
        evaluate(load_config(None, resume=True, **settings))
        reads = [name for name in OPENED if Path(name).name == "predictions.jsonl"]
    finally:
        OPENED = None
    assert len(reads) == 1, reads


def test_a_saved_line_keeps_its_field_order_and_fields_another_tool_added(tmp_path):
    questions = load_questions(REPO_ROOT / "data" / "sample.jsonl").questions
    path = tmp_path / "predictions.jsonl"
    line = prediction_line(questions[0], "1", None, AnsweredBy("models.dummy_model:DummyModel"))
    assert list(line.written()) == ["row", *questions[0].fields(), "model_output_str", "model",
                                    "weights", "parsed", "score"]
    path.write_text(json.dumps({**line.written(), "note": "kept"}) + "\n")
    saved = Predictions.read(path, questions)
    saved.finalise({0: (1, 1.0)})
    assert json.loads(path.read_text()) == {**line.written(), "parsed": 1, "score": 1.0,
                                            "note": "kept"}


@pytest.mark.parametrize("row", ["[1]", "true", "1.5"])
def test_a_line_whose_row_is_not_an_integer_is_one_error(tmp_path, row):
    questions = load_questions(REPO_ROOT / "data" / "sample.jsonl").questions
    path = tmp_path / "predictions.jsonl"
    path.write_text(f'{{"row": {row}, "input_field": "x", "model_output_str": "1"}}\n')
    with pytest.raises(OutputDirError, match="predictions.jsonl:1: not a saved answer .*row"):
        Predictions.read(path, questions)


def test_a_line_torn_inside_a_character_is_dropped_whatever_bytes_it_holds(tmp_path, capsys):
    questions = load_questions(REPO_ROOT / "data" / "sample.jsonl").questions
    path = tmp_path / "predictions.jsonl"
    first, second = (prediction_line(q, "日本語の答え", None) for q in questions[:2])
    torn = json.dumps(second.written(), ensure_ascii=False).encode("utf-8")
    cut = torn.index("答".encode()) + 1  # inside the character's three bytes
    path.write_bytes(json.dumps(first.written(), ensure_ascii=False).encode() + b"\n"
                     + torn[:cut])
    saved = Predictions.read(path, questions)
    assert list(saved.by_row) == [0] and "predictions.jsonl:2 is incomplete" in \
        capsys.readouterr().err
    saved.drop_cut_line()
    assert Predictions.read(path, questions).by_row == {0: first}


def test_two_lines_for_one_row_are_refused_with_both_line_numbers(tmp_path):
    questions = load_questions(REPO_ROOT / "data" / "sample.jsonl").questions
    path = tmp_path / "predictions.jsonl"
    line = json.dumps(prediction_line(questions[0], "1", None).written())
    path.write_text(line + "\n" + line.replace('"1"', '"2"') + "\n")
    with pytest.raises(OutputDirError, match="lines 1 and 2 both answer row 0"):
        Predictions.read(path, questions)
