"""Local evaluation: call a model the way the grader does, save every answer, score, report.

Owns the run loop. Questions are grouped by task type (in order of first appearance) and sent in
batches of `get_batch_size()`, asked before every batch. Each reply is checked, and its lines
are appended to `predictions.jsonl` (predictions.py) as soon as the batch is answered, so a
run killed at any moment loses at most the batch in flight; `resume` reuses every saved
answer and asks the model only for the rest. Scores are filled in once all answers exist,
because embedding metrics are scored in one batch per metric.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from runtime.common.records import AnswerRecord, RunReport, Usage, batch_records, reporting
from runtime.common.settings import ConfigError
from runtime.grading.cluster import Cluster, ModelFailed, ReplicaLost, check_cluster_address
from runtime.grading.config import EvaluationConfig
from runtime.grading.data_paths import data_label, load_data
from runtime.grading.grader import (
    MODEL_ALIASES,
    Batch,
    GraderModel,
    ModelReplyError,
    ask,
    batches_as_grader,
    build_model,
    check_adapter_option,
    check_reply,
    check_weights_option,
    grader_limit_s,
    model_code_error,
    model_spec,
    resolve_model_class,
    warn_if_over_time,
)
from runtime.grading.predictions import (
    PREDICTIONS_FILE,
    AnsweredBy,
    OutputDirError,
    PredictionLine,
    Predictions,
    SpecChanged,
    holding_output_dir,
    prediction_line,
    refuse_a_running_folder,
    remove_if_empty,
)
from runtime.grading.questions import DataSet, Question, select_questions
from runtime.grading.report import table_lines, write_reports, written_line
from runtime.grading.results import (
    ReplicaStats,
    Rescoring,
    Results,
    RunInfo,
    SlowBatch,
    Timing,
    read_results,
)
from runtime.grading.run_files import VIEW_FILE
from runtime.grading.run_spec import (
    RunSpec,
    differences,
    model_differences,
    read_spec,
    run_spec,
    scoring_part,
    write_spec,
)
from runtime.grading.schemes import scheme_of
from runtime.grading.scoring import Scores, check_metric_models, score_answers
from runtime.grading.view import write_page

log = logging.getLogger(__name__)

class Interrupted(KeyboardInterrupt):
    """A run stopped by KeyboardInterrupt: a Ctrl-C, or the model's own code raising it. The
    answers saved before it are kept; `saved` is how many of them a `--resume` would reuse,
    counted from the file once the interruption is handled (None where that failed)."""

    def __init__(self, where: str, saved: int | None = None) -> None:
        super().__init__(f"interrupted in {where}")
        self.saved = saved
        self.where = where


# How many answers a --resume of this run would reuse, read from the file each time it is asked.
SavedCount = Callable[[], int]


@dataclass
class GenerationStats:
    model_s: float = 0.0
    load_s: float = 0.0
    asked_rows: int = 0
    usage: Usage | None = None  # None when the model reports no records
    report: RunReport | None = None
    slow_batches: list[SlowBatch] = field(default_factory=list)
    replicas: dict[int, ReplicaStats] = field(default_factory=dict)  # cluster runs


def _slow_batch(batch: Batch, seconds: float) -> SlowBatch | None:
    """The batch, if it took longer than the grader allows it."""
    if not warn_if_over_time(batch, seconds):
        return None
    return SlowBatch(batch=batch.index, task_type=batch.task_type,
                     rows=[q.row for q in batch.questions], seconds=round(seconds, 3),
                     limit_s=grader_limit_s(batch))


@dataclass
class Reply:
    """One batch's reply as the run loop takes it, from this process or from a replica."""

    batch: Batch
    reply: Any
    records: list[AnswerRecord | None]
    seconds: float
    replica: int | None = None


