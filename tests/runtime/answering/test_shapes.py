"""The shape table: decoding plans (budgets and constraints) per answer shape, the configured
budgets and the estimate's answer lengths."""

import itertools
import re

import pytest
from pydantic import ValidationError

from runtime.answering.router import Route
from runtime.answering.shapes import (
    SENTENCE_ENDS,
    SHAPES,
    DecodingConfig,
    shape_of,
    typical_new_tokens,
)
from runtime.common.competition import TASK_TYPES
from runtime.grading.parsers import parse_answer

CONFIG = DecodingConfig()


def plan_for(route, config):
    """The plan the model builds for a routed prompt: its shape's, under `config`."""
    return shape_of(route).decoding_plan(route, config)


def test_choice_is_one_token_among_the_options_present():
    plan = plan_for(Route(task_type="multiple-choice", options=[0, 1, 2]), CONFIG)
    assert plan.max_tokens == 1 and plan.choices == ["0", "1", "2"]


def test_retrieval_choices_are_distinct_valid_indices():
    plan = plan_for(Route(task_type="retrieval", candidates=["x"] * 15, pick=3), CONFIG)
    assert len(plan.choices) == 15 * 14 * 13 // 6  # ascending combinations: order is free
    assert plan.max_tokens == len("15,14,13") + 1
    for choice in plan.choices[:50] + plan.choices[-50:]:
        parsed = parse_answer(choice, "retrieval")
        assert len(set(parsed)) == 3 and all(1 <= i <= 15 for i in parsed)


def test_retrieval_falls_back_to_a_regex_when_there_are_too_many_picks():
    many = plan_for(Route(task_type="retrieval", candidates=["x"] * 25, pick=3), CONFIG)
    assert len(many.choices) == 25 * 24 * 23 // 6
    huge = plan_for(Route(task_type="retrieval", candidates=["x"] * 60, pick=3), CONFIG)
    assert huge.choices is None and huge.regex


def test_ranking_choices_are_permutations():
    plan = plan_for(Route(task_type="ranking", candidates=["x"] * 5), CONFIG)
    assert sorted(plan.choices) == sorted(
        ",".join(map(str, p)) for p in itertools.permutations(range(1, 6)))
    assert all(parse_answer(c, "ranking") for c in plan.choices)


@pytest.mark.parametrize("compact", [True, False])
def test_index_answers_are_joined_by_the_configured_separator_and_parse_alike(compact):
    config = DecodingConfig(compact_indices=compact)
    separator = "," if compact else ", "
    ranking = plan_for(Route(task_type="ranking", candidates=["x"] * 4), config)
    assert f"2{separator}4{separator}1{separator}3" in ranking.choices
    retrieval = plan_for(Route(task_type="retrieval", candidates=["x"] * 12, pick=3), config)
    assert f"1{separator}5{separator}12" in retrieval.choices
    # Beyond the enumeration limit the regex carries the same separator.
    regex = plan_for(Route(task_type="retrieval", candidates=["x"] * 60, pick=3), config).regex
    assert re.fullmatch(regex, f"60{separator}7{separator}1")
    assert not re.fullmatch(regex, f"60{', ' if compact else ','}7{separator}1")
    for task_type, plan in (("ranking", ranking), ("retrieval", retrieval)):
        for answer in plan.choices[:50]:
            assert parse_answer(answer, task_type) == [int(i) for i in answer.split(",")]


def test_one_line_answers_stop_at_a_newline():
    for kind, budget in (("translation", CONFIG.budget(SHAPES["translation"])),
                         ("extraction", CONFIG.budget(SHAPES["extraction"]))):
        plan = plan_for(Route(task_type="generation", generation_kind=kind), CONFIG)
        assert plan.stop == ["\n"] and plan.max_tokens == budget
    plan = plan_for(Route(task_type="named_entity_recognition"), CONFIG)
    entity_budget = CONFIG.budget(SHAPES["named_entity_recognition"])
    assert plan.stop == ["\n"] and plan.max_tokens == entity_budget


