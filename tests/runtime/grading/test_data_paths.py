"""`--data` as paths: folders opened, files of one benchmark, rows numbered across files."""

from __future__ import annotations

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


def test_several_kdd_files_are_numbered_across_files(sample_path):
    loaded = load_data([sample_path, sample_path])
    assert [q.row for q in loaded.questions] == list(range(len(loaded.questions)))
    assert loaded.benchmark == "shopbench"
    assert data_label([sample_path, sample_path]) == f"{sample_path}, {sample_path}"