def _replies_in_process(model: GraderModel, questions: list[Question], saved: SavedCount,
                        config: EvaluationConfig) -> Iterator[Reply]:
    """Ask the model in this process, batch by batch, as the grader does."""
    reporter = reporting(model)
    batches = batches_as_grader(questions, model)
    while True:
        try:
            batch = next(batches, None)
        except ModelReplyError as err:
            raise ModelReplyError(f"{err}; {_kept(saved)}") from err
        if batch is None:
            return
        started = time.perf_counter()
        try:
            reply = ask(model, batch, config.batch_timeout_s)
        except SystemExit as exit_:
            # The grader would get no answers either; say so rather than end with "success".
            raise ModelReplyError(
                f"the model called sys.exit({exit_.code}) in batch_predict instead of returning "
                f"answers; {_kept(saved)}") from exit_
        except KeyboardInterrupt as err:
            raise Interrupted(batch.where()) from err
        except ModelReplyError:
            raise
        except Exception as err:
            failure = model_code_error(config.model, f"batch_predict, {batch.where()}", err)
            raise ModelReplyError(f"{failure}; {_kept(saved)}") from err
        count = len(reply) if isinstance(reply, list) else 0
        yield Reply(batch, reply, batch_records(reporter, count), time.perf_counter() - started)


class _ReplicaBatchSize:
    """The grader's question before every batch, put to the cluster's first replica."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def get_batch_size(self) -> Any:
        return self.cluster.batch_size()


def _replies_on_cluster(cluster: Cluster, questions: list[Question], saved: SavedCount,
                        config: EvaluationConfig) -> Iterator[Reply]:
    """The same batches, answered by the cluster's replicas as they become free."""
    asked: dict[int, Batch] = {}

    def work() -> Iterator[tuple[int, list[str], bool]]:
        for batch in batches_as_grader(questions, _ReplicaBatchSize(cluster)):
            asked[batch.index] = batch
            yield batch.index, [q.input_field for q in batch.questions], batch.is_multiple_choice

    try:
        for reply in cluster.answers(work(), config.batch_timeout_s):
            yield Reply(asked.pop(reply.batch), reply.reply, reply.records, reply.seconds,
                        reply.replica)
    except (ModelFailed, ReplicaLost) as err:
        raise ModelReplyError(f"on the cluster: {err}; {_kept(saved)}") from err
    except KeyboardInterrupt as err:
        raise Interrupted("the cluster run") from err


def generate_answers(
    model: GraderModel | None,
    questions: list[Question],
    predictions: Predictions,
    config: EvaluationConfig,
    by: AnsweredBy,
    saved: SavedCount,
    cluster: Cluster | None = None,
    on_first_batch: Callable[[], None] | None = None,
) -> GenerationStats:
    """Ask `model` (or the `cluster`'s replicas of it) for every question, appending each
    answered batch to `predictions` as made `by` this run: this process is the one writer
    either way. `saved` counts what is on disk, for the messages."""
    stats = GenerationStats()
    bar = tqdm(total=len(questions), desc="answering", unit="q", disable=not config.progress,
               file=sys.stderr)
    started = time.perf_counter()
    if cluster is not None:
        replies = _replies_on_cluster(cluster, questions, saved, config)
    else:
        assert model is not None, "a model or a cluster answers"
        replies = _replies_in_process(model, questions, saved, config)
    for reply in replies:
        batch = reply.batch
        if cluster is None:
            stats.model_s += reply.seconds
        answers = check_reply(reply.reply, batch)
        for record in reply.records:
            if record is not None:
                stats.usage = stats.usage or Usage()
                stats.usage.add(record)
        # A Ctrl-C while a batch is written: the lines before it are whole, a torn one is
        # dropped on resume; the count given is read from the file.
        first = stats.asked_rows == 0
        try:
            predictions.append_batch([
                prediction_line(q, answer, record, by, reply.replica)
                for q, answer, record in zip(batch.questions, answers, reply.records,
                                             strict=True)])
        except KeyboardInterrupt as err:
            raise Interrupted(batch.where()) from err
        if first and on_first_batch is not None:
            on_first_batch()  # the run's first answers are on disk: say what made them
        slow = _slow_batch(batch, reply.seconds)
        if slow is not None:
            stats.slow_batches.append(slow)
        if reply.replica is not None:
            stats.replicas.setdefault(reply.replica, ReplicaStats(replica=reply.replica)) \
                .add(len(answers), reply.seconds)
        stats.asked_rows += len(answers)
        bar.update(len(answers))
    bar.close()
    if cluster is not None:
        stats.model_s = time.perf_counter() - started  # wall time: the replicas overlap
        stats.report = _merged(cluster.run_reports())
    else:
        reporter = reporting(model)
        if reporter is not None:
            stats.report = reporter.run_report()
    return stats


