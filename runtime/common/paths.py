"""Where this repository keeps the files the code reads by default, written once, and how a
path is shown."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The bundled sample set: the default data of every command that reads questions.
SAMPLE_DATA = REPO_ROOT / "data" / "sample.jsonl"
# An estimate of the test set's question counts per track and task type.
ESTIMATED_COUNTS = REPO_ROOT / "data" / "track_counts_estimate.json"
# The task templates, one per task type, and the system prompt.
PROMPTS_DIR = REPO_ROOT / "prompts"
# Where commands write their results unless told otherwise.
OUTPUTS_DIR = REPO_ROOT / "outputs"


def shown_path(path: Path | str) -> str:
    """A path as records and messages name it: relative to the repository where inside it,
    else absolute (as given where a link loop keeps it from being resolved)."""
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError):  # a link loop
        return os.path.abspath(path)
    try:
        return resolved.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(resolved)
