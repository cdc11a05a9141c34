"""The repository checks: aicrowd.json, the GPU flag, the repository's size."""

import json

from tests.runtime.submission.repos import check, failed, use_vllm


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


def test_repository_over_200_gb(repo, capsys, monkeypatch):
    import runtime.submission.repository

    monkeypatch.setattr(runtime.submission.repository, "MAX_REPO_BYTES", 1000)
    code, results = check(repo, capsys, "--no-smoke")
    assert code == 1
    failed(results, "repository size", "of at most 200 GB")