def _merged(reports: list[RunReport | None]) -> RunReport | None:
    """The replicas' reports as one: the first's engine and model, every replica's guard
    events marked with its replica (the guard's level is per replica)."""
    present = [(index, r) for index, r in enumerate(reports) if r is not None]
    if not present:
        return None
    events = [{**event, "replica": index} for index, r in present for event in r.guard_events]
    first = present[0][1]
    return RunReport(engine_load_s=first.engine_load_s, model_dir=first.model_dir,
                     guard_events=events)


def _kept(saved: SavedCount) -> str:
    count = _count(saved)
    kept = "the answers saved before are kept" if count is None else \
        "the 1 answer saved before is kept" if count == 1 else \
        f"the {count} answers saved before are kept"
    return f"{kept}: fix the model, then pass --resume"


def _count(saved: SavedCount) -> int | None:
    """The count of saved answers, or None where the file cannot be read now."""
    try:
        return saved()
    except (OutputDirError, OSError):
        return None


def resumable_answers(path: Path, questions: list[Question], by: AnsweredBy) -> int:
    """How many of `questions` a `--resume` would find answered in `path` now, read from the
    file as the resume reads it: the one source of every count of saved answers a message
    gives, whenever the message is made."""
    try:
        return len(Predictions.read(path, questions, by, same_model=same_model_family,
                                    quiet=True).by_row)
    except SpecChanged:
        return 0


def same_model_family(saved: str, current: str) -> bool:
    """Whether answers saved by model `saved` may be resumed by model `current`: the same
    class, or one derived from the other (UserModel from VLLMShopModel). The saved name comes
    from a file: it is compared as text, and imported only when it names one of the models of
    the short names (MODEL_ALIASES), never a module the file chose."""
    if saved == current:
        return True
    if saved not in MODEL_ALIASES.values():
        return False
    try:
        first, second = resolve_model_class(saved), resolve_model_class(current)
    except ConfigError:
        return False
    return issubclass(first, second) or issubclass(second, first)


def answered_by(config: EvaluationConfig, spec: RunSpec | None = None) -> AnsweredBy:
    """The model, weights and model specification of this run, as saved beside each answer."""
    weights = str(Path(config.weights).resolve()) if config.weights else None
    return AnsweredBy(model_spec(config.model), weights,
                      spec.model.key() if spec is not None else None)


def prepare_output_dir(config: EvaluationConfig, questions: list[Question], by: AnsweredBy,
                       earlier: Results | None, spec: RunSpec) -> Predictions | Results:
    """The run's saved answers to reuse (resume), or none (a new file, or with --overwrite one
    that the first answered batch replaces); or, when the folder holds a finished run of this
    very specification and neither was asked, that run's results (replay). The saved answers
    are read once; the folder exists and this process holds it."""
    out = config.resolved_output_dir()
    path = out / PREDICTIONS_FILE
    if config.overwrite or not (path.is_file() and path.stat().st_size > 0):
        return Predictions.empty(path)
    saved_spec = (earlier.spec if earlier is not None else None) or read_spec(out)
    try:
        saved: Predictions | None = Predictions.read(path, questions, by,
                                                     same_model=same_model_family)
    except SpecChanged as err:
        raise OutputDirError(_made_differently(out, err, saved_spec, spec)) from None
    except OutputDirError:
        if config.resume:
            raise
        saved = None  # another model's, or other data: not this run's answers
    if not config.resume:
        if (saved is not None and earlier is not None and earlier.spec is not None
                and not earlier.run.partial and not differences(earlier.spec, spec)
                and saved.answers_all(questions) and not saved.outside_rows):
            return earlier
        raise OutputDirError(_not_this_run(out, earlier, spec, saved is not None))
    assert saved is not None
    _check_resumed_selection(out, saved, saved_spec, spec)
    if saved.unspecified:
        print(f"note: {saved.unspecified} saved answers were written by an earlier version, "
              "which recorded no run specification: the configuration and prompts that made "
              "them cannot be checked (only the model and weights were)", file=sys.stderr)
    saved.drop_cut_line()
    return saved


