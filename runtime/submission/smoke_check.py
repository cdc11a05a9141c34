"""The smoke run: the UserModel answers one grader batch of every task type of the sample set,
in a subprocess (`python -m runtime.submission.smoke_probe`), and every answer must parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from runtime.submission.outcome import Check
from runtime.submission.smoke_probe import PROGRESS

SMOKE_RUN_TIMEOUT_S = 900


def check_smoke_run(repo: Path, data: Path, weights: Path | None) -> Check:
    args = [sys.executable, "-m", "runtime.submission.smoke_probe", str(repo), str(data)]
    if weights is not None:
        args.append(str(weights))
    # The engine in this one process: the run needs no worker processes of its own.
    env = {**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
    print(f"smoke run: the UserModel answers one batch of each task type of {data.name} in a "
          f"process of its own; expect about a minute on a CPU (the engine's start is about "
          f"30 s of it), at most {SMOKE_RUN_TIMEOUT_S} s", file=sys.stderr, flush=True)
    try:
        code, stdout, last = _run_showing_progress(args, repo, env)
    except subprocess.TimeoutExpired:
        return Check("smoke run", False, f"the UserModel did not answer the sample set within "
                     f"{SMOKE_RUN_TIMEOUT_S} s: run local_evaluation.py --limit 10 to see where "
                     "it stops")
    if code != 0:
        return Check("smoke run", False, f"the UserModel failed on the sample set: {last}")
    report = json.loads(stdout.strip().splitlines()[-1])
    if report["problems"]:
        return Check("smoke run", False, "answers the grader cannot parse: "
                     + "; ".join(report["problems"][:5]))
    return Check("smoke run", True, "one batch of each task type answered and parsed: "
                 + ", ".join(report["task_types"]))


def _run_showing_progress(args: list[str], repo: Path,
                          env: dict[str, str]) -> tuple[int, str, str]:
    """Run the probe, its progress lines shown on stderr as they come; its exit status, its
    stdout, and the last line of its stderr (what failed, where it failed)."""
    process = subprocess.Popen(args, cwd=repo, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               errors="replace")
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(process.stdout.read()  # type: ignore
                                                        if process.stdout else ""))
    reader.start()
    last = "no output"
    expired = threading.Event()

    def give_up() -> None:  # a probe that hangs without a word is stopped all the same
        expired.set()
        process.kill()

    timer = threading.Timer(SMOKE_RUN_TIMEOUT_S, give_up)
    timer.start()
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if line.strip():
                last = line.strip()
            if line.startswith(PROGRESS):
                print(f"smoke run: {line.removeprefix(PROGRESS).strip()}", file=sys.stderr,
                      flush=True)
        process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        timer.cancel()
        reader.join()
    if expired.is_set():
        raise subprocess.TimeoutExpired(args, SMOKE_RUN_TIMEOUT_S)
    return process.returncode, "".join(out), last
