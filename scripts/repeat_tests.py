"""Run chosen tests many times, each time in a fresh pytest process, and say which failed how
often: a suspect of failing by chance is caught in the act, with its message.

    .venv/bin/python scripts/repeat_tests.py --runs 50 tests/test_interruptions.py
    .venv/bin/python scripts/repeat_tests.py --runs 5 --load 1      # the whole suite, with one
                                                                     # CPU-bound process beside it

Everything after the options goes to pytest as it is (test files, node ids, -k, -m). Each run's
outcome and time are printed as it ends; at the end, every test that failed at least once, with
how many runs it failed and the first line of its first failure. Exit status: 0 when every run
passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _burn() -> None:
    """A CPU-bound process: what a busy CI machine has beside the tests."""
    value = 0
    while True:
        value = (value * 31 + 7) % 1_000_003


def failures_of(report: Path) -> dict[str, str]:
    """The tests a JUnit XML report says failed or errored, each with its message."""
    if not report.is_file():
        return {}
    failed: dict[str, str] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        for kind in ("failure", "error"):
            found = case.find(kind)
            if found is not None:
                name = f"{case.get('classname', '')}::{case.get('name', '')}"
                message = (found.get("message") or found.text or kind).strip()
                failed[name] = message.splitlines()[0][:300] if message else kind
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="how many times (default 10)")
    parser.add_argument("--load", type=int, default=0, metavar="N",
                        help="CPU-bound processes to run beside the tests (default 0)")
    parser.add_argument("--stop-on-failure", action="store_true",
                        help="stop after the first run that fails")
    args, pytest_args = parser.parse_known_args()
    if args.runs < 1 or args.load < 0:
        parser.error("--runs must be 1 or more and --load 0 or more")
    burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(args.load)]
    for burner in burners:
        burner.start()
    failed: Counter[str] = Counter()
    first_message: dict[str, str] = {}
    times: list[float] = []
    passed_runs = 0
    try:
        with tempfile.TemporaryDirectory() as folder:
            for run in range(1, args.runs + 1):
                report = Path(folder) / f"run{run}.xml"
                started = time.perf_counter()
                result = subprocess.run(
                    [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                     f"--junitxml={report}", *pytest_args],
                    cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                times.append(time.perf_counter() - started)
                found = failures_of(report)
                for name, message in found.items():
                    failed[name] += 1
                    first_message.setdefault(name, message)
                last = (result.stdout.strip().splitlines() or [""])[-1]
                outcome = "passed" if result.returncode == 0 else f"FAILED ({len(found)} tests)"
                passed_runs += result.returncode == 0
                print(f"run {run}/{args.runs}: {outcome} in {times[-1]:.1f} s: {last}",
                      flush=True)
                if result.returncode != 0 and not found:
                    print(result.stdout[-3000:], flush=True)  # pytest itself failed
                if result.returncode != 0 and args.stop_on_failure:
                    break
    finally:
        for burner in burners:
            burner.terminate()
    runs = len(times)
    print(f"\n{passed_runs} of {runs} runs passed; time per run median "
          f"{statistics.median(times):.1f} s (min {min(times):.1f}, max {max(times):.1f})"
          + (f", with {args.load} CPU-bound processes beside it" if args.load else ""))
    for name, count in failed.most_common():
        print(f"{name}: failed {count} of {runs} runs: {first_message[name]}")
    return 0 if passed_runs == runs else 1


if __name__ == "__main__":
    sys.exit(main())
