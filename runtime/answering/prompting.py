"""Prompts: the task templates under prompts/ applied to a routed question, and shortening of
prompts that do not fit the model.

Templates are plain `str.format` files, one per task type, plus the system prompt; the line that
states a generation's answer format is its shape's (shapes.py). The chat template of the
model's own tokenizer turns the messages into the engine's input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from runtime.answering.fewshot import Exemplar
from runtime.answering.router import Route
from runtime.answering.shapes import shape_of

_FORMAT_LINE_MARKERS = ("output", "answer", "respond", "separat", "only", "comma", "number")


@lru_cache(maxsize=16)
def read_template(name: str, directory: Path) -> str:
    return (directory / name).read_text(encoding="utf-8").strip()


def task_instruction(decision: Route, directory: Path) -> str:
    """The task type's template, filled in for this question."""
    language = decision.language
    values = {
        "options": ", ".join(str(o) for o in decision.options),
        "pick": decision.pick,
        "count": decision.num_candidates,
        "entity_type": decision.entity_type or "the requested type",
        "language": language or "the language the user asks for",
        "language_clause": f" in {language}" if language else "",
        "format_line": "",
    }
    values["format_line"] = shape_of(decision).format_line.format(**values)
    return read_template(f"{decision.task_type}.txt", directory).format(**values)


def messages_for(prompt: str, decision: Route, directory: Path,
                 exemplars: Sequence[Exemplar] = ()) -> list[dict]:
    """System turn: the shared system prompt and the task instruction; then each few-shot
    exemplar as a user turn (its question) and an assistant turn (its answer); last, the user
    turn: the question as written.

    The shipped templates use no per-question values, so every question of a task type (the
    grader batches by type) starts with the same tokens and the engine's prefix cache prefills
    them once; the constraint in runtime/answering/decoding.py enforces the per-question details
    (options present, how many to pick, list length)."""
    system = read_template("system.txt", directory) + "\n\n" + task_instruction(decision, directory)
    shots = [turn for exemplar in exemplars for turn in (
        {"role": "user", "content": exemplar.prompt.strip()},
        {"role": "assistant", "content": exemplar.answer})]
    return [
        {"role": "system", "content": system},
        *shots,
        {"role": "user", "content": prompt.strip()},
    ]


def _is_protected(line: str, index: int, total: int) -> bool:
    """Instruction and output-format lines stay whole: the first line, the last three, and
    short lines that talk about the output."""
    lowered = line.lower()
    if index == 0 or index >= total - 3:
        return len(line) < 400
    return len(line) < 300 and any(marker in lowered for marker in _FORMAT_LINE_MARKERS)


def shorten_prompt(prompt: str, limit: int, count_tokens: Callable[[str], int]) -> str:
    """Cut the longest data lines (reviews, descriptions, titles) until `prompt` fits `limit`
    tokens, keeping the instruction and output-format lines whole."""
    lines = prompt.split("\n")
    for _ in range(200):
        if count_tokens("\n".join(lines)) <= limit:
            return "\n".join(lines)
        candidates = [i for i, line in enumerate(lines)
                      if not _is_protected(line, i, len(lines)) and len(line) > 20]
        if not candidates:
            candidates = [i for i, line in enumerate(lines) if len(line) > 20]
        if not candidates:
            break
        longest = max(candidates, key=lambda i: len(lines[i]))
        line = lines[longest]
        lines[longest] = line[: max(len(line) * 2 // 3, 20)].rstrip() + " …"
    text = "\n".join(lines)
    # Last resort: keep the head and the tail (which holds the output-format lines).
    while count_tokens(text) > limit and len(text) > 40:
        keep = len(text) * 3 // 4
        text = text[: keep // 3] + "\n…\n" + text[-(keep * 2 // 3):]
    return text
