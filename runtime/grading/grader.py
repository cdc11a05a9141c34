"""The grader's protocol, as the KDD Cup grader runs a submission: which class a model spec
names (the short aliases included) and how it is built, the batches the grader cuts (grouped by
task type in order of first appearance, `get_batch_size()` asked before every batch), the
checks on a reply, and the timed call of `batch_predict`.

The evaluation's run loop, the profiler, the checker's smoke run and the benchmarks all call a
model through this module, so that each meets a model exactly as the grader does.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from runtime.common.competition import (
    MAX_BATCH_SIZE,
    MIN_BATCH_SIZE,
    PER_QUESTION_LIMIT_S,
    TaskType,
)
from runtime.common.errors import one_line
from runtime.common.settings import ConfigError
from runtime.grading.questions import Question

log = logging.getLogger(__name__)

MODEL_ALIASES: dict[str, str] = {
    "UserModel": "models.user_config:UserModel",
    "dummy": "models.dummy_model:DummyModel",
    "baseline": "models.baseline_model:BaselineModel",
    "vllm": "models.vllm_model:VLLMShopModel",
    "shopping-mmlu-reference": "models.shopping_mmlu_reference:ShoppingMMLUReference",
}


@runtime_checkable
class GraderModel(Protocol):
    """What the grader calls: the batch size before every batch, then the batch's answers."""

    def get_batch_size(self) -> int: ...

    def batch_predict(self, batch: dict[str, Any], is_multiple_choice: bool) -> list[str]: ...


class ModelReplyError(RuntimeError):
    """The model broke the interface: wrong batch size, wrong number or type of answers, or its
    own code raised (the traceback goes to the log)."""


def model_spec(spec: str) -> str:
    """A model spec as `module:Class`, a short name replaced by what it names."""
    return MODEL_ALIASES.get(spec, spec)


def resolve_model_class(spec: str) -> type[GraderModel]:
    """`module:Class`, or a short name from MODEL_ALIASES: a class with the grader's two
    methods, or one line that says what the spec names instead."""
    target = model_spec(spec)
    module_name, _, class_name = target.partition(":")
    if not (module_name and class_name):
        close = difflib.get_close_matches(spec, MODEL_ALIASES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown model {spec!r}{hint}: use module:Class or one of "
                          f"{', '.join(MODEL_ALIASES)}")
    if module_name.startswith("."):
        raise ConfigError(f"--model {spec}: give the module's full name (models.dummy_model, "
                          "not .dummy_model)")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ConfigError(f"--model {spec}: cannot import {module_name!r} ({err}): check the "
                          "module path, run from the repository root") from err
    # Importing runs the module's own code, whatever it raises.
    except Exception as err:  # noqa: BLE001
        log.info("importing %s failed", module_name, exc_info=True)
        raise ConfigError(f"--model {spec}: importing {module_name!r} raised "
                          f"{type(err).__name__}: {one_line(err)} (the traceback is in the "
                          "log)") from err
    found = getattr(module, class_name, None)
    if found is None:
        raise ConfigError(f"--model {spec}: module {module_name!r} has no {class_name!r}")
    missing = [name for name in ("get_batch_size", "batch_predict")
               if not callable(getattr(found, name, None))]
    if not isinstance(found, type) or missing:
        what = "not a class" if not isinstance(found, type) else f"has no {missing[0]}()"
        raise ConfigError(f"--model {spec}: {module_name}.{class_name} is {what}, not a model: "
                          "name a class with get_batch_size() and batch_predict()")
    return found


def model_code_error(spec: str, where: str, err: BaseException) -> ModelReplyError:
    """The error for an exception the model's own code raised, its traceback to the log."""
    log.info("the model %s raised in %s", spec, where, exc_info=err)
    return ModelReplyError(f"the model {spec} raised {type(err).__name__} in {where}: "
                           f"{one_line(err)} (the traceback is in the log)")


def takes_weights(cls: type) -> bool:
    """Whether the model class is built with a `weights` folder."""
    return "weights" in inspect.signature(cls).parameters


def check_weights_option(cls: type, spec: str, weights: Path | None) -> None:
    """--weights only for a model that takes them, and only a folder that is there."""
    if weights is None:
        return
    if not takes_weights(cls):
        raise ConfigError(f"model {spec!r} takes no weights: drop --weights, or use a model "
                          "that loads them (vllm)")
    if not Path(weights).is_dir():
        raise ConfigError(f"--weights {weights}: no such folder: point it at a model directory "
                          "(config.json, *.safetensors, the tokenizer)")


def check_adapter_option(cls: type, spec: str, adapter: Path | None) -> None:
    """--adapter only for a model that serves one."""
    if adapter is not None and "adapter" not in inspect.signature(cls).parameters:
        raise ConfigError(f"model {spec!r} serves no adapter: drop --adapter, or use a model "
                          "that does (vllm)")


