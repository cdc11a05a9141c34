"""The checker's adapter checks: every LoRA adapter the model configuration serves is a PEFT
LoRA folder in safetensors (a pickle-only adapter is refused), fits the base weights (each
matrix's shape), travels with the submission, and is served by the engine (enable_lora, a
max_lora_rank at least its rank); the memory the engine sets aside for adapters is counted in
the memory check (fit.py)."""

from __future__ import annotations

from pathlib import Path

from runtime.answering.adapters import check_against_base, read_adapter, served_rank
from runtime.answering.engine import EngineConfig
from runtime.common.settings import ConfigError
from runtime.submission.outcome import Check


def check_adapters(repo: Path, folders: list[Path], weights: Path,
                   engine: EngineConfig) -> list[Check]:
    """One check per configured adapter, and one for the engine's LoRA settings."""
    checks: list[Check] = []
    ranks: list[int] = []
    for folder in folders:
        try:
            adapter = read_adapter(folder)
            check_against_base(adapter, weights)
        except ConfigError as err:
            checks.append(Check("adapter", False, f"{err}"))
            continue
        ranks.append(adapter.rank)
        inside = Path(folder).resolve().is_relative_to(repo.resolve())
        base = f"; trained on {adapter.base}" if adapter.base else ""
        checks.append(Check("adapter", inside, f"{adapter.describe()}{base}" if inside else
                            f"{folder} is outside the repository, so it will not be "
                            "submitted: move it under models/"))
    if not ranks:
        return checks
    wanted = served_rank(max(ranks))
    if not engine.enable_lora or engine.max_lora_rank < max(ranks):
        checks.append(Check("lora engine", False, f"the engine does not serve these adapters: "
                            f"set engine.enable_lora to true and max_lora_rank to {wanted} or "
                            f"more (now {engine.enable_lora}, {engine.max_lora_rank}) in "
                            "models/vllm_config.json"))
    else:
        checks.append(Check("lora engine", True, f"enable_lora, max_lora_rank "
                            f"{engine.max_lora_rank} >= the adapters' largest rank {max(ranks)}, "
                            f"max_loras {engine.max_loras} for {len(ranks)} adapters"
                            + ("" if engine.max_loras >= len(ranks) else
                               " (a batch needing more swaps them in turn: slower)")))
    return checks
