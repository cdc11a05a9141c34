"""The modes of what the runtime writes: a new file or folder gets what the process's umask
gives any other (0644 and 0755 under the usual umask), also where a library or a temporary
file would make it private (0600, 0700)."""

from __future__ import annotations

import os
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def as_any_new_file(path: Path) -> None:
    """Give a file the mode a newly created file gets here."""
    os.chmod(path, 0o666 & ~_umask())


def as_any_new_folder(path: Path) -> None:
    """Give a folder the mode a newly created folder gets here."""
    os.chmod(path, 0o777 & ~_umask())
