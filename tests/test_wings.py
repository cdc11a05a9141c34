"""The plan of the house, held against the code's imports (every import statement, inside
functions too): the answering wing (what the grader's container runs) never imports the grading
wing or the local tools, the grading wing reaches a model only through the UserModel interface
(a class named by its spec, never imported by name), and nothing imports in a circle."""

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

ANSWERING = ("models", "runtime.answering", "runtime.common")
LOCAL_ONLY = ("runtime.grading", "runtime.budget", "runtime.submission", "runtime.tools",
              "runtime.cli", "runtime.logs")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The project's modules one file imports (`from a import b` counts a.b where a.b is a
    module, else a)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" \
        else module_name(path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(filter(None, [*anchor, base]))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                     for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in MODULES}
        found |= {name.rsplit(".", 1)[0] for name in names
                  if name not in MODULES and name.rsplit(".", 1)[0] in MODULES}
    return found


FILES = sorted([*REPO_ROOT.joinpath("runtime").rglob("*.py"),
                *REPO_ROOT.joinpath("models").rglob("*.py")])
MODULES = {module_name(path) for path in FILES}
GRAPH = {module_name(path): imports_of(path) for path in FILES}


def within(name: str, places: tuple[str, ...]) -> bool:
    return any(name == place or name.startswith(place + ".") for place in places)


def test_the_graph_is_read():
    assert "runtime.answering.router" in GRAPH["models.vllm_model"]
    assert "runtime.grading.questions" in GRAPH["runtime.grading.scoring"]
    assert "runtime.common.competition" in GRAPH["runtime.grading.config"]


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if within(m, ANSWERING)))
def test_the_answering_wing_imports_nothing_local(module):
    assert not [name for name in GRAPH[module] if within(name, LOCAL_ONLY)]


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if within(m, ("runtime.grading",))))
def test_the_grading_wing_reaches_no_model_but_through_its_spec(module):
    assert not [name for name in GRAPH[module]
                if within(name, ("models", "runtime.answering"))]


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if within(m, ("runtime.common",))))
def test_what_both_wings_share_imports_nothing_else(module):
    assert all(within(name, ("runtime.common",)) for name in GRAPH[module])


def test_the_container_runs_only_the_answering_wing():
    """Everything models/user_config.py reaches, as the grader imports it."""
    reached, queue = set(), ["models.user_config"]
    while queue:
        module = queue.pop()
        if module not in reached:
            reached.add(module)
            queue += GRAPH[module]
    assert "runtime.answering.engine" in reached
    assert all(within(name, ANSWERING) for name in reached), sorted(reached)


def test_no_module_imports_itself_through_others():
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for name in sorted(GRAPH[module]):
            if state.get(name) == "open":
                pytest.fail("import circle: " + " -> ".join([*path, module, name]))
            if name not in state:
                visit(name, [*path, module])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [])
