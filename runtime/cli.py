"""Command lines: `local_evaluation.py` and `python -m runtime <command>`.

Parses arguments into the configuration models and hands over; each error the runtime raises
for bad input is printed as one clear line with a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runtime.budget.estimate import GPUS
from runtime.common.competition import MAX_BATCH_SIZE, PER_QUESTION_LIMIT_S, TASK_TYPES
from runtime.common.embeddings import EmbeddingModelMissing
from runtime.common.paths import ESTIMATED_COUNTS, OUTPUTS_DIR, REPO_ROOT, SAMPLE_DATA
from runtime.common.settings import ConfigError
from runtime.common.shopping_mmlu import SEMANTICS
from runtime.grading.config import EvaluationConfig, load_config
from runtime.grading.evaluation import Interrupted, evaluate, score_saved
from runtime.grading.grader import ModelReplyError
from runtime.grading.predictions import (
    OutputDirError,
    make_output_dir,
    refuse_linked_run_files,
    remove_if_empty,
)
from runtime.grading.questions import DataError
from runtime.grading.scoring import MissingMetricModel
from runtime.logs import LOG_FILE, logs_to
from runtime.tools.model_files import ModelDirError
from runtime.tools.quantize import METHODS

PROFILE_DIR = OUTPUTS_DIR / "profile"

USER_ERRORS = (
    ConfigError,
    DataError,
    EmbeddingModelMissing,
    MissingMetricModel,
    ModelReplyError,
    OutputDirError,
    ModelDirError,
    OSError,
)


def error_line(err: Exception) -> str:
    """An error as one line; a file-system error as `path: what happened`."""
    if isinstance(err, OSError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror}"
    return str(err).strip().replace("\n", " ") or type(err).__name__


def _embedding_model(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError("expected NAME=PATH, e.g. all-MiniLM-L6-v2=/models/x")
    return name, Path(path)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that shows each option's default where it has one worth saying."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        # A switch's default is its absence: "--no-progress (default: True)" misleads.
        switch = isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction)
        if (action.default not in (None, False, argparse.SUPPRESS) and action.option_strings
                and not switch and "%(default)" not in text and "default:" not in text):
            text += " (default: %(default)s)"
        return text


EXAMPLES = """examples:
  python -m runtime score --data DATA --predictions RUN/predictions.jsonl --output-dir NEW
  python -m runtime tasks --data ../shared/data/development.json
  python -m runtime compare outputs/before outputs/after
  python -m runtime view outputs/before outputs/after    # every answer, side by side
  python -m runtime route --data ../shared/data/development.json > routes.jsonl
  python -m runtime profile --sample 60          # projected time per track
  python -m runtime estimate --params 72 --bits 4 --gpus 4
  python -m runtime check --target 4xT4          # will the submission build, load, finish?
"""


def _command(commands: Any, name: str, help: str) -> argparse.ArgumentParser:
    """A `python -m runtime` command, its help shown with its defaults."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, description=help, formatter_class=_HelpFormatter)
    return parser


def _number(kind: Callable[[str], int | float], low: float, high: float,
            above: bool = False) -> Callable[[str], int | float]:
    """An argparse type: a finite number from `low` (or above it) to `high`; anything else is
    the option's one error line, with the range."""
    bounds = f"{'above' if above else 'at least'} {_plain(low)} and at most {_plain(high)}"
    what = "a whole number" if kind is int else "a number"

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"must be {what} {bounds}, not {text!r}") from None
        if not math.isfinite(value) or value < low or value > high or (above and value == low):
            raise argparse.ArgumentTypeError(f"must be {what} {bounds}, not {text}")
        return value
    parse.__name__ = kind.__name__
    return parse


def _plain(number: float) -> str:
    return f"{int(number):,}" if float(number).is_integer() else f"{number:g}"


def _non_negative_int(text: str) -> int:
    """An argparse type: a whole number, 0 or more (at most 16: exemplars)."""
    return int(_number(int, 0, 16)(text))


def _positive(kind: Callable[[str], int | float],
              high: float = 1e6) -> Callable[[str], int | float]:
    """An argparse type: a finite number above 0 (and at most `high`)."""
    return _number(kind, 0, high, above=True)


