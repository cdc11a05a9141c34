"""A prompt's numbered lines, read the same way by the router and the data loader: options
from 0 (with a number skipped, or a stated scale), candidates from 1 that wrap lines."""

from runtime.common.prompt_lines import choice_options, numbered_blocks

CHOICE = "Which one fits?\n0. a red cup\n1. a blue\nplate\n2. a fork\nAnswer: "


def test_options_are_the_last_block_from_zero_with_wrapped_lines_joined():
    found = choice_options(CHOICE)
    assert found.options == [0, 1, 2] and found.answers == []
    assert found.texts == ["a red cup", "a blue plate", "a fork"]
    assert found.question == "Which one fits?"


def test_options_printed_with_a_number_skipped_are_answered_by_position():
    found = choice_options("Pick:\n0. yes\n1. no\n3. maybe\nAnswer:")
    assert found.options == [0, 1, 3] and found.answers == [0, 1, 2]


def test_without_option_lines_a_stated_scale_or_the_four_digits():
    assert choice_options("Rate the review on a scale of 1 to 5.").options == [1, 2, 3, 4, 5]
    assert choice_options("Is it good?").options == [0, 1, 2, 3]
    assert choice_options("Is it good?").texts == []


def test_candidates_numbered_from_one():
    lines = "Query: cup\n1. mug\n2. glass\n3. bowl\n\nRank them.".splitlines()
    assert numbered_blocks(lines, first=1) == [(1, ["mug", "glass", "bowl"])]
    assert numbered_blocks(lines, first=0) == []
    # A plain line right after an item continues it; a `Label:` line ends the block.
    wrapped = "1. mug\nwith a handle\n2. glass\nAnswer: 1".splitlines()
    assert numbered_blocks(wrapped, first=1) == [(0, ["mug with a handle", "glass"])]
