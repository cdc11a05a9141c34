"""Where log records go while a command runs: stdout carries the command's results only.

Every record (the engine's, the runtime's, Python warnings) goes to a log file in the command's
output folder. On stderr: with `verbose`, the same records; without, only the runtime's own
warnings (a one-line notice such as "this CPU lacks AVX-512"). Progress bars write to stderr
themselves.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOG_FILE = "run.log"
_OWN_LOGGERS = ("runtime", "models", "benchmarks")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _is_own(record: logging.LogRecord) -> bool:
    return record.name.split(".")[0] in _OWN_LOGGERS


@contextmanager
def logs_to(path: Path, verbose: bool = False) -> Iterator[Path]:
    """Route log records to `path` (appended) while the block runs, then restore the root
    logger as it was."""
    root = logging.getLogger()
    to_file = logging.FileHandler(path, encoding="utf-8", delay=True)  # no empty log file
    to_file.setFormatter(logging.Formatter(_FORMAT))
    to_stderr = logging.StreamHandler(sys.stderr)
    if verbose:
        to_stderr.setFormatter(logging.Formatter(_FORMAT))
    else:
        to_stderr.setLevel(logging.WARNING)
        to_stderr.addFilter(_is_own)
    level, raise_exceptions = root.level, logging.raiseExceptions
    root.addHandler(to_file)
    root.addHandler(to_stderr)
    root.setLevel(logging.INFO)
    # A log file that cannot be written (a full disk) must not print tracebacks over the run.
    logging.raiseExceptions = False
    logging.captureWarnings(True)
    try:
        yield path
    finally:
        logging.captureWarnings(False)
        root.removeHandler(to_file)
        root.removeHandler(to_stderr)
        to_file.close()
        root.setLevel(level)
        logging.raiseExceptions = raise_exceptions