def _made_differently(out: Path, err: SpecChanged, saved_spec: RunSpec | None,
                      spec: RunSpec) -> str:
    """Saved answers made under another model specification, in one line naming what changed
    where the folder's specification says."""
    if saved_spec is not None and saved_spec.model.key() == err.saved_key:
        what = "; ".join(model_differences(saved_spec.model, spec.model)) or \
            "the model specification changed"
    else:
        what = "the model, its weights, its configuration or its prompts changed"
    return (f"{out}: {what} since these answers were made: pass --overwrite to answer anew "
            "with what is there now, or choose another --output-dir")


def _not_this_run(out: Path, earlier: Results | None, spec: RunSpec, readable: bool) -> str:
    """Why the folder's saved answers are not replayed, and the ways on, in one line."""
    ways = "Pass --resume to reuse them and answer only the rest, --overwrite to discard them, " \
        "or choose another --output-dir."
    if earlier is None or earlier.run.partial or not readable:
        return f"{out} already holds saved answers ({PREDICTIONS_FILE}). {ways}"
    if earlier.spec is None:
        return (f"{out} holds a run of an earlier version, which recorded no run "
                "specification, so it cannot be replayed as this run: pass --resume to reuse "
                "its answers (their configuration and prompts cannot be checked), --overwrite "
                "to answer anew, or choose another --output-dir")
    changed = differences(earlier.spec, spec)
    if not changed:
        return f"{out} already holds saved answers ({PREDICTIONS_FILE}). {ways}"
    if model_differences(earlier.spec.model, spec.model):
        ways = "pass --overwrite to answer anew, or choose another --output-dir"
    elif earlier.spec.scoring != spec.scoring and earlier.spec.data == spec.data:
        ways = ("pass --resume to score these answers anew, --overwrite to answer anew, or "
                "choose another --output-dir")
    else:
        ways = ("pass --resume with a selection that holds every saved answer to answer the "
                "rest, --overwrite to answer anew, or choose another --output-dir")
    return f"{out}: {'; '.join(changed)} since these answers were made: {ways}"


def _check_resumed_selection(out: Path, saved: Predictions, saved_spec: RunSpec | None,
                             spec: RunSpec) -> None:
    """A resume keeps every saved answer in its run: a selection that leaves some of them out
    would rewrite the saved run's summary over fewer questions, so it is refused; a wider one
    is said."""
    outside = saved.outside_rows
    if outside:
        was = f" ({saved_spec.selection.describe()})" if saved_spec is not None else ""
        raise OutputDirError(
            f"{out} holds answers to {len(outside)} questions outside this selection "
            f"({spec.selection.describe()}; the saved run's was{was or ' wider'}): resume "
            "with the saved run's selection or a wider one, or choose another --output-dir")
    if saved_spec is not None and saved_spec.data.sha256 != spec.data.sha256:
        print(f"note: widening the saved run from {saved_spec.data.questions} to "
              f"{spec.data.questions} questions ({saved_spec.selection.describe()} → "
              f"{spec.selection.describe()})", file=sys.stderr)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _load_data(paths: list[Path], config: EvaluationConfig
               ) -> tuple[DataSet, list[Question], EvaluationConfig]:
    """Load the data once and select this run's questions; the configuration with its scoring
    semantics settled (the data's benchmark's, unless given), said on the first line."""
    dataset = load_data(paths, skip_invalid=config.skip_invalid)
    for note in dataset.notes:
        print(f"note: {note}", file=sys.stderr)
    for invalid in dataset.skipped:
        print(f"skipped invalid row: {invalid.message}", file=sys.stderr)
    questions = select_questions(dataset.questions, tracks=config.tracks, tasks=config.tasks,
                                 task_types=config.task_types, limit=config.limit)
    semantics = config.scoring.semantics or dataset.benchmark
    chosen = "as asked" if config.scoring.semantics else "the default for these files"
    print(f"scoring: {semantics} ({scheme_of(semantics).words}; {chosen})")
    scoring = config.scoring.model_copy(update={"semantics": semantics})
    return dataset, questions, config.model_copy(update={"scoring": scoring})


