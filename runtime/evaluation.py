"""Local evaluation: call a model the way the grader does, save every answer, score, report.

Owns the run loop. Questions are grouped by task type (in order of first appearance) and sent in
batches of `get_batch_size()`, asked before every batch. Each reply is checked, and its lines
are appended to `predictions.jsonl` (runtime/predictions.py) as soon as the batch is answered,
so a run killed at any moment loses at most the batch in flight; `resume` reuses every saved
answer and asks the model only for the rest. Scores are filled in once all answers exist,
because embedding metrics are scored in one batch per metric.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from runtime.competition import MAX_BATCH_SIZE, MIN_BATCH_SIZE
from runtime.config import EvaluationConfig
from runtime.data import DataSet, Question, load_questions
from runtime.predictions import PREDICTIONS_FILE, OutputDirError, Predictions, prediction_line
from runtime.records import RunReport, Usage, batch_records, reporting
from runtime.report import RunInfo, Timing, write_reports
from runtime.scoring import Scores, check_metric_models, score_answers

MODEL_ALIASES: dict[str, str] = {
    "UserModel": "models.user_config:UserModel",
    "dummy": "models.dummy_model:DummyModel",
    "baseline": "models.baseline_model:BaselineModel",
    "vllm": "models.vllm_model:VLLMShopModel",
}


class ModelReplyError(RuntimeError):
    """The model broke the interface: wrong batch size, wrong number or type of answers."""


@dataclass
class Batch:
    index: int
    task_type: str
    is_multiple_choice: bool
    questions: list[Question]


@dataclass
class GenerationStats:
    model_s: float = 0.0
    load_s: float = 0.0
    asked_rows: int = 0
    usage: Usage | None = None  # None when the model reports no records
    report: RunReport | None = None


def resolve_model_class(spec: str) -> type:
    """`module:Class`, or a short name from MODEL_ALIASES."""
    target = MODEL_ALIASES.get(spec, spec)
    if ":" not in target:
        raise ValueError(
            f"unknown model {spec!r}: use module:Class or one of {', '.join(MODEL_ALIASES)}"
        )
    module_name, class_name = target.split(":", 1)
    module = importlib.import_module(module_name)
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ValueError(f"module {module_name!r} has no {class_name!r}") from None


def build_model(spec: str, weights: Path | None = None) -> Any:
    cls = resolve_model_class(spec)
    return cls(weights=weights) if weights is not None else cls()


def batches_as_grader(questions: list[Question], model: Any) -> Iterator[Batch]:
    """Group by task type (first-appearance order), then batches of the model's batch size."""
    groups: dict[tuple[str, bool], list[Question]] = {}
    for q in questions:
        groups.setdefault((q.task_type or "", q.is_multiple_choice), []).append(q)
    index = 0
    for (task_type, is_mc), members in groups.items():
        start = 0
        while start < len(members):
            size = model.get_batch_size()
            if (not isinstance(size, int) or isinstance(size, bool)
                    or not MIN_BATCH_SIZE <= size <= MAX_BATCH_SIZE):
                raise ModelReplyError(f"get_batch_size() returned {size!r}; it must be "
                                      f"{MIN_BATCH_SIZE} to {MAX_BATCH_SIZE}")
            yield Batch(index, task_type, is_mc, members[start : start + size])
            index += 1
            start += size


def check_reply(reply: Any, batch: Batch) -> list[str]:
    where = (
        f"batch {batch.index} (task type {batch.task_type}, rows "
        f"{batch.questions[0].row}-{batch.questions[-1].row})"
    )
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


def generate_answers(
    model: Any,
    questions: list[Question],
    predictions: Predictions,
    progress: bool,
) -> GenerationStats:
    """Ask `model` for every question, appending each answered batch to `predictions`."""
    stats = GenerationStats()
    reporter = reporting(model)
    bar = tqdm(total=len(questions), desc="answering", unit="q", disable=not progress,
               file=sys.stderr)
    for batch in batches_as_grader(questions, model):
        prompts = [q.input_field for q in batch.questions]
        started = time.perf_counter()
        try:
            reply = model.batch_predict({"prompt": prompts}, batch.is_multiple_choice)
        except SystemExit as exit_:
            # The grader would get no answers either; say so rather than end with "success".
            raise ModelReplyError(
                f"the model called sys.exit({exit_.code}) in batch_predict instead of returning "
                f"answers; the {len(predictions.by_row)} answers saved before are kept: fix the "
                "model, then pass --resume") from exit_
        stats.model_s += time.perf_counter() - started
        answers = check_reply(reply, batch)
        records = batch_records(reporter, len(answers))
        for record in records:
            if record is not None:
                stats.usage = stats.usage or Usage()
                stats.usage.add(record)
        predictions.append([prediction_line(q, answer, record) for q, answer, record
                            in zip(batch.questions, answers, records, strict=True)])
        stats.asked_rows += len(answers)
        bar.update(len(answers))
    bar.close()
    if reporter is not None:
        stats.report = reporter.run_report()
    return stats


