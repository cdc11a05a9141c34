"""An exception worded as one line: the one helper every error message of the runtime uses to
quote what went wrong (a validation error's fields, a file-system error's path, anything else's
message with its line breaks folded)."""

from __future__ import annotations

from pydantic import ValidationError


def one_line(err: BaseException) -> str:
    """`err` as one line: a validation error as `field: message` per problem, a file-system
    error as `path: what happened`, any other as its message (or its type's name when it has
    none)."""
    if isinstance(err, ValidationError):
        problems = []
        for problem in err.errors():
            where = ".".join(str(part) for part in problem["loc"])
            message = str(problem["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        return " ".join("; ".join(problems).split())
    if isinstance(err, OSError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        return " ".join(f"{where}{err.strerror}".split())
    return " ".join(str(err).split()) or type(err).__name__
