"""The container files agree with pyproject.toml and keep weights out of the build context."""

import re
import tomllib

from packaging.requirements import Requirement

from runtime.submission.repository import AicrowdConfig
from tests.conftest import REPO_ROOT


def pyproject_requirements():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    for extra, items in project["optional-dependencies"].items():
        if extra != "engine-cpu":  # the CPU build never goes in the GPU container
            requirements += [Requirement(r) for r in items]
    return {r.name.lower(): r for r in requirements}


def pinned(lines):
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            pins[requirement.name.lower()] = requirement
    return pins


def test_requirements_pins_agree_with_pyproject():
    declared = pyproject_requirements()
    pins = pinned((REPO_ROOT / "requirements.txt").read_text().splitlines())
    assert "vllm" in pins
    for name, requirement in pins.items():
        version = str(requirement.specifier).removeprefix("==")
        assert str(requirement.specifier).startswith("=="), f"{name} is not pinned"
        assert name in declared, f"{name} is in requirements.txt but not in pyproject.toml"
        assert declared[name].specifier.contains(version), (name, version, declared[name])
        if str(declared[name].specifier).startswith("=="):
            assert str(declared[name].specifier) == str(requirement.specifier)


def test_dockerfile_installs_requirements_and_pins_nothing_else():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r /tmp/requirements.txt" in dockerfile
    declared = pyproject_requirements()
    for name, version in re.findall(r"([A-Za-z0-9_.-]+)==([0-9][^\s\"']*)", dockerfile):
        assert declared[name.lower()].specifier.contains(version), (name, version)
    assert "HF_HUB_OFFLINE=1" in dockerfile


def test_weights_are_kept_out_of_the_build_context_and_go_through_lfs():
    assert "models/weights/" in (REPO_ROOT / ".dockerignore").read_text()
    assert "*.safetensors filter=lfs" in (REPO_ROOT / ".gitattributes").read_text()


def test_shipped_aicrowd_json_is_valid():
    AicrowdConfig.model_validate_json((REPO_ROOT / "aicrowd.json").read_text())
