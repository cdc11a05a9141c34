"""The pre-submission checker: the shipped repository passes, and each known way a submission
dies is reported on a fixture built to have it (message and exit status)."""

import json
import shutil
import subprocess

import pytest

from runtime.cli import runtime_main
from tests.conftest import REPO_ROOT

SHIPPED = ["runtime", "models", "prompts", "data", "aicrowd.json", ".gitattributes",
           "pyproject.toml", "requirements.txt"]


def copy_repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in SHIPPED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name,
                            ignore=shutil.ignore_patterns("__pycache__", "weights", "embedded"))
        else:
            shutil.copy(source, repo / name)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def use_vllm(repo, gpu=True):
    (repo / "models" / "user_config.py").write_text(
        "from models.vllm_model import VLLMShopModel\n\nUserModel = VLLMShopModel\n")
    aicrowd = json.loads((repo / "aicrowd.json").read_text())
    (repo / "aicrowd.json").write_text(json.dumps({**aicrowd, "gpu": gpu}))


@pytest.fixture
def repo(tmp_path):
    return copy_repo(tmp_path)


@pytest.fixture
def tiny_repo(repo, tiny_model_dir):
    shutil.copytree(tiny_model_dir, repo / "models" / "weights")
    use_vllm(repo)
    return repo


def check(repo, capsys, *args):
    code = runtime_main(["check", "--repo", str(repo), "--json", *args])
    document = json.loads(capsys.readouterr().out)
    target = args[args.index("--target") + 1] if "--target" in args else "4xT4"
    assert document["target"] == target
    results = {c["name"]: c for c in document["checks"]}
    return code, results


def failed(results, name, fragment):
    assert not results[name]["passed"], results[name]
    assert fragment in results[name]["message"], results[name]["message"]


@pytest.mark.engine
def test_the_shipped_repository_passes_for_cpu_with_the_tiny_model(tiny_repo, capsys):
    code, results = check(tiny_repo, capsys, "--target", "cpu")
    assert code == 0, results
    assert results["smoke run"]["passed"]
    assert "generation, multiple-choice" in results["smoke run"]["message"]
    assert all(c["passed"] for c in results.values())


@pytest.mark.engine
def test_the_shipped_repository_passes_for_cpu_on_the_embedded_model(capsys):
    code, results = check(REPO_ROOT, capsys, "--target", "cpu")
    assert code == 0, results
    assert results["requirements"]["passed"]
    assert "vllm" in results["requirements"]["message"]
    assert results["smoke run"]["passed"], results["smoke run"]
    # Runs, but is never submitted: a warning for a CPU target, a failure for a GPU one.
    assert not results["own weights"]["passed"] and not results["own weights"]["fatal"]
    assert "embedded development model" in results["own weights"]["message"]


def test_a_gpu_submission_of_the_embedded_model_fails(capsys):
    code, results = check(REPO_ROOT, capsys, "--target", "4xT4", "--no-smoke")
    assert code == 1
    failed(results, "own weights", "put your weights in models/weights/")
    assert results["own weights"]["fatal"]


@pytest.mark.parametrize(("source", "package"), [
    ("from models.baseline_model import BaselineModel\n\nUserModel = BaselineModel\n",
     "sentence-transformers"),
    ("def make():\n    import rouge_score\n\n\nclass UserModel:\n"
     "    def get_batch_size(self):\n        return 1\n\n"
     "    def batch_predict(self, batch, is_mc):\n        return []\n", "rouge-score"),
], ids=["baseline-imports-sentence-transformers", "import-inside-a-function"])
def test_imports_the_container_does_not_install_fail_by_name(repo, capsys, source, package):
    (repo / "models" / "user_config.py").write_text(source)
    code, results = check(repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "requirements", package)
    failed(results, "requirements", "which requirements.txt does not install")


def test_an_optional_import_is_not_required(repo, capsys):
    (repo / "models" / "user_config.py").write_text(
        "try:\n    import rouge_score\nexcept ImportError:\n    rouge_score = None\n"
        "from models.vllm_model import VLLMShopModel\n\nUserModel = VLLMShopModel\n")
    _, results = check(repo, capsys, "--no-smoke", "--target", "cpu")
    assert results["requirements"]["passed"], results["requirements"]
    assert "rouge_score" not in results["requirements"]["message"]


def test_invalid_aicrowd_json(repo, capsys):
    (repo / "aicrowd.json").write_text(json.dumps({"challenge_id": "track-9", "authors": [],
                                                   "gpu": "yes", "description": "x"}))
    code, results = check(repo, capsys, "--no-smoke")
    assert code == 1
    failed(results, "aicrowd.json", "challenge_id")
    failed(results, "aicrowd.json", "authors")


