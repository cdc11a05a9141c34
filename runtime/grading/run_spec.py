"""What a run was: its specification, typed, written when the run starts (`spec.json` in its
folder) and kept in its results.json.

It names the data (the files and a digest of the selected questions' content), the selection
(limit, tracks, tasks, task types), the model (its spec and class, the weights folder it
answers from with a cheap fingerprint of that folder's files, and a digest of every file that
decides its answers: the model's own code, its configuration, its prompt templates, an
exemplar pool), the scoring (scheme and interval settings) and the project's version. Replay,
resume, re-scoring and compare read it: two runs are the same run only where their
specifications say so, and where they differ, `differences` says how in words.

The model part also has a short digest, `ModelSpec.key`, saved on every answer line: an answer
made under other weights, configuration or prompts is never reused by a resume.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from runtime.common.paths import REPO_ROOT, shown_path
from runtime.common.records import ModelInputs
from runtime.grading.config import EvaluationConfig, ScoringConfig
from runtime.grading.grader import GraderModel, check_adapter_option
from runtime.grading.questions import Question
from runtime.grading.run_files import SPEC_FILE

# Files larger than this are fingerprinted by name and size (and a safetensors file by its
# header too), not read whole: the fingerprint must stay cheap on 40 GB of weights.
HASHED_FILE_BYTES = 64 * 2**20
# A weights folder is walked to this many files at most (a folder given by mistake, such as
# the repository's root, must not be read whole).
FINGERPRINT_MAX_FILES = 2000


class DataSpec(BaseModel):
    files: list[str] = Field(description="The data files or folders given, resolved.")
    questions: int = Field(description="Questions selected.")
    sha256: str = Field(description="Digest of the selected questions' content (prompt, "
                        "labels, truth), in order.")


class SelectionSpec(BaseModel):
    limit: int | None = Field(default=None, description="--limit, or null.")
    tracks: list[str] = Field(default_factory=list, description="--track values (ids).")
    tasks: list[str] = Field(default_factory=list, description="--task values.")
    task_types: list[str] = Field(default_factory=list, description="--task-type values.")

    def describe(self) -> str:
        parts = [f"limit {self.limit}" if self.limit else "",
                 *(f"track {t}" for t in self.tracks), *(f"task {t}" for t in self.tasks),
                 *(f"task type {t}" for t in self.task_types)]
        return ", ".join(p for p in parts if p) or "every question"


class ModelSpec(BaseModel):
    spec: str = Field(description="The model as given (--model).")
    model_class: str = Field(description="The class that answered, as module:Class.")
    weights: str | None = Field(description="The folder of weights it answers from, "
                                "resolved (the embedded model's where none was given).")
    adapter: str | None = Field(default=None, description="The --adapter folder, resolved "
                                "(its files' digests are under `files`).")
    weights_files: dict[str, str] = Field(
        default_factory=dict, description="That folder's files, each with a fingerprint: the "
        "sha256 of a small file, the size (and header digest) of a large one.")
    files: dict[str, str] = Field(
        default_factory=dict, description="Every file that decides the answers besides the "
        "weights (the model's code, configuration, prompt templates, exemplar pool), by path "
        "(relative to the repository where inside it), with its sha256.")

    def key(self) -> str:
        """A short digest of this part, saved on every answer line it made."""
        return _digest(self.model_dump_json())[:16]


class ScoringSpec(BaseModel):
    semantics: str = Field(description="The scoring scheme.")
    bootstrap_resamples: int
    bootstrap_seed: int
    confidence: float
    interval_min_questions: int
    embedding_models: dict[str, str] = Field(default_factory=dict)


class RunSpec(BaseModel):
    """A run's specification: what it answered, with what, scored how, by which version."""

    data: DataSpec
    selection: SelectionSpec
    model: ModelSpec
    scoring: ScoringSpec
    version: str = Field(description="The project's version: its git commit (and whether the "
                         "checkout had uncommitted changes), or the package's version.")
    created_at: str = Field(description="When the run started (UTC).")


