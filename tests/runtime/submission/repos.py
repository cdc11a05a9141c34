"""Repositories for the checker's tests: a copy of the shipped one, switched to vLLM or given
weights, and the check run on it through the command line."""

import json
import shutil
import subprocess

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


def set_model_config(repo, **changes):
    path = repo / "models" / "weights" / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def set_engine(repo, **changes):
    path = repo / "models" / "vllm_config.json"
    config = json.loads(path.read_text())
    config["engine"].update(changes)
    path.write_text(json.dumps(config))
