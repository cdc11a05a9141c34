"""Configuration of scoring and evaluation, as data.

Pydantic models with defaults and field docs. They are built in one place, `load_config`, from an
optional JSON file plus the command line's overrides; nothing else in the runtime reads settings
from the environment or from module constants. The model's own configuration (engine, decoding,
guard) is `models/vllm_config.py`, beside the model and its JSON file.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from runtime.common.competition import PER_QUESTION_LIMIT_S, TASK_TYPES, track_id
from runtime.common.embeddings import (
    ALL_MINILM,
    EMBEDDING_MODEL_NAMES,
    MULTILINGUAL_MINILM,
    bundled_minilm_path,
)
from runtime.common.errors import one_line
from runtime.common.paths import OUTPUTS_DIR, SAMPLE_DATA
from runtime.common.settings import ConfigError, json_kind, read_json_object
from runtime.common.shopping_mmlu import Semantics


def _default_embedding_models() -> dict[str, Path]:
    path = bundled_minilm_path()
    return {ALL_MINILM: path} if path else {}


class ScoringConfig(BaseModel):
    """How answers are scored: whose semantics (each reproduced exactly, never tuned), the
    embedding models, the intervals."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    embedding_models: dict[str, Path] = Field(
        default_factory=_default_embedding_models,
        description=(
            "Local directory of each sentence-embedding model, keyed by its name "
            f"({ALL_MINILM!r} for sent-transformer, {MULTILINGUAL_MINILM!r} for "
            "multilingual-sent-transformer). Loaded from these paths only, never from a hub."
        ),
    )
    strict: StrictBool = Field(
        default=False,
        description=(
            "Fail before generating when a metric's embedding model is missing, instead of "
            "reporting those tasks as unscored."
        ),
    )
    device: str = Field(default="cpu", description="Torch device for the embedding models.")
    semantics: Semantics | None = Field(
        default=None,
        description="Whose answer readings and metrics score the answers: 'shopbench' (the KDD "
        "Cup grader's parsers) or 'shopping-mmlu' (Shopping MMLU's own metrics). None: by the "
        "data, shopping-mmlu for Shopping MMLU's files, shopbench otherwise.")
    bootstrap_resamples: StrictInt = Field(
        default=1000, ge=0, le=100_000,
        description="Resamples of the questions (within each task) behind every score's "
        "interval; 0 leaves the intervals out.")
    bootstrap_seed: StrictInt = Field(default=0, ge=0, le=2**63 - 1,
                                      description="Seed of the resampling, so that "
                                      "a run's intervals are the same every time.")
    confidence: StrictFloat = Field(default=0.95, gt=0, lt=1,
                                    description="Coverage of every interval.")
    interval_min_questions: StrictInt = Field(
        default=3, ge=2, le=1000,
        description="Questions a task needs for an interval: with fewer, resampling within "
        "the task hardly varies (one question never does), so the task, and every track and "
        "overall score it is part of, is given no interval rather than one too narrow.")

    @field_validator("embedding_models")
    @classmethod
    def _known_models_in_model_folders(cls, value: dict[str, Path]) -> dict[str, Path]:
        for name, path in value.items():
            if name not in EMBEDDING_MODEL_NAMES:
                raise ValueError(f"unknown embedding model {name!r}: the metrics use "
                                 f"{' and '.join(map(repr, EMBEDDING_MODEL_NAMES))}")
            if not (Path(path) / "modules.json").is_file():
                raise ValueError(f"{path} is not a sentence-transformers model folder (it has "
                                 f"no modules.json): give the folder of a local copy of {name}")
        return value


