"""LoRA adapters served unmerged: read and checked against the base before the engine starts,
and the tokens they give through vLLM (CPU build) equal transformers with peft's adapter and
vLLM over the merged checkpoint; a batch mixing two adapters and the base gives each question
the tokens it gets alone."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.answering.adapters import (
    check_against_base,
    lora_slot_bytes,
    read_adapter,
    served_rank,
)
from runtime.common.settings import ConfigError
from tests.conftest import REPO_ROOT, make_adapter, make_foreign_adapter

PROMPTS = ["The product is a", "Which of these fits a phone", "Translate the title"]


def test_an_adapter_is_read_with_its_rank_targets_and_fingerprint(tiny_adapters,
                                                                  tiny_model_dir, tmp_path):
    a, b = (read_adapter(folder) for folder in tiny_adapters)
    assert (a.rank, a.alpha, a.targets) == (8, 16.0, ("down_proj", "o_proj", "q_proj",
                                                      "v_proj"))
    assert len(b.targets) == 7 and a.fingerprint != b.fingerprint and len(a.fingerprint) == 16
    # Same configuration and shapes, other values: another fingerprint.
    twin = read_adapter(make_adapter(tiny_model_dir, tmp_path / "twin", seed=5))
    assert twin.shapes == a.shapes and twin.fingerprint != a.fingerprint
    check_against_base(a, tiny_model_dir)
    assert a.record() == {"name": "a", "path": str(a.path), "fingerprint": a.fingerprint}
    assert served_rank(8) == 8 and served_rank(9) == 16 and served_rank(300) == 320


def test_an_adapter_of_another_base_is_refused_in_one_line(tiny_model_dir, tmp_path):
    pytest.importorskip("peft", reason="peft is the adapters extra: scripts/setup.sh installs it")
    other = make_foreign_adapter(tmp_path / "other")
    with pytest.raises(ConfigError, match="an adapter of another base model"):
        check_against_base(read_adapter(other), tiny_model_dir)
    with pytest.raises(ConfigError, match="is the base model's folder"):
        check_against_base(read_adapter(other), other)


def test_a_pickle_only_or_incomplete_adapter_is_refused(tiny_adapters, tmp_path):
    (tmp_path / "pickled").mkdir()
    (tmp_path / "pickled" / "adapter_config.json").write_bytes(
        (tiny_adapters[0] / "adapter_config.json").read_bytes())
    (tmp_path / "pickled" / "adapter_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(ConfigError, match="pickle files the runtime never loads"):
        read_adapter(tmp_path / "pickled")
    with pytest.raises(ConfigError, match="no such folder"):
        read_adapter(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no adapter_config.json"):
        read_adapter(tmp_path / "empty")


def test_the_engines_lora_slots_are_counted_for_every_projection():
    qwen2_72b = {"hidden_size": 8192, "intermediate_size": 29568, "num_hidden_layers": 80,
                 "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 128}
    per_layer = 2 * (8192 + 8192) + 2 * (8192 + 1024) + 3 * (8192 + 29568)
    assert lora_slot_bytes(qwen2_72b, 2, 16) == 80 * per_layer * 16 * 2 * 2
    # At tensor parallel 4: A whole and B split for q, k, v, gate, up; A split and B whole for
    # o and down. Rank 16, two slots: about 0.43 GB on each T4.
    column = 3 * 8192 + 2 * 8192 + (8192 + 1024 + 1024 + 2 * 29568) / 4
    row = (8192 + 29568) / 4 + 2 * 8192
    assert lora_slot_bytes(qwen2_72b, 2, 16, gpus=4) == int(80 * (column + row) * 16 * 2 * 2)
    assert round(lora_slot_bytes(qwen2_72b, 2, 16, gpus=4) / 1e9, 2) == 0.43


PROBE = """
import json, sys
from pathlib import Path
from runtime.answering.decoding import DecodingPlan
from runtime.answering.engine import Engine, EngineConfig
if __name__ == "__main__":
    base, dtype = Path(sys.argv[1]), sys.argv[3]
    adapters = [Path(p) for p in sys.argv[2].split(",") if p]
    engine = Engine(EngineConfig(model=base, max_model_len=512, dtype=dtype,
                                 kv_cache_memory_bytes=128 * 2**20, enable_lora=bool(adapters),
                                 max_loras=2, max_lora_rank=8))
    prompts = [engine.tokenize(p) for p in json.loads(sys.argv[4])]
    def run(items):
        plans = [DecodingPlan(max_tokens=6, adapter=a) for _, a in items]
        return [list(r.token_ids) for r in engine.generate([p for p, _ in items], plans)]
    out = {"alone": {str(a): [run([(p, a)])[0] for p in prompts] for a in [None, *adapters]}}
    if len(adapters) == 2:
        out["mixed"] = run([(prompts[0], adapters[0]), (prompts[1], adapters[1]),
                            (prompts[2], None)])
    print(json.dumps(out))
"""


def probe(base: Path, adapters: list[Path], dtype: str = "float32") -> dict:
    """Greedy tokens through a LoRA-enabled vLLM engine, in a process of its own (one engine a
    process: the session's engine lives in this one)."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(base), ",".join(map(str, adapters)), dtype,
         json.dumps(PROMPTS)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def peft_tokens(base: Path, adapter: Path | None) -> list[list[int]]:
    """Greedy tokens of transformers, with peft's adapter where given."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    found = []
    for prompt in PROMPTS:
        ids = tokenizer(prompt, return_tensors="pt").input_ids
        out = model.generate(ids, max_new_tokens=6, do_sample=False, pad_token_id=0)
        found.append(out[0, ids.shape[1]:].tolist())
    return found


@pytest.mark.engine
def test_adapters_through_vllm_give_peft_s_tokens_and_the_merged_checkpoint_s(
        tiny_model_dir, tiny_adapters, tmp_path):
    from runtime.cli import runtime_main

    a, b = tiny_adapters
    served = probe(tiny_model_dir, [a, b])
    assert served["alone"][str(a)] == peft_tokens(tiny_model_dir, a)
    assert served["alone"][str(b)] == peft_tokens(tiny_model_dir, b)
    assert served["alone"][str(a)] != served["alone"]["None"]  # the adapter changes outputs
    # One batch, two adapters and the base: each question its tokens alone.
    assert served["mixed"] == [served["alone"][str(a)][0], served["alone"][str(b)][1],
                               served["alone"]["None"][2]]
    assert runtime_main(["merge-adapter", str(tiny_model_dir), str(a), str(tmp_path / "m")]) == 0
    merged = json.loads((tmp_path / "m" / "config.json").read_text())["merged_by"]
    assert merged["fingerprint"] == read_adapter(a).fingerprint
    assert probe(tmp_path / "m", [])["alone"]["None"] == served["alone"][str(a)]


@pytest.mark.engine
def test_an_adapter_of_the_embedded_smollm2_gives_peft_s_tokens(smollm2_float_dir, tmp_path):
    adapter = make_adapter(smollm2_float_dir, tmp_path / "smol", seed=3, rank=8,
                           targets=("q_proj", "v_proj"), scale=4.0)
    served = probe(smollm2_float_dir, [adapter])
    assert served["alone"][str(adapter)] == peft_tokens(smollm2_float_dir, adapter)
    assert served["alone"][str(adapter)] != served["alone"]["None"]
