"""The UserModel check: it imports offline and offers the interface, and requirements.txt installs
every package it imports."""

import pytest

from tests.runtime.submission.repos import check, failed


@pytest.mark.parametrize(("source", "package"), [
    ("from models.baseline_model import BaselineModel\nimport sacrebleu\n\n"
     "UserModel = BaselineModel\n", "sacrebleu"),
    ("def make():\n    import rouge_score\n\n\nclass UserModel:\n"
     "    def get_batch_size(self):\n        return 1\n\n"
     "    def batch_predict(self, batch, is_mc):\n        return []\n", "rouge-score"),
], ids=["imports-sacrebleu", "import-inside-a-function"])
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


def test_ray_is_kept_out_of_the_containers_requirements(repo, capsys):
    requirements = repo / "requirements.txt"
    requirements.write_text(requirements.read_text() + "ray==2.60.0\n")
    code, results = check(repo, capsys, "--no-smoke", "--target", "cpu")
    assert code == 1
    failed(results, "requirements", "installs ray, which only the local tools use")