class EvaluationConfig(BaseModel):
    """One local evaluation run."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    data: list[Path] = Field(
        default_factory=lambda: [SAMPLE_DATA],
        description="Data files (JSON lines or a JSON array; Shopping MMLU's skill and "
        "task-wise files) or folders in Shopping MMLU's layout; one path or several.")
    model: str = Field(
        default="UserModel",
        description="`module:Class`, or a short name: UserModel, dummy, baseline, vllm, "
        "shopping-mmlu-reference.",
    )
    output_dir: Path | None = Field(
        default=None,
        description="Where predictions and results go; default outputs/<model>_<data name>.",
    )
    limit: StrictInt | None = Field(
        default=None, ge=1,
        description="Evaluate at most N questions, spread over the tasks (the first of each "
        "task in data order, then the second of each, ...).")
    tracks: list[str] = Field(
        default_factory=list,
        description="Only these tracks: ids, or 1-4 for tracks 1-4 (empty: all).")
    tasks: list[str] = Field(default_factory=list,
                             description="Only these task names (empty: all).")
    task_types: list[str] = Field(default_factory=list,
                                  description="Only these task types (empty: all).")
    resume: StrictBool = Field(default=False, description="Reuse the answers saved in output_dir.")
    overwrite: StrictBool = Field(default=False, description="Discard answers saved in output_dir.")
    skip_invalid: StrictBool = Field(default=False, description="Drop invalid data rows and go on.")
    progress: StrictBool = Field(default=True, description="Show a progress bar on standard error.")
    batch_timeout_s: StrictFloat | None = Field(
        default=None, gt=0, le=threading.TIMEOUT_MAX, allow_inf_nan=False,
        description="Give up on a batch whose batch_predict has not returned after this many "
        "seconds (the answers saved before are kept). Off by default: a batch over the "
        f"grader's own limit ({PER_QUESTION_LIMIT_S:g} s per prompt) is only warned about and "
        "recorded.")
    weights: Path | None = Field(
        default=None, description="Model directory handed to models that take one (vllm)."
    )
    adapter: Path | None = Field(
        default=None, description="A PEFT LoRA adapter folder served over the weights, "
        "unmerged, for every question (models that serve one: vllm); replaces the model "
        "configuration's adapters.")
    ray: str | None = Field(
        default=None, description="Answer on Ray: 'local' (a Ray instance on this machine), "
        "'auto' or the head node's host:port (an existing cluster); None: in this process.")
    replicas: StrictInt = Field(default=1, ge=1, le=4096, description="Replicas on Ray, "
                                "each one actor that builds the model once.")
    gpus_per_replica: StrictFloat | StrictInt = Field(
        default=0, ge=0, le=1024, description="GPUs each replica holds on one node (its tensor "
        "parallel size for a vLLM model); 0 on CPU machines.")
    cpus_per_replica: StrictInt = Field(
        default=1, ge=1, le=4096, description="CPUs each replica holds; Ray gives it as many "
        "threads (OMP_NUM_THREADS).")
    replica_retries: StrictInt = Field(
        default=3, ge=0, le=1000, description="How often Ray restarts a replica that died and "
        "retries the batch it held, before the run stops (answers saved so far kept).")
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)

    @field_validator("data", mode="before")
    @classmethod
    def _one_or_several(cls, value: object) -> object:
        return [value] if isinstance(value, (str, Path)) else value

    @field_validator("tracks")
    @classmethod
    def _track_ids(cls, value: list[str]) -> list[str]:
        return [track_id(text) for text in value]

    @field_validator("task_types")
    @classmethod
    def _known_task_types(cls, value: list[str]) -> list[str]:
        for text in value:
            if text not in TASK_TYPES:
                raise ValueError(f"unknown task type {text!r} (expected one of "
                                 f"{', '.join(TASK_TYPES)})")
        return value

    @model_validator(mode="after")
    def _replicas_need_ray(self) -> EvaluationConfig:
        if self.ray is None and (self.replicas > 1 or self.gpus_per_replica):
            raise ValueError("--replicas and --gpus-per-replica place replicas on Ray: add "
                             "--ray (this machine) or --ray ADDRESS")
        return self

    @model_validator(mode="after")
    def _resume_or_overwrite(self) -> EvaluationConfig:
        if self.resume and self.overwrite:
            raise ValueError("--resume keeps the saved answers and --overwrite discards them: "
                             "pass one of them, not both")
        return self

    def resolved_output_dir(self) -> Path:
        if self.output_dir is not None:
            return self.output_dir
        parts = [self.model.replace(":", "_").replace(".", "_")]
        if self.weights is not None:
            parts.append(Path(self.weights).resolve().name)  # two weights, two folders
        more = [f"and{len(self.data) - 1}more"] if len(self.data) > 1 else []
        return OUTPUTS_DIR / "_".join([*parts, self.data[0].stem, *more])


def load_config(path: Path | None = None, **overrides: object) -> EvaluationConfig:
    """Build the evaluation configuration: the JSON file (if any), then non-None overrides."""
    values = read_json_object(Path(path), "the configuration") if path is not None else {}
    scoring = values.pop("scoring", {})
    if not isinstance(scoring, dict):
        raise ConfigError(f"{path}: 'scoring' must be a JSON object, not {json_kind(scoring)}")
    for key, value in overrides.items():
        if value is None:
            continue
        if key.startswith("scoring_"):
            name = key.removeprefix("scoring_")
            if name == "embedding_models":
                saved = scoring.get("embedding_models", _default_embedding_models())
                if isinstance(saved, dict):  # else the validation below says what is wrong
                    value = {**saved, **value}  # type: ignore[dict-item]
            scoring[name] = value
        else:
            values[key] = value
    try:
        return EvaluationConfig(**values, scoring=ScoringConfig(**scoring))  # type: ignore[arg-type]
    except ValidationError as err:
        where = f"{path}: " if path is not None else ""
        raise ConfigError(f"{where}invalid configuration: {one_line(err)}") from err
