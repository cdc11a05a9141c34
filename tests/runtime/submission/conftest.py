"""Fixtures of the checker's tests: a fresh copy of the shipped repository, and one that runs
the tiny random model on vLLM."""

import shutil

import pytest

from tests.runtime.submission.repos import copy_repo, use_vllm


@pytest.fixture
def repo(tmp_path):
    return copy_repo(tmp_path)


@pytest.fixture
def tiny_repo(repo, tiny_model_dir):
    shutil.copytree(tiny_model_dir, repo / "models" / "weights")
    use_vllm(repo)
    return repo
