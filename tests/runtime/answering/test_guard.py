"""The deadline guard, driven through the engine seam by an engine whose speed the test controls
and a fake clock: no batch passes its deadline, budgets degrade and recover, answers stay valid."""

import pytest

from models.vllm_config import ShopModelConfig
from models.vllm_model import VLLMShopModel
from runtime.answering.decoding import DecodingPlan
from runtime.answering.engine import EngineConfig, GenerationResult
from runtime.answering.guard import DeadlineGuard, GuardConfig
from runtime.answering.router import Route, route
from runtime.answering.shapes import DecodingConfig, shape_of
from runtime.grading.parsers import is_parse_failure, parse_answer


def guard_class(decision):
    return shape_of(decision).guard


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Tokenizer:
    def encode(self, text, add_special_tokens=False):
        return text.split()

    def decode(self, ids):
        return " ".join(ids)


class TimedEngine:
    """Generates "word" tokens; each decoding step of the batch costs `step_s` of fake time.
    Honours the deadline the way the real engine does: stops and returns unfinished output."""

    load_s = 0.0

    def __init__(self, clock, step_s):
        self.clock, self.step_s = clock, step_s
        self.tokenizer = Tokenizer()
        self.calls = []

    def render_chat(self, messages):
        return "\n".join(m["content"] for m in messages)

    def tokenize(self, text):
        return list(range(len(text.split())))

    def count_tokens(self, text):
        return len(text.split())

    def generate(self, prompts, plans, deadline_s=None):
        self.calls.append((deadline_s, [p.max_tokens for p in plans]))
        wanted = max(p.max_tokens for p in plans)
        steps = wanted
        if deadline_s is not None:
            steps = min(wanted, int(deadline_s / self.step_s))
        self.clock.now += steps * self.step_s
        results = []
        for plan in plans:
            done = min(plan.max_tokens, steps)
            text = plan.choices[0] if plan.choices and done else " ".join(["word"] * done)
            results.append(GenerationResult(text, 10, done, 0, finished=done >= plan.max_tokens))
        return results


def build(step_s, **guard):
    clock = FakeClock()
    engine = TimedEngine(clock, step_s)
    # Descriptions get 50 tokens here whatever the shipped budget: the timings below count on it.
    config = ShopModelConfig(engine=EngineConfig(model="unused"), guard=GuardConfig(**guard),
                             decoding=DecodingConfig(new_tokens={"description": 50}))
    return VLLMShopModel(config=config, engine=engine, clock=clock), engine, clock


DESCRIBE = ["Instructions: Explain the product type Air Fryer\nOutput:"] * 4
CHOICE = ["Which one?\n0. a\n1. b\n2. c\nAnswer:"] * 4


def test_a_slow_batch_stops_at_its_deadline_with_valid_answers():
    model, engine, clock = build(step_s=1.0)  # 50 tokens would take 50 s; limit 4 x 10 x 0.8
    answers = model.batch_predict({"prompt": DESCRIBE}, False)
    assert clock.now <= 4 * 10 * 0.8
    assert engine.calls[0][0] == pytest.approx(32.0)
    assert all(a.strip() for a in answers)
    assert all(r.repair == "deadline" for r in model.last_batch_records)


def test_the_guard_degrades_free_text_and_recovers():
    # 100 questions in a 100 s budget (80 s target): 2.5 s per question is not affordable.
    model, engine, clock = build(step_s=0.2, track_budget_s=100, track_questions=100)
    levels = []
    for _ in range(6):  # 50 tokens x 0.2 s = 10 s per batch of 4: far too slow
        model.batch_predict({"prompt": DESCRIBE}, False)
        levels.append(model.guard.level)
    assert levels[0] == 1 and max(levels) == 3
    budgets = [max(b) for _, b in engine.calls]
    assert budgets[0] == 50 and budgets[-1] < 50  # generation budgets went down
    for _ in range(20):  # fast choice batches bring the projection back under target
        model.batch_predict({"prompt": CHOICE}, True)
    assert model.guard.level < 3
    assert any(e["event"] == "restore" for e in model.guard.events)
    assert [e["event"] for e in model.guard.events][0] == "degrade"


def test_one_token_and_constrained_answers_are_never_shortened():
    guard = DeadlineGuard(GuardConfig(), clock=FakeClock())
    guard.level = 3
    choice = DecodingPlan(max_tokens=1, choices=["0", "1"])
    ranking = DecodingPlan(max_tokens=14, choices=["1, 2", "2, 1"])
    assert guard.adjust(choice, guard_class(Route(task_type="multiple-choice"))) is choice
    assert guard.adjust(ranking, guard_class(Route(task_type="ranking"))) is ranking
    free = guard.adjust(DecodingPlan(max_tokens=50),
                        guard_class(Route(task_type="generation", generation_kind="description")))
    assert free.max_tokens == 7  # 50 x 0.15
    entities = guard.adjust(DecodingPlan(max_tokens=15),
                            guard_class(Route(task_type="named_entity_recognition")))
    assert entities.max_tokens == 5  # 15 x 0.35 (one level behind free text)


@pytest.mark.parametrize("step_s", [0.001, 0.5, 3.0])
def test_answers_stay_valid_at_any_speed(step_s, sample_path):
    import json

    rows = [json.loads(x) for x in sample_path.read_text().splitlines()]
    model, engine, clock = build(step_s=step_s, track_budget_s=60, track_questions=len(rows))
    by_type = {}
    for row in rows:
        by_type.setdefault((row["task_type"], row["is_multiple_choice"]), []).append(row)
    for (task_type, is_mc), group in by_type.items():
        for start in range(0, len(group), 4):
            batch = group[start:start + 4]
            before = clock.now
            answers = model.batch_predict({"prompt": [r["input_field"] for r in batch]}, is_mc)
            assert clock.now - before <= 10 * len(batch)  # never past the per-batch limit
            for answer, row in zip(answers, batch, strict=True):
                decision = route(row["input_field"], is_mc)
                parsed = parse_answer(answer, task_type)
                assert not is_parse_failure(parsed, task_type), (answer, decision)
