"""Settings files and their errors: one reader for a JSON file of settings and the error a
setting that cannot be used raises. Every configuration model (evaluation, scoring, the model's
own) is read through these; a validation error is worded by `runtime.common.errors.one_line`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration file or option that cannot be used; the message says which and why."""


# A settings file is small: anything larger is not one (a device, a data file given by mistake).
MAX_SETTINGS_BYTES = 16 * 2**20


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON file of settings, which must hold one object; else one line naming the file.
    Only a regular file of a settings file's size is read (a FIFO would wait for a writer,
    /dev/zero would never end)."""
    if path.exists() and not path.is_file():
        raise ConfigError(f"{path}: cannot read {what}: not a regular file")
    if path.is_file() and path.stat().st_size > MAX_SETTINGS_BYTES:
        raise ConfigError(f"{path}: cannot read {what}: larger than "
                          f"{MAX_SETTINGS_BYTES // 2**20} MiB, so not a settings file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # ValueError: not JSON, not UTF-8, digits past the limit
        raise ConfigError(f"{path}: cannot read {what}: {err}") from err
    except RecursionError:
        raise ConfigError(f"{path}: cannot read {what}: nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: {what} must be a JSON object, not {json_kind(data)}")
    return data


def json_kind(value: object) -> str:
    """What a decoded JSON value is, in the format's words ("a list", "null")."""
    if value is None:
        return "null"
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "true or false",
             int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)
