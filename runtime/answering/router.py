"""The task router: what a prompt asks for, read from its structure alone.

Given only the prompt text and `is_multiple_choice` (all a test row carries), infer the task type
and the shape of the answer: the option numbers of a choice, the candidate list and how many to
pick for retrieval, the item count for ranking, the entity type and source text for entity
extraction, and for generation its kind (span extraction, translation, title, description) and
language.

It reads structure, not memorised sentences: numbered lists, `Label:` lines, instructions about
how many numbers to output, quoted entity types, language names. Most test tasks are unseen.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from runtime.common.competition import TaskType
from runtime.common.prompt_lines import (
    LABEL_LINE,
    NUMBERED_LINE,
    choice_options,
    numbered_blocks,
)

# Language names as instructions write them (English and native forms), to a canonical name.
LANGUAGES: dict[str, str] = {
    "english": "English", "inglés": "English", "ingles": "English", "anglais": "English",
    "englisch": "English", "inglese": "English", "英語": "English", "英文": "English",
    "german": "German", "deutsch": "German", "alemán": "German", "allemand": "German",
    "tedesco": "German", "ドイツ語": "German",
    "french": "French", "français": "French", "francais": "French", "französisch": "French",
    "francés": "French", "francese": "French", "フランス語": "French",
    "spanish": "Spanish", "español": "Spanish", "espanol": "Spanish", "spanisch": "Spanish",
    "espagnol": "Spanish", "spagnolo": "Spanish", "スペイン語": "Spanish",
    "italian": "Italian", "italiano": "Italian", "italienisch": "Italian", "italien": "Italian",
    "japanese": "Japanese", "japonés": "Japanese", "japonais": "Japanese",
    "japanisch": "Japanese", "giapponese": "Japanese", "日本語": "Japanese",
    "chinese": "Chinese", "中文": "Chinese", "中国語": "Chinese",
    "portuguese": "Portuguese", "português": "Portuguese", "dutch": "Dutch",
    "nederlands": "Dutch", "korean": "Korean", "한국어": "Korean", "arabic": "Arabic",
    "hindi": "Hindi", "polish": "Polish", "swedish": "Swedish", "turkish": "Turkish",
}
NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "single": 1,
}

_QUOTED = r"""['"“‘「]([^'"”’」]{1,60})['"”’」]"""
_COUNT = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
# Asked for an order of all items: rank, sort, arrange, "order these by ...", "from the most
# ... to the least ...".
_RANK_CUE = re.compile(r"\b(rank|ranking|re-rank|permutation|reorder|sort|arrang)\w*|"
                       r"\border\s+(?:the|these|those|them|all|each)\b|"
                       r"\bfrom\s+(?:the\s+)?most\b[^.\n]{0,40}?\bto\s+(?:the\s+)?least\b", re.I)
_PICK_CUE = re.compile(
    rf"\b(?:select|choose|pick|output|give|return|recommend|identify|find|list)\s+"
    rf"(?:the\s+|only\s+|exactly\s+|ONLY\s+|top\s+|at most\s+)*{_COUNT}\b"
    rf"(?!\s*(?:to|-)\s*\d)",
    re.I,
)
_SELECT_CUE = re.compile(
    rf"\b(?:select|choose|pick|recommend)\s+(?:the\s+|only\s+|exactly\s+|top\s+)*{_COUNT}\b", re.I
)
_COUNT_OF_NUMBERS = re.compile(rf"\b{_COUNT}\s+(?:numbers|indices|indexes|items|products|"
                               r"snippets|aspects|queries|candidates|options)\b", re.I)
_ENTITY_CUE = re.compile(r"\bentit(y|ies)\b|\bnamed entity\b", re.I)
_TRANSLATE_CUE = re.compile(r"\btranslat\w*|\btradu\w*|\bübersetz\w*|翻訳|翻译", re.I)
# A request to make up a title ("Craft a headline that...", "Suggest a short title for..."),
# not a reference to one ("the title of the product", "the product title").
_TITLE_ASK = re.compile(
    r"\b(?:write|craft|construct|create|generate|compose|suggest|propose|devise|develop|draft|"
    r"produce|formulate|give|provide|come up with)\b\W+(?:[\w'-]+\W+){0,4}?"
    r"(?:headline|title|heading|caption)s?\b(?!\s+of\b)", re.I)
_EXTRACT_CUE = re.compile(r"\b(extract|copy|quote|span|keyphrase|key phrase)\w*", re.I)
# A request for the categories an item belongs to ("Which categories does ... pertain to?",
# "Classify the item ... into categories", "Analyze and categorize the product ..."), not an
# explanation of one category ("Explain the product category name").
_CATEGORY_ASK = re.compile(r"\b(?:categories|classifications|categori[sz]e|"
                           r"classify\b.*\bcategor\w*|"
                           r"categor(?:y|ies)\s+(?:path|hierarchy|tree|breadcrumbs?))\b", re.I)
# A list of short phrases asked for ("extract four pivotal keywords", "5 tags", "the key
# phrases of the title"): generation's keywords kind, answered as comma-separated phrases.
_KEYWORDS_ASK = re.compile(
    rf"\b(?:{_COUNT}\s+(?:[\w-]+\s+){{0,2}}?)?(?:key\s*words?|key\s*phrases|tags|hashtags|"
    r"search\s+terms|descriptive\s+phrases)\b", re.I)
# A request to make something (a text, a summary) rather than find it: the imperative that
# opens a sentence ("Write ...", "Please describe ...", "..., then summarise ..."), not a verb of
# a relative clause ("the phrases that describe the material").
_MAKE_CUE = re.compile(r"(?:^|[.!?:;\n]\s*|\b(?:please|then|and)\s+)(?:write|generate|create|"
                       r"compose|craft|draft|produce|summari[sz]e|describe|explain|paraphrase|"
                       r"rewrite|suggest|propose|invent)\b", re.I)
# Verbs that ask for something given in a text: to find it, or to pick it out.
_ASK_CUE = re.compile(r"\b(determine|identify|find|extract|detect|recogni[sz]e|locate|spot|"
                      r"pick|list|what|which|select|choose|name|tell|state|output|return|"
                      r"give|mark|highlight)\b", re.I)
# The object of a request for something in a text ("pick out the brand", "select the
# appropriate colour", "what brand is mentioned"), named without quotes.
_ASKED_OBJECT = re.compile(
    r"\b(?:select|choose|pick(?:\s+out)?|name|identify|find|extract|give|tell|state|output|"
    r"return|determine|detect|locate|spot|list|what|which)\s+(?:me\s+)?(?:out\s+)?"
    r"(?:the\s+|a\s+|an\s+|any\s+|all\s+|its\s+)?(?:appropriate\s+|correct\s+|right\s+|"
    r"main\s+|exact\s+|specific\s+)?(?:product's\s+|item's\s+)?"
    r"([A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*)?)", re.I)
# Words that put an attribute inside a text ("the 'brand' mentioned in the title '...'").
_IN_CUE = re.compile(r"\b(in|from|of|within|inside|mentioned|contained|given|following)\b",
                     re.I)
# A quoted text closed by the same kind of quote followed by a space, punctuation or the end
# (an apostrophe inside a title, or a quote of the other kind, does not end it): for each
# opening quote, the closing quotes and the characters that may follow a closing one.
_SPAN_QUOTES: dict[str, tuple[str, str | None]] = {
    "'": ("'", ".,:;?)"), '"': ('"', ".,:;?)"), "“": ("”", None), "‘": ("’", ".,:;?)"),
    "「": ("」", None)}
# A quoted title: any opening quote, closed by any closing quote before a space or punctuation.
_TITLE_QUOTES: dict[str, tuple[str, str | None]] = dict.fromkeys("'\"“‘「", ("'\"”’」", ".,:;?!)"))
_TITLE_CUE = re.compile(r"""(?:titled?|entitled|named|title)\s*(['"“‘「])""")


@dataclass
class Route:
    """What the router decided for one prompt. `task_type` uses the data's names."""

    task_type: TaskType
    options: list[int] = field(default_factory=list)  # the option numbers as printed
    option_answers: list[int] = field(default_factory=list)  # the answer of each, if not itself
    option_texts: list[str] = field(default_factory=list)
    question: str = ""
    candidates: list[str] = field(default_factory=list)
    pick: int = 0
    entity_type: str = ""
    source_text: str = ""
    generation_kind: str = ""
    language: str = ""
    aspect: str = ""
    skill: str = ""  # the skill (track id) guessed: which adapter answers, where mapped

    @property
    def num_candidates(self) -> int:
        return len(self.candidates)

    def summary(self) -> dict[str, Any]:
        """The decision without long texts, for predictions.jsonl and `route` output."""
        data = asdict(self)
        for key in ("option_texts", "candidates", "source_text", "question"):
            data.pop(key)
        data["num_candidates"] = self.num_candidates
        return {k: v for k, v in data.items() if v not in ("", [], 0) or k == "task_type"}


def labelled_fields(prompt: str) -> dict[str, str]:
    """`Label: value` lines (value may continue on following unlabelled lines), by lower label."""
    fields: dict[str, str] = {}
    label = ""
    for line in prompt.splitlines():
        match = LABEL_LINE.match(line)
        if match and not NUMBERED_LINE.match(line):
            label = match.group(1).strip().lower()
            fields[label] = match.group(2).strip()
        elif label and line.strip():
            fields[label] = f"{fields[label]}\n{line.strip()}".strip()
    return fields


def _count(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word.lower()]


def find_language(text: str) -> str:
    """The language an instruction names as its target ("into German", "en español")."""
    lowered = text.lower()
    patterns = [
        r"(?:into|to|in|for|a|al|en|auf|in|nach|into the)\s+(?:an?\s+)?"
        r"([a-zà-ÿ]+)(?:\s+online|\s+shopping|\s+language|\s+website|[\s.,:'\"]|$)",
    ]
    for pattern in patterns:
        for match in re.finditer(pattern, lowered):
            if match.group(1) in LANGUAGES:
                return LANGUAGES[match.group(1)]
    for name, language in LANGUAGES.items():
        if not name.isascii() and name in text:
            return language
    for name, language in LANGUAGES.items():
        if name.isascii() and re.search(rf"\b{name}\b", lowered):
            return language
    return ""


def _instruction_text(prompt: str, fields: dict[str, str]) -> str:
    """The prompt without the bodies of its data fields (queries, reviews, titles) and without
    its numbered candidate lines: a candidate's words ("I'll certainly reorder") are data, not
    the instruction."""
    drop = {"query", "review", "input", "product title", "product description", "text"}
    lines = []
    for line in prompt.splitlines():
        match = LABEL_LINE.match(line)
        if (match and match.group(1).strip().lower() in drop) or NUMBERED_LINE.match(line):
            continue
        lines.append(line)
    return "\n".join(lines)


def route_multiple_choice(prompt: str, lines: list[str]) -> Route:
    """The options the prompt prints (runtime/common/prompt_lines.py), as a route."""
    found = choice_options(prompt, lines)
    return Route(task_type="multiple-choice", options=found.options,
                 option_answers=found.answers, option_texts=found.texts,
                 question=found.question)


def _pick_count(instruction: str, n: int, cues: tuple[re.Pattern[str], ...]) -> int:
    for regex in cues:
        for match in regex.finditer(instruction):
            value = _count(match.group(1))
            if 1 <= value < n:
                return value
    return 0


def route_list_task(prompt: str, candidates: list[str], instruction: str) -> Route:
    n = len(candidates)
    if _RANK_CUE.search(instruction):
        # "a comma separating two numbers" in a ranking prompt is no selection; only an explicit
        # "select/choose/pick k" turns a ranking instruction into retrieval.
        pick = _pick_count(instruction, n, (_SELECT_CUE,))
        if not pick:
            return Route(task_type="ranking", candidates=candidates, pick=n)
    else:
        pick = _pick_count(instruction, n, (_PICK_CUE, _COUNT_OF_NUMBERS))
    return Route(task_type="retrieval", candidates=candidates, pick=pick or min(3, n))


def _entity_type(prompt: str) -> str:
    match = re.search(rf"\btype\s*(?:of\s*|is\s*|:\s*)?{_QUOTED}", prompt, re.I)
    if match:
        return match.group(1).strip()
    match = re.search(rf"{_QUOTED}\s*(?:entit|type)", prompt, re.I)
    if match:
        return match.group(1).strip()
    match = re.search(r"entity type\s+([\w ]{1,30}?)(?:[.,:\n]| from| in)", prompt, re.I)
    return match.group(1).strip() if match else ""


def route_entities(prompt: str, fields: dict[str, str]) -> Route:
    source = ""
    for label in ("query", "input", "text", "title", "product title", "sentence", "review"):
        if fields.get(label):
            source = fields[label]
            break
    if not source:
        quoted = re.findall(_QUOTED, prompt)
        source = max(quoted, key=len) if quoted else ""
    return Route(task_type="named_entity_recognition", entity_type=_entity_type(prompt),
                 source_text=source)


def _closes(text: str, quotes: dict[str, tuple[str, str | None]]) -> dict[str, list[int]]:
    """Per opening quote, the positions (ascending) of the quotes that can close it."""
    closes: dict[str, list[int]] = {}
    for opening, (closing, followers) in quotes.items():
        closes[opening] = [
            j for j, char in enumerate(text) if char in closing and (
                followers is None or j + 1 == len(text) or text[j + 1].isspace()
                or text[j + 1] in followers)]
    return closes


def _close_after(closes: list[int], start: int) -> int | None:
    """The first closing position at or after `start`."""
    at = bisect.bisect_left(closes, start)
    return closes[at] if at < len(closes) else None


def quoted_spans(text: str, quotes: dict[str, tuple[str, str | None]] = _SPAN_QUOTES,
                 ) -> list[tuple[int, int]]:
    """(opening, closing) positions of the quoted texts, leftmost first, none overlapping: what
    a lazy `'(.+?)'` pattern finds, in one pass (a lazy pattern rescans the rest of the prompt
    from every quote it cannot close, quadratic on quote-heavy prompts)."""
    closes = _closes(text, quotes)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        end = _close_after(closes[text[i]], i + 2) if text[i] in quotes else None
        if end is None:
            i += 1
            continue
        spans.append((i, end))
        i = end + 1
    return spans


def _inside(text: str, span: tuple[int, int]) -> str:
    return text[span[0] + 1:span[1]].strip()


def _attribute_and_source(prompt: str, instruction: str) -> tuple[str, str] | None:
    """(attribute, source text) of an entity question worded without "entity": a short quoted
    attribute name, then a longer quoted text it is to be found in, asked for rather than made
    ("Determine the 'brand' mentioned in the product title '...'", "select the appropriate
    'Brand' from the product title '...'")."""
    if (_TRANSLATE_CUE.search(instruction) or _MAKE_CUE.search(instruction)
            or not _ASK_CUE.search(instruction)):
        return None
    quoted = quoted_spans(prompt)
    for first, attribute in enumerate(quoted):
        name = _inside(prompt, attribute)
        if not 1 <= len(name.split()) <= 4 or len(name) > 40:
            continue
        for source in quoted[first + 1:]:
            between = prompt[attribute[1] + 1:source[0]]
            if len(between) > 80:
                break  # later quotes lie further away still
            text = _inside(prompt, source)
            if len(text.split()) > len(name.split()) and _IN_CUE.search(between):
                return name, text
    return None


# The short texts an attribute's values are found in, as `Label:` fields (a review or a passage
# asks for a copied span instead: generation's extraction kind).
_SHORT_SOURCES = ("query", "search query", "product title", "title", "product name",
                  "product", "item", "keywords")
# The attribute named by the words around the values asked for: "the values of the brand",
# "phrases that describe the colour", "the size values", "the material mentioned".
_VALUES_OF = re.compile(
    r"\b(?:values?|phrases?|words?|terms?|mentions?|spans?|parts?)\s+(?:of|for|about|that\s+"
    r"(?:describes?|indicates?|corresponds?\s+to|refers?\s+to|express(?:es)?|denotes?|"
    r"specif(?:y|ies)|names?|tells?)|describing|indicating|expressing|denoting|naming)\s+"
    r"(?:the\s+|a\s+|an\s+|its\s+|their\s+)?(?:product's\s+|item's\s+)?"
    r"([A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*)?)", re.I)
_THAT_NAME = re.compile(
    r"\bthat\s+(?:describes?|indicates?|corresponds?\s+to|refers?\s+to|express(?:es)?|"
    r"denotes?|specif(?:y|ies)|names?|tells?)\s+(?:the\s+|a\s+|an\s+|its\s+|their\s+)?"
    r"(?:product's\s+|item's\s+)?([A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*)?)", re.I)
_NAMED_VALUES = re.compile(
    r"\bthe\s+(?:product's\s+|item's\s+)?([A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*)?)\s+"
    r"(?:values?|attributes?\b(?!\s+of)|"
    r"(?:that\s+(?:is|are)\s+)?mentioned)\b", re.I)
# An attribute named with the text it is in: "the brand of the product in the query", "which
# colour is in this title", "the size given in the product title".
_ATTRIBUTE_IN_TEXT = re.compile(
    r"\b(?:the|which|what|any|all)\s+([A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*)?)\s+(?:(?:of|for)\s+"
    r"(?:the|this|that)\s+(?:product|item)\s+)?(?:is\s+|are\s+)?(?:in|from|within|mentioned\s+in|"
    r"given\s+in|appearing\s+in|contained\s+in)\s+(?:the|this|that|a)\s+(?:following\s+|given\s+)?"
    r"(?:search\s+|product\s+|customer(?:'s)?\s+)?(?:query|title|name)\b", re.I)
# Words that end an attribute's name ("material in the query": the attribute is "material").
_LINKING_WORDS = {"in", "is", "are", "of", "that", "from", "for", "mentioned", "the", "within",
                  "which", "given", "to", "and", "or", "on", "with", "as", "appears",
                  "appearing", "occurs", "shown", "present", "found", "used", "listed",
                  "written", "stated", "named", "contained", "here", "there"}
# Words that name where or how to answer, never an attribute.
_NOT_ATTRIBUTES = {"query", "title", "product", "text", "following", "given", "search",
                   "product title", "answer", "output", "same", "one", "only", "all", "any",
                   "language"}


def _named_attribute(instruction: str, source: str = "") -> str:
    """The attribute an instruction asks the values of, quoted or named by the words around
    the values ("the 'brand' ...", "the phrases that describe the colour"); never the source
    text it is to be found in."""
    quoted = [_inside(instruction, span) for span in quoted_spans(instruction)]
    for name in quoted:
        if 1 <= len(name.split()) <= 4 and len(name) <= 40 and name != source.strip():
            return name
    patterns = [_VALUES_OF, _THAT_NAME, _NAMED_VALUES, _ATTRIBUTE_IN_TEXT]
    if _IN_CUE.search(instruction):  # the thing asked for lies in a text
        patterns.append(_ASKED_OBJECT)
    for pattern in patterns:
        for match in pattern.finditer(instruction):
            words = match.group(1).split()
            cut = next((i for i, w in enumerate(words) if w.lower() in _LINKING_WORDS),
                       len(words))
            name = " ".join(words[:cut])
            if name and name.lower() not in _NOT_ATTRIBUTES:
                return name
    return ""


def _attribute_in_field(instruction: str, fields: dict[str, str]) -> tuple[str, str] | None:
    """(attribute, source text) of an entity question worded without "entity", its text a
    short `Label:` field: a verb that finds, the attribute it finds the values of, and a query
    or product title to find them in ("Extract the colour values from the product title.\n
    Title: ...")."""
    if (_TRANSLATE_CUE.search(instruction) or _MAKE_CUE.search(instruction)
            or not _ASK_CUE.search(instruction)):
        return None
    source = next((fields[label] for label in _SHORT_SOURCES if fields.get(label)), "") \
        or _inline_source(instruction)
    if not source or fields.get("review") or fields.get("aspect"):
        return None
    attribute = _named_attribute(instruction, source)
    return (attribute, source) if attribute else None


# A short text given inside the instruction's own line: "... in this product title: Cotton
# Crew Neck T-Shirt", or quoted after its name: "... in the product title 'Bose QC 45'".
_INLINE_SOURCE = re.compile(r"\b(?:product\s+title|title|search\s+query|query|product\s+name)"
                            r"\s*:\s*(\S.*)$", re.I | re.M)


def _inline_source(instruction: str) -> str:
    """The short text an instruction carries after "title:" or "query:", or quoted after the
    word "title", "query" or "name"."""
    match = _INLINE_SOURCE.search(instruction)
    if match:
        return match.group(1).strip()
    named = re.search(r"\b(?:title|query|name)\s*(['\"“‘「])", instruction, re.I)
    if named:
        end = _close_after(_closes(instruction, _TITLE_QUOTES)[named.group(1)], named.end() + 1)
        if end is not None:
            return instruction[named.end():end].strip()
    return ""


def _quoted_title(prompt: str) -> str:
    """The quoted text after "titled", "named" or "title", else the longest quoted text."""
    cue = _TITLE_CUE.search(prompt)
    if cue:
        # A later cue cannot close where the first one cannot: its quotes lie after.
        end = _close_after(_closes(prompt, _TITLE_QUOTES)[cue.group(1)], cue.end() + 1)
        if end is not None:
            return prompt[cue.end():end].strip()
    quoted = quoted_spans(prompt, _TITLE_QUOTES)
    return max((prompt[start + 1:end] for start, end in quoted), key=len).strip() if quoted \
        else ""


_FIELD_LABELS = {"input", "output", "answer", "instruction", "instructions", "response",
                 "question"}


def _request_text(instruction: str, fields: dict[str, str]) -> str:
    """What the prompt asks: its instruction, or, when that is only field labels ("Input: Which
    categories does ...?\nAnswer:"), the input field that holds the request."""
    words = [w for w in re.findall(r"[^\W\d_]{2,}", instruction) if w.lower() not in _FIELD_LABELS]
    return instruction if len(words) >= 3 else f"{instruction}\n{fields.get('input', '')}"


def route_generation(prompt: str, fields: dict[str, str], instruction: str) -> Route:
    request = _request_text(instruction, fields)
    # An input field that holds the request is the subject only when nothing is quoted.
    given = fields.get("input", "") if request == instruction else ""
    subject = given or _quoted_title(prompt) or fields.get("input", "")
    language = find_language(request)
    wants_title = re.search(r"\btitle\b", request, re.I) and language
    if _TRANSLATE_CUE.search(request) or wants_title:
        return Route(task_type="generation", generation_kind="translation",
                     language=language or "English", source_text=_quoted_title(prompt))
    aspect = fields.get("aspect", "")
    text = fields.get("review") or fields.get("text") or fields.get("passage") or ""
    if _TITLE_ASK.search(request):
        return Route(task_type="generation", generation_kind="title",
                     source_text=text or subject, language=language)
    if (aspect and text) or (text and _EXTRACT_CUE.search(request)):
        return Route(task_type="generation", generation_kind="extraction", source_text=text,
                     aspect=aspect, language=language)
    keywords = _KEYWORDS_ASK.search(request)
    if keywords:
        count = re.search(rf"\b{_COUNT}\b", keywords.group(0))
        given = "\n".join(value for label, value in fields.items()
                          if label not in _FIELD_LABELS and label != "keywords" and value)
        return Route(task_type="generation", generation_kind="keywords",
                     source_text=text or given or subject, language=language,
                     pick=_count(count.group(1)) if count else 0)
    if _CATEGORY_ASK.search(request):
        return Route(task_type="generation", generation_kind="category",
                     source_text=_quoted_title(prompt) or subject, language=language)
    return Route(task_type="generation", generation_kind="description", source_text=subject,
                 language=language)


def route(prompt: str, is_multiple_choice: bool) -> Route:
    """Decide the task type and answer shape of one prompt, and guess its skill."""
    decision = _route(prompt, is_multiple_choice)
    decision.skill = guess_skill(prompt, decision)
    return decision


def _route(prompt: str, is_multiple_choice: bool) -> Route:
    """The task type and answer shape of one prompt."""
    lines = prompt.splitlines()
    if is_multiple_choice:
        return route_multiple_choice(prompt, lines)
    fields = labelled_fields(prompt)
    instruction = _instruction_text(prompt, fields)
    if _ENTITY_CUE.search(instruction):
        return route_entities(prompt, fields)
    blocks = numbered_blocks(lines, first=1)
    if blocks:
        _, candidates = max(blocks, key=lambda block: len(block[1]))
        return route_list_task(prompt, candidates, instruction)
    attribute = None if _KEYWORDS_ASK.search(instruction) else (
        _attribute_and_source(prompt, instruction) or _attribute_in_field(instruction, fields))
    if attribute:
        return Route(task_type="named_entity_recognition", entity_type=attribute[0],
                     source_text=attribute[1])
    return route_generation(prompt, fields, instruction)


def route_as(prompt: str, is_multiple_choice: bool, task_type: str) -> Route:
    """The decision for a prompt whose task type is given rather than inferred, its answer's
    shape read from the prompt as `route` reads it: a measurement's seam (routing by the data's
    labels, to price the router's mistakes), never the runtime's own path."""
    decision = route(prompt, is_multiple_choice)
    if decision.task_type == task_type:
        return decision
    forced = _route_as(prompt, is_multiple_choice, task_type)
    forced.skill = guess_skill(prompt, forced)
    return forced


def _route_as(prompt: str, is_multiple_choice: bool, task_type: str) -> Route:
    lines = prompt.splitlines()
    fields = labelled_fields(prompt)
    instruction = _instruction_text(prompt, fields)
    if task_type == "multiple-choice":
        return route_multiple_choice(prompt, lines)
    if task_type in ("retrieval", "ranking"):
        blocks = numbered_blocks(lines, first=1)
        candidates = max(blocks, key=lambda block: len(block[1]))[1] if blocks else []
        n = len(candidates)
        if task_type == "ranking":
            return Route(task_type="ranking", candidates=candidates, pick=n)
        pick = _pick_count(instruction, n, (_PICK_CUE, _COUNT_OF_NUMBERS)) if n else 0
        return Route(task_type="retrieval", candidates=candidates, pick=pick or min(3, n))
    if task_type == "named_entity_recognition":
        attribute = _attribute_and_source(prompt, instruction) or _attribute_in_field(
            instruction, fields)
        if attribute:
            return Route(task_type="named_entity_recognition", entity_type=attribute[0],
                         source_text=attribute[1])
        return route_entities(prompt, fields)
    return route_generation(prompt, fields, instruction)


# Cues of a skill (Shopping MMLU's four, the KDD Cup's tracks 1-4) where a prompt's form does
# not say it: the guess picks a skill's adapter (models/vllm_config.json's adapters.by_skill),
# nothing else. Measured against the labels of the shared data sets (docs/measurements.md).
_BEHAVIOUR_CUE = re.compile(
    r"\b(?:you are a user|a user (?:on|has|made)|shopper|purchased|bought|click(?:ed|s)?|"
    r"queries|query (?:and|keyword)|relation\w* (?:between|from|of) (?:the )?(?:query|search)|"
    r"sequence of actions|rate this|scale of 1 to 5|headline|also buy|browsing|posting|"
    r"sentiment)\b", re.I)
_REASONING_CUE = re.compile(
    r"\b(?:complement\w*|obstruct\w*|PersonX|total|how many|reasonable step|purchased or "
    r"viewed together|similar, (?:if )?they|why|evaluate whether|referencing the product|"
    r"harmony|per (?:unit|ounce|item)|cheaper|compatib\w*)\b", re.I)
_NON_LATIN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0400-\u04ff\u0600-\u06ff]")
_SKILLS = ("amazon-kdd-cup-24-understanding-shopping-concepts",
           "amazon-kdd-cup-24-shopping-knowledge-reasoning",
           "amazon-kdd-cup-24-user-behavior-alignment",
           "amazon-kdd-cup-24-multi-lingual-abilities")


def guess_skill(prompt: str, decision: Route) -> str:
    """The skill (track id) a prompt most likely belongs to: multilingual where it asks for
    or holds another language, user behaviour where it is about a user's queries, purchases,
    reviews' ratings or a ranking for a query, knowledge reasoning where it asks to reason
    about products, else shopping concepts."""
    letters = [c for c in prompt if c.isalpha()]
    foreign = sum(not c.isascii() for c in letters) > 0.05 * max(len(letters), 1)
    if (decision.generation_kind == "translation" or _NON_LATIN.search(prompt) or foreign
            or (decision.language and decision.language != "English")):
        return _SKILLS[3]
    asked = decision.question or prompt  # a choice's question, without its options
    if _REASONING_CUE.search(asked) or (decision.task_type == "generation"
                                        and labelled_fields(prompt).get("query")):
        return _SKILLS[1]  # reasoning about products, a shopper's question about one
    rating = decision.task_type == "multiple-choice" and not decision.option_texts
    made_from_review = decision.generation_kind == "title" and re.search(r"\breview", prompt,
                                                                         re.I)
    if (decision.task_type == "ranking" or rating or made_from_review
            or _BEHAVIOUR_CUE.search(asked)):
        return _SKILLS[2]
    return _SKILLS[0]
