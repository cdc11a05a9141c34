"""The runtime stays ruff-clean and typed."""

import subprocess
import sys

from tests.conftest import REPO_ROOT


def run(*args):
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_clean():
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout[-3000:]


def test_runtime_models_and_benchmarks_type_check():
    result = run("mypy", "runtime", "models", "benchmarks", "--ignore-missing-imports")
    assert result.returncode == 0, result.stdout[-3000:]