def build_model(spec: str, weights: Path | None = None,
                adapter: Path | None = None) -> GraderModel:
    """The model `spec` names, built as the grader builds it (with `weights` and an
    `adapter` where given)."""
    cls = resolve_model_class(spec)
    check_weights_option(cls, spec, weights)
    check_adapter_option(cls, spec, adapter)
    given: dict[str, Path] = {name: value for name, value in (("weights", weights),
                                                               ("adapter", adapter))
                              if value is not None}
    try:
        return cls(**given)  # type: ignore[call-arg]
    except (ConfigError, OSError):  # already one line that says what to do
        raise
    except Exception as err:
        raise model_code_error(spec, "__init__", err) from err


def model_name(model: object) -> str:
    """A built model's class as `module:Class`."""
    return f"{type(model).__module__}:{type(model).__name__}"


@dataclass
class Batch:
    index: int
    task_type: TaskType
    is_multiple_choice: bool
    questions: list[Question]

    @property
    def prompts(self) -> dict[str, list[str]]:
        """The batch as the grader hands it to `batch_predict`."""
        return {"prompt": [q.input_field for q in self.questions]}

    def where(self) -> str:
        return (f"batch {self.index} (task type {self.task_type}, rows "
                f"{self.questions[0].row}-{self.questions[-1].row})")


class _BatchSizer(Protocol):
    def get_batch_size(self) -> Any: ...


def batches_as_grader(questions: list[Question], model: _BatchSizer) -> Iterator[Batch]:
    """Group by task type (first-appearance order), then batches of the model's batch size,
    asked before every batch."""
    groups: dict[tuple[TaskType, bool], list[Question]] = {}
    for q in questions:
        groups.setdefault((q.labels.task_type, q.is_multiple_choice), []).append(q)
    index = 0
    for (task_type, is_mc), members in groups.items():
        start = 0
        while start < len(members):
            try:
                size = model.get_batch_size()
            except Exception as err:
                raise model_code_error(model_name(model), "get_batch_size()", err) from err
            if (not isinstance(size, int) or isinstance(size, bool)
                    or not MIN_BATCH_SIZE <= size <= MAX_BATCH_SIZE):
                raise ModelReplyError(f"get_batch_size() returned {size!r}; it must be "
                                      f"{MIN_BATCH_SIZE} to {MAX_BATCH_SIZE}")
            yield Batch(index, task_type, is_mc, members[start : start + size])
            index += 1
            start += size


def check_reply(reply: Any, batch: Batch) -> list[str]:
    """The reply as the grader takes it, or a ModelReplyError that says what is wrong."""
    where = batch.where()
    if not isinstance(reply, list):
        raise ModelReplyError(f"{where}: batch_predict returned a {type(reply).__name__}, "
                              "not a list of strings")
    if len(reply) != len(batch.questions):
        raise ModelReplyError(f"{where}: batch_predict returned {len(reply)} answers for "
                              f"{len(batch.questions)} prompts")
    for position, answer in enumerate(reply):
        if not isinstance(answer, str):
            raise ModelReplyError(f"{where}: answer {position} (row "
                                  f"{batch.questions[position].row}) is a "
                                  f"{type(answer).__name__}, not a string")
    return reply


def ask(model: GraderModel, batch: Batch, timeout_s: float | None = None) -> Any:
    """batch_predict as the grader calls it; with `timeout_s`, in a worker thread given up
    after that long (a hung model cannot be stopped from outside, only left behind)."""
    if timeout_s is None:
        return model.batch_predict(batch.prompts, batch.is_multiple_choice)
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["reply"] = model.batch_predict(batch.prompts, batch.is_multiple_choice)
        except BaseException as err:  # noqa: BLE001 - handed to the calling thread as is
            outcome["error"] = err

    worker = threading.Thread(target=call, name=f"batch-{batch.index}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise ModelReplyError(
            f"{batch.where()}: no answer within {timeout_s:g} s (--batch-timeout); the "
            "answers saved before are kept: fix the model or raise --batch-timeout, then pass "
            "--resume")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["reply"]


def grader_limit_s(batch: Batch) -> float:
    """What the grader allows one batch: the per-question limit times its questions."""
    return PER_QUESTION_LIMIT_S * len(batch.questions)


def warn_if_over_time(batch: Batch, seconds: float) -> bool:
    """Whether the batch took longer than the grader allows it, said on stderr when it did."""
    limit_s = grader_limit_s(batch)
    if seconds <= limit_s:
        return False
    print(f"warning: {batch.where()} took {seconds:.1f} s, over the grader's limit of "
          f"{limit_s:g} s ({PER_QUESTION_LIMIT_S:g} s per prompt): the grader would stop the "
          "run here", file=sys.stderr)
    return True
