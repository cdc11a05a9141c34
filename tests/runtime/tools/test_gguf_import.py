"""`import-gguf` on the embedded SmolLM2 GGUF file: the float model computes what transformers'
own GGUF reading computes, the 4-bit model is the float model rounded to its nearest step, and
the command refuses what it cannot do with one clear line."""

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from runtime.cli import runtime_main
from tests.runtime.tools.test_tiny_model import unpack_int4

PROMPTS = ["Which of these is a kitchen appliance? 0. a toaster 1. a sock",
           "Translate the product title into German: Stainless steel water bottle",
           "<|im_start|>user\nWhat is a phone case for?<|im_end|>\n<|im_start|>assistant\n"]


def test_the_float_model_computes_what_transformers_reads_from_the_gguf_file(
        smollm2_reference, smollm2_float_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer, reference = smollm2_reference
    ours = AutoModelForCausalLM.from_pretrained(str(smollm2_float_dir), local_files_only=True)
    our_tokenizer = AutoTokenizer.from_pretrained(str(smollm2_float_dir), local_files_only=True)
    assert ours.dtype == torch.float32
    for prompt in PROMPTS:
        ids = tokenizer(prompt, return_tensors="pt").input_ids
        assert our_tokenizer(prompt, return_tensors="pt").input_ids.tolist() == ids.tolist()
        with torch.no_grad():
            expected = reference(ids).logits
            got = ours(ids).logits
        assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4), \
            float((got - expected).abs().max())


def test_the_float_directory_has_the_chat_template_and_no_gguf_traces(smollm2_float_dir):
    config = json.loads((smollm2_float_dir / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert "quantization_config" not in config and config["dtype"] == "float32"
    template = (smollm2_float_dir / "chat_template.jinja").read_text()
    assert "<|im_start|>" in template
    assert {p.name for p in smollm2_float_dir.iterdir()} >= {
        "config.json", "model.safetensors", "tokenizer.json", "generation_config.json"}


def test_the_awq_weights_are_the_float_weights_within_half_a_step(smollm2_reference,
                                                                  smollm2_awq_dir):
    _, reference = smollm2_reference
    config = json.loads((smollm2_awq_dir / "config.json").read_text())
    quant = config["quantization_config"]
    # 576 = hidden size: 128 does not divide it, 64 does.
    assert quant["group_size"] == 64 and quant["bits"] == 4 and quant["version"] == "gemm"
    assert "round-to-nearest" in quant["note"]
    packed = load_file(str(smollm2_awq_dir / "model.safetensors"))
    floats = reference.state_dict()
    group = quant["group_size"]
    for layer in (0, 29):
        for name in ("self_attn.k_proj", "mlp.down_proj"):
            base = f"model.layers.{layer}.{name}"
            values = unpack_int4(packed[f"{base}.qweight"])
            zeros = np.repeat(unpack_int4(packed[f"{base}.qzeros"]), group, axis=0)
            scales = np.repeat(packed[f"{base}.scales"].astype(np.float32), group, axis=0)
            restored = (values - zeros) * scales
            weight = floats[f"{base}.weight"].float().numpy().T
            assert restored.shape == weight.shape
            assert np.all(np.abs(restored - weight) <= scales / 2 + 1e-6), base
    assert packed["model.embed_tokens.weight"].dtype == np.float16
    assert "lm_head.weight" not in packed  # tied to the embeddings


def test_what_is_not_a_gguf_file_is_one_clear_error(tmp_path, capsys):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a gguf file")
    assert runtime_main(["import-gguf", str(fake), str(tmp_path / "out")]) == 2
    assert "is not a GGUF file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_architecture_transformers_cannot_read_is_one_clear_error(tmp_path, capsys):
    gguf = pytest.importorskip("gguf")
    path = tmp_path / "odd.gguf"
    writer = gguf.GGUFWriter(str(path), arch="nosucharch")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((8, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert runtime_main(["import-gguf", str(path), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "transformers cannot read this GGUF checkpoint" in err and "nosucharch" in err
    assert "Traceback" not in err


def test_an_existing_model_directory_is_refused_before_anything_is_read(
        smollm2_gguf, tiny_model_dir, tmp_path, capsys):
    before = {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()}
    assert runtime_main(["import-gguf", str(smollm2_gguf), str(tiny_model_dir), "--awq"]) == 2
    assert "never overwritten" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()} == before


def test_tiny_model_refuses_an_existing_model_directory(tiny_model_dir, capsys):
    before = (tiny_model_dir / "model.safetensors").read_bytes()
    assert runtime_main(["tiny-model", str(tiny_model_dir)]) == 2
    assert "never overwritten" in capsys.readouterr().err
    assert (tiny_model_dir / "model.safetensors").read_bytes() == before


def test_the_embedded_model_is_written_once_and_atomically(smollm2_gguf, tmp_path):
    from runtime.tools.gguf_import import write_embedded_model

    awq, float_ = tmp_path / "awq", tmp_path / "float"
    (tmp_path / "float.partial").mkdir()  # left by an interrupted set-up
    (tmp_path / "float.partial" / "config.json").write_text("{}")
    (awq).mkdir()
    (awq / "config.json").write_text("{}")  # already in place: not touched
    assert write_embedded_model(smollm2_gguf, awq, float_) == [float_]
    assert not (tmp_path / "float.partial").exists()
    assert json.loads((float_ / "config.json").read_text())["model_type"] == "llama"
    assert (awq / "config.json").read_text() == "{}"
    assert write_embedded_model(smollm2_gguf, awq, float_) == []