def test_gpu_false_for_a_vllm_model(tiny_repo, capsys):
    use_vllm(tiny_repo, gpu=False)
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "4xT4")
    assert code == 1
    failed(results, "gpu flag", "set it to true")


@pytest.mark.parametrize(("source", "message"), [
    ("import requests_to_nowhere\n", "does not import offline"),
    ("import socket\nsocket.create_connection(('example.org', 80))\nUserModel = object\n",
     "network access attempted"),
    ("class UserModel:\n    pass\n", "lacks get_batch_size() or batch_predict()"),
], ids=["does-not-import", "reaches-the-network", "without-the-interface"])
def test_a_broken_user_config(repo, capsys, source, message):
    (repo / "models" / "user_config.py").write_text(source)
    code, results = check(repo, capsys, "--no-smoke")
    assert code == 1
    failed(results, "user model", message)


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


def set_model_config(repo, **changes):
    path = repo / "models" / "weights" / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_awq_shards_that_do_not_divide_across_four_gpus(tiny_repo, capsys):
    # Qwen2-72B's intermediate size 29568 / 4 GPUs = 7392, not a multiple of group size 128
    set_model_config(tiny_repo, intermediate_size=29568, quantization_config={
        "quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True,
        "version": "gemm"})
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


def set_engine(repo, **changes):
    path = repo / "models" / "vllm_config.json"
    config = json.loads(path.read_text())
    config["engine"].update(changes)
    path.write_text(json.dumps(config))


def test_bfloat16_on_a_t4(tiny_repo, capsys):
    set_engine(tiny_repo, dtype="bfloat16")
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "4xT4")
    assert code == 1
    failed(results, "dtype", "no bfloat16")


def test_a_model_that_does_not_fit_in_t4_memory(tiny_repo, capsys):
    weights = tiny_repo / "models" / "weights" / "model.safetensors"
    with weights.open("r+b") as handle:  # a sparse 70 GB file: the size is what counts
        handle.truncate(70 * 10**9)
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "4xT4")
    assert code == 1
    failed(results, "memory", "does not fit")
    assert "per GPU against 0.9 x 16 GB = 14.40 GB" in results["memory"]["message"]


def test_max_model_len_below_the_longest_prompt(tiny_repo, capsys):
    set_engine(tiny_repo, max_model_len=128)
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "max_model_len", "raise max_model_len to at least")
    assert "the model's tokenizer" in results["max_model_len"]["message"]


def test_trust_remote_code_is_flagged(tiny_repo, capsys):
    set_engine(tiny_repo, trust_remote_code=True)
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 0  # a warning: on purpose is allowed
    failed(results, "trust_remote_code", "trust_remote_code is on")


def test_repository_over_200_gb(repo, capsys, monkeypatch):
    import runtime.submission.repository

    monkeypatch.setattr(runtime.submission.repository, "MAX_REPO_BYTES", 1000)
    code, results = check(repo, capsys, "--no-smoke")
    assert code == 1
    failed(results, "repository size", "of at most 200 GB")


def test_smoke_run_catches_unparseable_answers(repo, capsys):
    (repo / "models" / "user_config.py").write_text(
        "from models.dummy_model import DummyModel\n\n"
        "class Broken(DummyModel):\n"
        "    def batch_predict(self, batch, is_multiple_choice):\n"
        "        return ['no idea'] * len(batch['prompt'])\n\nUserModel = Broken\n")
    code, results = check(repo, capsys, "--target", "cpu")
    assert code == 1
    failed(results, "smoke run", "answers the grader cannot parse")


def test_unknown_target_is_a_clear_error(repo, capsys):
    assert runtime_main(["check", "--repo", str(repo), "--target", "3xV100"]) == 2
    assert "unknown target" in capsys.readouterr().err


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


def test_the_report_names_the_target_it_checked(repo, capsys):
    for target, first in (("cpu", "target: cpu"), ("2xT4", "target: 2xT4 (2 x T4, 16 GB each)")):
        runtime_main(["check", "--repo", str(repo), "--no-smoke", "--target", target])
        assert capsys.readouterr().out.split("\n")[0].startswith(first)


def test_head_counts_that_do_not_divide_advise_fewer_gpus(tiny_repo, capsys):
    set_model_config(tiny_repo, num_attention_heads=6, num_key_value_heads=2, head_dim=16)
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
