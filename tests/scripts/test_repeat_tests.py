"""scripts/repeat_tests.py: chosen tests run many times, each failure counted with its message."""

import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_a_test_that_fails_in_some_runs_is_counted_with_its_message(tmp_path):
    # Fails in its second run only: a counter file beside it says which run this is.
    suspect = tmp_path / "test_suspect.py"
    suspect.write_text(
        "from pathlib import Path\n"
        f"COUNTER = Path({str(tmp_path / 'count')!r})\n"
        "def test_flaky():\n"
        "    runs = int(COUNTER.read_text()) + 1 if COUNTER.exists() else 1\n"
        "    COUNTER.write_text(str(runs))\n"
        "    assert runs != 2, 'the second run fails'\n"
        "def test_steady():\n"
        "    pass\n")
    result = subprocess.run(
        [sys.executable, "scripts/repeat_tests.py", "--runs", "3", str(suspect)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 of 3 runs passed" in result.stdout
    assert "test_flaky: failed 1 of 3 runs: AssertionError: the second run fails" in result.stdout
    assert "test_steady" not in result.stdout.split("runs passed", 1)[1]
