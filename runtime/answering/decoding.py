"""Decoding plans: the new-token budget of one answer and the constraint that makes a malformed
answer impossible where vLLM's structured outputs can express it.

- choice: one of the complete answers given (an option digit, an index combination, a
  permutation), nothing else;
- indices under a regex where the complete answers are too many to list;
- extractive: only spans of the source text (word n-grams, case and punctuation as in the
  source), one span or a Python list literal of spans, under a regex;
- free text: a budget, and a newline stop for one-line answers.

Which plan an answer shape gets, with which budget, is the shape table's (shapes.py).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class DecodingPlan:
    max_tokens: int
    choices: list[str] | None = None
    regex: str | None = None
    stop: list[str] = field(default_factory=list)
    logit_bias: dict[int, float] | None = None  # token id -> added logit (reference recipes)
    spans: int = 0  # source spans the regex allows (extractive answers)
    capped: bool = False  # the spans were cut to the configured cap
    option_logprobs: bool = False  # return each choice's log-prob (one-token choices)
    # Stop when the answer's last 2..N tokens repeat R times in a row: (N, R).
    loop_stop: tuple[int, int] | None = None
    adapter: Path | None = None  # the LoRA adapter folder that answers; None: the base alone

    @property
    def constraint(self) -> str:
        if self.choices is not None:
            return f"choice({len(self.choices)})"
        if self.spans:
            return f"spans({self.spans}{', capped' if self.capped else ''})"
        return "regex" if self.regex else "none"


def _joined(items: tuple[int, ...], separator: str) -> str:
    return separator.join(str(i) for i in items)


def _index_regex(count: int, repeats: int, separator: str) -> str:
    number = "(" + "|".join(str(i) for i in range(count, 0, -1)) + ")"
    return number + f"({separator}{number}){{{repeats - 1}}}" if repeats > 1 else number


def choice_plan(choices: list[str]) -> DecodingPlan:
    """Exactly one of `choices`."""
    # A token is at least one character, and the grammar ends the answer once a choice is
    # complete, so this budget never cuts an answer short and never adds a step.
    return DecodingPlan(max_tokens=max(len(c) for c in choices) + 1, choices=choices)


def option_plan(options: list[int], max_tokens: int,
                option_logprobs: bool = False) -> DecodingPlan:
    """One of the option numbers present (a digit each: the grader's options are 0-9)."""
    return DecodingPlan(max_tokens=max_tokens, choices=[str(o) for o in options],
                        option_logprobs=option_logprobs)


def retrieval_plan(count: int, pick: int, regex_tokens: int, max_enumerated: int,
                   ordered: bool = False, separator: str = ", ") -> DecodingPlan:
    """`pick` distinct indices within 1..count, joined by `separator`: in ascending order, or
    with `ordered` in any order (hit rate@3 ignores order; ascending gives the engine a grammar
    pick! times smaller, any order lets a model list its best pick first)."""
    pick = max(1, min(pick, count))
    picks = itertools.permutations if ordered else itertools.combinations
    size = math.perm(count, pick) if ordered else math.comb(count, pick)
    if size <= max_enumerated:
        return choice_plan([_joined(c, separator) for c in picks(range(1, count + 1), pick)])
    return DecodingPlan(max_tokens=regex_tokens, regex=_index_regex(count, pick, separator))


def ranking_plan(count: int, regex_tokens: int, max_enumerated: int,
                 separator: str = ", ") -> DecodingPlan:
    """A permutation of 1..count, joined by `separator`."""
    if math.factorial(count) <= max_enumerated:
        return choice_plan([_joined(p, separator)
                            for p in itertools.permutations(range(1, count + 1))])
    return DecodingPlan(max_tokens=regex_tokens, regex=_index_regex(count, count, separator))


def text_plan(max_tokens: int, one_line: bool) -> DecodingPlan:
    """Free text within a budget; a one-line answer stops at its newline."""
    return DecodingPlan(max_tokens=max_tokens, stop=["\n"] if one_line else [])


# Characters trimmed off a span's ends as variants: "Mouth," also offers "Mouth".
_SPAN_EDGES = ".,;:!?()[]{}\"'“”‘’"


def source_spans(source: str, max_words: int, max_spans: int) -> tuple[list[str], bool]:
    """Distinct word n-grams of `source` (up to `max_words` words), each also without the
    punctuation at its ends, shortest n first; and whether `max_spans` cut the list."""
    words = source.split()
    spans: dict[str, None] = {}
    for n in range(1, max_words + 1):
        for start in range(len(words) - n + 1):
            gram = " ".join(words[start:start + n])
            for span in (gram, gram.strip(_SPAN_EDGES)):
                if span.strip():
                    spans[span] = None
    found = list(spans)
    return found[:max_spans], len(found) > max_spans


_REGEX_SPECIAL = re.compile(r"([.^$*+?{}\[\]\\|()])")


def _alternatives(literals: list[str]) -> str:
    # Only the regex metacharacters are escaped: structured-output backends differ on escapes
    # of ordinary characters (re.escape writes "\ " for a space).
    return "(" + "|".join(_REGEX_SPECIAL.sub(r"\\\1", literal) for literal in literals) + ")"


def extractive_plan(source: str, as_list: bool, max_tokens: int, max_words: int,
                    max_spans: int, max_items: int = 4) -> DecodingPlan | None:
    """Only spans of `source`: one span, or (`as_list`) 1 to `max_items` spans separated by
    ", " (the entity answers' form). None when the source has no words."""
    spans, capped = source_spans(source, max_words, max_spans)
    if not spans:
        return None
    if as_list:
        listed = [span for span in spans if "," not in span]  # a comma would split one
        if not listed:
            return None
        item = _alternatives(listed)
        regex = rf"{item}(, {item}){{0,{max_items - 1}}}"
    else:
        regex = _alternatives(spans)
    return DecodingPlan(max_tokens=max_tokens, regex=regex, stop=["\n"], spans=len(spans),
                        capped=capped)