def _say_what_cannot_be_scored(questions: list[Question], config: EvaluationConfig) -> None:
    """Before any answer is generated: the tasks that will be unscored (or stop, --strict)."""
    for problem in check_metric_models(questions, config.scoring).values():
        print(f"warning: {problem} These tasks are reported as unscored.", file=sys.stderr)


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


def _run_info(dataset: DataSet, questions: list[Question], answered: int, started_at: str,
              **fields: Any) -> RunInfo:
    return RunInfo(
        **fields,
        num_questions=len(questions),
        answered=answered,
        missing=len(questions) - answered,
        partial=answered < len(questions),
        skipped_invalid_rows=[s.message for s in dataset.skipped],
        started_at=started_at,
        finished_at=_now(),
    )


def evaluate(config: EvaluationConfig, model: GraderModel | None = None) -> Results:
    """Run a whole local evaluation; returns the results that were written.

    `model` is an already built model to use instead of building `config.model`. The model's
    spec, its weights, the data, the run's specification and the output folder are all
    checked before anything in the folder changes."""
    started_at, started = _now(), time.perf_counter()
    cls = type(model) if model is not None else resolve_model_class(config.model)
    if model is None:
        check_weights_option(cls, config.model, config.weights)
        check_adapter_option(cls, config.model, config.adapter)
    if config.ray is not None:
        check_cluster_address(config.ray)  # before anything is read or written
    dataset, questions, config = _load_data(config.data, config)
    spec = run_spec(config, cls, questions)
    by = answered_by(config, spec)
    out = config.resolved_output_dir()
    with holding_output_dir(out):
        earlier = read_results(out)
        check_metric_models(questions, config.scoring)  # --strict: stop before anything
        prepared = prepare_output_dir(config, questions, by, earlier, spec)
        if isinstance(prepared, Results):
            return _replayed(out, prepared, spec)
        predictions = prepared
        _say_what_cannot_be_scored(questions, config)

        def saved() -> int:
            return resumable_answers(predictions.path, questions, by)

        try:
            return _answer_and_score(config, model, dataset, questions, predictions, spec, by,
                                     saved, earlier, started_at, started)
        except KeyboardInterrupt as err:
            predictions.remove_if_unanswered()
            where = err.where if isinstance(err, Interrupted) else "the run"
            raise Interrupted(where, _count(saved)) from err
        except BaseException:
            predictions.remove_if_unanswered()
            raise


def _replayed(out: Path, results: Results, spec: RunSpec) -> Results:
    """A finished run of this very specification: its results again, nothing asked."""
    print("\n".join(table_lines(results)))
    if results.spec is not None and results.spec.version != spec.version:
        print(f"note: these answers were made by {results.spec.version}; this checkout is "
              f"{spec.version}", file=sys.stderr)
    print(f"note: {out} already holds this model's answers to every question, scored "
          f"(finished {results.run.finished_at}), made with the same model, weights, "
          "configuration, prompts, data and scoring: its results again, nothing asked. Pass "
          "--overwrite to answer anew.")
    return results


