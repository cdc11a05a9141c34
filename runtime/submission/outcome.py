"""A check's outcome and the target it is checked for, and how outcomes are reported: one
line per check, JSON, and the exit status."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from runtime.budget.estimate import GPUS, GPUSpec


@dataclass
class Check:
    name: str
    passed: bool
    message: str
    fatal: bool = True
    skipped: bool = False  # not run (what it needs failed first): neither passed nor a problem


@dataclass
class Target:
    name: str
    gpu: GPUSpec | None
    count: int


def parse_target(text: str) -> Target:
    """`cpu`, or `NxGPU` with a GPU from the profiler's table (4xT4, 2xT4, 1xA100, ...)."""
    if text.lower() == "cpu":
        return Target("cpu", None, 1)
    match = re.fullmatch(r"(\d+)x(\w+)", text)
    if not match or match.group(2) not in GPUS:
        raise ValueError(f"unknown target {text!r}: use cpu or NxGPU with GPU one of "
                         f"{', '.join(GPUS)} (e.g. 4xT4)")
    if int(match.group(1)) < 1:
        raise ValueError(f"target {text!r} has no GPU: use at least one (e.g. 4xT4), or cpu")
    return Target(text, GPUS[match.group(2)], int(match.group(1)))


def target_line(target: Target) -> str:
    if target.gpu is None:
        return "target: cpu (the smoke run and sizes only; no GPU memory or kernel checks)"
    return (f"target: {target.name} ({target.count} x {target.gpu.name}, "
            f"{target.gpu.memory_gb:g} GB each)")


def check_line(c: Check) -> str:
    """One check as the report shows it: its mark, name and message."""
    mark = "skip" if c.skipped else "ok  " if c.passed else "FAIL" if c.fatal else "warn"
    return f"[{mark}] {c.name}: {c.message}"


def summary_line(checks: list[Check]) -> str:
    failed = [c for c in checks if not c.passed and c.fatal and not c.skipped]
    return (f"{len(failed)} problem(s) would make the submission fail" if failed
            else "no problem found that would make the submission fail")


def report_lines(checks: list[Check], target: Target) -> list[str]:
    return [target_line(target), *(check_line(c) for c in checks), summary_line(checks)]


def as_json(checks: list[Check], target: Target) -> str:
    return json.dumps({"target": target.name, "checks": [asdict(c) for c in checks]}, indent=2)


def exit_status(checks: list[Check]) -> int:
    return 1 if any(not c.passed and c.fatal and not c.skipped for c in checks) else 0
