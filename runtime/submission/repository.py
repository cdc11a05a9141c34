"""The repository as the platform reads it: aicrowd.json (which track, whether it needs a GPU)
and the repository's size."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from runtime.common.competition import CHALLENGE_IDS
from runtime.common.errors import one_line
from runtime.submission.outcome import Check, Target

MAX_REPO_BYTES = 200 * 10**9


class AicrowdConfig(BaseModel):
    """aicrowd.json: which track the submission is for and whether it needs a GPU."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    challenge_id: str
    authors: list[str] = Field(min_length=1)
    gpu: bool
    description: str

    @field_validator("challenge_id")
    @classmethod
    def _known_track(cls, value: str) -> str:
        if value not in CHALLENGE_IDS:
            raise ValueError(f"unknown challenge_id {value!r}")
        return value


def check_aicrowd(repo: Path) -> tuple[Check, AicrowdConfig | None]:
    path = repo / "aicrowd.json"
    try:
        config = AicrowdConfig(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return Check("aicrowd.json", False, "aicrowd.json is missing: create it with "
                     "challenge_id, authors, gpu and description"), None
    except (json.JSONDecodeError, TypeError) as err:
        return Check("aicrowd.json", False, f"aicrowd.json is not a JSON object: {err}"), None
    except ValidationError as err:
        problems = one_line(err)
        return Check("aicrowd.json", False, f"aicrowd.json is invalid: {problems}. "
                     f"challenge_id must be one of {', '.join(CHALLENGE_IDS)}"), None
    return Check("aicrowd.json", True, f"valid, for {config.challenge_id}"), config


def check_gpu_flag(config: AicrowdConfig, uses_vllm: bool, target: Target) -> Check:
    if uses_vllm and target.gpu is not None and not config.gpu:
        return Check("gpu flag", False, "the configured model runs on vLLM and needs a GPU, "
                     "but aicrowd.json says \"gpu\": false: set it to true")
    return Check("gpu flag", True, f"gpu is {str(config.gpu).lower()}")


def check_repo_size(repo: Path, unsubmitted: tuple[Path, ...] = ()) -> Check:
    skip = {".git", ".venv", ".venv-quantize", "outputs", "__pycache__", ".pytest_cache",
            ".ruff_cache", ".mypy_cache"}
    left_out = {p.resolve() for p in unsubmitted}
    total = 0
    for root, dirs, files in os.walk(repo):
        dirs[:] = [d for d in dirs if d not in skip and Path(root, d).resolve() not in left_out]
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    ok = total <= MAX_REPO_BYTES
    return Check("repository size", ok, f"{total / 1e9:.2f} GB of at most 200 GB"
                 + ("" if ok else ": remove unused weights"))
