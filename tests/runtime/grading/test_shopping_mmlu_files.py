"""Shopping MMLU's two file layouts read into the same questions as the development format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.common.shopping_mmlu import NO_SKILL
from runtime.grading.data_paths import load_data
from runtime.grading.questions import DataError, load_questions
from runtime.grading.shopping_mmlu_files import load_task_wise_file, skill_of_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "shopping_mmlu"
DATA = FIXTURES / "data"
TASK_WISE = sorted(DATA.rglob("*_dataset.*"))
SKILL_FILES = sorted((DATA / "skills").glob("*.json"))


def _by_task(questions) -> list[dict]:
    return sorted((q.fields() for q in questions),
                  key=lambda f: (f["task_name"], f["input_field"]))


@pytest.fixture(scope="module")
def development_equivalent():
    return _by_task(load_questions(FIXTURES / "development_format.jsonl").questions)


def test_skill_files_load_as_their_development_format(development_equivalent):
    loaded = load_data(SKILL_FILES)
    assert loaded.benchmark == "shopping-mmlu"
    assert _by_task(loaded.questions) == development_equivalent


def test_task_wise_files_with_the_skill_files_load_as_the_development_format(
        development_equivalent):
    # The skill files hold the task-wise files' questions again: refused, or with
    # --skip-invalid the repeats dropped, each task-wise question taking its task's skill.
    with pytest.raises(DataError, match="given twice"):
        load_data([*TASK_WISE, *SKILL_FILES])
    loaded = load_data([*TASK_WISE, *SKILL_FILES], skip_invalid=True)
    assert _by_task(loaded.questions) == development_equivalent
    assert len(loaded.skipped) == len(development_equivalent)
    assert all("given twice" in invalid.message for invalid in loaded.skipped)


def test_task_wise_files_alone_have_no_skill(development_equivalent):
    loaded = load_data(TASK_WISE)
    assert {q.track for q in loaded.questions} == {NO_SKILL}
    without_skill = [{**f, "track": NO_SKILL} for f in development_equivalent]
    assert _by_task(loaded.questions) == without_skill


def test_task_wise_choice_rows_print_the_protocols_prompt():
    data = load_task_wise_file(DATA / "multiple_choice" / "product_category_choice_dataset.csv",
                               {})
    first = data.questions[0]
    assert first.input_field.endswith("\n0. Garden tools\n1. Cookware\n2. Footwear\n3. Toys"
                                      "\nAnswer: ")
    assert (first.output_field, first.metric, first.is_multiple_choice) == (1, "accuracy", True)
    rating = load_task_wise_file(DATA / "multiple_choice" / "review_rating_prediction_dataset.csv",
                                 {})
    assert [q.output_field for q in rating.questions] == [1, 3]
    assert rating.questions[0].input_field.endswith("from 1 to 5.\nAnswer: ")


def test_skill_rows_keep_their_own_track_and_choice_flag(tmp_path):
    row = {"input_field": "Q?\n0. a\n1. b\nAnswer: ", "output_field": 0, "task_name": "t",
           "task_type": "multiple-choice", "metric": "accuracy", "is_multiple_choice": True,
           "track": "amazon-kdd-cup-24-shopping-knowledge-reasoning"}
    path = tmp_path / "skill1_concept.json"
    path.write_text(json.dumps(row) + "\n")
    assert load_data(path).questions[0].track == row["track"]


@pytest.mark.parametrize(("name", "words"), [
    ("skill5_other.json", "unknown skill file name"),
    ("skill_concept.json", "skill1_*.json to skill4_*.json"),
])
def test_unknown_skill_file_names(tmp_path, name, words):
    with pytest.raises(DataError, match=words.replace("*", r"\*").replace(".", r"\.")):
        skill_of_file(tmp_path / name)


def _csv(tmp_path: Path, text: str, task: str = "colour_choice") -> Path:
    path = tmp_path / "multiple_choice" / f"{task}_dataset.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "words"), [
    ("question,answer\nQ?,1\n", "column 'choices' missing"),
    ("question,choices,answer\nQ?,Red; Blue; Green; Pink,1\n", "line 2: column 'choices': not "
     "a Python list literal"),
    ("question,choices,answer\nQ?,\"['a', 'b']\",1\n", "of 4 option texts"),
    ("question,choices,answer\nQ?,\"['a', 'b', 'c', 'd']\",two\n", "'two' is not an option"),
    ("question,choices,answer\nQ?,\"['a', 'b', 'c', 'd']\",7\n", "not one of the prompt's "
     "options"),
])
def test_bad_task_wise_csv_rows(tmp_path, text, words):
    with pytest.raises(DataError, match=words):
        load_data(_csv(tmp_path, text))


def test_bad_csv_rows_can_be_skipped(tmp_path):
    path = _csv(tmp_path, "question,choices,answer\nQ?,nope,1\nQ?,\"['a', 'b', 'c', 'd']\",1\n")
    loaded = load_data(path, skip_invalid=True)
    assert len(loaded.questions) == 1 and "line 2" in loaded.skipped[0].message


def test_task_wise_json_without_target(tmp_path):
    path = tmp_path / "retrieval" / "q_dataset.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"input_field": "x"}) + "\n")
    with pytest.raises(DataError, match="target_field"):
        load_data(path)


def test_one_task_name_in_two_task_wise_folders_is_one_error_naming_both(tmp_path):
    (tmp_path / "multiple_choice").mkdir()
    (tmp_path / "generation").mkdir()
    choice = tmp_path / "multiple_choice" / "x_dataset.csv"
    generation = tmp_path / "generation" / "x_dataset.json"
    choice.write_bytes((DATA / "multiple_choice" /
                        "product_category_choice_dataset.csv").read_bytes())
    generation.write_bytes((DATA / "generation" /
                            "category_explanation_dataset.json").read_bytes())
    with pytest.raises(DataError) as err:
        load_data(tmp_path)
    message = str(err.value)
    assert "task 'x'" in message and str(choice) in message and str(generation) in message
