"""Engine settings: the dtype 'auto' resolves to (no engine needed), the block size a CPU
engine caches prompt prefixes in, and the loop stop (the session's tiny engine)."""

import json
import re

from runtime.answering.decoding import DecodingPlan, text_plan
from runtime.answering.engine import EngineConfig, cpu_has_native_bfloat16, resolved_dtype


def model_dir(tmp_path, quantization=None):
    config = {"torch_dtype": "float16"}
    if quantization:
        config["quantization_config"] = quantization
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


def test_auto_dtype_on_this_cpu_avoids_float16(tmp_path):
    # These machines have no GPU; float16 matmuls on a CPU are emulated and slow.
    expected = "bfloat16" if cpu_has_native_bfloat16() else "float32"
    assert resolved_dtype(EngineConfig(model=model_dir(tmp_path))) == expected


def test_four_bit_checkpoints_run_in_float16(tmp_path):
    awq = {"quant_method": "awq", "bits": 4, "group_size": 128}
    assert resolved_dtype(EngineConfig(model=model_dir(tmp_path, awq))) == "float16"


def test_an_explicit_dtype_is_kept(tmp_path):
    config = EngineConfig(model=model_dir(tmp_path), dtype="float16")
    assert resolved_dtype(config) == "float16"


def test_a_shared_prefix_of_one_cpu_block_is_served_from_the_cache(tiny_engine):
    # Without a GPU the engine uses 32-token blocks: prompts that share their first 40
    # tokens (a system turn and instructions) compute the first block once.
    assert tiny_engine.llm.llm_engine.vllm_config.cache_config.block_size == 32
    tiny_engine.reset_prefix_cache()
    shared = list(range(100, 140))
    prompts = [shared + [200 + i, 300 + i, 400 + i] for i in range(4)]
    first = tiny_engine.generate(prompts[:1], [text_plan(2, one_line=False)])
    rest = tiny_engine.generate(prompts[1:], [text_plan(2, one_line=False)] * 3)
    assert first[0].cached_prompt_tokens == 0
    assert [r.cached_prompt_tokens for r in rest] == [32, 32, 32]


def test_the_loop_stop_ends_a_repeating_answer_and_nothing_else(tiny_engine):
    # A random model falls into loops at once: without the stop every answer runs to the
    # budget; with it, an answer ends where a 2-8 token pattern has repeated three times.
    prompts = [f"Describe product number {i} in detail." for i in range(8)]
    free = tiny_engine.generate(prompts, [DecodingPlan(max_tokens=64)] * 8)
    stopped = tiny_engine.generate(prompts, [DecodingPlan(max_tokens=64, loop_stop=(8, 3))] * 8)
    assert {r.finish_reason for r in free} == {"length"}
    looped = [(a, b) for a, b in zip(free, stopped, strict=True)
              if b.finish_reason == "repetition"]
    assert looped
    for whole, cut in looped:
        assert cut.generated_tokens < 64
        assert whole.text.startswith(cut.text)  # greedy: the stop only ends it sooner
        assert re.search(r"(.+)\1\1$", cut.text, re.DOTALL)  # it ends in three repeats
    for whole, cut in zip(free, stopped, strict=True):
        if cut.finish_reason != "repetition":
            assert cut.text == whole.text
