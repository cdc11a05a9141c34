"""The weights: present, safetensors only, sent through git-lfs and not left as pointers, with a
tokenizer; the UserModel running them rather than the embedded development model; and their
quantization and fit across the target's tensor-parallel shards."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from runtime.common.checkpoint import config_problem, quantization_scheme, safetensors_tensors
from runtime.submission.outcome import Check, Target

LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
MARLIN_GROUP_SIZES = (-1, 32, 64, 128)


def check_not_embedded(weights: Path, embedded_dirs: tuple[Path, ...], target: Target) -> Check:
    """The embedded development model is git-ignored: a submission never carries it."""
    if weights.resolve() not in {d.resolve() for d in embedded_dirs}:
        return Check("own weights", True, f"{weights} is not the embedded development model")
    message = (f"the UserModel runs the embedded development model ({weights}), which is "
               "git-ignored and never submitted: put your weights in models/weights/ "
               "(or set engine.model in models/vllm_config.json)")
    return Check("own weights", False, message, fatal=target.gpu is not None)


def check_runs_the_checked_weights(weights: Path, runs: Path | None) -> Check:
    """--weights names what to check; the grader runs what the UserModel loads. A warning when
    they differ: the check passes for weights the submission would not run."""
    if runs is None:
        return Check("checked weights", False, f"the UserModel does not run on vLLM and loads "
                     f"no weights: {weights} is checked, but the submission would not use it",
                     fatal=False)
    if Path(weights).resolve() != Path(runs).resolve():
        return Check("checked weights", False, f"the UserModel runs {runs}, not the checked "
                     f"{weights}: set engine.model in models/vllm_config.json to them (or put "
                     "them in models/weights/) before submitting", fatal=False)
    return Check("checked weights", True, f"the UserModel runs {weights}")


def lfs_tracked(repo: Path, relatives: list[str]) -> set[str] | None:
    """Which of these repository paths git sends through git-lfs, as git itself reads
    .gitattributes (`git check-attr filter`); None when `repo` is not a git repository."""
    result = subprocess.run(["git", "-C", str(repo), "check-attr", "filter", "--", *relatives],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        return None
    tracked = set()
    for line in result.stdout.splitlines():
        path, _, value = line.rpartition(": filter: ")
        if value.strip() == "lfs":
            tracked.add(path)
    return tracked


def _starts_with(path: Path, prefix: bytes) -> bool:
    with path.open("rb") as handle:  # weight files are tens of GB: read only the head
        return handle.read(len(prefix)) == prefix


def check_no_links_out(repo: Path, weights: Path, files: list[Path]) -> Check:
    """git commits a symbolic link as a link: weights behind one that leaves the repository are
    not submitted."""
    root = repo.resolve()
    links = [p for p in [weights, *files] if p.is_symlink()
             and not p.resolve().is_relative_to(root)]
    if links:
        return Check("symlinks", False, f"{', '.join(str(p) for p in links[:3])} "
                     f"{'is a link' if len(links) == 1 else 'are links'} to outside the "
                     "repository: git would commit the link, not the weights; copy the files "
                     "into the repository instead")
    return Check("symlinks", True, "no weight file is a link to outside the repository")


def check_custom_code(weights: Path, model: dict[str, Any], trust_remote_code: bool) -> Check:
    """A checkpoint that names code of its own (`auto_map`) runs only with trust_remote_code,
    which the runtime leaves off; the checker never runs that code either."""
    tokenizer_config = weights / "tokenizer_config.json"
    named = [name for name, config in (("config.json", model), (tokenizer_config.name,
                                                                 _json_object(tokenizer_config)))
             if "auto_map" in config]
    if named and not trust_remote_code:
        return Check("custom code", False, f"{' and '.join(named)} in {weights} name the "
                     "checkpoint's own Python code (auto_map), which runs only with "
                     "engine.trust_remote_code: use a checkpoint of an architecture vLLM and "
                     "transformers know (Qwen2, Llama), or turn trust_remote_code on knowingly")
    if named:
        return Check("custom code", False, f"{' and '.join(named)} name the checkpoint's own "
                     "code and trust_remote_code is on: it will run in the container",
                     fatal=False)
    return Check("custom code", True, "the checkpoint needs no code of its own")


def _json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _header_problems(tensors: list[Path]) -> list[tuple[Path, str]]:
    """The safetensors files whose header cannot be read, with why (git-lfs pointers are the
    pointer check's)."""
    found = []
    for path in tensors:
        if _starts_with(path, LFS_POINTER):
            continue
        try:
            safetensors_tensors(path)
        except ValueError as err:
            found.append((path, str(err)))
    return found


def check_weight_files(repo: Path, weights: Path, submitted: bool = True) -> list[Check]:
    checks: list[Check] = []
    if not (weights / "config.json").is_file():
        return [Check("weights", False, f"no model at {weights}: put config.json, "
                      "*.safetensors and the tokenizer there, or point --weights at them")]
    files = [p for p in weights.rglob("*") if p.is_file()]
    tensors = [p for p in files if p.suffix == ".safetensors"]
    unsafe = [p.name for p in files if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt")]
    unreadable = [f"{p.name} ({err})" for p, err in _header_problems(tensors)]
    if not tensors:
        checks.append(Check("safetensors", False, f"no *.safetensors in {weights}: convert "
                            "the weights to safetensors (the runtime loads nothing else)"))
    elif unreadable:
        checks.append(Check("safetensors", False, f"not safetensors files: "
                            f"{'; '.join(unreadable[:3])}; save the weights again"))
    elif unsafe:
        checks.append(Check("safetensors", False, f"pickle weight files in {weights}: "
                            f"{', '.join(sorted(unsafe))}; delete them and keep safetensors"))
    else:
        checks.append(Check("safetensors", True, f"{len(tensors)} safetensors file(s)"))
    pointers = [p.name for p in files if _starts_with(p, LFS_POINTER)]
    checks.append(Check("lfs pointers", not pointers,
                        f"dangling git-lfs pointers (content not fetched): "
                        f"{', '.join(sorted(pointers))}; run `git lfs pull`" if pointers
                        else "no dangling git-lfs pointers"))
    tokenizer = [p for p in ("tokenizer.json", "tokenizer.model") if (weights / p).is_file()]
    checks.append(Check("tokenizer", bool(tokenizer),
                        ", ".join(tokenizer) if tokenizer else
                        f"no tokenizer.json or tokenizer.model in {weights}: save the "
                        "tokenizer beside the weights"))
    if not submitted:
        return checks  # git-ignored, so git-lfs has nothing to say about it
    checks.append(check_no_links_out(repo, weights, files))
    try:
        relative_dir = weights.resolve().relative_to(repo.resolve())
    except ValueError:
        checks.append(Check("git-lfs", False, f"{weights} is outside the repository, so it "
                            "will not be submitted: move it under models/"))
        return checks
    big = [(relative_dir / p.relative_to(weights)).as_posix() for p in files
           if p.suffix in (".safetensors", ".bin") or p.name in ("tokenizer.json",
                                                                   "tokenizer.model")]
    tracked = lfs_tracked(repo, big)
    if tracked is None:
        checks.append(Check("git-lfs", False, f"{repo} is not a git repository: a submission "
                            "is pushed with git, and its weights through git-lfs (`git init`, "
                            "`git lfs install`)"))
        return checks
    untracked = [path for path in big if path not in tracked]
    checks.append(Check("git-lfs", not untracked,
                        f"not tracked by git-lfs per .gitattributes: {', '.join(untracked)}; "
                        "add e.g. `*.safetensors filter=lfs diff=lfs merge=lfs -text`"
                        if untracked else "weight and tokenizer files go through git-lfs"))
    return checks


def check_provenance(model: dict[str, Any], target: Target) -> Check | None:
    """How the weights were made, as `runtime quantize` records it; a warning when weights for
    a GPU are round-to-nearest (a calibrated method loses less)."""
    made = model.get("quantized_by")
    quant = model.get("quantization_config") or {}
    rtn = (isinstance(made, dict) and made.get("method") == "rtn") or (
        "round-to-nearest" in str(quant.get("note", "")))
    if isinstance(made, dict):
        calibration = made.get("calibration")
        source = (f", calibrated on {calibration.get('samples')} prompts of "
                  f"{calibration.get('file')} (sha256 {str(calibration.get('sha256'))[:12]})"
                  if isinstance(calibration, dict) else ", no calibration")
        line = f"{made.get('method')} by {made.get('tool')}, group size " \
               f"{made.get('group_size')}{source}"
    elif rtn:
        line = "round-to-nearest (its config says so)"
    else:
        return None
    if rtn and target.gpu is not None:
        return Check("quantized by", False, f"{line}: round-to-nearest weights lose more than "
                     "calibrated ones; for a submission use `python -m runtime quantize "
                     "--method awq`", fatal=False)
    return Check("quantized by", True, line)


def check_quantization(model: dict[str, Any], target: Target, tp: int) -> list[Check]:
    quant = model.get("quantization_config")
    checks: list[Check] = []
    if quant:
        method, bits, group, zero, fmt = quantization_scheme(quant)
        known = method in ("awq", "gptq", "compressed-tensors") and bits in (4, 8, None)
        description = f"{method} {bits}-bit, group size {group}, zero point {zero}, {fmt or '-'}"
        if not known:
            checks.append(Check("quantization", False, f"unrecognised quantization "
                                f"({description}): use 4-bit AWQ (GEMM), GPTQ or "
                                "compressed-tensors W4A16 (`python -m runtime quantize`)"))
            return checks
        if group not in MARLIN_GROUP_SIZES:
            checks.append(Check("quantization", False, f"{description}: group size {group} "
                                "is not one the T4's Marlin kernels take (-1, 32, 64, 128)"))
        else:
            checks.append(Check("quantization", True, description))
        provenance = check_provenance(model, target)
        if provenance is not None:
            checks.append(provenance)
        checks.append(_shard_check(model, tp, group))
    else:
        checks.append(Check("quantization", True, "not quantized"))
        checks.append(_shard_check(model, tp, -1))
    return checks


def _shard_check(model: dict[str, Any], tp: int, group: int) -> Check:
    hidden = int(model.get("hidden_size", 0))
    intermediate = int(model.get("intermediate_size", 0))
    heads = int(model.get("num_attention_heads", 1))
    kv_heads = int(model.get("num_key_value_heads", heads))
    head_dim = int(model.get("head_dim", hidden // max(heads, 1)))
    problems, fixes = [], []
    if heads % tp or (kv_heads % tp and tp % kv_heads):
        if heads % tp:
            problems.append(f"{heads} attention heads do not divide by {tp} GPUs")
        if kv_heads % tp and tp % kv_heads:
            problems.append(f"{kv_heads} key/value heads and {tp} GPUs do not divide either way")
        fits = [n for n in range(1, tp) if heads % n == 0 and (kv_heads % n == 0
                                                               or n % kv_heads == 0)]
        fixes.append(f"run on {max(fits)} GPU(s), which divide the heads" if fits else
                     "use a model whose head counts divide by the GPUs")
    for name, features in (("intermediate_size", intermediate),
                           ("attention output", heads * head_dim)):
        if features % tp:
            problems.append(f"{name} {features} does not divide by {tp} GPUs")
        elif group > 0 and (features // tp) % group:
            problems.append(f"{name} {features} / {tp} GPUs = {features // tp} input features "
                            f"per shard, not a multiple of the group size {group}")
        else:
            continue
        fixes.append(f"pad {name} to a multiple of {max(group, 1) * tp} (group size x GPUs), "
                     "re-quantize with a smaller group size, or use fewer GPUs")
    if problems:
        return Check("tensor parallel", False,
                     "; ".join(problems) + ". Fix: " + "; ".join(dict.fromkeys(fixes)))
    return Check("tensor parallel", True, f"every sharded dimension divides across {tp} GPU(s)")


def read_model_config(weights: Path) -> dict[str, Any] | Check | None:
    """The weights' config.json; a failed check when it is not a JSON object; None when there
    is none (the weight-file check says so)."""
    path = weights / "config.json"
    if not path.is_file():
        return None
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # ValueError: not JSON, or not UTF-8
        return Check("model config", False, f"{path} cannot be read: {err}; write it again "
                     "(it comes with the checkpoint)")
    problem = config_problem(model)
    if problem is not None:
        return Check("model config", False, f"{path}: {problem}; write it again (it comes "
                     "with the checkpoint)")
    return model
