"""JSON lines as the project reads and writes them (data files, saved answers).

A line ends at "\\n" only: a prompt or an answer may hold U+2028 or U+0085, which other line
splitters cut. What is written is on disk (flushed and fsynced) before the call returns.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import IO, Any


def json_lines(text: str) -> Iterator[tuple[int, Any | ValueError]]:
    """(line number, decoded value, or the error that line gave) for every non-blank line."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as err:  # not JSON, or an integer past Python's digit limit
            yield number, err
        except RecursionError:
            yield number, ValueError("nested too deeply")


def dumps_line(value: Any) -> str:
    """One line of JSON, readable UTF-8 where it can be; a lone surrogate (which UTF-8 cannot
    encode) is written as its \\u escape instead, which reads back as the same string."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def write_durably(handle: IO[str], lines: Iterable[str]) -> None:
    """Write each line and its "\\n", then flush and fsync: on disk before returning."""
    for line in lines:
        handle.write(line + "\n")
    handle.flush()
    os.fsync(handle.fileno())