def _answer_and_score(config: EvaluationConfig, model: GraderModel | None, dataset: DataSet,
                      questions: list[Question], predictions: Predictions, spec: RunSpec,
                      by: AnsweredBy, saved: SavedCount, earlier: Results | None,
                      started_at: str, started: float) -> Results:
    """Answer what is not saved, score every saved answer, write the reports."""
    out = config.resolved_output_dir()
    loading_s = time.perf_counter() - started
    resumed_rows = len(predictions.by_row)
    pending = [q for q in questions if q.row not in predictions.by_row]
    # spec.json is written with the first batch written (before, a failed run leaves nothing
    # behind; an earlier run's answers keep theirs until then), and again at the end.
    stats = GenerationStats()
    if pending and config.ray is not None:
        stats = _generate_on_cluster(config, pending, predictions, by, saved, spec)
    elif pending:
        load_started = time.perf_counter()
        if model is None:
            model = build_model(config.model, config.weights, config.adapter)
        stats_load = time.perf_counter() - load_started
        stats = generate_answers(model, pending, predictions, config, by, saved,
                                 on_first_batch=lambda: write_spec(out, spec))
        stats.load_s = stats_load
    scores, scoring_s = _score_into(predictions, questions, config)
    write_spec(out, spec)
    report = stats.report
    timing = Timing(
        total_s=round(time.perf_counter() - started, 3),
        loading_s=round(loading_s, 3),
        model_s=round(stats.load_s + stats.model_s, 3),
        model_load_s=round(stats.load_s, 3),
        generation_s=round(stats.model_s, 3),
        scoring_s=round(scoring_s, 3),
        engine_load_s=report.engine_load_s if report else None,
    )
    if not pending and earlier is not None:
        timing = timing.with_answering_of(earlier.timing)
    run = _run_info(dataset, questions, len(predictions.by_row), started_at,
                    model=config.model,
                    weights=str(config.weights) if config.weights else None,
                    model_dir=report.model_dir if report else None,
                    data=data_label(config.data), resumed_rows=resumed_rows,
                    asked_rows=stats.asked_rows,
                    guard_events=report.guard_events if report else None,
                    slow_batches=stats.slow_batches,
                    replicas=config.replicas if config.ray is not None else None,
                    replica_stats=[stats.replicas[i] for i in sorted(stats.replicas)])
    usage = stats.usage
    if usage is None and not pending and earlier is not None:
        usage = earlier.usage  # a resume that asked nothing keeps the run's usage
    return _reported(out, scores, timing, usage, run, questions, predictions.by_row, spec)


def _reported(out: Path, scores: Scores, timing: Timing, usage: Usage | None, run: RunInfo,
              questions: list[Question], saved: dict[int, PredictionLine],
              *more: Any) -> Results:
    """The results, report and chart written and printed, then the page of every answer
    beside them (from the answers in hand: the file is read once a run), and the console's
    last line pointing at both."""
    results = write_reports(out, scores, timing, usage, run, questions, saved, *more)
    write_page([out], out / VIEW_FILE, writing=True, in_hand={out: saved})
    print(written_line(out))
    return results


def _generate_on_cluster(config: EvaluationConfig, pending: list[Question],
                         predictions: Predictions, by: AnsweredBy, saved: SavedCount,
                         spec: RunSpec) -> GenerationStats:
    """Answer on Ray: the replicas built (timed as the model's load), the batches answered,
    the replicas let go however it ends."""
    started = time.perf_counter()
    try:
        cluster = Cluster(config, resolve_model_class(config.model))
    except (ModelFailed, ReplicaLost) as err:
        raise ModelReplyError(f"on the cluster: {err}; {_kept(saved)}") from err
    try:
        load_s = time.perf_counter() - started
        out = config.resolved_output_dir()
        stats = generate_answers(None, pending, predictions, config, by, saved,
                                 cluster=cluster, on_first_batch=lambda: write_spec(out, spec))
        stats.load_s = load_s
        return stats
    finally:
        cluster.close()