def _share(text: str) -> float:
    """An argparse type: a share of the data, above 0 and at most 1."""
    return float(_number(float, 0, 1, above=True)(text))


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--track", dest="tracks", action="append", metavar="TRACK",
                        help="only this track: 1-4 or its id (repeatable; default: all)")
    parser.add_argument("--task", dest="tasks", action="append", metavar="NAME",
                        help="only this task, by task_name (repeatable; default: all)")
    parser.add_argument("--task-type", dest="task_types", action="append", metavar="TYPE",
                        help=f"only this task type, one of {', '.join(TASK_TYPES)} "
                        "(repeatable; default: all)")


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true",
                        help=f"also show the engine's log on stderr (it is always written to "
                        f"{LOG_FILE} in the output folder)")


def _add_scoring_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="JSON file with evaluation settings")
    parser.add_argument(
        "--embedding-model", type=_embedding_model, action="append", metavar="NAME=PATH",
        help="local directory of a sentence-embedding model used by a metric (repeatable)",
    )
    parser.add_argument("--scoring", choices=SEMANTICS, help="whose semantics score the "
                        "answers: shopbench (the KDD Cup grader's parsers and metrics) or "
                        "shopping-mmlu (Shopping MMLU's own metrics); default: shopping-mmlu "
                        "for Shopping MMLU's files, shopbench otherwise")
    parser.add_argument("--strict", action="store_true", default=None,
                        help="fail if a metric's embedding model is missing")
    parser.add_argument("--skip-invalid", action="store_true", default=None,
                        help="report and drop invalid data rows instead of failing")


def evaluation_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="local_evaluation.py", formatter_class=_HelpFormatter,
        description="Score a model on a development set exactly as the leaderboard would.",
        epilog="examples:\n  python local_evaluation.py                 # the default "
        "UserModel on data/sample.jsonl\n  python local_evaluation.py --data "
        "../shared/data/development.json --track 2 --limit 20\n  python local_evaluation.py "
        "--model vllm --weights models/weights --resume",
    )
    parser.add_argument("--data", type=Path, nargs="+", help="data files or a folder: KDD Cup "
                        "data files, or Shopping MMLU's skill files, task-wise files or data "
                        "folder (default: data/sample.jsonl)")
    parser.add_argument("--model", help="module:Class or dummy, baseline, vllm, "
                        "shopping-mmlu-reference (default: UserModel from "
                        "models/user_config.py)")
    parser.add_argument("--weights", type=Path, help="model directory for models that take one")
    parser.add_argument("--adapter", type=Path, metavar="DIR",
                        help="a PEFT LoRA adapter folder served over the weights, unmerged, for "
                        "every question (replaces the model configuration's adapters)")
    parser.add_argument("--output-dir", type=Path,
                        help="where results go (default: outputs/<model>_<data name>, "
                        "with the weights folder's name after the model when given)")
    parser.add_argument("--limit", type=_number(int, 1, 10**9),
                        help="evaluate at most N questions, spread over the tracks, task types "
                        "and tasks (the first of each task, then the second, ...)")
    _add_filters(parser)
    parser.add_argument("--resume", action="store_true", default=None,
                        help="reuse the answers already saved in the output directory")
    parser.add_argument("--overwrite", action="store_true", default=None,
                        help="discard answers saved in the output directory")
    parser.add_argument("--batch-timeout", dest="batch_timeout_s",
                        type=_number(float, 0, 10**6, above=True),
                        metavar="SECONDS", help="stop when one batch takes longer than this "
                        "(default: no limit; a batch over the grader's "
                        f"{PER_QUESTION_LIMIT_S:g} s per prompt is warned about)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                        help="no progress bar on stderr")
    cluster = parser.add_argument_group("on a Ray cluster (pip install '.[cluster]')")
    cluster.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                         help="answer on Ray: alone, a Ray instance on this machine; auto or "
                         "host:port, an existing cluster (`ray start --head`)")
    cluster.add_argument("--replicas", type=_number(int, 1, 4096),
                         help="replicas, each building the model once (default 1)")
    cluster.add_argument("--gpus-per-replica", type=_number(float, 0, 1024), metavar="N",
                         help="GPUs each replica holds on one node (default 0)")
    cluster.add_argument("--cpus-per-replica", type=_number(int, 1, 4096), metavar="N",
                         help="CPUs each replica holds, its thread count (default 1)")
    cluster.add_argument("--replica-retries", type=_number(int, 0, 1000), metavar="N",
                         help="restarts of a replica that died, its batch retried (default 3)")
    _add_verbose(parser)
    _add_scoring_options(parser)
    return parser


