"""Recipes benchmark: this runtime against the published recipes, same engine, same weights.

Every recipe is called as the grader calls a model (grouped by task type, batches of 16) on the
same questions (default: ../shared/data/development.json plus ../shared/data/tuning.jsonl):
- runtime: `VLLMShopModel` (router, task templates, budgets, constraints, post-processing);
- organisers: their zero-shot recipe, which is Shopping MMLU's protocol (a system sentence
  prepended as plain text, greedy, 100 new tokens, 1 for multiple choice, no constraints, no
  post-processing): `models/shopping_mmlu_reference.py`;
- winner: the winning team's recipe as ../shared/FACTS.md describes it (their task-type guess,
  ChatML system line naming it, logit biases, budgets 1/8/9/15/50, generations cut after the
  sentence that passes 15 words);
- baseline (no language model) and dummy, for reference.
The language-model recipes run once per weights form (the embedded model's 4-bit and float
copies by default), each form in its own process with one engine. Printed: track-5 score,
score per task type, parse failures, generated tokens, decode steps (a batch decodes until its
longest answer ends: the sum over batches of the longest answer), and generation time (engine
start and one untimed warm-up question per task type excluded; median of --repeats passes,
the spread beside it), and each row's overall difference from the runtime on the first weights
form with its paired 95% bootstrap interval (`runtime.grading.intervals`). Every table is
printed under both scoring schemes (the KDD Cup grader's and Shopping MMLU's own), with the
runtime's per-task-type paired differences against the winner's recipe and against Shopping
MMLU's reference protocol (the organisers' recipe). Options measure the router: `--oracle-
routing` runs the runtime once more with each question's task type taken from the data (the
points routing costs), `--route-cost` with the entity questions routed as generation and the
generation questions as entities (what a wrong route costs). Written: the same as JSON.

    .venv/bin/python benchmarks/recipes.py [--data PATH ...] [--weights DIR ...] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.shopping_mmlu_reference import ShoppingMMLUReference
from models.vllm_config import embedded_model_dirs
from runtime.answering.engine import runs_4bit_kernels
from runtime.common.paths import REPO_ROOT
from runtime.common.records import reporting
from runtime.grading.config import ScoringConfig
from runtime.grading.grader import batches_as_grader, check_reply
from runtime.grading.intervals import TaskUnits, excludes_zero, interval, resample_runs
from runtime.grading.questions import Question, load_questions
from runtime.grading.schemes import SCHEMES, scheme_of
from runtime.grading.scoring import score_answers, task_units

SHARED = REPO_ROOT.parent / "shared" / "data"
DEFAULT_DATA = [SHARED / "development.json", SHARED / "tuning.jsonl"]
LM_RECIPES = ("runtime", "winner", "organisers")


# The ablation: each technique of the runtime set the other way alone (decoding overrides of
# models/vllm_config.json), one pass each on the same engine.
ABLATIONS: dict[str, dict[str, Any]] = {
    "calibration on": {"calibration": "batch"},
    "extractive spans off": {"extractive_spans": False},
    "extractive entities on": {"extractive_entities": True},
    "retrieval in any order": {"retrieval_order": "any"},
    "budgets 50, no sentence stop": {"new_tokens": {"description": 50, "title": 50,
                                                    "category": 50, "translation": 50},
                                     "first_sentence": []},
    "indices with spaces": {"compact_indices": False},
    "loop stop off": {"loop_stop_repeats": 0},
}


def load_all(paths: list[Path]) -> list[Question]:
    """The questions of every file, renumbered so that rows stay unique across files."""
    questions: list[Question] = []
    for path in paths:
        for q in load_questions(path).questions:
            questions.append(q.model_copy(update={"row": len(questions)}))
    return questions


_NUMBERED = re.compile(r"(?m)^\s*\d+\s*[.)]")
WINNER_TASK_WORDS = {
    "multiple-choice": "multiple-choice question answering",
    "retrieval": "retrieval",
    "ranking": "ranking",
    "named_entity_recognition": "named entity recognition",
    "generation": "text generation",
}
WINNER_BUDGETS = {"multiple-choice": 1, "retrieval": 8, "ranking": 9,
                  "named_entity_recognition": 15, "generation": 50}
WINNER_DIGITS = {"multiple-choice": 5, "ranking": 5, "retrieval": 20}


def winner_task_type(prompt: str, is_multiple_choice: bool) -> str:
    """The winner's guess, as FACTS.md describes it (their phrases, their option counts)."""
    if is_multiple_choice:
        return "multiple-choice"
    options = len(_NUMBERED.findall(prompt))
    if (options > 5 or "three comma-separated numbers" in prompt
            or "Select three from the list" in prompt):
        return "retrieval"
    if options == 5 or " respond with the ranking " in prompt:
        return "ranking"
    if any(p in prompt for p in (" extract the keyphrase ", " output the entity ",
                                 " to the entity type ")):
        return "named_entity_recognition"
    return "generation"


