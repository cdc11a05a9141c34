"""Task prompts from the templates, and shortening that keeps instruction and format lines."""

from runtime.prompting import messages_for, shorten_prompt, user_message
from runtime.router import route


def words(text):
    return len(text.split())


def test_templates_state_the_output_format():
    decision = route("Which one?\n0. a\n1. b\nAnswer:", True)
    assert "one of 0, 1" in user_message("Which one?\n0. a\n1. b\nAnswer:", decision)
    prompt = "Rank these for 'x'.\n1. a\n2. b\n3. c\nOutput a permutation."
    assert "from 1 to 3" in user_message(prompt, route(prompt, False))
    messages = messages_for(prompt, route(prompt, False))
    assert [m["role"] for m in messages] == ["system", "user"]


def test_shortening_keeps_instruction_and_output_lines():
    review = " ".join(f"word{i}" for i in range(3000))
    prompt = ("You are given a review of a(n) kettle product and an aspect.\n"
              "Please extract the keyphrase from the review that mentions the aspect.\n"
              f"Review: {review}\nAspect: noise\nOutput: ")
    short = shorten_prompt(prompt, 300, words)
    assert words(short) <= 300
    lines = short.split("\n")
    assert lines[0] == prompt.split("\n")[0]
    assert lines[1] == prompt.split("\n")[1]
    assert lines[-2:] == ["Aspect: noise", "Output: "]
    assert lines[2].startswith("Review: word0 word1")


def test_shortening_leaves_a_fitting_prompt_alone():
    assert shorten_prompt("short prompt\nOutput:", 100, words) == "short prompt\nOutput:"