def _config_from(args: argparse.Namespace, **fields: object) -> EvaluationConfig:
    return load_config(
        args.config,
        **fields,
        skip_invalid=args.skip_invalid,
        scoring_strict=args.strict,
        scoring_semantics=args.scoring,
        scoring_embedding_models=dict(args.embedding_model) if args.embedding_model else None,
    )


@contextmanager
def _noting_ctrl_c() -> Iterator[list[bool]]:
    """Ctrl-C still stops the command (as KeyboardInterrupt), and is noted, so that a model
    that raises KeyboardInterrupt itself is not taken for the user's interruption."""
    pressed: list[bool] = []

    def on_sigint(signum: int, frame: object) -> None:
        pressed.append(True)
        raise KeyboardInterrupt

    try:
        before = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: leave Ctrl-C as it is
        yield pressed
        return
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, before)


def _run(action: Callable[[], object]) -> int:
    """The action's exit status (0 unless it returns one), or one error line: 2 for bad input
    or a broken model, 130 for Ctrl-C."""
    with _noting_ctrl_c() as pressed:
        try:
            status = action()
        except BrokenPipeError:  # the reader of stdout left (`| head`): nothing more to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
        except USER_ERRORS as err:
            print(f"error: {error_line(err)}", file=sys.stderr)
            return 2
        except Interrupted as err:
            saved = "the answers saved before are kept" if err.saved is None else \
                f"{err.saved} {'answer' if err.saved == 1 else 'answers'} saved"
            if pressed:
                print(f"error: interrupted; {saved}; --resume to continue", file=sys.stderr)
                return 130
            print(f"error: the model raised KeyboardInterrupt in {err.where}; {saved}: fix the "
                  "model, then pass --resume", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("error: interrupted; the answers saved before are kept; --resume to continue",
                  file=sys.stderr)
            return 130
    return status if isinstance(status, int) else 0


def evaluation_main(argv: Sequence[str] | None = None) -> int:
    args = evaluation_parser().parse_args(argv)
    return _run(lambda: _evaluate(args))


def _evaluate(args: argparse.Namespace) -> None:
    config = _config_from(
        args, data=args.data, model=args.model, weights=args.weights, adapter=args.adapter,
        output_dir=args.output_dir, limit=args.limit, resume=args.resume,
        overwrite=args.overwrite, progress=args.progress,
        batch_timeout_s=args.batch_timeout_s, tracks=args.tracks, tasks=args.tasks,
        task_types=args.task_types, ray=args.ray, replicas=args.replicas,
        gpus_per_replica=args.gpus_per_replica, replica_retries=args.replica_retries,
        cpus_per_replica=args.cpus_per_replica,
    )
    out = config.resolved_output_dir()
    created = make_output_dir(out)
    refuse_linked_run_files(out)  # the log below would write through a link
    try:
        with logs_to(out / LOG_FILE, args.verbose):
            evaluate(config)
    except BaseException:
        if created:
            remove_if_empty(out)  # a failure leaves no empty folder behind
        raise


def _score_command(args: argparse.Namespace) -> int:
    config = _config_from(args)
    return _run(lambda: score_saved(args.data, args.predictions, args.output_dir,
                                    config))


def _route_command(args: argparse.Namespace) -> int:
    import json
    from collections import Counter

    from runtime.answering.router import route
    from runtime.grading.questions import load_questions

    questions = load_questions(args.data, require_labels=False).questions
    confusions: Counter[tuple[str, str]] = Counter()
    for q in questions:
        decision = route(q.input_field, q.is_multiple_choice)
        print(json.dumps({"row": q.row, **decision.summary()}, ensure_ascii=False))
        if q.task_type:
            confusions[q.task_type, decision.task_type] += 1
    labelled = sum(confusions.values())
    if labelled:
        right = sum(n for (truth, guess), n in confusions.items() if truth == guess)
        print(f"router: {right}/{labelled} task types right ({right / labelled:.1%})",
              file=sys.stderr)
        for (truth, guess), n in sorted(confusions.items()):
            if truth != guess:
                print(f"  {truth} routed as {guess}: {n}", file=sys.stderr)
    return 0


AWQ_KIND = "4-bit AWQ layout (round-to-nearest weights, not calibrated AWQ)"


def _tiny_model_command(args: argparse.Namespace) -> int:
    from runtime.tools.tiny_model import write_tiny_model

    out = write_tiny_model(args.out_dir, awq=args.awq)
    print(f"wrote a tiny random Qwen2-architecture model "
          f"({AWQ_KIND if args.awq else 'float16'}) to {out}")
    return 0


def _import_gguf_command(args: argparse.Namespace) -> int:
    from runtime.tools.gguf_import import import_gguf

    out, config = import_gguf(args.gguf_file, args.out_dir, awq=args.awq,
                              group_size=args.group_size)
    kind = (f"{AWQ_KIND}, group size {config['quantization_config']['group_size']}"
            if args.awq else "float32")
    print(f"wrote {config['architectures'][0]} from {args.gguf_file} ({kind}) to {out}")
    return 0


def _quantize_command(args: argparse.Namespace) -> int:
    from runtime.tools.quantize import quantize

    made = quantize(args.model_dir, args.out_dir, args.method, args.calibration, args.samples,
                    args.group_size, args.target)
    calibration = made["calibration"]
    source = (f", calibrated on {calibration['samples']} prompts of {calibration['file']}"
              if calibration else "")
    cost = (f" in {made['seconds']:.0f} s, peak memory {made['peak_rss_mb']} MB"
            if "seconds" in made else "")
    print(f"wrote {args.method} 4-bit weights of {args.model_dir} (group size "
          f"{made['group_size']}{source}){cost} to {args.out_dir}")
    return 0


def _merge_adapter_command(args: argparse.Namespace) -> int:
    from runtime.tools.merge_adapter import merge_adapter

    made = merge_adapter(args.base, args.adapter, args.out_dir)
    print(f"wrote {args.base} with adapter {args.adapter} merged (rank {made['rank']}, "
          f"{made['library']}) to {args.out_dir}: quantize it with `python -m runtime "
          "quantize`")
    return 0


def _embedded_model_command(args: argparse.Namespace) -> int:
    from models.vllm_config import embedded_model_dirs
    from runtime.tools.gguf_import import embedded_gguf, write_embedded_model

    embedded, awq_dir, float_dir = embedded_model_dirs(args.config)
    written = write_embedded_model(embedded_gguf(embedded.package, embedded.gguf_file),
                                   awq_dir, float_dir)
    for path in written:
        print(f"wrote the embedded model to {path}")
    if not written:
        print(f"the embedded model is in place: {awq_dir}, {float_dir}")
    return 0


def _estimate_command(args: argparse.Namespace) -> int:
    from models.vllm_config import load_shop_model_config
    from runtime.budget.estimate import (
        BASELINE_NEW_TOKENS,
        GPUS,
        estimate_lines,
        rendered_prompt_sizes,
        runtime_new_tokens,
    )
    from runtime.budget.profiler import load_counts
    from runtime.common.competition import TRACK5, TRACK5_NAME, TRACK_LIMITS_S, TRACKS
    from runtime.grading.questions import load_questions

    counts, note = load_counts(args.counts or ESTIMATED_COUNTS)
    counts.pop(TRACK5, None)
    limits = {**TRACK_LIMITS_S, "all": TRACK_LIMITS_S[TRACK5]}
    shipped = load_shop_model_config()  # the model that ships: its budgets, prompts, folder
    new_tokens = BASELINE_NEW_TOKENS if args.recipe == "baseline" else \
        runtime_new_tokens(shipped.decoding)
    exemplars = args.exemplars if args.exemplars is not None else (
        shipped.fewshot.k if shipped.fewshot.active else 0)
    prompts = rendered_prompt_sizes(load_questions(args.data).questions, shipped.prompts_dir,
                                    Path(shipped.engine.model), exemplars)
    lines = estimate_lines(args.params, args.bits, GPUS[args.gpu], args.gpus, args.batch_size,
                           counts, prompts, new_tokens, limits, {**TRACKS, "all": TRACK5_NAME})
    print("\n".join(lines))
    print(f"Prompt tokens per task type from {args.data}, as the shipped model sends them "
          f"(counted with {prompts.counted_with}): shared start computed once + own part per "
          "question: " + ", ".join(f"{t} {prompts.shared[t]:.0f} + {n:.0f}"
                                   for t, n in prompts.per_question.items()))
    print(f"New tokens per question ({args.recipe} recipe"
          + (", the shipped models/vllm_config.json" if args.recipe == "runtime" else "")
          + "): " + ", ".join(f"{t} {n}" for t, n in new_tokens.items()))
    print(f"Question counts: {note or args.counts}")
    for line in _adapter_lines(shipped, args.gpus):
        print(line)
    return 0


def _adapter_lines(shipped: Any, gpus: int) -> list[str]:
    """What serving the shipped configuration's adapters adds: the engine's LoRA slots per
    GPU (for the served base's own dimensions) and the compute of each adapted token."""
    import json

    from runtime.answering.adapters import lora_slot_bytes, read_adapter

    engine = shipped.engine
    if not engine.enable_lora:
        return []
    base = json.loads((Path(engine.model) / "config.json").read_text(encoding="utf-8"))
    slots = lora_slot_bytes(base, engine.max_loras, engine.max_lora_rank, gpus)
    lines = [f"Adapters: the engine sets aside {engine.max_loras} LoRA slots of rank "
             f"{engine.max_lora_rank} over every projection of {Path(engine.model).name}: "
             f"{slots / 1e9:.3f} GB on each of {gpus} GPU(s) at tensor parallel {gpus}"]
    for folder in shipped.adapters.folders:
        adapter = read_adapter(folder)
        lines.append(f"  {adapter.describe()}: {adapter.parameters:,} parameters, "
                     f"2 x {adapter.parameters:,} FLOP more per adapted token")
    return lines


def _profile_command(args: argparse.Namespace) -> int:
    import math

    from runtime.budget.profile_report import profile_markdown, write_profile
    from runtime.budget.profiler import (
        ProfileRun,
        counts_of,
        fit_costs,
        hardware_warning,
        load_counts,
        profile_batches,
        profile_document,
        profiled_hardware,
        project_tracks,
        stratified_sample,
        warm_up,
    )
    from runtime.common.records import reporting
    from runtime.grading.grader import build_model
    from runtime.grading.questions import load_questions, select_questions

    config = EvaluationConfig(tracks=args.tracks or [], tasks=args.tasks or [],
                              task_types=args.task_types or [])  # validates the filters
    questions = select_questions(load_questions(args.data).questions, tracks=config.tracks,
                                 tasks=config.tasks, task_types=config.task_types)
    if args.data_counts:
        counts, note = counts_of(questions), f"the questions of {args.data}"
    else:
        counts, note = load_counts(args.counts or ESTIMATED_COUNTS)
        note = note or str(args.counts)
    size = args.sample or math.ceil(len(questions) * args.fraction)
    sample = stratified_sample(questions, size)
    asked = f"--sample {args.sample}" if args.sample else f"--fraction {args.fraction:g}"
    tasks = len({q.labels.task_name for q in questions})
    why = (f"; more than asked: each of the {tasks} tasks keeps one question"
           if len(sample) > size else "; all there are" if len(sample) < size else "")
    print(f"profiling {len(sample)} of {len(questions)} questions ({asked}, every task kept, "
          f"each in proportion{why})", file=sys.stderr)
    hardware = profiled_hardware()
    warning = hardware_warning(hardware)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    make_output_dir(args.output_dir)
    _refuse_a_run_folder(args.output_dir)
    with logs_to(args.output_dir / LOG_FILE, args.verbose):
        started = time.perf_counter()
        model = build_model(args.model, args.weights)
        load_s = time.perf_counter() - started
        reporter = reporting(model)
        engine_load_s = reporter.run_report().engine_load_s if reporter is not None else load_s
        warm_up_s = warm_up(model, sample)
        records = profile_batches(model, sample, progress=args.progress)
    costs = fit_costs(records)
    projections = project_tracks(records, costs, counts, model.get_batch_size())
    served = getattr(model, "adapters", {})  # a model that serves LoRA adapters says which
    run = ProfileRun(model=args.model, data=str(args.data), sampled_questions=len(sample),
                     warm_up_s=round(warm_up_s, 3), hardware=hardware,
                     hardware_warning=warning,
                     adapters=[a.describe() for a in served.values()]
                     if isinstance(served, dict) else [])
    document = profile_document(projections, records, costs, engine_load_s, note, run)
    write_profile(args.output_dir, document)
    print(profile_markdown(document))
    print(f"written to {args.output_dir}: profile.json, profile.md, profile.png")
    return 0


def _refuse_a_run_folder(out: Path) -> None:
    """A profile is written beside a run, never into its folder (its log is the run's), nor
    through a link planted where one of the profile's files goes."""
    from runtime.budget.profile_report import PROFILE_FILES
    from runtime.grading.run_files import PREDICTIONS_FILE, RESULTS_FILE

    if (out / PREDICTIONS_FILE).exists() or (out / RESULTS_FILE).exists():
        raise ConfigError(f"--output-dir {out} holds an evaluation run: write the profile to "
                          "a folder of its own")
    for name in (*PROFILE_FILES, LOG_FILE):
        if (out / name).is_symlink():
            raise ConfigError(f"{out / name} is a link: the profile writes its files in "
                              "place, never through links; remove it or choose another "
                              "--output-dir")


def _compare_command(args: argparse.Namespace) -> int:
    from runtime.grading import compare

    if args.output is not None:
        compare.refuse_a_runs_own_file(args.output, (args.run_a, args.run_b))
    comparison = compare.compare_runs(args.run_a, args.run_b, top=args.top)
    text = compare.comparison_markdown(comparison)
    if args.output is not None:
        with compare.open_for_results(args.output) as handle:
            handle.write(text)
    print(compare.as_json(comparison) if args.json else text, end="" if not args.json else "\n")
    if args.output is not None:
        print(f"written to {args.output}", file=sys.stderr)
    return 0


def _check_command(args: argparse.Namespace) -> int:
    from runtime.submission.checks import run_checks
    from runtime.submission.outcome import (
        as_json,
        check_line,
        exit_status,
        parse_target,
        summary_line,
        target_line,
    )

    try:
        target = parse_target(args.target)
    except ValueError as err:
        raise ConfigError(str(err)) from err
    if not (args.repo / "models").is_dir():
        raise ConfigError(f"--repo {args.repo}: not a submission repository (no models/ "
                          "folder): point --repo at your repository's root")
    if args.data is not None and not args.data.is_file():
        raise ConfigError(f"--data {args.data}: no such file")
    if args.json:
        checks = run_checks(args.repo, target, args.weights, args.data, smoke=not args.no_smoke)
        print(as_json(checks, target))
        return exit_status(checks)
    print(target_line(target), flush=True)  # then each check's line as soon as it is decided
    checks = run_checks(args.repo, target, args.weights, args.data, smoke=not args.no_smoke,
                        on_check=lambda check: print(check_line(check), flush=True))
    print(summary_line(checks))
    return exit_status(checks)


def _score_parser(commands: Any) -> None:
    score = _command(commands, "score", help="re-score saved answers without a model")
    score.add_argument("--data", type=Path, nargs="+", required=True,
                       help="the data the answers were given for (as local_evaluation.py "
                       "takes it)")
    score.add_argument("--predictions", type=Path, required=True,
                       help="a predictions.jsonl written by local_evaluation.py")
    score.add_argument("--output-dir", type=Path, required=True,
                       help="where results go (a folder without saved answers, or the one "
                       "the predictions lie in)")
    _add_scoring_options(score)
    score.set_defaults(handler=_score_command)


def _route_parser(commands: Any) -> None:
    router = _command(commands, "route", help="print the router's decision for every question")
    router.add_argument("--data", type=Path, required=True,
                        help="questions to route (labels optional)")
    router.set_defaults(handler=_route_command)


def _add_counts_option(parser: argparse.ArgumentParser | Any) -> None:
    parser.add_argument("--counts", type=Path,
                        help="JSON {track_id: {task_type: count}} to project (default: "
                        "data/track_counts_estimate.json, an estimate of the test set)")


def _profile_parser(commands: Any) -> None:
    profile = _command(commands,
        "profile", help="project every track's run time against its limit")
    profile.add_argument("--model", default="UserModel", help="module:Class or a short name")
    profile.add_argument("--weights", type=Path, help="model folder for models that take one")
    profile.add_argument("--data", type=Path, default=SAMPLE_DATA,
                         help="questions to sample from")
    profile.add_argument("--sample", type=_positive(int, 10**7),
                         help="questions to run (stratified by task)")
    profile.add_argument("--fraction", type=_share, default=0.25,
                         help="share of the data to run when --sample is not given, above 0 "
                         "and at most 1 (default: %(default)s)")
    counts = profile.add_mutually_exclusive_group()
    _add_counts_option(counts)
    counts.add_argument("--data-counts", action="store_true",
                        help="project the data's own question counts instead")
    _add_filters(profile)
    profile.add_argument("--output-dir", type=Path, default=PROFILE_DIR,
                         help="where profile.json, profile.md and profile.png go")
    profile.add_argument("--no-progress", dest="progress", action="store_false",
                         help="no progress bar on stderr")
    _add_verbose(profile)
    profile.set_defaults(handler=_profile_command)


def _estimate_parser(commands: Any) -> None:
    estimate = _command(commands,
        "estimate", help="print each track's physical lower bound on a GPU, running nothing")
    estimate.add_argument("--data", type=Path, default=SAMPLE_DATA,
                          help="questions whose prompt sizes to use (default: the sample set)")
    _add_counts_option(estimate)
    estimate.add_argument("--params", type=_positive(float, 100_000), default=72,
                          help="parameters, billions")
    estimate.add_argument("--bits", type=_number(int, 1, 32), default=4,
                          help="bits per weight")
    estimate.add_argument("--gpu", default="T4", choices=list(GPUS), help="the GPU model")
    estimate.add_argument("--gpus", type=_number(int, 1, 1024), default=4,
                          help="GPUs the model is split across (tensor parallel)")
    estimate.add_argument("--batch-size", type=_number(int, 1, MAX_BATCH_SIZE),
                          default=MAX_BATCH_SIZE,
                          help="prompts per grader batch")
    estimate.add_argument("--recipe", choices=["runtime", "baseline"], default="runtime",
                          help="new-token budgets: this runtime's, or 100 (1 for a choice)")
    estimate.add_argument("--exemplars", type=_non_negative_int, metavar="K",
                          help="few-shot exemplars per prompt (default: the model "
                          "configuration's fewshot.k)")
    estimate.set_defaults(handler=_estimate_command)


def _view_command(args: argparse.Namespace) -> int:
    from runtime.grading.view import write_page

    written = write_page(args.runs, args.output)
    print(f"written to {written}: open it in a browser (every answer, filters, "
          + ("the runs side by side)" if len(args.runs) > 1 else "nothing fetched)"))
    return 0


def _tasks_command(args: argparse.Namespace) -> int:
    import json

    from runtime.grading.task_list import list_tasks, task_list_json, task_list_lines

    config = _config_from(args)
    listing = list_tasks(args.data, config.scoring, skip_invalid=config.skip_invalid)
    print(json.dumps(task_list_json(listing), indent=2, ensure_ascii=False) if args.json
          else "\n".join(task_list_lines(listing)))
    return 0


def _view_parser(commands: Any) -> None:
    view = _command(commands, "view", help="every answer of one or several runs in one HTML "
                    "page (filters, runs side by side; nothing fetched)")
    view.add_argument("runs", type=Path, nargs="+", metavar="RUN",
                      help="output folders of finished runs (the first is the reference for "
                      "paired differences)")
    view.add_argument("--output", type=Path,
                      help="the page to write (default: RUN/view.html for one run, "
                      "outputs/view-<A>-vs-<B>.html for several)")
    view.set_defaults(handler=_view_command)


def _tasks_parser(commands: Any) -> None:
    tasks = _command(commands, "tasks", help="list the scoring scheme, groups and tasks of "
                     "data files (loaded as the evaluation loads them)")
    tasks.add_argument("--data", type=Path, nargs="+", default=[SAMPLE_DATA],
                       help="data files or a folder, as local_evaluation.py takes them "
                       "(default: data/sample.jsonl)")
    tasks.add_argument("--json", action="store_true", help="print JSON instead of text")
    _add_scoring_options(tasks)
    tasks.set_defaults(handler=_tasks_command)


def _compare_parser(commands: Any) -> None:
    compare = _command(commands,
        "compare", help="what changed from one run to another: tracks, tasks, questions")
    compare.add_argument("run_a", type=Path, help="output folder of the first run (A)")
    compare.add_argument("run_b", type=Path, help="output folder of the second run (B)")
    compare.add_argument("--top", type=_positive(int, 10**6), default=10,
                         help="gains and losses to list each, largest change first")
    compare.add_argument("--output", type=Path,
                         help="also write the Markdown to this file, outside both runs' folders "
                         "(default: printed only; neither run is changed)")
    compare.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    compare.set_defaults(handler=_compare_command)


def _check_parser(commands: Any) -> None:
    check = _command(commands, "check", help="say whether a submission will build, load "
                                "and finish")
    check.add_argument("--target", default="4xT4",
                       help=f"cpu, or NxGPU with GPU one of {', '.join(GPUS)}")
    check.add_argument("--weights", type=Path, help="model directory to check")
    check.add_argument("--repo", type=Path, default=REPO_ROOT,
                       help="the submission repository to check")
    check.add_argument("--data", type=Path,
                       help="data whose longest prompt must fit (default: the repository's "
                       "sample set, data/sample.jsonl)")
    check.add_argument("--no-smoke", action="store_true", help="skip the smoke run")
    check.add_argument("--json", action="store_true", help="machine-readable results")
    check.set_defaults(handler=_check_command)


def _model_tool_parsers(commands: Any) -> None:
    """The commands that write model directories."""
    tiny = _command(commands, "tiny-model", help="write a tiny random model for smoke tests")
    tiny.add_argument("out_dir", type=Path, help="a new (or empty) folder to write")
    tiny.add_argument("--awq", action="store_true", help="also quantize to the AWQ layout")
    tiny.set_defaults(handler=_tiny_model_command)

    gguf = _command(commands,
        "import-gguf", help="turn a GGUF checkpoint into a model directory vLLM loads")
    gguf.add_argument("gguf_file", type=Path, help="the .gguf file")
    gguf.add_argument("out_dir", type=Path, help="a new (or empty) directory to write")
    gguf.add_argument("--awq", action="store_true",
                      help="write the 4-bit AWQ GEMM layout (round-to-nearest) instead of float32")
    gguf.add_argument("--group-size", type=int, choices=[32, 64, 128],
                      help="AWQ group size (default: the largest of 128, 64, 32 that divides "
                      "every linear layer's input features)")
    gguf.set_defaults(handler=_import_gguf_command)

    quantize = _command(commands, "quantize", help="write 4-bit weights of a float checkpoint: "
                        "awq or gptq (llm-compressor, in its own environment made on first "
                        "use) or rtn (round-to-nearest)")
    quantize.add_argument("model_dir", type=Path, help="the float checkpoint (safetensors)")
    quantize.add_argument("out_dir", type=Path, help="a new (or empty) directory to write")
    quantize.add_argument("--method", choices=list(METHODS), default="awq",
                          help="how the 4-bit weights are found")
    quantize.add_argument("--calibration", type=Path, default=SAMPLE_DATA,
                          help="questions in the development format whose rendered prompts "
                          "and answers calibrate awq and gptq (default: data/sample.jsonl)")
    quantize.add_argument("--samples", type=_positive(int, 10**6), default=128,
                          help="calibration prompts, spread over the tasks")
    quantize.add_argument("--group-size", type=_number(int, 1, 2**20), metavar="G",
                          help="inputs per scale and zero point (default: the largest of "
                          "128, 64, 32 that the target's kernels and shards take)")
    quantize.add_argument("--target", default="cpu",
                          help=f"cpu, or NxGPU with GPU one of {', '.join(GPUS)}: the group "
                          "size must divide every shard's input features")
    quantize.set_defaults(handler=_quantize_command)

    merge = _command(commands, "merge-adapter", help="merge a LoRA adapter into its float "
                     "base with peft (a float checkpoint, ready for quantize)")
    merge.add_argument("base", type=Path, help="the float base checkpoint (safetensors)")
    merge.add_argument("adapter", type=Path, help="the PEFT LoRA adapter folder")
    merge.add_argument("out_dir", type=Path, help="a new (or empty) directory to write")
    merge.set_defaults(handler=_merge_adapter_command)

    embedded = _command(commands,
        "embedded-model", help="write the embedded development model (4-bit and float) where "
        "models/vllm_config.json says, if missing (scripts/setup.sh runs this)")
    embedded.add_argument("--config", type=Path, help="model configuration file "
                          "(default: models/vllm_config.json)")
    embedded.set_defaults(handler=_embedded_model_command)


def runtime_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runtime", formatter_class=_HelpFormatter, epilog=EXAMPLES,
        description="The runtime's tools besides local_evaluation.py; `python -m runtime "
        "COMMAND --help` for each.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_score_parser, _tasks_parser, _route_parser, _profile_parser,
                _estimate_parser, _compare_parser, _view_parser, _check_parser,
                _model_tool_parsers):
        add(commands)
    return parser


def runtime_main(argv: Sequence[str] | None = None) -> int:
    args = runtime_parser().parse_args(argv)
    return _run(lambda: args.handler(args))