def cut_after_15_words(text: str) -> str:
    """The winner's post-processing: keep sentences until the answer passes 15 words."""
    kept: list[str] = []
    for sentence in text.split(". "):
        kept.append(sentence)
        if len(" ".join(kept).split()) > 15:
            break
    return ". ".join(kept).strip()


class WinnerRecipe:
    """The winning team's recipe on our engine: their router, prompt, biases and budgets."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.last_batch_tokens: list[int] = []
        self.last_batch_prompt_tokens: list[int] = []
        tokens = engine.tokenize
        self.none_ids = {i for word in ("None", "none", " None", " none") for i in tokens(word)}
        self.comma_ids = set(tokens(","))
        self.eos_id = engine.tokenizer.eos_token_id
        # The digit-and-comma push of each numeric task type, tokenised once.
        self.digit_ids = {task_type: {i for n in range(top + 1) for i in tokens(str(n))}
                          | self.comma_ids for task_type, top in WINNER_DIGITS.items()}

    def _bias(self, task_type: str, question: str) -> dict[int, float]:
        bias: dict[int, float] = {}
        if task_type in self.digit_ids:
            bias.update({i: 100.0 for i in self.digit_ids[task_type]})
        elif task_type == "named_entity_recognition":
            prompt_ids = self.engine.tokenize(question)
            bias.update({i: 1.0 for i in {*prompt_ids, *self.comma_ids, self.eos_id}})
        bias.update({i: -100.0 for i in self.none_ids})
        return bias

    def get_batch_size(self) -> int:
        return 16

    def batch_predict(self, batch: dict, is_multiple_choice: bool) -> list[str]:
        from runtime.answering.decoding import DecodingPlan

        inputs, plans, types = [], [], []
        for prompt in batch["prompt"]:
            task_type = winner_task_type(prompt, is_multiple_choice)
            question = re.sub(r" +\n", "\n", prompt).strip()
            system = f"You are a helpful online shopping assistant. Your task is " \
                     f"{WINNER_TASK_WORDS[task_type]}."
            ids = self.engine.tokenize(self.engine.render_chat(
                [{"role": "system", "content": system}, {"role": "user", "content": question}]))
            inputs.append(ids)
            types.append(task_type)
            plans.append(DecodingPlan(max_tokens=WINNER_BUDGETS[task_type],
                                      logit_bias=self._bias(task_type, question)))
        results = self.engine.generate(inputs, plans)
        self.last_batch_tokens = [r.generated_tokens for r in results]
        self.last_batch_prompt_tokens = [r.prompt_tokens for r in results]
        return [cut_after_15_words(r.text) if t == "generation" else r.text.strip()
                for r, t in zip(results, types, strict=True)]


def _generated_tokens(model: Any) -> list[int]:
    """New tokens per answer of the last batch: from this runtime's records, or the reference
    recipes' own count; none for models without a language model."""
    reporter = reporting(model)
    if reporter is not None:
        return [r.generated_tokens for r in reporter.last_batch_records]
    return list(getattr(model, "last_batch_tokens", []))


