"""The weight checks: files, git-lfs, pointers, tokenizer, quantization and tensor-parallel
shards, and the weights the UserModel runs."""

import json
import shutil

from tests.runtime.submission.repos import (
    check,
    failed,
    set_engine,
    set_model_config,
    use_vllm,
)


def test_missing_weights(repo, capsys):
    use_vllm(repo)
    code, results = check(repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "weights", "no model at")


def test_weights_not_tracked_by_lfs(tiny_repo, capsys):
    (tiny_repo / ".gitattributes").write_text("")
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "git-lfs", "models/weights/model.safetensors")


def test_lfs_patterns_are_read_as_git_reads_them(tiny_repo, capsys):
    # A pattern with a slash matches from the repository root only: the weights are not under it.
    (tiny_repo / ".gitattributes").write_text(
        "weights/*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
        "tokenizer.json filter=lfs diff=lfs merge=lfs -text\n")
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "git-lfs", "models/weights/model.safetensors")
    assert "tokenizer.json" not in results["git-lfs"]["message"]


def test_a_directory_that_is_not_a_git_repository(tiny_repo, capsys):
    shutil.rmtree(tiny_repo / ".git")
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "git-lfs", "is not a git repository")


def test_dangling_lfs_pointer(tiny_repo, capsys):
    (tiny_repo / "models" / "weights" / "model.safetensors").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n")
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "lfs pointers", "git lfs pull")


def test_pickle_weights(tiny_repo, capsys):
    (tiny_repo / "models" / "weights" / "pytorch_model.bin").write_bytes(b"\x80\x04")
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "safetensors", "pytorch_model.bin")


def test_missing_tokenizer(tiny_repo, capsys):
    (tiny_repo / "models" / "weights" / "tokenizer.json").unlink()
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "tokenizer", "no tokenizer.json")


def test_awq_shards_that_do_not_divide_across_four_gpus(tiny_repo, capsys):
    # Qwen2-72B's intermediate size 29568 / 4 GPUs = 7392, not a multiple of group size 128
    set_model_config(tiny_repo, intermediate_size=29568, quantization_config={
        "quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True,
        "version": "gemm"})
    set_engine(tiny_repo, tensor_parallel_size=4)
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "4xT4")
    assert code == 1
    assert results["quantization"]["passed"]
    failed(results, "tensor parallel", "7392 input features per shard, not a multiple of the "
                                       "group size 128")


def test_unusable_group_size(tiny_repo, capsys):
    set_model_config(tiny_repo, quantization_config={"quant_method": "awq", "bits": 4,
                                                     "group_size": 100, "version": "gemm"})
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "quantization", "group size 100")


def test_unrecognised_quantization(tiny_repo, capsys):
    set_model_config(tiny_repo, quantization_config={"quant_method": "bitsandbytes",
                                                     "bits": 4})
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "quantization", "unrecognised quantization")


def test_weights_option_checks_another_directory(repo, tiny_model_dir, capsys):
    code, results = check(repo, capsys, "--no-smoke", "--target", "cpu", "--weights",
                          str(tiny_model_dir))
    assert code == 1
    assert results["safetensors"]["passed"] and results["tokenizer"]["passed"]
    failed(results, "git-lfs", "outside the repository")


def test_head_counts_that_do_not_divide_advise_fewer_gpus(tiny_repo, capsys):
    set_model_config(tiny_repo, num_attention_heads=6, num_key_value_heads=2, head_dim=16)
    set_engine(tiny_repo, tensor_parallel_size=4)
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "4xT4")
    assert code == 1
    failed(results, "tensor parallel", "6 attention heads do not divide by 4 GPUs")
    failed(results, "tensor parallel", "Fix: run on 2 GPU(s)")
    assert "pad" not in results["tensor parallel"]["message"]


def test_weights_the_user_model_does_not_run_are_flagged(tiny_repo, tiny_awq_dir, capsys):
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu",
                          "--weights", str(tiny_awq_dir))
    failed(results, "checked weights", "the UserModel runs")
    assert not results["checked weights"]["fatal"]
    _, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu", "--weights",
                       str(tiny_repo / "models" / "weights"))
    assert results["checked weights"]["passed"]
    assert results["tokenizer"]["message"] == "tokenizer.json"


# compressed-tensors W4A16 as llm-compressor writes it (Qwen2-72B's shapes), group size 128
COMPRESSED_TENSORS_128 = {
    "quant_method": "compressed-tensors", "format": "pack-quantized",
    "config_groups": {"group_0": {"targets": ["Linear"], "weights": {
        "num_bits": 4, "type": "int", "symmetric": False, "strategy": "group",
        "group_size": 128}}}}


def test_compressed_tensors_are_read_and_their_shards_checked(tiny_repo, capsys):
    set_model_config(tiny_repo, intermediate_size=29568,
                     quantization_config=COMPRESSED_TENSORS_128)
    set_engine(tiny_repo, tensor_parallel_size=4)
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "4xT4")
    assert code == 1
    assert results["quantization"]["message"] == (
        "compressed-tensors 4-bit, group size 128, zero point True, pack-quantized")
    failed(results, "tensor parallel", "7392 input features per shard, not a multiple of the "
                                       "group size 128")


def test_a_compressed_tensors_group_size_the_kernels_refuse(tiny_repo, capsys):
    scheme = json.loads(json.dumps(COMPRESSED_TENSORS_128))
    scheme["config_groups"]["group_0"]["weights"]["group_size"] = 100
    set_model_config(tiny_repo, quantization_config=scheme)
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "quantization", "group size 100")


def test_one_gpu_of_four_is_said_and_checked_for_what_runs(tiny_repo, capsys):
    # The shipped configuration runs on one GPU: shards and memory are checked for one.
    set_model_config(tiny_repo, intermediate_size=29568,
                     quantization_config=COMPRESSED_TENSORS_128)
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "4xT4")
    failed(results, "tensor_parallel_size", "would use 1 GPU(s) of 4")
    assert not results["tensor_parallel_size"]["fatal"]
    assert results["tensor parallel"]["passed"]
    assert "/ 1 GPU(s)" in results["memory"]["message"]


def test_how_the_weights_were_made_is_printed_and_rtn_warned_on_a_gpu(tiny_repo, capsys):
    made = {"tool": "runtime quantize", "method": "awq", "group_size": 128,
            "calibration": {"file": "tuning.jsonl", "sha256": "ab" * 32, "samples": 64}}
    set_model_config(tiny_repo, quantization_config=COMPRESSED_TENSORS_128, quantized_by=made)
    _, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert results["quantized by"]["passed"]
    assert results["quantized by"]["message"] == (
        "awq by runtime quantize, group size 128, calibrated on 64 prompts of tuning.jsonl "
        "(sha256 abababababab)")
    set_model_config(tiny_repo, quantized_by={**made, "method": "rtn", "calibration": None})
    _, results = check(tiny_repo, capsys, "--no-smoke", "--target", "1xT4")
    failed(results, "quantized by", "--method awq")
    assert not results["quantized by"]["fatal"]
    _, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert results["quantized by"]["passed"]
