"""`--data` as paths: folders opened, files of one benchmark, rows numbered across files."""

from __future__ import annotations

import json
import shutil

import pytest

from runtime.grading.data_paths import data_label, load_data
from runtime.grading.questions import DataError, load_questions
from tests.runtime.grading.test_shopping_mmlu_files import DATA, FIXTURES, SKILL_FILES, _by_task


@pytest.fixture(scope="module")
def development_equivalent():
    return _by_task(load_questions(FIXTURES / "development_format.jsonl").questions)


def test_the_data_folder_reads_its_skill_files_and_says_what_it_left(development_equivalent):
    loaded = load_data(DATA)
    assert _by_task(loaded.questions) == development_equivalent
    assert [q.row for q in loaded.questions] == list(range(len(loaded.questions)))
    assert "9 task-wise files" in loaded.notes[0]


def test_a_task_wise_folder_alone(tmp_path):
    shutil.copytree(DATA, tmp_path / "data", ignore=shutil.ignore_patterns("skills"))
    loaded = load_data(tmp_path / "data")
    assert len(loaded.questions) == 16 and not loaded.notes


def test_a_folder_without_benchmark_files(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="no benchmark files"):
        load_data(tmp_path)


def test_kdd_files_and_shopping_mmlu_files_do_not_mix(sample_path):
    with pytest.raises(DataError, match="mixes"):
        load_data([sample_path, SKILL_FILES[0]])


def test_several_kdd_files_are_numbered_across_files(sample_path, development_path):
    loaded = load_data([sample_path, development_path])
    assert [q.row for q in loaded.questions] == list(range(len(loaded.questions)))
    assert len(loaded.questions) == 42 + 96
    assert loaded.benchmark == "shopbench"
    assert data_label([sample_path, development_path]) == f"{sample_path}, {development_path}"


def _rows_file(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _sample_rows(sample_path):
    return [json.loads(x) for x in sample_path.read_text().splitlines()]


def test_a_task_named_with_two_types_in_two_files_is_one_error_naming_both(tmp_path,
                                                                           sample_path):
    rows = _sample_rows(sample_path)
    choice = next(r for r in rows if r["task_type"] == "multiple-choice")
    generation = next(r for r in rows if r["task_type"] == "generation"
                      and r["track"] == choice["track"])
    first = _rows_file(tmp_path / "a.jsonl", [{**choice, "task_name": "x"}])
    second = _rows_file(tmp_path / "b.jsonl", [{**generation, "task_name": "x"}])
    with pytest.raises(DataError) as err:
        load_data([first, second])
    message = str(err.value)
    assert "task 'x'" in message and str(first) in message and str(second) in message
    assert "multiple-choice" in message and "generation" in message


def test_the_same_task_in_two_files_of_one_kind_is_one_task(tmp_path, sample_path):
    rows = [r for r in _sample_rows(sample_path) if r["task_name"] == "sample-t1-attribute"]
    first = _rows_file(tmp_path / "a.jsonl", rows[:2])
    second = _rows_file(tmp_path / "b.jsonl", rows[2:])
    loaded = load_data([first, second])
    assert [q.task_name for q in loaded.questions] == ["sample-t1-attribute"] * len(rows)


def test_a_file_given_twice_is_refused_however_it_is_named(tmp_path, sample_path):
    link = tmp_path / "link.jsonl"
    link.symlink_to(sample_path)
    for given in ([sample_path, sample_path], [sample_path, link]):
        with pytest.raises(DataError, match="given twice"):
            load_data(given)


def test_a_question_twice_in_a_task_is_refused_or_dropped_with_a_note(tmp_path, sample_path):
    rows = [r for r in _sample_rows(sample_path) if r["task_name"] == "sample-t1-attribute"]
    again = {**rows[0], "input_field": rows[0]["input_field"].replace("\n", "\r\n") + "  "}
    path = _rows_file(tmp_path / "d.jsonl", [*rows, again])
    with pytest.raises(DataError, match=r"line 4: the same question as .* line 1"):
        load_data(path)
    loaded = load_data(path, skip_invalid=True)
    assert len(loaded.questions) == len(rows)
    assert len(loaded.skipped) == 1 and "--skip-invalid drops the repeat" in \
        loaded.skipped[0].message