def run_recipe(model: Any, questions: list[Question]) -> dict[str, Any]:
    """One pass as the grader calls: answers by row, generated tokens, decode steps, time, and
    prompt tokens and few-shot exemplars where the model reports per-answer records."""
    answers: dict[int, str] = {}
    adapters: dict[str, int] = {}  # answers per LoRA adapter ("base": none)
    generated = steps = prompt_tokens = exemplars = 0
    seconds = 0.0
    reporter = reporting(model)
    for batch in batches_as_grader(questions, model):
        started = time.perf_counter()
        reply = model.batch_predict({"prompt": [q.input_field for q in batch.questions]},
                                    batch.is_multiple_choice)
        seconds += time.perf_counter() - started
        for q, answer in zip(batch.questions, check_reply(reply, batch), strict=True):
            answers[q.row] = answer
        tokens = _generated_tokens(model)
        generated += sum(tokens)
        steps += max(tokens, default=0)
        if reporter is not None:
            prompt_tokens += sum(r.prompt_tokens for r in reporter.last_batch_records)
            exemplars += sum(r.exemplars for r in reporter.last_batch_records)
            for record in reporter.last_batch_records:
                name = record.adapter["name"] if record.adapter else "base"
                adapters[name] = adapters.get(name, 0) + 1
        else:  # the reference recipes count their own
            prompt_tokens += sum(getattr(model, "last_batch_prompt_tokens", []))
    return {"answers": answers, "generated_tokens": generated, "decode_steps": steps,
            "prompt_tokens": prompt_tokens, "exemplars": exemplars, "seconds": seconds,
            "adapters": adapters}


def scheme_figures(questions: list[Question], answers: dict[str, str],
                   scheme: str) -> dict[str, Any]:
    """The scores of one row's answers under one scheme: overall, mean over tasks, per task
    type (the mean of its tasks) and the answers that scheme's parser cannot read."""
    by_row = {int(row): answer for row, answer in answers.items()}
    scores = score_answers(questions, by_row, ScoringConfig(semantics=scheme))  # type: ignore[arg-type]
    by_type: dict[str, list[float]] = {}
    for task in scores.tasks:
        if task.score is not None:
            by_type.setdefault(task.task_type, []).append(task.score)
    return {"overall": scores.overall, "tasks_mean": scores.tasks_mean,
            "task_types": {t: statistics.mean(v) for t, v in sorted(by_type.items())},
            "parse_failures": sum(row.parse_failure for row in scores.rows.values())}


def figures(questions: list[Question], passes: list[dict[str, Any]],
            language_model: bool) -> dict[str, Any]:
    """Scores of the first pass (greedy decoding repeats it) under each scheme, with the
    passes' tokens and timings."""
    first = passes[0]
    answers = {str(row): a for row, a in first["answers"].items()}
    times = [p["seconds"] for p in passes]
    return {
        "schemes": {name: scheme_figures(questions, answers, name) for name in SCHEMES},
        "prompt_tokens": first["prompt_tokens"] if language_model else None,
        "generated_tokens": first["generated_tokens"] if language_model else None,
        "decode_steps": first["decode_steps"] if language_model else None,
        "generation_s": statistics.median(times),
        "generation_s_passes": times,
        "answers": answers,
    }


def scored(questions: list[Question], row: dict[str, Any], scheme: str) -> dict[str, Any]:
    """A row's figures under `scheme` (computed from its answers where a file written before
    lacks them)."""
    schemes = row.setdefault("schemes", {})
    if scheme not in schemes:
        schemes[scheme] = scheme_figures(questions, row["answers"], scheme)
    return schemes[scheme]


def run_ablations(engine: Any, questions: list[Question]) -> dict[str, Any]:
    """The runtime once per entry of ABLATIONS, from an empty prefix cache each time."""
    from models.vllm_config import load_shop_model_config
    from models.vllm_model import VLLMShopModel

    base = load_shop_model_config(None, engine.config.model)
    results = {}
    for name, overrides in ABLATIONS.items():
        decoding = base.decoding.model_copy(update=overrides)
        model = VLLMShopModel(config=base.model_copy(update={"decoding": decoding}),
                              engine=engine)
        engine.reset_prefix_cache()
        results[f"runtime, {name}"] = figures(questions, [run_recipe(model, questions)], True)
    return results


def routed_by(questions: list[Question], forced: dict[str, str]) -> Any:
    """A router that takes each question's task type from the data (`forced` maps a labelled
    task type to the type to route it as; unlisted types keep their label)."""
    from runtime.answering.router import route_as

    label = {q.input_field: str(q.task_type) for q in questions}

    def router(prompt: str, is_multiple_choice: bool) -> Any:
        truth = label[prompt]
        return route_as(prompt, is_multiple_choice, forced.get(truth, truth))
    return router