def score_saved(
    data: list[Path], predictions: Path, output_dir: Path, config: EvaluationConfig
) -> Results:
    """Re-score saved answers without a model and write the same files.

    Saved answers are never replaced: the predictions are copied into `output_dir` only where it
    holds none; scored where they lie, they are read and left as they are. Where the answers'
    folder holds the run's results, its specification, usage and timings are kept and the
    re-scoring is recorded beside them."""
    started_at = _now()
    dataset, questions, config = _load_data(data, config)
    check_metric_models(questions, config.scoring)  # --strict: stop before anything
    if not predictions.is_file():
        raise OutputDirError(f"{predictions} is not a file: point --predictions at a "
                             f"{PREDICTIONS_FILE} written by local_evaluation.py")
    refuse_a_running_folder(predictions.parent)
    saved = Predictions.read_any(predictions, questions)
    if not saved.by_row:
        raise OutputDirError(f"{predictions}: no line answers a question of "
                             f"{data_label(data)} (a line needs row, input_field and "
                             "model_output_str): check --predictions and --data")
    _say_what_cannot_be_scored(questions, config)
    missing = len(questions) - len(saved.by_row)
    if missing:
        print(f"warning: {missing} questions have no saved answer and are not scored",
              file=sys.stderr)
    target = output_dir / PREDICTIONS_FILE
    in_place = target.exists() and target.resolve() == predictions.resolve()
    if target.exists() and not in_place:
        raise OutputDirError(f"{output_dir} already holds saved answers ({PREDICTIONS_FILE}): "
                             "score into another --output-dir")
    source = read_results(predictions.parent) if predictions.name == PREDICTIONS_FILE else None
    created = not output_dir.exists()
    try:
        return _rescore(dataset, questions, saved, predictions, output_dir, config, source,
                        in_place, started_at, data_label(data))
    except BaseException:
        if created:
            remove_if_empty(output_dir)  # a failure leaves no empty folder behind
        raise


def _rescore(dataset: DataSet, questions: list[Question], saved: Predictions,
             predictions: Path, output_dir: Path, config: EvaluationConfig,
             source: Results | None, in_place: bool, started_at: str,
             data: str) -> Results:
    """Score the saved answers into `output_dir`, keeping the run's record where there is
    one."""
    started = time.perf_counter()
    with holding_output_dir(output_dir):
        if not in_place:
            saved = saved.copy_to(output_dir / PREDICTIONS_FILE)
        scores, scoring_s = _score_into(saved, questions, config, write_back=not in_place)
        rescoring = Rescoring(at=started_at, scoring=str(config.scoring.semantics),
                              predictions=str(predictions.resolve()))
        answered = len(saved.by_row)
        if source is None:
            timing = Timing(total_s=round(time.perf_counter() - started, 3), model_s=0.0,
                            scoring_s=round(scoring_s, 3))
            run = _run_info(dataset, questions, answered, started_at, model=None,
                            predictions=str(predictions), data=data,
                            resumed_rows=answered, asked_rows=0)
            return _reported(output_dir, scores, timing, None, run, questions,
                                 saved.by_row, None, [rescoring])
        # The run's own record stays: what made the answers, their tokens and times.
        timing = source.timing.model_copy(update={"scoring_s": round(scoring_s, 3)})
        run = source.run.model_copy(update={
            "predictions": str(predictions), "data": data,
            "num_questions": len(questions), "answered": answered,
            "missing": len(questions) - answered, "partial": answered < len(questions),
            "skipped_invalid_rows": [s.message for s in dataset.skipped]})
        spec = source.spec.model_copy(update={"scoring": scoring_part(config.scoring)}) \
            if source.spec is not None else None
        return _reported(output_dir, scores, timing, source.usage, run, questions,
                             saved.by_row, spec, [*source.rescorings, rescoring])
