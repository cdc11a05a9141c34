"""Aggregation: task, track, track 5 and the organisers' mean over tasks; unscored tasks."""

import pytest

from runtime.grading.config import ScoringConfig
from runtime.grading.questions import Question
from runtime.grading.scoring import MissingMetricModel, check_metric_models, score_answers

T1 = "amazon-kdd-cup-24-understanding-shopping-concepts"
T3 = "amazon-kdd-cup-24-user-behavior-alignment"


def question(row, task, task_type, metric, track, truth):
    return Question(row=row, input_field=f"prompt {row}", is_multiple_choice=task_type ==
                    "multiple-choice", output_field=truth, task_name=task, task_type=task_type,
                    metric=metric, track=track)


QUESTIONS = [
    question(0, "task1", "multiple-choice", "accuracy", T1, 1),
    question(1, "task1", "multiple-choice", "accuracy", T1, 2),
    question(2, "task2", "named_entity_recognition", "micro f1", T1, ["a", "b"]),
    question(3, "task2", "named_entity_recognition", "micro f1", T1, ["c"]),
    question(4, "task3", "retrieval", "hit rate@3", T3, [1, 2]),
]
ANSWERS = {0: "1", 1: "0", 2: "['a', 'x']", 3: "c", 4: "2, 5, 6"}


def test_task_track_and_track5_scores():
    scores = score_answers(QUESTIONS, ANSWERS, ScoringConfig(embedding_models={}))
    tasks = {t.task_name: t for t in scores.tasks}
    assert tasks["task1"].score == pytest.approx(0.5)
    # micro F1 over the task: tp 2, fp 1, fn 1 -> P = R = 2/3
    assert tasks["task2"].score == pytest.approx(2 / 3)
    assert tasks["task3"].score == pytest.approx(0.5)
    assert scores.tracks[T1].score == pytest.approx((0.5 + 2 / 3) / 2)
    assert scores.tracks[T3].score == pytest.approx(0.5)
    assert scores.overall == pytest.approx(((0.5 + 2 / 3) / 2 + 0.5) / 2)
    assert scores.tasks_mean == pytest.approx((0.5 + 2 / 3 + 0.5) / 3)
    assert scores.rows[1].score == 0.0 and scores.rows[0].score == 1.0
    assert any("missing" in note for note in scores.notes)  # only 2 of 4 tracks present


def test_parse_failures_are_counted_per_task():
    answers = {**ANSWERS, 0: "none", 1: "", 4: "no idea"}
    scores = score_answers(QUESTIONS, answers, ScoringConfig(embedding_models={}))
    tasks = {t.task_name: t for t in scores.tasks}
    assert tasks["task1"].parse_failures == 2
    assert tasks["task3"].parse_failures == 1
    assert tasks["task1"].score == 0.0


def test_a_metric_without_its_model_is_unscored_and_excluded():
    rows = [*QUESTIONS, question(5, "task9", "generation", "multilingual-sent-transformer", T3,
                                 "hola")]
    config = ScoringConfig(embedding_models={})
    problems = check_metric_models(rows, config)
    assert "paraphrase-multilingual-MiniLM-L12-v2" in problems["multilingual-sent-transformer"]
    assert "--embedding-model" in problems["multilingual-sent-transformer"]
    scores = score_answers(rows, {**ANSWERS, 5: "hola"}, config)
    tasks = {t.task_name: t for t in scores.tasks}
    assert tasks["task9"].score is None and tasks["task9"].unscored_reason
    assert scores.rows[5].score is None
    assert scores.tracks[T3].score == pytest.approx(0.5)
    assert scores.tracks[T3].unscored_tasks == ["task9"]
    assert any("exclude unscored tasks: task9" in note for note in scores.notes)
    with pytest.raises(MissingMetricModel):
        check_metric_models(rows, ScoringConfig(embedding_models={}, strict=True))
