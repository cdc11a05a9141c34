"""Names and numbers as messages say them."""

from runtime.common.wording import counted, naturally


def test_a_count_takes_the_noun_in_its_number():
    assert [counted(n, "answer") for n in (0, 1, 2)] == ["0 answers", "1 answer", "2 answers"]
    assert counted(2, "query", "queries") == "2 queries"


def test_names_with_numbers_sort_by_their_value():
    assert naturally(["task10", "task2", "task1", "Task3"]) == ["task1", "task2", "Task3",
                                                               "task10"]
    assert naturally(["sample-t1-b", "sample-t10-a", "sample-t2-a"]) == [
        "sample-t1-b", "sample-t2-a", "sample-t10-a"]


def test_tasks_are_listed_in_their_natural_order(tmp_path):
    import json

    from runtime.grading.config import ScoringConfig
    from runtime.grading.questions import load_questions
    from runtime.grading.scoring import score_answers

    row = {"input_field": "Q?\n0. a\n1. b\nAnswer:", "output_field": 0,
           "task_type": "multiple-choice", "metric": "accuracy", "is_multiple_choice": True,
           "track": "amazon-kdd-cup-24-understanding-shopping-concepts"}
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({**row, "task_name": name,
                                        "input_field": f"{name}?\n0. a\n1. b\nAnswer:"}) + "\n"
                            for name in ("task10", "task2", "task1")))
    questions = load_questions(path).questions
    scores = score_answers(questions, {q.row: "0" for q in questions},
                           ScoringConfig(embedding_models={}))
    assert [t.task_name for t in scores.tasks] == ["task1", "task2", "task10"]
