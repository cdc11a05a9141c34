"""The numbered lines of a prompt, as the grader's questions print them: options numbered
from 0 (or a stated rating scale), candidates numbered from 1, `Label:` lines.

Read by the router to shape an answer and by the data loader to check that a choice's truth is
one of the options the prompt offers, so both read a prompt the same way. Also the one rule for
when two prompts are the same question (`normalised`): the loader refuses a question twice in a
task, and few-shot exemplars never show the question being asked.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


def normalised(prompt: str) -> str:
    """A prompt as compared with another: Unicode NFC, every run of white space (line ends
    included) one space, none at the ends. Two prompts that differ only in these are one
    question."""
    return " ".join(unicodedata.normalize("NFC", prompt).split())


NUMBERED_LINE = re.compile(r"^\s*(\d{1,2})\s*[.):]\s*(.*\S)?\s*$")
LABEL_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,30}):\s*(.*)$")


def numbered_blocks(lines: list[str], first: int) -> list[tuple[int, list[str]]]:
    """Runs of consecutive numbered lines first, first+1, ... as (start line index, texts)."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    expected = first
    for index, line in enumerate(lines):
        match = NUMBERED_LINE.match(line)
        if match and int(match.group(1)) == expected:
            if expected == first:
                start = index
                current = []
            current.append((match.group(2) or "").strip())
            expected += 1
            continue
        if match and int(match.group(1)) == first:
            if len(current) >= 2:
                blocks.append((start, current))
            start, current, expected = index, [(match.group(2) or "").strip()], first + 1
            continue
        # Candidates may wrap over several lines; a plain line continues the last item.
        if current and line.strip() and not LABEL_LINE.match(line):
            current[-1] = f"{current[-1]} {line.strip()}".strip()
            continue
        if len(current) >= 2:
            blocks.append((start, current))
        current, expected = [], first
    if len(current) >= 2:
        blocks.append((start, current))
    return blocks


# A stated rating scale: "on a scale of 1 to 5", "on a 1-5 scale", "rate it from 1 to 5".
_SCALES = (
    re.compile(r"\b(?:scale|range|rating)\s+(?:of\s+|from\s+)?(\d)\s*(?:to|-|–)\s*(\d)\b", re.I),
    re.compile(r"\b(\d)\s*(?:to|-|–)\s*(\d)[\s-]*(?:point\s+|star\s+)?scale\b", re.I),
    re.compile(r"\b(?:rate|score|grade)\b[^.\n]{0,60}?\bfrom\s+(\d)\s*(?:to|-|–)\s*(\d)\b",
               re.I),
)


def _skipping_option_labels(lines: list[str]) -> tuple[int, list[int], list[str]] | None:
    """The last run of option lines numbered from 0 upwards with a number skipped ("0. ..",
    "1. ..", "3. .."), as (start line, printed numbers, texts); None when there is none."""
    found = None
    start = 0
    labels: list[int] = []
    texts: list[str] = []
    for index, line in enumerate([*lines, ""]):
        match = NUMBERED_LINE.match(line)
        number = int(match.group(1)) if match else -1
        if match and (number == 0 or (labels and number > labels[-1])):
            if number == 0:
                start, labels, texts = index, [], []
            labels.append(number)
            texts.append((match.group(2) or "").strip())
            continue
        if labels and line.strip() and not match and not LABEL_LINE.match(line):
            texts[-1] = f"{texts[-1]} {line.strip()}"
            continue
        if len(labels) >= 2 and labels != list(range(len(labels))):
            found = (start, labels, texts)
        labels, texts = [], []
    return found


@dataclass(frozen=True)
class ChoiceOptions:
    """The options a choice prompt prints: their numbers as printed, the answer each stands
    for, their texts (empty for a stated scale), and the prompt before them."""

    options: list[int]
    answers: list[int] = field(default_factory=list)  # empty: each option answers itself
    texts: list[str] = field(default_factory=list)
    question: str = ""


def choice_options(prompt: str, lines: list[str] | None = None) -> ChoiceOptions:
    """Options are the last numbered block from 0; without one, a stated scale ("on a scale
    of 1 to 5": the answer is the rating itself), else the digits 0-3.

    Options printed with a number skipped (0, 1, 3) are answered by position, as the data's
    truths are: the option printed "3" is answer 2."""
    lines = prompt.splitlines() if lines is None else lines
    skipping = _skipping_option_labels(lines)
    if skipping:
        start, labels, texts = skipping
        return ChoiceOptions(labels, list(range(len(labels))), texts,
                             "\n".join(lines[:start]).strip())
    blocks = numbered_blocks(lines, first=0)
    if blocks:
        start, texts = blocks[-1]
        return ChoiceOptions(list(range(len(texts))), [], texts,
                             "\n".join(lines[:start]).strip())
    options = [0, 1, 2, 3]
    for pattern in _SCALES:
        scale = pattern.search(prompt)
        if scale and int(scale.group(1)) < int(scale.group(2)):
            options = list(range(int(scale.group(1)), int(scale.group(2)) + 1))
            break
    return ChoiceOptions(options, question=prompt.strip())