def test_every_task_type_has_shapes():
    assert {shape.task_type for shape in SHAPES.values()} == set(TASK_TYPES)


def test_a_route_finds_its_shape_and_a_generation_without_kind_is_a_description():
    assert shape_of(Route(task_type="ranking")).name == "ranking"
    assert shape_of(Route(task_type="generation", generation_kind="translation")).name == \
        "translation"
    assert shape_of(Route(task_type="generation")).name == "description"


def test_configured_budgets_replace_the_defaults_and_unknown_shapes_are_refused():
    config = DecodingConfig(new_tokens={"description": 20})
    plan = plan_for(Route(task_type="generation", generation_kind="description"), config)
    assert plan.max_tokens == 20 and plan.stop == []
    assert typical_new_tokens(config)["generation"] == 50  # translation keeps its 50
    with pytest.raises(ValidationError, match="unknown answer shape 'summary'"):
        DecodingConfig(new_tokens={"summary": 20})
    with pytest.raises(ValidationError, match="must be 1 to 65536 tokens, not 0"):
        DecodingConfig(new_tokens={"description": 0})


def test_extractive_switches_choose_source_spans_or_free_text():
    review = "Easy to clean but really loud."
    span = Route(task_type="generation", generation_kind="extraction", source_text=review)
    entities = Route(task_type="named_entity_recognition", source_text="Nike running shoes")
    assert plan_for(span, CONFIG).constraint.startswith("spans(")
    assert plan_for(entities, CONFIG).constraint == "none"  # off by default (measured)
    on = DecodingConfig(extractive_entities=True, extractive_spans=False)
    assert plan_for(entities, on).constraint == "spans(6)"
    assert plan_for(span, on).constraint == "none"


def test_first_sentence_shapes_also_stop_where_a_sentence_ends():
    config = DecodingConfig(first_sentence=["description", "translation"])
    description = plan_for(Route(task_type="generation"), config)
    assert description.stop == SENTENCE_ENDS
    translation = plan_for(Route(task_type="generation", generation_kind="translation"), config)
    assert translation.stop == ["\n", *SENTENCE_ENDS]
    # Constrained answers are whole by construction: no stop is added to them.
    ranking = DecodingConfig(first_sentence=["ranking"])
    assert plan_for(Route(task_type="ranking", candidates=["x"] * 4), ranking).stop == []
    with pytest.raises(ValidationError, match="unknown answer shape 'summary'"):
        DecodingConfig(first_sentence=["summary"])


def test_retrieval_in_any_order_offers_every_ordered_pick():
    config = DecodingConfig(retrieval_order="any")
    plan = plan_for(Route(task_type="retrieval", candidates=["x"] * 15, pick=3), config)
    assert len(plan.choices) == 15 * 14 * 13
    assert "15,1,7" in plan.choices and "1,7,15" in plan.choices
    assert all(len(set(parse_answer(c, "retrieval"))) == 3 for c in plan.choices)
    # Too many ordered picks for a list: the index regex, as for ascending ones.
    assert plan_for(Route(task_type="retrieval", candidates=["x"] * 20, pick=3),
                    config).regex


def test_the_loop_stop_applies_to_free_text_only_and_can_be_turned_off():
    config = DecodingConfig(loop_stop_repeats=3, loop_stop_pattern_tokens=6)
    for kind in ("description", "translation", "title", "category"):
        plan = plan_for(Route(task_type="generation", generation_kind=kind), config)
        assert plan.loop_stop == (6, 3)
    constrained = [plan_for(Route(task_type="multiple-choice", options=[0, 1]), config),
                   plan_for(Route(task_type="ranking", candidates=["x"] * 4), config),
                   plan_for(Route(task_type="generation", generation_kind="extraction",
                                  source_text="soft fabric"), config)]
    assert all(plan.loop_stop is None for plan in constrained)
    off = DecodingConfig(loop_stop_repeats=0)
    assert plan_for(Route(task_type="generation"), off).loop_stop is None
    with pytest.raises(ValidationError):
        DecodingConfig(loop_stop_pattern_tokens=1)
