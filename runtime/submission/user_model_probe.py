"""Imports a repository's UserModel with every socket refused and prints what it found, as one
JSON line: `python -m runtime.submission.user_model_probe REPO` (run by the checker in a
subprocess, from REPO, so that the submission's own imports are the ones tried)."""

from __future__ import annotations

import _socket
import json
import socket
import sys
from typing import Any, NoReturn


def _refuse(*args: Any, **kwargs: Any) -> NoReturn:
    raise OSError("network access attempted while importing the submission")


class _NoSocket(socket.socket):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse()


class _NoRawSocket(_socket.socket):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _refuse()


# Name lookups of both modules: the high-level one and the C module it wraps.
_LOOKUPS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo")


def refuse_sockets() -> None:
    """Every new socket, connection or name lookup of this process fails, through `socket`
    and through the C module `_socket` under it."""
    socket.socket = _NoSocket  # type: ignore[misc]
    socket.create_connection = _refuse  # type: ignore[assignment]
    _socket.socket = _NoRawSocket  # type: ignore[misc]
    for module in (socket, _socket):
        for name in _LOOKUPS:
            setattr(module, name, _refuse)


def inspect_user_model(repo: str) -> dict[str, Any]:
    """Import models.user_config from `repo` and describe its UserModel."""
    sys.path.insert(0, repo)
    from models.user_config import UserModel

    names = [c.__module__ + "." + c.__name__ for c in UserModel.__mro__]
    return {
        "name": UserModel.__module__ + ":" + UserModel.__name__,
        "uses_vllm": any(n.endswith("VLLMShopModel") for n in names),
        "interface": all(callable(getattr(UserModel, m, None))
                         for m in ("get_batch_size", "batch_predict")),
    }


if __name__ == "__main__":
    refuse_sockets()
    print(json.dumps(inspect_user_model(sys.argv[1])))
