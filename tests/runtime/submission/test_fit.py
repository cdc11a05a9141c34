"""The fit checks: dtype, the configured GPUs against the target, memory per GPU, the longest
prompt against max_model_len, trust_remote_code."""

from tests.runtime.submission.repos import check, failed, set_engine


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


def test_more_gpus_configured_than_the_target_has(tiny_repo, capsys):
    set_engine(tiny_repo, tensor_parallel_size=8)
    code, results = check(tiny_repo, capsys, "--no-smoke", "--target", "4xT4")
    assert code == 1
    failed(results, "tensor_parallel_size", "has 4 GPU(s)")
