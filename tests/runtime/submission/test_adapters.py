"""The checker on a submission that serves LoRA adapters: two adapters mapped to skills pass for
a CPU target, smoke run included; an adapter of another base, a rank above the engine's
maximum, an engine without LoRA and an adapter outside the repository each fail in one line."""

import json
import shutil

import pytest

from tests.conftest import make_foreign_adapter
from tests.runtime.submission.repos import check, failed


def serve_adapters(repo, adapters, engine=None, by_skill=None):
    """Copy the adapters under models/adapters/ and map them in models/vllm_config.json."""
    for folder in adapters:
        if not (repo / "models" / "adapters" / folder.name).exists():
            shutil.copytree(folder, repo / "models" / "adapters" / folder.name)
    path = repo / "models" / "vllm_config.json"
    config = json.loads(path.read_text())
    config["engine"].update({"enable_lora": True, "max_lora_rank": 8, **(engine or {})})
    mapped = zip((1, 3), adapters, strict=False)
    config["adapters"] = {"by_skill": by_skill or {
        str(skill): f"adapters/{folder.name}" for skill, folder in mapped}}
    path.write_text(json.dumps(config))


@pytest.mark.engine
def test_two_adapters_mapped_to_skills_pass_for_cpu_smoke_run_included(
        tiny_repo, tiny_adapters, capsys):
    serve_adapters(tiny_repo, tiny_adapters)
    code, results = check(tiny_repo, capsys, "--target", "cpu")
    assert code == 0, results
    assert results["lora engine"]["passed"] and "max_loras 2 for 2 adapters" in results[
        "lora engine"]["message"]
    assert results["smoke run"]["passed"], results["smoke run"]


def test_the_memory_check_counts_the_engines_lora_slots(tiny_repo, tiny_adapters, capsys):
    serve_adapters(tiny_repo, tiny_adapters)
    _, results = check(tiny_repo, capsys, "--target", "4xT4", "--no-smoke")
    assert "LoRA slots 2 x rank 8" in results["memory"]["message"], results["memory"]


def test_an_adapter_of_another_base_fails_in_one_line(tiny_repo, tiny_adapters, tmp_path,
                                                      capsys):
    foreign = make_foreign_adapter(tmp_path / "foreign")
    serve_adapters(tiny_repo, [tiny_adapters[0], foreign])
    code, results = check(tiny_repo, capsys, "--target", "cpu", "--no-smoke")
    assert code == 1
    failed(results, "adapter", "an adapter of another base model")
    assert "\n" not in results["adapter"]["message"]


def test_an_engine_that_cannot_serve_the_adapters_fails(tiny_repo, tiny_adapters, capsys):
    serve_adapters(tiny_repo, tiny_adapters, engine={"max_lora_rank": 4})
    code, results = check(tiny_repo, capsys, "--target", "cpu", "--no-smoke")
    assert code == 1
    failed(results, "lora engine", "max_lora_rank to 8 or more")
    serve_adapters(tiny_repo, tiny_adapters, engine={"enable_lora": False})
    code, results = check(tiny_repo, capsys, "--target", "cpu", "--no-smoke")
    failed(results, "lora engine", "set engine.enable_lora to true")


def test_an_adapter_outside_the_repository_fails(tiny_repo, tiny_adapters, capsys):
    serve_adapters(tiny_repo, [], by_skill={"1": str(tiny_adapters[0])})
    code, results = check(tiny_repo, capsys, "--target", "cpu", "--no-smoke")
    assert code == 1
    failed(results, "adapter", "outside the repository, so it will not be submitted")
