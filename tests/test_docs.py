"""The README and docs/ hold together: every link between them resolves (file and heading), and
every command line they show uses options that exist, parsed by the real argument parsers
(`local_evaluation.py`'s, `python -m runtime`'s and each benchmark's own)."""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
import sys
from pathlib import Path

import pytest

from runtime.cli import evaluation_parser, runtime_parser
from tests.conftest import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
PYTHONS = {"python", "python3", ".venv/bin/python"}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
INLINE = re.compile(r"`([^`]+)`")


def slug(heading: str) -> str:
    """A heading's anchor, as GitHub writes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def test_the_readme_is_short_and_the_docs_are_there():
    assert len((REPO_ROOT / "README.md").read_bytes()) <= 10_000
    names = {page.name for page in PAGES}
    for page in ("evaluating.md", "shopping-mmlu.md", "cluster.md", "quantizing.md",
                 "profiling.md", "submitting.md", "model.md", "benchmarks.md",
                 "measurements.md"):
        assert page in names


def links() -> list[tuple[Path, str]]:
    found = []
    for page in PAGES:
        text = FENCE.sub("", page.read_text(encoding="utf-8"))
        found += [(page, target) for target in LINK.findall(text)]
    return found


def test_every_link_between_the_pages_resolves():
    checked = 0
    for page, target in links():
        if re.match(r"[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target} names no file"
        if anchor:
            assert linked.suffix == ".md", f"{page.name}: {target}"
            assert anchor in anchors(linked), f"{page.name}: {target}: no such heading"
        checked += 1
    assert checked >= 40  # the pages link to each other; a regex that finds none fails here


def continued_lines(block: str) -> list[str]:
    """A code block's lines with backslash continuations joined."""
    lines: list[str] = []
    for line in block.splitlines():
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + line.strip()
        else:
            lines.append(line)
    return lines


def shown_commands() -> list[tuple[str, str]]:
    """(page, command line) for every command line the pages show: shell code blocks, `$ `
    lines of text blocks, and inline code that starts with python or bash."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for language, block in FENCE.findall(text):
            for line in continued_lines(block):
                if language == "text":
                    if line.startswith("$ "):
                        found.append((page.name, line[2:]))
                elif language in ("bash", "sh", ""):
                    found.append((page.name, line))
        for span in INLINE.findall(FENCE.sub("", text)):
            span = " ".join(span.split())
            if span.split(" ")[0] in PYTHONS | {"bash"}:
                found.append((page.name, span))
    return found


def is_synopsis(line: str) -> bool:
    """A usage line ([optional] parts, a|b alternatives) rather than a command to run."""
    return "[" in line or bool(re.search(r"\w\|\w", line))


class _Parsed(Exception):
    pass


def benchmark_parse(module: str, argv: list[str]) -> None:
    """Parse `argv` with a benchmark's own parser, stopping right after parsing."""
    original = argparse.ArgumentParser.parse_args

    def parse_only(self, args=None, namespace=None):  # noqa: ANN001
        try:
            original(self, argv, namespace)
        except SystemExit as err:
            if err.code:
                raise AssertionError(f"{module} {' '.join(argv)!r} does not parse") from err
        raise _Parsed

    mod = importlib.import_module(module)
    argparse.ArgumentParser.parse_args = parse_only  # type: ignore[method-assign]
    try:
        with pytest.raises(_Parsed):
            mod.main()
    finally:
        argparse.ArgumentParser.parse_args = original  # type: ignore[method-assign]


def program_and_args(words: list[str]) -> tuple[str, list[str]] | None:
    """Which of the project's programs a command runs, and its arguments; None for others."""
    start = next((i for i, w in enumerate(words) if w in PYTHONS), None)
    if start is None:
        return None
    rest = words[start + 1:]
    if rest[:2] == ["-m", "runtime"]:
        return "runtime", rest[2:]
    if rest[:1] == ["-m"] and rest[1].startswith("benchmarks."):
        return rest[1], rest[2:]
    if rest and rest[0].startswith("benchmarks/") and rest[0].endswith(".py"):
        return "benchmarks." + Path(rest[0]).stem, rest[1:]
    if rest[:1] == ["local_evaluation.py"]:
        return "evaluate", rest[1:]
    return None


def parser_for(program: str, args: list[str]) -> argparse.ArgumentParser:
    if program == "evaluate":
        return evaluation_parser()
    parser = runtime_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert args and args[0] in commands.choices, f"no such command: {args[:1]}"
    return commands.choices[args[0]]


def check_command(page: str, line: str) -> bool:
    """Parse one shown command with its program's parser; False where it runs none of ours."""
    line = line.split(" # ")[0].strip()
    if line.startswith("bash "):
        script = shlex.split(line)[1]
        assert (REPO_ROOT / script).is_file(), f"{page}: {script} is no file"
        line = line.partition("&&")[2].strip()
        if not line:
            return True
    checked = False
    for part in re.split(r"\s&&\s|\s\|\s|;\s|\s>\s", line):
        words = shlex.split(part)
        found = program_and_args(words)
        if found is None:
            continue
        program, args = found
        if is_synopsis(part):
            parser = parser_for(program, args) if not program.startswith("benchmarks") else None
            known = set(parser._option_string_actions) if parser else set()
            for option in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", part):
                assert parser is None or option in known, f"{page}: {option} in {part!r}"
        elif program.startswith("benchmarks"):
            benchmark_parse(program, args)
        else:
            try:
                (evaluation_parser() if program == "evaluate" else runtime_parser()).parse_args(
                    args)
            except SystemExit as err:  # --help exits 0
                if err.code:
                    raise AssertionError(f"{page}: {part!r} does not parse") from err
        checked = True
    return checked


def test_every_command_shown_parses_with_the_real_parsers(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["docs"])
    commands = shown_commands()
    checked = sum(check_command(page, line) for page, line in commands)
    assert checked >= 40, checked


def test_a_wrong_option_in_a_page_is_caught():
    with pytest.raises(AssertionError, match="does not parse"):
        check_command("x.md", ".venv/bin/python local_evaluation.py --no-such-option")
    with pytest.raises(AssertionError, match="--limt"):
        check_command("x.md", "python local_evaluation.py [--limt N]")
    with pytest.raises(AssertionError, match="does not parse"):
        check_command("x.md", ".venv/bin/python -m benchmarks.adapters --no-such-option")
    assert slug("Every answer in one page (`view`)") == "every-answer-in-one-page-view"
