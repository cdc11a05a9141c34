"""Task prompts from the templates, and shortening that keeps instruction and format lines."""

from runtime.answering.prompting import messages_for, shorten_prompt, task_instruction
from runtime.answering.router import route
from runtime.common.paths import PROMPTS_DIR


def words(text):
    return len(text.split())


def test_the_system_turn_states_the_output_format_and_the_user_turn_is_the_question():
    prompt = "Which one?\n0. a\n1. b\nAnswer:"
    messages = messages_for(prompt, route(prompt, True), PROMPTS_DIR)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"] == prompt
    assert "number of the correct option only" in messages[0]["content"]
    ranking = "Rank these for 'x'.\n1. a\n2. b\n3. c\nOutput a permutation."
    assert "every item's number once" in task_instruction(route(ranking, False), PROMPTS_DIR)


def test_questions_of_one_task_type_share_the_system_turn():
    # The grader batches by task type: a shared system turn is prefilled once (prefix cache).
    first = "Rank these for 'shoes'.\n1. a\n2. b\n3. c\nOutput a permutation."
    second = "Rank for 'kettle'.\n1. x\n2. y\n3. z\n4. w\n5. v\nOutput a permutation."
    assert (messages_for(first, route(first, False), PROMPTS_DIR)[0]
            == messages_for(second, route(second, False), PROMPTS_DIR)[0])


def test_translation_names_the_target_language():
    prompt = "Translate the following product title into German.\nTitle: Red kettle\nOutput:"
    decision = route(prompt, False)
    assert decision.generation_kind == "translation"
    assert "German" in task_instruction(decision, PROMPTS_DIR)


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
