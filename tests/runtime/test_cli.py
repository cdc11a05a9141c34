"""The command lines' help: every option explained, defaults shown, examples given."""

import argparse

import pytest

from runtime.cli import evaluation_parser, runtime_parser


def parsers():
    yield "local_evaluation.py", evaluation_parser()
    top = runtime_parser()
    yield "python -m runtime", top
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from ((f"python -m runtime {name}", sub) for name, sub in action.choices.items())


@pytest.mark.parametrize(("name", "parser"), list(parsers()), ids=lambda x: str(x))
def test_every_option_is_explained_with_its_default(name, parser):
    formatter = parser._get_formatter()
    for action in parser._actions:
        if action.dest == "help" or isinstance(action, argparse._SubParsersAction):
            continue
        assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
        switch = isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction)
        shown = formatter._get_help_string(action)
        if switch:  # "--no-progress (default: True)" would mislead: a switch shows none
            assert "default" not in shown, (name, action.dest)
        elif action.option_strings and action.default not in (None, False):
            assert "default" in shown, (name, action.dest)


def test_the_runtime_help_lists_examples_of_its_commands():
    text = runtime_parser().format_help()
    for command in ("score", "compare", "route", "profile", "estimate", "check"):
        assert f"python -m runtime {command} " in text
