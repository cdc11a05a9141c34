"""Loading data into validated question records; bad rows name file, line and field."""

import json

import pytest

from runtime.common.competition import METRICS_FOR_TASK_TYPE
from runtime.grading.metrics import METRICS
from runtime.grading.questions import DataError, load_questions, select_questions, truth_problem

GOOD = {
    "input_field": "Which one?\n0. a\n1. b\nAnswer: ",
    "output_field": 1,
    "task_name": "task2",
    "task_type": "multiple-choice",
    "metric": "accuracy",
    "is_multiple_choice": True,
    "track": "amazon-kdd-cup-24-understanding-shopping-concepts",
}


def write_lines(tmp_path, rows, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_loads_json_lines_and_json_arrays(tmp_path, sample_path):
    lines = load_questions(write_lines(tmp_path, [GOOD, GOOD]))
    array_path = tmp_path / "array.json"
    array_path.write_text(json.dumps([GOOD, GOOD]))
    array = load_questions(array_path)
    assert [q.row for q in lines.questions] == [0, 1]
    assert lines.questions == [
        q.__class__(**{**q.__dict__, "line": i + 1}) for i, q in enumerate(array.questions)
    ]
    sample = load_questions(sample_path).questions
    assert len(sample) >= 40


def test_duplicate_prompts_are_kept_as_separate_rows(tmp_path):
    data = load_questions(write_lines(tmp_path, [GOOD, GOOD, GOOD]))
    assert len(data.questions) == 3


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ({k: v for k, v in GOOD.items() if k != "metric"}, "line 2: field 'metric': missing"),
        ({**GOOD, "task_type": "quiz"}, "line 2: field 'task_type': unknown task type 'quiz'"),
        ({**GOOD, "metric": "f2"}, "line 2: field 'metric': unknown metric 'f2'"),
        ({**GOOD, "output_field": "1"}, "line 2: field 'output_field': for metric 'accuracy'"),
        ({**GOOD, "output_field": True}, "field 'output_field'"),
        ({**GOOD, "track": "track-9"}, "line 2: field 'track': unknown track"),
        ({**GOOD, "metric": "ndcg"}, "field 'metric': 'ndcg' cannot score task type"),
        ({**GOOD, "is_multiple_choice": False}, "field 'is_multiple_choice'"),
        ({**GOOD, "task_type": "retrieval", "metric": "hit rate@3", "is_multiple_choice": False,
          "output_field": ["1"]}, "field 'output_field': for metric 'hit rate@3'"),
        ({**GOOD, "task_type": "named_entity_recognition", "metric": "micro f1",
          "is_multiple_choice": False, "output_field": "nike"}, "for metric 'micro f1'"),
        ([1, 2], "line 2: row is a list"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, row, message):
    path = write_lines(tmp_path, [GOOD, row, GOOD])
    with pytest.raises(DataError) as err:
        load_questions(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_skip_invalid_reports_and_drops(tmp_path):
    path = write_lines(tmp_path, [GOOD, "{oops", {**GOOD, "metric": "f2"}, GOOD])
    data = load_questions(path, skip_invalid=True)
    assert [q.line for q in data.questions] == [1, 4]
    assert [q.row for q in data.questions] == [0, 1]
    assert [s.line for s in data.skipped] == [2, 3]
    assert "field 'metric'" in data.skipped[1].message


def test_unlabelled_rows_load_when_labels_are_not_required(tmp_path):
    path = write_lines(tmp_path, [{"input_field": "hi", "is_multiple_choice": False}])
    with pytest.raises(DataError, match="field 'output_field': missing"):
        load_questions(path)
    data = load_questions(path, require_labels=False)
    assert data.questions[0].metric is None and data.questions[0].output_field is None


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(DataError, match="no such data file"):
        load_questions(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataError, match="no valid questions"):
        load_questions(tmp_path / "empty.jsonl")


@pytest.mark.parametrize(("other", "message"), [
    ({"task_type": "named_entity_recognition", "metric": "micro f1", "output_field": ["a"],
      "is_multiple_choice": False},
     "line 2: field 'task_type': 'named_entity_recognition', but task 'task2' has "
     "'multiple-choice' (line 1)"),
    ({"track": "amazon-kdd-cup-24-multi-lingual-abilities"},
     "line 2: field 'track'"),
])
def test_rows_of_one_task_must_agree_on_task_type_and_track(tmp_path, other, message):
    path = write_lines(tmp_path, [GOOD, {**GOOD, **other}])
    with pytest.raises(DataError) as err:
        load_questions(path)
    assert message in str(err.value)
    # Another task may differ in all of them.
    load_questions(write_lines(tmp_path, [GOOD, {**GOOD, **other, "task_name": "task9"}],
                               name="two-tasks.jsonl"))


def test_metrics_may_differ_within_a_task_type(tmp_path):
    # As in the development set: a translation task scores Japanese rows with jp-bleu.
    rows = [{**GOOD, "task_type": "generation", "is_multiple_choice": False,
             "output_field": "x", "metric": metric} for metric in ("bleu", "jp-bleu")]
    data = load_questions(write_lines(tmp_path, rows))
    assert [q.metric for q in data.questions] == ["bleu", "jp-bleu"]


def test_a_byte_order_mark_loads_and_other_encodings_are_one_clear_error(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes("\ufeff".encode() + json.dumps(GOOD).encode() + b"\n")
    assert len(load_questions(path).questions) == 1
    latin = tmp_path / "latin1.jsonl"
    latin.write_bytes(json.dumps({**GOOD, "input_field": "Caf\u00e9?\n0. a\n1. b"},
                                 ensure_ascii=False).encode("latin-1") + b"\n")
    with pytest.raises(DataError, match="not UTF-8 text .*save it as UTF-8"):
        load_questions(latin)


def test_filters_select_exactly_the_rows_they_name(sample_path):
    questions = load_questions(sample_path).questions
    track2 = "amazon-kdd-cup-24-shopping-knowledge-reasoning"
    rows = [q.row for q in select_questions(questions, tracks=[track2])]
    assert rows == [q.row for q in questions if q.track == track2] and rows
    rows = [q.row for q in select_questions(questions, tasks=["sample-t3-rank",
                                                              "sample-t1-entities"])]
    assert rows == [q.row for q in questions
                    if q.task_name in ("sample-t3-rank", "sample-t1-entities")]
    both = select_questions(questions, tracks=[track2], task_types=["multiple-choice"])
    assert [q.row for q in both] == [q.row for q in questions
                                     if q.track == track2 and q.is_multiple_choice]
    with pytest.raises(DataError, match="no question has task_name 'nosuch'; the data has"):
        select_questions(questions, tasks=["nosuch"])
    with pytest.raises(DataError, match="no question matches all the filters"):
        select_questions(questions, tracks=[track2], tasks=["sample-t3-rank"])


def test_limit_takes_the_first_question_of_every_task_before_a_second(sample_path):
    questions = load_questions(sample_path).questions
    firsts: dict[str, int] = {}
    for q in questions:
        firsts.setdefault(q.task_name, q.row)
    chosen = select_questions(questions, limit=len(firsts))
    assert [q.row for q in chosen] == sorted(firsts.values())
    seconds = select_questions(questions, limit=len(firsts) + 2)
    assert len(seconds) == len(firsts) + 2 and {q.task_name for q in seconds} == set(firsts)
    assert select_questions(questions, limit=10**6) == questions


@pytest.mark.parametrize(("metric", "truth", "ok"), [
    ("accuracy", 2, True),
    ("accuracy", True, False),
    ("accuracy", "2", False),
    ("hit rate@3", [1, 4], True),
    ("hit rate@3", [], False),
    ("ndcg", [3, 2.5, 0], True),
    ("ndcg", ["3"], False),
    ("micro f1", [], True),
    ("micro f1", "nike", False),
    ("rougel", "a phrase", True),
    ("rougel", ["a phrase"], False),
    ("sent-transformer", ["one", "two"], True),
    ("sent-transformer", [], False),
])
def test_truth_checks_accept_exactly_what_the_metric_scores(metric, truth, ok):
    assert (truth_problem(metric, truth) is None) is ok


def test_every_metric_of_every_task_type_has_a_truth_check():
    for metrics in METRICS_FOR_TASK_TYPE.values():
        assert all(METRICS[metric].truth.wants for metric in metrics)