def _digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass") if isinstance(text, str)
                          else text).hexdigest()


def file_digest(path: Path) -> str:
    """The sha256 of a file's bytes, or what kept it from being read."""
    sha = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(2**20), b""):
                sha.update(chunk)
    except OSError as err:
        return f"unreadable ({err.strerror or err})"
    return sha.hexdigest()


def _safetensors_header_digest(path: Path) -> str:
    """The digest of a safetensors file's header (names, shapes, dtypes, offsets)."""
    try:
        with path.open("rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            header = handle.read(min(size, HASHED_FILE_BYTES))
    except OSError as err:
        return f"unreadable ({err.strerror or err})"
    return _digest(header)[:16]


def _files_in(folder: Path) -> Iterator[Path]:
    """The regular files below `folder`, links not followed, hidden ones left out."""
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if not name.startswith(".") and path.is_file():
                yield path


def folder_fingerprint(folder: Path) -> dict[str, str]:
    """Each file of a weights folder with a cheap fingerprint: small files by their bytes,
    large ones by size (a safetensors file also by its header)."""
    found: dict[str, str] = {}
    for count, path in enumerate(_files_in(folder)):
        if count == FINGERPRINT_MAX_FILES:
            found["..."] = f"more than {FINGERPRINT_MAX_FILES} files; the rest not read"
            break
        size = path.stat().st_size
        name = path.relative_to(folder).as_posix()
        if path.suffix == ".safetensors":
            found[name] = f"{size} bytes, header {_safetensors_header_digest(path)}"
        elif size <= HASHED_FILE_BYTES:
            found[name] = file_digest(path)[:16]
        else:
            found[name] = f"{size} bytes"
    return found


def model_inputs(cls: type, weights: Path | None, adapter: Path | None = None) -> ModelInputs:
    """What the model class says decides its answers (its optional `answer_inputs`), or only
    the weights it is given."""
    declared = getattr(cls, "answer_inputs", None)
    if callable(declared):
        inputs = declared(weights, adapter=adapter) if adapter is not None else \
            declared(weights)
        if isinstance(inputs, ModelInputs):
            return inputs
    return ModelInputs(weights=Path(weights) if weights is not None else None)


def model_part(config: EvaluationConfig, cls: type[GraderModel]) -> ModelSpec:
    if config.adapter is not None:  # a model that serves none: one line, before reading it
        check_adapter_option(cls, config.model, config.adapter)
    inputs = model_inputs(cls, config.weights, config.adapter)
    files: dict[str, str] = {}
    try:
        source = inspect.getsourcefile(cls)
    except TypeError:  # a class without a source file (built in)
        source = None
    for path in [*([Path(source)] if source else []), *inputs.files]:
        files[shown_path(path)] = file_digest(path)
    weights = inputs.weights
    return ModelSpec(
        spec=config.model, model_class=f"{cls.__module__}:{cls.__qualname__}",
        weights=str(Path(weights).resolve()) if weights is not None else None,
        adapter=shown_path(config.adapter) if config.adapter is not None else None,
        weights_files=folder_fingerprint(Path(weights)) if weights is not None
        and Path(weights).is_dir() else {},
        files=files)


def questions_digest(questions: list[Question]) -> str:
    content = [q.fields() for q in questions]
    return _digest(json.dumps(content, sort_keys=True, ensure_ascii=True))


def scoring_part(scoring: ScoringConfig) -> ScoringSpec:
    return ScoringSpec(
        semantics=scoring.semantics or "shopbench",
        bootstrap_resamples=scoring.bootstrap_resamples,
        bootstrap_seed=scoring.bootstrap_seed, confidence=scoring.confidence,
        interval_min_questions=scoring.interval_min_questions,
        embedding_models={name: str(Path(path).resolve())
                          for name, path in sorted(scoring.embedding_models.items())})


def project_version() -> str:
    """The git commit of the checkout (noting uncommitted changes to tracked files), or the
    installed package's version where there is no git."""
    try:
        commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10)
        changed = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain",
                                  "--untracked-files=no"], capture_output=True, text=True,
                                 timeout=30)
        if commit.returncode == 0 and changed.returncode == 0:
            dirty = " with uncommitted changes" if changed.stdout.strip() else ""
            return f"git {commit.stdout.strip()[:12]}{dirty}"
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        return f"shopbench-runtime {importlib.metadata.version('shopbench-runtime')}"
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def run_spec(config: EvaluationConfig, cls: type[GraderModel],
             questions: list[Question]) -> RunSpec:
    """This run's specification (the files that decide the answers read and digested now)."""
    return RunSpec(
        data=DataSpec(files=[str(Path(p).resolve()) for p in config.data],
                      questions=len(questions), sha256=questions_digest(questions)),
        selection=SelectionSpec(limit=config.limit, tracks=list(config.tracks),
                                tasks=list(config.tasks), task_types=list(config.task_types)),
        model=model_part(config, cls),
        scoring=scoring_part(config.scoring),
        version=project_version(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def write_spec(out: Path, spec: RunSpec) -> None:
    """spec.json in the run's folder, replaced at once (a temporary file, then a rename)."""
    target = out / SPEC_FILE
    tmp = out / f".{SPEC_FILE}.{os.getpid()}.tmp"
    try:
        tmp.write_text(spec.model_dump_json(indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def read_spec(out: Path) -> RunSpec | None:
    """The spec.json of a run folder, where it holds one this version reads."""
    try:
        return RunSpec.model_validate_json((out / SPEC_FILE).read_bytes())
    except (OSError, ValueError, ValidationError):
        return None


def _changed_files(before: dict[str, str], now: dict[str, str]) -> list[str]:
    return sorted(name for name in {*before, *now} if before.get(name) != now.get(name))


def model_differences(before: ModelSpec, now: ModelSpec) -> list[str]:
    """How the model part changed, in words ("prompts/system.txt changed")."""
    if before.model_class != now.model_class:  # its weights and files follow from it
        return [f"another model ({before.spec} → {now.spec})"]
    found = []
    if before.spec != now.spec:
        found.append(f"the model was named {before.spec}, now {now.spec}")
    if before.weights != now.weights:
        found.append(f"other weights ({before.weights} → {now.weights})")
    elif before.weights_files != now.weights_files:
        changed = _changed_files(before.weights_files, now.weights_files)
        found.append(f"the weights in {now.weights} changed ({', '.join(changed[:5])})")
    for name in _changed_files(before.files, now.files):
        if name not in now.files:
            found.append(f"{name} is no longer read")
        elif name not in before.files:
            found.append(f"{name} is read now and was not then")
        else:
            found.append(f"{name} changed")
    return found


def differences(before: RunSpec, now: RunSpec) -> list[str]:
    """How `now` differs from `before`, in words, what decides the answers first; empty when
    they describe the same run (the version and the start time are not compared)."""
    found = model_differences(before.model, now.model)
    if before.data.sha256 != now.data.sha256 and (before.data.files != now.data.files
                                                   or before.selection == now.selection):
        found.append(f"other questions ({before.data.questions} from "
                     f"{', '.join(Path(f).name for f in before.data.files)} → "
                     f"{now.data.questions} from "
                     f"{', '.join(Path(f).name for f in now.data.files)})")
    if before.selection != now.selection:
        found.append(f"another selection ({before.selection.describe()} → "
                     f"{now.selection.describe()})")
    if before.scoring != now.scoring:
        changed = [name for name in ScoringSpec.model_fields
                   if getattr(before.scoring, name) != getattr(now.scoring, name)]
        found.append(f"other scoring settings ({', '.join(changed)}: "
                     + "; ".join(f"{getattr(before.scoring, n)} → {getattr(now.scoring, n)}"
                                 for n in changed) + ")")
    return found
