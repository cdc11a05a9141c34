"""Extractive grammars: which spans a source offers, their escaping, and the cap."""

import re

from runtime.answering.decoding import extractive_plan, source_spans

TITLE = "Dr. Martens (1460) Men's \"Smooth\" Boots [8-eye] *new* $99? a|b \\ end"


def test_spans_are_the_word_ngrams_with_and_without_their_edge_punctuation():
    spans, capped = source_spans("Wide Mouth, Pacific Blue", max_words=2, max_spans=100)
    assert not capped
    assert spans == ["Wide", "Mouth,", "Mouth", "Pacific", "Blue", "Wide Mouth,",
                     "Wide Mouth", "Mouth, Pacific", "Pacific Blue"]
    words = 12
    spans, _ = source_spans(" ".join(f"w{i}" for i in range(words)), max_words=3,
                            max_spans=1000)
    assert len(spans) == words + (words - 1) + (words - 2)


def test_the_cap_keeps_the_shortest_spans_and_says_so():
    source = " ".join(f"word{i}" for i in range(200))
    spans, capped = source_spans(source, max_words=6, max_spans=250)
    assert capped and len(spans) == 250
    assert spans[:200] == source.split()  # every single word first
    plan = extractive_plan(source, True, 15, 6, 250)
    assert plan.capped and plan.spans == 250 and plan.constraint == "spans(250, capped)"


def test_list_grammar_accepts_exactly_comma_separated_source_spans():
    plan = extractive_plan(TITLE, True, max_tokens=15, max_words=3, max_spans=500, max_items=2)
    grammar = re.compile(plan.regex)
    for entities in (["Martens"], ["Men's"], ['"Smooth"'], ["[8-eye]", "$99?"], ["a|b"],
                     ["\\"], ["(1460) Men's"], ["Smooth"]):
        answer = ", ".join(entities)
        assert grammar.fullmatch(answer), entities
        assert all(e in TITLE for e in answer.split(", "))
    for wrong in ("Nike", "Martens, Boots, end", "Martens ", "", repr(["Martens"]),
                  "Dr. Martens (1460) Men's"):
        assert not grammar.fullmatch(wrong), wrong
    assert plan.stop == ["\n"] and plan.max_tokens == 15 and not plan.capped


def test_span_grammar_accepts_one_span_as_written():
    plan = extractive_plan(TITLE, False, max_tokens=12, max_words=2, max_spans=500)
    grammar = re.compile(plan.regex)
    assert grammar.fullmatch("(1460) Men's") and grammar.fullmatch("*new* $99?")
    assert not grammar.fullmatch("'Martens'") and not grammar.fullmatch("Boots end")
    assert plan.constraint == f"spans({plan.spans})"


def test_no_words_no_grammar():
    assert extractive_plan("  \n ", True, 15, 6, 100) is None