# Rows that price routing: the data's labels instead of the router, and each of the two
# shapes a wrong route confuses sent the other way.
ROUTINGS: dict[str, dict[str, str]] = {
    "oracle routing": {},
    "entities routed as generation": {"named_entity_recognition": "generation"},
    "generation routed as entities": {"generation": "named_entity_recognition"},
}


def run_routings(engine: Any, questions: list[Question], names: list[str]) -> dict[str, Any]:
    from models.vllm_config import load_shop_model_config
    from models.vllm_model import VLLMShopModel

    config = load_shop_model_config(None, engine.config.model)
    results = {}
    for name in names:
        model = VLLMShopModel(config=config, engine=engine,
                              router=routed_by(questions, ROUTINGS[name]))
        engine.reset_prefix_cache()
        results[f"runtime, {name}"] = figures(questions, [run_recipe(model, questions)], True)
    return results


def run_language_model_recipes(weights: Path, data: list[Path], repeats: int,
                               recipes: list[str], ablation: bool,
                               routings: list[str] | None = None) -> dict[str, Any]:
    """All language-model recipes on one engine over `weights` (run in a child process)."""
    from models.vllm_config import load_shop_model_config
    from models.vllm_model import VLLMShopModel
    from runtime.answering.engine import Engine, EngineConfig

    questions = load_all(data)
    engine = Engine(EngineConfig(model=weights, max_model_len=3072))
    models = {"runtime": VLLMShopModel(config=load_shop_model_config(None, weights),
                                       engine=engine),
              "winner": WinnerRecipe(engine), "organisers": ShoppingMMLUReference(engine=engine)}
    passes: dict[str, list[dict[str, Any]]] = {name: [] for name in recipes}
    # One untimed question of each task type per recipe first: the first calls of a fresh
    # engine pay one-time costs (kernels, grammar compilers) that would fall on one recipe.
    warm_up = list({q.task_type: q for q in reversed(questions)}.values())
    for name in recipes:
        run_recipe(models[name], warm_up)
    # Passes alternate between recipes, each from an empty prefix cache, so that a slow spell
    # of the shared machine hits them alike and none reuses another's prompts.
    for _ in range(repeats):
        for name in recipes:
            engine.reset_prefix_cache()
            passes[name].append(run_recipe(models[name], questions))
    results = {name: figures(questions, passes[name], True) for name in recipes}
    if ablation:
        results.update(run_ablations(engine, questions))
    if routings:
        results.update(run_routings(engine, questions, routings))
    dtype = str(engine.llm.llm_engine.vllm_config.model_config.dtype).removeprefix("torch.")
    return {"engine": {"weights": str(weights), "dtype": dtype,
                       "start_s": round(engine.load_s, 1)}, "recipes": results}


def run_reference_models(data: list[Path]) -> dict[str, Any]:
    from models.baseline_model import BaselineModel
    from models.dummy_model import DummyModel

    questions = load_all(data)
    return {name: figures(questions, [run_recipe(model, questions)], False)
            for name, model in (("baseline", BaselineModel()), ("dummy", DummyModel()))}


def _child(weights: Path, data: list[Path], repeats: int, recipes: list[str],
           ablation: bool, routings: list[str], out: Path) -> dict[str, Any]:
    """A second vLLM engine cannot start in one process: each weights form gets its own."""
    command = [sys.executable, __file__, "--child", str(weights), "--output", str(out),
               "--repeats", str(repeats), "--recipes", *recipes, "--data", *map(str, data),
               *(["--ablation"] if ablation else []),
               *(["--routings", *routings] if routings else [])]
    subprocess.run(command, check=True, cwd=REPO_ROOT, stdout=sys.stderr)
    return json.loads(out.read_text(encoding="utf-8"))


def _units(questions: list[Question], answers: dict[str, str],
           scheme: str) -> list[TaskUnits]:
    by_row = {int(row): answer for row, answer in answers.items()}
    scores = score_answers(questions, by_row, ScoringConfig(semantics=scheme))  # type: ignore[arg-type]
    return task_units([q for q in questions if q.row in by_row], scores.rows, scores.tasks)


