"""Every parsing rule of the official grader, as a table of cases (FACTS.md)."""

import pytest

from runtime.grading.parsers import is_parse_failure, parse_answer

CASES = [
    # multiple choice: the first character after stripping, else -1
    ("multiple-choice", "2", 2),
    ("multiple-choice", " 2", 2),
    ("multiple-choice", "\n 3", 3),
    ("multiple-choice", "3. garbage bin", 3),
    ("multiple-choice", "10", 1),
    ("multiple-choice", "a", -1),
    ("multiple-choice", "Answer: 2", -1),
    ("multiple-choice", "", -1),
    ("multiple-choice", " \n", -1),
    ("multiple-choice", "-1", -1),
    # retrieval: digits, commas and spaces kept; split on commas; first 3 integers
    ("retrieval", "100, 200, 300", [100, 200, 300]),
    ("retrieval", "1, 2, 3, 4", [1, 2, 3]),
    ("retrieval", "[4, 7]", [4, 7]),
    ("retrieval", "1, 2, x", [1, 2]),
    ("retrieval", "100,   200, \n\n 300", [100, 200, 300]),
    ("retrieval", "1 2 3", []),
    ("retrieval", "3, 3, 3", [3, 3, 3]),
    ("retrieval", "\n \n", []),
    ("retrieval", "Products 1, 5 and 9", [1]),
    # ranking: as retrieval, then integers above 5 dropped, first 5 kept, duplicates -> []
    ("ranking", "1, 2, 3, 4, 5", [1, 2, 3, 4, 5]),
    ("ranking", "[5, 4, 3, 2, 1]", [5, 4, 3, 2, 1]),
    ("ranking", "1, 2, 2, 3", []),
    ("ranking", "1, 2, 4, aicrowd, 5", [1, 2, 4, 5]),
    ("ranking", "1 2", []),
    ("ranking", ",1,2,3,4,5", [1, 2, 3, 4, 5]),
    ("ranking", "The answer is: 1, 2, 3, 4, 5", [1, 2, 3, 4, 5]),
    ("ranking", "1, 7, 2, 9", [1, 2]),
    ("ranking", "2, 1, 6, 3, 4, 5", [2, 1, 3, 4, 5]),
    ("ranking", "0, 1", [0, 1]),
    ("ranking", "1, 2, 3, 4, 5, 1", [1, 2, 3, 4, 5]),
    ("ranking", "1, 2, 3, 4, 1, 5", []),
    ("ranking", "\n", []),
    # entities: a list literal of strings, else comma-separated non-empty pieces
    ("named_entity_recognition", "['New York', 'Amazon']", ["New York", "Amazon"]),
    ("named_entity_recognition", "New York, Amazon", ["New York", "Amazon"]),
    ("named_entity_recognition", "[New York, Amazon]", ["[New York", "Amazon]"]),
    ("named_entity_recognition", "\n, New York, ShopBench", ["New York", "ShopBench"]),
    ("named_entity_recognition", "[1, 2]", ["[1", "2]"]),
    ("named_entity_recognition", "[]", []),
    ("named_entity_recognition", " ", []),
    ("named_entity_recognition", "['a', 'b'", ["['a'", "'b'"]),
    # generation: stripped
    ("generation", "\nThe answer is \n\n good.\n\n", "The answer is \n\n good."),
    ("generation", "\n \n", ""),
]


@pytest.mark.parametrize(("task_type", "answer", "expected"), CASES)
def test_parse_answer(task_type, answer, expected):
    assert parse_answer(answer, task_type) == expected


def test_only_the_first_5000_characters_are_read():
    assert parse_answer(" " * 5000 + "2", "multiple-choice") == -1
    assert parse_answer(" " * 4999 + "2", "multiple-choice") == 2
    assert parse_answer("x" * 4998 + "1, 2", "retrieval") == [1]
    assert len(parse_answer("a" * 6000, "generation")) == 5000


def test_non_string_answer_is_refused():
    with pytest.raises(TypeError):
        parse_answer(3, "multiple-choice")


@pytest.mark.parametrize(
    ("task_type", "parsed", "failed"),
    [("multiple-choice", -1, True), ("multiple-choice", 0, False), ("ranking", [], True),
     ("retrieval", [1], False), ("named_entity_recognition", [], True),
     ("generation", "", True), ("generation", "x", False)],
)
def test_parse_failure_values(task_type, parsed, failed):
    assert is_parse_failure(parsed, task_type) is failed