def prepare_output_dir(config: EvaluationConfig, questions: list[Question]) -> Predictions:
    """Create the output directory; return its saved answers to reuse (resume) or a fresh file."""
    out = config.resolved_output_dir()
    out.mkdir(parents=True, exist_ok=True)
    path = out / PREDICTIONS_FILE
    has_saved = path.is_file() and path.stat().st_size > 0
    if has_saved and not (config.resume or config.overwrite):
        raise OutputDirError(
            f"{out} already holds saved answers ({path.name}). Pass --resume to reuse them and "
            "answer only the rest, --overwrite to discard them, or choose another --output-dir."
        )
    if config.overwrite or not has_saved:
        return Predictions.empty(path)
    saved = Predictions.read(path, questions)
    # Rewrite the file cleanly so a line cut short by the interruption cannot merge with the
    # next one; every saved line, also rows outside this run's --limit, is kept.
    saved.rewrite()
    return saved


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _load_data(path: Path, config: EvaluationConfig) -> tuple[DataSet, list[Question]]:
    """Load the data once and say, before any answer is generated, what cannot be scored
    (or stop, with --strict)."""
    dataset = load_questions(path, skip_invalid=config.skip_invalid)
    for invalid in dataset.skipped:
        print(f"skipped invalid row: {invalid.message}", file=sys.stderr)
    questions = dataset.questions[: config.limit] if config.limit else dataset.questions
    for problem in check_metric_models(questions, config.scoring).values():
        print(f"warning: {problem} These tasks are reported as unscored.", file=sys.stderr)
    return dataset, questions


def _score_into(predictions: Predictions, questions: list[Question],
                config: EvaluationConfig, write_back: bool = True) -> tuple[Scores, float]:
    """Score the saved answers; with `write_back`, write each row's parsed answer and score
    into the file (only into a file this call wrote)."""
    started = time.perf_counter()
    scores = score_answers(questions, predictions.answers(), config.scoring)
    scoring_s = time.perf_counter() - started
    if write_back:
        predictions.finalise({row: (s.parsed, s.score) for row, s in scores.rows.items()})
    return scores, scoring_s


def _run_info(dataset: DataSet, questions: list[Question], started_at: str,
              **fields: Any) -> RunInfo:
    return RunInfo(
        **fields,
        num_questions=len(questions),
        skipped_invalid_rows=[s.message for s in dataset.skipped],
        started_at=started_at,
        finished_at=_now(),
    )


def evaluate(config: EvaluationConfig, model: Any = None) -> dict[str, Any]:
    """Run a whole local evaluation; returns the results document that was written.

    `model` is an already built model to use instead of building `config.model`."""
    started_at, started = _now(), time.perf_counter()
    dataset, questions = _load_data(config.data, config)
    predictions = prepare_output_dir(config, questions)
    resumed_rows = len(predictions.by_row)
    pending = [q for q in questions if q.row not in predictions.by_row]
    stats = GenerationStats()
    if pending:
        load_started = time.perf_counter()
        if model is None:
            model = build_model(config.model, config.weights)
        stats_load = time.perf_counter() - load_started
        stats = generate_answers(model, pending, predictions, config.progress)
        stats.load_s = stats_load

    scores, scoring_s = _score_into(predictions, questions, config)
    report = stats.report
    timing = Timing(
        total_s=round(time.perf_counter() - started, 3),
        model_s=round(stats.load_s + stats.model_s, 3),
        model_load_s=round(stats.load_s, 3),
        generation_s=round(stats.model_s, 3),
        scoring_s=round(scoring_s, 3),
        engine_load_s=report.engine_load_s if report else None,
    )
    run = _run_info(dataset, questions, started_at, model=config.model,
                    weights=str(config.weights) if config.weights else None,
                    model_dir=report.model_dir if report else None,
                    data=str(config.data), resumed_rows=resumed_rows,
                    asked_rows=stats.asked_rows,
                    guard_events=report.guard_events if report else None)
    return write_reports(config.resolved_output_dir(), scores, timing, stats.usage, run)


def score_saved(
    data: Path, predictions: Path, output_dir: Path, config: EvaluationConfig
) -> dict[str, Any]:
    """Re-score saved answers without a model and write the same files.

    Saved answers are never replaced: the predictions are copied into `output_dir` only where it
    holds none; scored where they lie, they are read and left as they are."""
    started_at, started = _now(), time.perf_counter()
    dataset, questions = _load_data(data, config)
    if not predictions.is_file():
        raise OutputDirError(f"{predictions} is not a file: point --predictions at a "
                             f"{PREDICTIONS_FILE} written by local_evaluation.py")
    saved = Predictions.read_any(predictions, questions)
    if not saved.by_row:
        raise OutputDirError(f"{predictions}: no line answers a question of {data} (a line "
                             "needs row, input_field and model_output_str): check "
                             "--predictions and --data")
    missing = len(questions) - len(saved.by_row)
    if missing:
        print(f"warning: {missing} questions have no saved answer and are not scored",
              file=sys.stderr)
    target = output_dir / PREDICTIONS_FILE
    in_place = target.exists() and target.resolve() == predictions.resolve()
    if target.exists() and not in_place:
        raise OutputDirError(f"{output_dir} already holds saved answers ({PREDICTIONS_FILE}): "
                             "score into another --output-dir")
    if not in_place:
        output_dir.mkdir(parents=True, exist_ok=True)
        saved = saved.copy_to(target)
    scores, scoring_s = _score_into(saved, questions, config, write_back=not in_place)
    timing = Timing(total_s=round(time.perf_counter() - started, 3), model_s=0.0,
                    scoring_s=round(scoring_s, 3))
    run = _run_info(dataset, questions, started_at, model=None, predictions=str(predictions),
                    data=str(data), resumed_rows=len(saved.by_row), asked_rows=0)
    return write_reports(output_dir, scores, timing, None, run)
