"""`python -m runtime view RUN [RUN ...]`: every answer of one or several runs in one page.

The page is one self-contained HTML file (`view_page.html` with the runs' data inlined as
JSON): no server, nothing fetched, no script, font or style from outside it. Everything it shows
is drawn with the DOM's text nodes, so a prompt or an answer holding markup stays text.

From each run's results.json and predictions.jsonl it takes the overview (groups of tasks by the
run's scoring scheme, tasks, scores, intervals, parse failures, repairs, shortened prompts) and
every answer (prompt, a choice's options and a list task's candidates, raw output, parsed
answer, truth, score, route, budget, constraint, repair, tokens, exemplars, replica). With
several runs, each question is shown once with every run's answer, and each task's paired
difference from the first run is `compare`'s own (`compare_runs`), not a second computation.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from runtime.common.files import as_any_new_file
from runtime.common.paths import OUTPUTS_DIR
from runtime.common.prompt_lines import choice_options, numbered_blocks
from runtime.common.settings import ConfigError
from runtime.grading.compare import change_json, compare_runs, read_run_results
from runtime.grading.predictions import (
    PredictionLine,
    read_saved_lines,
    refuse_a_running_folder,
)
from runtime.grading.results import Results
from runtime.grading.run_files import PREDICTIONS_FILE, RUN_FILES, VIEW_FILE
from runtime.grading.schemes import scheme_of

PAGE = Path(__file__).with_name("view_page.html")
DATA_MARK = "/*VIEW-DATA*/"


def _group(results: Results) -> dict[str, Any]:
    scheme = scheme_of(results.scoring)
    return {"word": scheme.group, "overall": results.overall.name or scheme.overall,
            "scheme": scheme.name}


def _bounds(entry: Any) -> dict[str, Any]:
    return {"score": entry.score, "interval": entry.interval,
            "note": getattr(entry, "interval_note", None)}


def overview(results: Results, lines: dict[int, PredictionLine]) -> dict[str, Any]:
    """A run's scores as the page's overview shows them."""
    repairs: dict[str, int] = {}
    shortened: dict[str, int] = {}
    for line in lines.values():
        if line.runtime is not None and line.task_name:
            repairs[line.task_name] = repairs.get(line.task_name, 0) + bool(line.runtime.repair)
            shortened[line.task_name] = shortened.get(line.task_name, 0) + line.runtime.shortened
    scheme = scheme_of(results.scoring)
    return {
        **_group(results),
        "groups": [{"id": gid, "name": entry.name, "n": entry.num_questions,
                    "tasks": entry.num_tasks, **_bounds(entry)}
                   for gid, entry in results.tracks.items()],
        "overallEntry": {"name": results.overall.name or scheme.overall,
                         "n": results.overall.num_questions, **_bounds(results.overall)},
        "tasks": [{"name": t.task_name, "type": t.task_type, "metric": t.metric,
                   "group": scheme.group_name(t.track), "n": t.num_samples,
                   "parse_failures": t.parse_failures, "repairs": repairs.get(t.task_name, 0),
                   "shortened": shortened.get(t.task_name, 0), **_bounds(t)}
                  for t in results.tasks],
    }


def _shape(line: PredictionLine) -> dict[str, Any]:
    """What the page lays out of a prompt: a choice's options, a list task's candidates."""
    if line.is_multiple_choice:
        found = choice_options(line.input_field)
        if found.texts:
            return {"options": [[answer, f"{option}. {text}"] for option, answer, text in zip(
                found.options, found.answers or found.options, found.texts, strict=True)]}
    elif line.task_type in ("retrieval", "ranking"):
        blocks = numbered_blocks(line.input_field.splitlines(), first=1)
        if blocks:
            return {"candidates": max(blocks, key=lambda block: len(block[1]))[1]}
    return {}


def _answer(line: PredictionLine) -> dict[str, Any]:
    record = line.runtime
    found: dict[str, Any] = {"out": line.model_output_str, "parsed": line.parsed,
                             "score": line.score, "replica": line.replica}
    if record is not None:
        found.update(raw=record.raw_output, route=record.route, budget=record.max_tokens,
                     constraint=record.constraint, repair=record.repair,
                     ptok=record.prompt_tokens, gtok=record.generated_tokens,
                     exemplars=record.exemplars, shortened=record.shortened,
                     finish=record.finish_reason)
    return found


def _lines(run: Path) -> dict[int, PredictionLine]:
    path = run / PREDICTIONS_FILE
    if not path.is_file():
        raise ConfigError(f"{run}: no {PREDICTIONS_FILE}; give the output folder of a finished "
                          "run")
    return {line.row: line for line in read_saved_lines(path)}


def page_data(runs: list[Path], writing: bool = False,
              in_hand: dict[Path, dict[int, PredictionLine]] | None = None) -> dict[str, Any]:
    """The page's data: each run's overview, every question once with each run's answer, and
    each later run's paired differences from the first (compare's own). `writing`: the run
    itself asks, holding its folder's lock; `in_hand`: a run's answers already read."""
    documents, answers = [], []
    for run in runs:
        if not writing:
            refuse_a_running_folder(run)
        documents.append(read_run_results(run))
        answers.append((in_hand or {}).get(run) or _lines(run))
    questions: dict[tuple[int, str], dict[str, Any]] = {}
    for index, lines in enumerate(answers):
        scheme = scheme_of(documents[index].scoring)
        for row, line in sorted(lines.items()):
            key = (row, line.input_field)
            if key not in questions:
                questions[key] = {"row": row, "task": line.task_name, "type": line.task_type,
                                  "group": scheme.group_name(str(line.track)),
                                  "mc": line.is_multiple_choice, "prompt": line.input_field,
                                  "truth": line.output_field, **_shape(line),
                                  "answers": [None] * len(runs)}
            questions[key]["answers"][index] = _answer(line)
    paired = []
    for later in runs[1:]:
        comparison = compare_runs(runs[0], later)
        paired.append({"tasks": [change_json(c) for c in comparison.tasks],
                       "groups": [change_json(c) for c in comparison.tracks],
                       "overall": change_json(comparison.overall),
                       "shared": comparison.matched_questions})
    return {"runs": [{"name": run.resolve().name, "path": str(run.resolve()),
                      "model": doc.run.model or "saved answers", "data": doc.run.data,
                      "finished": doc.run.finished_at, **overview(doc, lines)}
                     for run, doc, lines in zip(runs, documents, answers, strict=True)],
            "questions": list(questions.values()), "paired": paired}


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def inline_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "<" (so no "</script>" or "<!--"), no line
    separators that old JavaScript parsers took for line ends, and a lone surrogate (which
    UTF-8 cannot hold; an answer may carry one) as its escape, which JavaScript reads back."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return (text.replace("<", "\\u003c").replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029"))


def page_html(runs: list[Path], writing: bool = False,
              in_hand: dict[Path, dict[int, PredictionLine]] | None = None) -> str:
    template = PAGE.read_text(encoding="utf-8")
    return template.replace(DATA_MARK, inline_json(page_data(runs, writing, in_hand)), 1)


def default_output(runs: list[Path]) -> Path:
    """One run's page beside its answers; several runs' in outputs/, in neither run."""
    if len(runs) == 1:
        return runs[0] / VIEW_FILE
    return OUTPUTS_DIR / ("view-" + "-vs-".join(run.resolve().name for run in runs) + ".html")


def check_output(output: Path, runs: list[Path]) -> None:
    """The page is written in place, never through a link, and never over a run's own file
    other than a run's own page."""
    if output.is_symlink():
        raise ConfigError(f"--output {output} is a link: the page is written in place, never "
                          "through links; remove it or choose another path")
    target = output.resolve()
    for run in runs:
        inside = target.parent == run.resolve()
        if inside and (len(runs) > 1 or target.name != VIEW_FILE) and (
                target.name in RUN_FILES or target.exists() or len(runs) > 1):
            raise ConfigError(f"--output {output} is inside run folder {run}: write the page "
                              "elsewhere (a run's folder holds only its own view.html)")
    if output.exists() and not output.is_file():
        raise ConfigError(f"--output {output} is not a regular file: give a file path")


def write_page(runs: list[Path], output: Path | None = None, writing: bool = False,
               in_hand: dict[Path, dict[int, PredictionLine]] | None = None) -> Path:
    """Write the page (atomically: a temporary file beside it, then a rename). `writing`: a
    run writes its own page, holding its folder; `in_hand`: answers already read, by run."""
    if not runs:
        raise ConfigError("give at least one run folder")
    seen: set[Path] = set()
    for run in runs:
        if not run.is_dir():  # before resolving it: a link loop cannot be resolved
            raise ConfigError(f"{run} is not a folder: give the output folder of a finished "
                              "local_evaluation.py or `runtime score` run")
        if run.resolve() in seen:
            raise ConfigError(f"{run} is given twice: give each run once")
        seen.add(run.resolve())
    output = output or default_output(runs)
    check_output(output, runs)
    html = page_html(runs, writing, in_hand)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.",
                                    suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(html)
        as_any_new_file(Path(name))
        os.replace(name, output)
    finally:
        Path(name).unlink(missing_ok=True)
    return output