def paired_differences(questions: list[Question], results: dict[str, Any],
                       scheme: str) -> None:
    """Each row's overall difference from the shipped configuration (the runtime on the
    first weights form) under `scheme`, with its paired 95% interval, the questions resampled
    alike for both."""
    config = ScoringConfig()
    reference = results["runs"][0]["recipes"]["runtime"]
    base = _units(questions, reference["answers"], scheme)
    for run in results["runs"]:
        for r in run["recipes"].values():
            first, second = resample_runs([base, _units(questions, r["answers"], scheme)],
                                          config.bootstrap_resamples, config.bootstrap_seed)
            if first.overall is None or second.overall is None:
                continue
            bounds = interval(second.overall - first.overall, config.confidence)
            delta = scored(questions, r, scheme)["overall"] - scored(
                questions, reference, scheme)["overall"]
            r.setdefault("vs_runtime", {})[scheme] = {
                "delta": delta, "paired_interval": bounds, "excludes_zero": excludes_zero(bounds)}


def type_differences(questions: list[Question], results: dict[str, Any], scheme: str,
                     against: str = "winner", ours: str = "runtime") -> list[str]:
    """Per task type (the mean of its tasks, as the table's columns) and overall, the `ours`
    row's score minus the `against` row's on each weights form under `scheme`, with the
    paired 95% interval."""
    config = ScoringConfig()
    type_of = {str(q.task_name): str(q.task_type) for q in questions}
    lines = [f"| weights | task type | {ours} - {against} (paired 95%) |", "|---|---|---:|"]
    for run in results["runs"]:
        recipes = run["recipes"]
        if ours not in recipes or against not in recipes:
            continue
        other, mine = resample_runs([_units(questions, recipes[against]["answers"], scheme),
                                     _units(questions, recipes[ours]["answers"], scheme)],
                                    config.bootstrap_resamples, config.bootstrap_seed)
        a, b = scored(questions, recipes[against], scheme), scored(questions, recipes[ours],
                                                                     scheme)
        for task_type in sorted({type_of[name] for name in mine.tasks}):
            names = [n for n in mine.tasks if type_of[n] == task_type]
            difference = np.mean([mine.tasks[n] - other.tasks[n] for n in names], axis=0)
            point = b["task_types"][task_type] - a["task_types"][task_type]
            lines.append(_difference_row(run["label"], task_type, point,
                                         interval(difference, config.confidence)))
        if mine.overall is not None and other.overall is not None:
            lines.append(_difference_row(run["label"], "overall", b["overall"] - a["overall"],
                                         interval(mine.overall - other.overall,
                                                  config.confidence)))
    return lines


def _difference_row(label: str, name: str, point: float, bounds: tuple[float, float]) -> str:
    low, high = bounds
    star = " *" if excludes_zero((low, high)) else ""
    return f"| {label} | {name} | {point:+.3f} ({low:+.3f} to {high:+.3f}){star} |"


def print_tables(questions: list[Question], results: dict[str, Any]) -> None:
    for run in results["runs"]:
        if run["engine"]:
            print(f"{run['label']}: {run['engine']['weights']} in {run['engine']['dtype']}, "
                  f"engine start {run['engine']['start_s']} s (excluded)")
    print(f"{results['questions']} questions from "
          f"{', '.join(Path(p).name for p in results['data'])}; batches of 16 grouped by task "
          "type, as the grader calls")
    names = {name for run in results["runs"] for name in run["recipes"]}
    for scheme in SCHEMES:
        print(f"\n### Scored by {scheme} ({scheme_of(scheme).words})\n")
        if "runtime" in results["runs"][0]["recipes"]:
            paired_differences(questions, results, scheme)
        print("\n".join(table(questions, results, scheme)))
        print("vs runtime: the row's overall score minus the runtime's on the first weights "
              "form, with the paired 95% bootstrap interval over questions; * where it excludes "
              "0\n")
        for against, ours in (("winner", "runtime"), ("organisers", "runtime"),
                              ("runtime, oracle routing", "runtime"),
                              ("runtime", "runtime, entities routed as generation"),
                              ("runtime", "runtime, generation routed as entities")):
            if {against, ours} <= names:
                print("\n".join(type_differences(questions, results, scheme, against, ours)))
                print()


