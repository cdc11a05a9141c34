"""Few-shot exemplars with the real all-MiniLM-L6-v2 and the real router: the pool's answers in
the runtime's form, the choice by similarity within an answer shape, the cache beside the pool,
the chat turns, and the guard dropping exemplars before it shortens answers."""

import json

import pytest

from runtime.answering.decoding import DecodingPlan
from runtime.answering.fewshot import ExemplarPool, PoolQuestion, written_answer
from runtime.answering.guard import DeadlineGuard, GuardConfig
from runtime.answering.prompting import messages_for
from runtime.answering.router import route
from runtime.common.embeddings import bundled_minilm_path
from runtime.common.paths import PROMPTS_DIR
from runtime.common.settings import ConfigError


def choice(question, options, truth):
    lines = "\n".join(f"{i}. {o}" for i, o in enumerate(options))
    return {"input_field": f"{question}\n{lines}\nAnswer:", "output_field": truth,
            "task_type": "multiple-choice", "is_multiple_choice": True}


POOL = [
    choice("Which fabric is best for a summer running shirt?",
           ["wool", "polyester mesh", "fleece", "denim"], 1),
    choice("Which accessory charges a phone without a wall outlet?",
           ["power bank", "phone case", "screen protector", "stylus"], 0),
    choice("Which kitchen appliance cooks food with circulating hot air?",
           ["toaster", "blender", "air fryer", "kettle"], 2),
    {"input_field": "Instructions: Tell me what this product category is about\n"
                    "Input: Air Fryer\nOutput:",
     "output_field": "An air fryer cooks food by circulating hot air.",
     "task_type": "generation", "is_multiple_choice": False},
]
MINILM = bundled_minilm_path()
needs_minilm = pytest.mark.skipif(MINILM is None, reason="all-MiniLM-L6-v2 is not installed")


@pytest.fixture
def pool_file(tmp_path):
    path = tmp_path / "pool.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in POOL), encoding="utf-8")
    return path


def test_answers_are_written_the_way_the_runtime_writes_them():
    def answer(task_type, truth, choice=False):
        return written_answer(PoolQuestion(input_field="q", output_field=truth,
                                           task_type=task_type, is_multiple_choice=choice))

    assert answer("multiple-choice", 2, True) == "2"
    assert answer("retrieval", [3, 1, 7]) == "3,1,7"
    assert answer("ranking", [2, 1, 3, 5, 4]) == "2,1,3,5,4"
    assert answer("named_entity_recognition", ["nike", "men's"]) == "nike, men's"
    assert answer("generation", " A bag. ") == "A bag."
    assert answer("generation", ["First reference", "second"]) == "First reference"
    assert answer("retrieval", []) is None and answer("generation", "") is None


@needs_minilm
def test_the_most_similar_questions_of_the_same_shape_come_last(pool_file):
    pool = ExemplarPool(pool_file, MINILM)
    asked = choice("Which device cooks fries with hot air instead of oil?",
                   ["microwave", "air fryer", "rice cooker", "grill"], 1)["input_field"]
    (chosen,) = pool.exemplars([asked], [route(asked, True)], k=2)
    assert len(chosen) == 2
    assert all(e.answer in {"0", "1", "2"} for e in chosen)  # choices only, no generation
    assert "circulating hot air" in chosen[-1].prompt  # the most similar, next to the question


@needs_minilm
def test_a_pool_question_is_never_its_own_exemplar_and_k_caps_at_the_pool(pool_file):
    pool = ExemplarPool(pool_file, MINILM)
    asked = POOL[2]["input_field"]
    (chosen,) = pool.exemplars([asked], [route(asked, True)], k=10)
    assert [e.prompt for e in chosen if e.prompt == asked] == []
    assert len(chosen) == 2  # three choices in the pool, one of them the question itself
    assert pool.exemplars([asked], [route(asked, True)], k=0) == [[]]


@needs_minilm
@pytest.mark.parametrize("respell", [
    lambda text: text.replace("\n", "\r\n"),  # Windows line ends
    lambda text: "  " + text.replace(" ", "  ").replace("\n", " \n") + "\n",  # spacing
    lambda text: text.replace(" ", "\u00a0", 2),  # no-break spaces
    lambda text: text.replace("fryer", "fry\u0065\u0301r"),  # e + combining acute (not NFC)
])
def test_the_asked_question_respelled_is_still_never_its_own_exemplar(tmp_path, respell):
    asked = POOL[2]["input_field"].replace("fryer", "fry\u00e9r")
    path = tmp_path / "pool.jsonl"
    rows = [POOL[0], POOL[1], {**POOL[2], "input_field": respell(asked)}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    pool = ExemplarPool(path, MINILM)
    (chosen,) = pool.exemplars([asked], [route(asked, True)], k=3)
    assert len(chosen) == 2 and all("hot air" not in e.prompt for e in chosen)
    assert pool.excluded == [1]  # said in the answer's record and the run's usage


@needs_minilm
def test_embeddings_are_cached_beside_the_pool_and_recomputed_when_it_changes(pool_file):
    first = ExemplarPool(pool_file, MINILM)
    cache = pool_file.with_name("pool.jsonl.embeddings.npz")
    assert cache.is_file()
    written = cache.read_bytes()
    again = ExemplarPool(pool_file, MINILM)
    assert cache.read_bytes() == written
    assert (again.vectors == first.vectors).all()
    pool_file.write_text(pool_file.read_text(encoding="utf-8")
                         + json.dumps(choice("Which is a shoe?", ["hat", "boot"], 1)) + "\n",
                         encoding="utf-8")
    grown = ExemplarPool(pool_file, MINILM)
    assert len(grown) == len(first) + 1 and cache.read_bytes() != written


@needs_minilm
def test_a_pool_that_is_not_development_data_is_one_clear_error(tmp_path):
    bad = tmp_path / "pool.jsonl"
    bad.write_text('{"input_field": "q"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="development format"):
        ExemplarPool(bad, MINILM)
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(ConfigError, match="cannot read"):
        ExemplarPool(missing, MINILM)


def test_exemplars_are_earlier_chat_turns():
    prompt = POOL[0]["input_field"]
    shots = [type("E", (), {"prompt": POOL[1]["input_field"] + "\n", "answer": "0"})()]
    messages = messages_for(prompt, route(prompt, True), PROMPTS_DIR, shots)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == POOL[1]["input_field"]
    assert messages[2]["content"] == "0" and messages[3]["content"] == prompt


def test_the_guard_drops_exemplars_before_it_shortens_answers():
    guard = DeadlineGuard(GuardConfig(track_budget_s=10, track_questions=100),
                          exemplars=True)
    plan = DecodingPlan(max_tokens=100)
    guard.record_batch(10, 5.0)  # projected 50 s against 8: one level down
    assert guard.level == 1
    assert guard.exemplars(4) == 0
    assert guard.adjust(plan, "free text").max_tokens == 100  # answers untouched
    guard.record_batch(10, 5.0)
    assert guard.level == 2 and guard.adjust(plan, "free text").max_tokens == 60
    without = DeadlineGuard(GuardConfig(track_budget_s=10, track_questions=100))
    without.record_batch(10, 5.0)
    assert without.adjust(plan, "free text").max_tokens == 60
