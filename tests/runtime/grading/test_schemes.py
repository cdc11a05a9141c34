"""The scoring schemes as data, and the answer forms the runtime writes: each read the same way
by the KDD Cup grader's parsers and by Shopping MMLU's metric readings."""

import pytest

from runtime.answering.postprocess import (
    phrase_list,
    postprocess_choice,
    postprocess_entities,
    postprocess_keywords,
    postprocess_ranking,
    postprocess_retrieval,
)
from runtime.answering.router import Route
from runtime.grading.schemes import SCHEMES, SHOPBENCH, SHOPPING_MMLU, scheme_of


def both(answer: str, task_type: str):
    return SHOPBENCH.read(answer, task_type), SHOPPING_MMLU.read(answer, task_type)


def lowered(entities):
    return [e.lower().strip() for e in entities]


def test_each_scheme_names_its_groups_and_its_overall_score():
    assert scheme_of(None) is SHOPBENCH and set(SCHEMES) == {"shopbench", "shopping-mmlu"}
    assert SHOPBENCH.overall_name(4) == "Track 5 (mean of tracks)"
    assert SHOPPING_MMLU.overall_name(4) == "Mean of skills"
    assert SHOPBENCH.overall_name(2) == "Mean of 2 of 4 tracks"
    assert SHOPPING_MMLU.overall_name(3, short=True) == "3 of 4 skills"


@pytest.mark.parametrize("entities", [
    ["samsung", "otterbox"],  # several
    ["ソニー"],  # one, not ASCII
    ["men's"],  # a quote inside: a list literal would need other quotes
    ['12" pizza pan'],
    ["talla 42", "rojo"],
])
def test_an_entity_list_is_read_as_the_same_entities_by_both_schemes(entities):
    source = " ".join(entities) + " and more"
    answer = postprocess_entities(repr(entities), Route(task_type="named_entity_recognition",
                                                        source_text=source)).answer
    grader, mmlu = both(answer, "named_entity_recognition")
    assert lowered(grader) == lowered(mmlu) == lowered(entities)


def test_an_entity_holding_a_comma_is_written_without_it_so_both_read_one_entity():
    # No form keeps such an entity whole under Shopping MMLU (it splits on every comma):
    # written without its comma, both schemes read one entity, the same one.
    answer = phrase_list(["Samsung, Inc.", "otterbox"])
    assert answer == "Samsung Inc., otterbox"
    grader, mmlu = both(answer, "named_entity_recognition")
    assert lowered(grader) == lowered(mmlu) == ["samsung inc.", "otterbox"]


def test_a_list_literal_is_what_shopping_mmlu_cannot_read():
    # The form this runtime wrote before: the grader reads two entities, Shopping MMLU none.
    grader, mmlu = both("['samsung', 'otterbox']", "named_entity_recognition")
    assert grader == ["samsung", "otterbox"] and mmlu != ["samsung", "otterbox"]


def test_keywords_are_written_as_entities_are():
    answer = postprocess_keywords("['steel bottle'; 'leakproof lid', 24-hour cold]",
                                  Route(task_type="generation", generation_kind="keywords",
                                        pick=2)).answer
    assert answer == "steel bottle, leakproof lid"
    grader, mmlu = both(answer, "named_entity_recognition")
    assert grader == mmlu == ["steel bottle", "leakproof lid"]


@pytest.mark.parametrize(("task_type", "raw", "decision"), [
    ("multiple-choice", "2", Route(task_type="multiple-choice", options=[0, 1, 2, 3])),
    ("multiple-choice", " 3\n", Route(task_type="multiple-choice", options=[1, 2, 3, 4, 5])),
    ("retrieval", "7, 2 and 9", Route(task_type="retrieval", candidates=["x"] * 10, pick=3)),
    ("ranking", "3,1", Route(task_type="ranking", candidates=["x"] * 5)),
])
def test_choices_and_index_lists_are_read_alike_by_both_schemes(task_type, raw, decision):
    post = {"multiple-choice": postprocess_choice, "retrieval": postprocess_retrieval,
            "ranking": postprocess_ranking}[task_type]
    grader, mmlu = both(post(raw, decision).answer, task_type)
    assert grader == mmlu
