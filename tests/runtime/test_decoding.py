"""Decoding plans: budgets and constraints per answer shape."""

import itertools

from runtime.decoding import DecodingConfig, plan_for
from runtime.parsers import parse_answer
from runtime.router import Route

CONFIG = DecodingConfig()


def test_choice_is_one_token_among_the_options_present():
    plan = plan_for(Route(task_type="multiple-choice", options=[0, 1, 2]), CONFIG)
    assert plan.max_tokens == 1 and plan.choices == ["0", "1", "2"]


def test_retrieval_choices_are_distinct_valid_indices():
    plan = plan_for(Route(task_type="retrieval", candidates=["x"] * 15, pick=3), CONFIG)
    assert len(plan.choices) == 15 * 14 * 13 // 6  # ascending combinations: order is free
    assert plan.max_tokens == len("15, 14, 13") + 1
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
        ", ".join(map(str, p)) for p in itertools.permutations(range(1, 6)))
    assert all(parse_answer(c, "ranking") for c in plan.choices)


def test_one_line_answers_stop_at_a_newline():
    for kind, budget in (("translation", CONFIG.translation_tokens),
                         ("extraction", CONFIG.extraction_tokens)):
        plan = plan_for(Route(task_type="generation", generation_kind=kind), CONFIG)
        assert plan.stop == ["\n"] and plan.max_tokens == budget
    plan = plan_for(Route(task_type="named_entity_recognition"), CONFIG)
    assert plan.stop == ["\n"] and plan.max_tokens == CONFIG.entity_tokens
