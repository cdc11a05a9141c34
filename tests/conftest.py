"""Shared fixtures: paths to the bundled sample set and the shared development set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "data" / "sample.jsonl"
DEVELOPMENT = REPO_ROOT.parent / "shared" / "data" / "development.json"


@pytest.fixture(scope="session")
def development_path() -> Path:
    """The public development set beside the checkout; CI must have it, so never skip there."""
    if not DEVELOPMENT.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{DEVELOPMENT} is missing in CI; the development set must be beside "
                        "the checkout")
        pytest.skip(f"{DEVELOPMENT} not found: ../shared is not beside this checkout")
    return DEVELOPMENT


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE
