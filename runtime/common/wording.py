"""Names and numbers as messages and tables say them: a count with its noun in the right number
("1 answer", "2 answers"), and names that hold numbers in their natural order (task2 before
task10)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"(\d+)")


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, the noun in the plural unless the count is one."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that orders the numbers in names by value: task1, task2, task10."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower())
                 for part in _DIGITS.split(name) if part)


def naturally(names: object) -> list[str]:
    """The names (any iterable of str) in natural order."""
    return sorted(names, key=natural_key)  # type: ignore[call-overload]
