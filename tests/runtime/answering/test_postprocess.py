"""Post-processing: malformed outputs per answer shape always become valid parsed values."""

import pytest

from runtime.answering.router import Route
from runtime.answering.shapes import shape_of
from runtime.grading.parsers import parse_answer

CHOICE = Route(task_type="multiple-choice", options=[0, 1, 2, 3])
RETRIEVAL = Route(task_type="retrieval", candidates=[f"item {i}" for i in range(1, 11)], pick=3)
RANKING = Route(task_type="ranking", candidates=["a", "b", "c", "d", "e"], pick=5)
ENTITIES = Route(task_type="named_entity_recognition", entity_type="brand",
                 source_text="chocolate buttons Cadbury xmas")
TRANSLATION = Route(task_type="generation", generation_kind="translation", language="German",
                    source_text="Steel Water Bottle")
EXTRACTION = Route(task_type="generation", generation_kind="extraction",
                   source_text="It is really loud but easy to clean.", aspect="noise")
TITLE = Route(task_type="generation", generation_kind="title",
              source_text="Runs hot after an hour, otherwise a fine kettle.")
CATEGORY = Route(task_type="generation", generation_kind="category",
                 source_text="Ninja Professional Blender 1000W, Black")


def postprocess(raw, decision):
    """What the runtime does with one raw output: its shape's post-processor."""
    return shape_of(decision).postprocess(raw, decision)


MALFORMED = ["", "   \n", "The answer is", "[[", "ほげ ふが", "((1, ", "None", "-3", "]]'", "\x00"]


def valid(decision, answer):
    parsed = parse_answer(answer, decision.task_type)
    if decision.task_type == "multiple-choice":
        return parsed in decision.options
    if decision.task_type == "retrieval":
        return (len(parsed) == decision.pick == len(set(parsed))
                and all(1 <= i <= decision.num_candidates for i in parsed))
    if decision.task_type == "ranking":
        return sorted(parsed) == list(range(1, decision.num_candidates + 1))
    if decision.task_type == "named_entity_recognition":
        return bool(parsed) and all(e.lower() in decision.source_text.lower() for e in parsed)
    return bool(parsed) and "\n" not in parsed


@pytest.mark.parametrize("decision", [CHOICE, RETRIEVAL, RANKING, ENTITIES, TRANSLATION,
                                      EXTRACTION, TITLE, CATEGORY],
                         ids=lambda d: d.task_type + d.generation_kind)
@pytest.mark.parametrize("raw", MALFORMED)
def test_garbage_becomes_a_valid_fallback(decision, raw):
    processed = postprocess(raw, decision)
    assert valid(decision, processed.answer)


@pytest.mark.parametrize(
    ("decision", "raw", "answer", "repair"),
    [
        (CHOICE, "The answer is 2.", "2", None),
        (CHOICE, "7 or 3", "3", None),
        (CHOICE, "none", "0", "fallback"),
        (Route(task_type="multiple-choice", options=[0, 1]), "3", "0", "fallback"),
        (RETRIEVAL, "I pick 4, 4, 9 and 12", "4, 9, 1", "completed"),
        (RETRIEVAL, "Products: [2, 5, 7, 8]", "2, 5, 7", None),
        (RETRIEVAL, "0, 11, 99", "1, 2, 3", "fallback"),
        (RANKING, "3, 1, 3, 9, 2", "3, 1, 2, 4, 5", "completed"),
        (RANKING, "Ranking: 5 4 3 2 1", "5, 4, 3, 2, 1", None),
        (RANKING, "", "1, 2, 3, 4, 5", "fallback"),
        (ENTITIES, "['cadbury', 'nestle']", "cadbury", None),
        (ENTITIES, "[Cadbury, xmas", "Cadbury, xmas", None),
        (ENTITIES, "Brand: Cadbury", "chocolate", "fallback"),
        (ENTITIES, "'Cadbury'", "Cadbury", None),
        (ENTITIES, "Cadbury, xmas", "Cadbury, xmas", None),
        (TRANSLATION, "\n  Edelstahl Flasche \nSecond line", "Edelstahl Flasche", None),
        (TRANSLATION, "\n\n", "Steel Water Bottle", "fallback"),
        (EXTRACTION, "really loud\nbecause", "really loud", None),
        (EXTRACTION, "", "It is really loud", "fallback"),
        (TITLE, '"Hot but fine"\nThe review says', "Hot but fine", None),
        (TITLE, "“Fine kettle”", "Fine kettle", None),
        (TITLE, ' "" ', "Runs hot after an", "fallback"),
        (CATEGORY, "Home & Kitchen, Small Appliances, Blenders.\nThe blender",
         "Home & Kitchen, Small Appliances, Blenders", None),
        (CATEGORY, "['Home & Kitchen', 'Blenders']", "Home & Kitchen', 'Blenders", None),
        (CATEGORY, "\n", "Ninja Professional Blender 1000W,", "fallback"),
    ],
)
def test_repairs(decision, raw, answer, repair):
    processed = postprocess(raw, decision)
    assert processed.answer == answer
    assert processed.repair == repair
    assert valid(decision, processed.answer)


def test_options_printed_with_a_number_skipped_are_answered_by_position():
    decision = Route(task_type="multiple-choice", options=[0, 1, 3], option_answers=[0, 1, 2])
    assert postprocess("3", decision).answer == "2"
    assert postprocess("1", decision).answer == "1"
    fallback = postprocess("x", decision)
    assert fallback.answer == "0" and fallback.repair == "fallback"


def test_an_entity_list_cut_short_by_the_budget_keeps_its_complete_and_partial_spans():
    decision = Route(task_type="named_entity_recognition", entity_type="brand",
                     source_text="Dr. Martens (1460) Men's boots")
    processed = postprocess("['Dr. Martens', 'Men\\'s bo", decision)
    assert parse_answer(processed.answer, "named_entity_recognition") == ["Dr. Martens",
                                                                        "Men's bo"]
    assert processed.repair is None