def _paired_cell(r: dict[str, Any], scheme: str) -> str:
    paired = r.get("vs_runtime", {}).get(scheme)
    if paired is None:
        return "-"
    low, high = paired["paired_interval"]
    star = " *" if paired["excludes_zero"] else ""
    return f"{paired['delta']:+.3f} ({low:+.3f} to {high:+.3f}){star}"


def _cell(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table(questions: list[Question], results: dict[str, Any], scheme: str) -> list[str]:
    types = sorted({t for run in results["runs"] for r in run["recipes"].values()
                    for t in scored(questions, r, scheme)["task_types"]})
    short = {"multiple-choice": "choice", "named_entity_recognition": "entities"}
    header = ["weights", "recipe", scheme_of(scheme).overall_short.lower(),
              "vs runtime (paired 95%)",
              *[short.get(t, t) for t in types],
              "parse fail", "prompt tokens", "gen tokens", "decode steps",
              "gen time s (passes)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in results["runs"]:
        for name, r in run["recipes"].items():
            passes = ", ".join(f"{s:.1f}" for s in r["generation_s_passes"])
            mine = scored(questions, r, scheme)
            cells = [run["label"], name, _cell(mine["overall"]), _paired_cell(r, scheme),
                     *[_cell(mine["task_types"].get(t)) for t in types],
                     str(mine["parse_failures"]),
                     _cell(r.get("prompt_tokens")), _cell(r["generated_tokens"]),
                     _cell(r["decode_steps"]),
                     f"{r['generation_s']:.1f} ({passes})"]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", default=DEFAULT_DATA,
                        help="data files (default: the development and tuning sets)")
    parser.add_argument("--weights", type=Path, nargs="+",
                        help="model directories (default: the embedded model, 4-bit and float)")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per recipe")
    parser.add_argument("--recipes", nargs="+", default=list(LM_RECIPES),
                        choices=LM_RECIPES, help="language-model recipes to run")
    parser.add_argument("--ablation", action="store_true",
                        help="also run the runtime once with each technique set the other way "
                        f"alone ({'; '.join(ABLATIONS)})")
    parser.add_argument("--oracle-routing", action="store_true",
                        help="also run the runtime with each question's task type from the data "
                        "(the points routing costs: runtime - oracle routing, paired)")
    parser.add_argument("--route-cost", action="store_true",
                        help="also run the runtime with the entity questions routed as "
                        "generation, and the generation questions as entities (what a wrong "
                        "route costs each)")
    parser.add_argument("--routings", nargs="*", choices=list(ROUTINGS), default=[],
                        help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "outputs" / "recipes.json")
    parser.add_argument("--tables-from", type=Path, metavar="JSON",
                        help="print the tables of a run written before (its --output), running "
                        "nothing")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tables_from:
        written = json.loads(args.tables_from.read_text(encoding="utf-8"))
        print_tables(load_all([Path(p) for p in written["data"]]), written)
        return
    if args.child:
        document = run_language_model_recipes(args.child, args.data, args.repeats, args.recipes,
                                              args.ablation, args.routings)
        args.output.write_text(json.dumps(document), encoding="utf-8")
        return
    _, awq_dir, float_dir = embedded_model_dirs()
    forms = [(p.name, p) for p in args.weights] if args.weights else [("4-bit", awq_dir),
                                                                      ("float", float_dir)]
    if not args.weights and not runs_4bit_kernels():
        print("note: this machine has no 4-bit kernel (no GPU, no AVX-512): the 4-bit form is "
              "left out", file=sys.stderr)
        forms = forms[1:]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    runs = []
    for label, weights in forms:
        routings = [*(["oracle routing"] if args.oracle_routing else []),
                    *(list(ROUTINGS)[1:] if args.route_cost else [])]
        child = _child(weights, args.data, args.repeats, args.recipes, args.ablation, routings,
                       args.output.with_suffix(f".{label}.json"))
        runs.append({"label": label, **child})
    started = time.perf_counter()
    runs.append({"label": "no LLM", "engine": None, "recipes": run_reference_models(args.data)})
    print(f"reference models answered in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    questions = load_all(args.data)
    results = {"data": [str(p) for p in args.data], "questions": len(questions),
               "repeats": args.repeats, "runs": runs}
    print_tables(questions, results)  # fills in the paired differences under each scheme
    args.output.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
