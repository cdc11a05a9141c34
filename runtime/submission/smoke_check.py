"""The smoke run: the UserModel answers one grader batch of every task type of the sample set,
in a subprocess (`python -m runtime.submission.smoke_probe`), and every answer must parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from runtime.submission.outcome import Check

SMOKE_RUN_TIMEOUT_S = 900


def check_smoke_run(repo: Path, data: Path, weights: Path | None) -> Check:
    args = [sys.executable, "-m", "runtime.submission.smoke_probe", str(repo), str(data)]
    if weights is not None:
        args.append(str(weights))
    # The engine in this one process: the run needs no worker processes of its own.
    env = {**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
    try:
        result = subprocess.run(args, cwd=repo, capture_output=True, text=True,
                                timeout=SMOKE_RUN_TIMEOUT_S, env=env,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Check("smoke run", False, f"the UserModel did not answer the sample set within "
                     f"{SMOKE_RUN_TIMEOUT_S} s: run local_evaluation.py --limit 10 to see where "
                     "it stops")
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return Check("smoke run", False, f"the UserModel failed on the sample set: {last}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    if report["problems"]:
        return Check("smoke run", False, "answers the grader cannot parse: "
                     + "; ".join(report["problems"][:5]))
    return Check("smoke run", True, "one batch of each task type answered and parsed: "
                 + ", ".join(report["task_types"]))
