"""What a run leaves behind: results.json that reads back as `Results`, the tables, the report's
answers by task with their repairs, table cells, and the chart."""

import json

from runtime.common.records import AnswerRecord, Usage
from runtime.grading.config import ScoringConfig
from runtime.grading.predictions import prediction_line
from runtime.grading.questions import load_questions
from runtime.grading.report import table_cell, write_reports
from runtime.grading.results import (
    SCHEMA_VERSION,
    Results,
    RunInfo,
    SlowBatch,
    Timing,
)
from runtime.grading.run_files import RESULTS_FILE
from runtime.grading.scoring import score_answers
from tests.conftest import SAMPLE

QUESTIONS = [q for q in load_questions(SAMPLE).questions if q.metric not in
             ("sent-transformer", "multilingual-sent-transformer")]


def record(repair):
    return AnswerRecord(route={}, constraint="none", max_tokens=9, raw_output="raw text",
                        prompt_tokens=5, generated_tokens=2, cached_prompt_tokens=0,
                        shortened=False, repair=repair, guard_level=0)


def test_a_run_writes_results_that_read_back_and_a_report_with_its_repairs(tmp_path, capsys):
    answers = {q.row: "0" if q.is_multiple_choice else "1" for q in QUESTIONS}
    records = {q.row: record("fallback" if q.row % 2 else None) for q in QUESTIONS}
    saved = {q.row: prediction_line(q, answers[q.row], records[q.row]) for q in QUESTIONS}
    scores = score_answers(QUESTIONS, answers, ScoringConfig(embedding_models={}))
    usage = Usage()
    for r in records.values():
        usage.add(r)
    run = RunInfo(model="m", data=str(SAMPLE), num_questions=len(QUESTIONS), resumed_rows=0,
                  asked_rows=len(QUESTIONS), answered=len(QUESTIONS), missing=0,
                  partial=False, skipped_invalid_rows=[], started_at="s", finished_at="f",
                  slow_batches=[SlowBatch(batch=0, task_type="ranking", rows=[1],
                                          seconds=12.0, limit_s=10.0)])
    document = write_reports(tmp_path, scores, Timing(total_s=1, model_s=1, scoring_s=0),
                             usage, run, QUESTIONS, saved)
    results = Results.model_validate(json.loads((tmp_path / RESULTS_FILE).read_text()))
    assert results == document and results.schema_version == SCHEMA_VERSION
    assert results.overall.score == scores.overall
    assert [t.task_name for t in results.tasks] == [t.task_name for t in scores.tasks]
    assert results.usage is not None and results.usage.repairs == sum(
        q.row % 2 for q in QUESTIONS)
    report = (tmp_path / "report.md").read_text()
    assert "replaced by a fallback" in report and "| raw text |" in report
    assert "1 batches took longer than the grader allows" in report
    assert (tmp_path / "scores.png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "| **Track 5 (mean of tracks)** |" in printed  # "written to" is the run's own line


def test_a_table_cell_is_one_line_with_pipes_escaped_and_cut():
    assert table_cell("a | b\nc") == "a \\| b c"
    assert table_cell(["x", 1]) == '["x", 1]'
    assert table_cell("y" * 100, 10) == "y" * 9 + "…"
    assert table_cell("") == " "
