"""The files of a run's output folder, named once: what an evaluation writes there, and so what
no other command may write over (compare, the viewer, a link planted in the folder)."""

from __future__ import annotations

from runtime.logs import LOG_FILE

PREDICTIONS_FILE = "predictions.jsonl"
RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"
CHART_FILE = "scores.png"
SPEC_FILE = "spec.json"
VIEW_FILE = "view.html"
LOCK_FILE = ".lock"
RUN_FILES = (PREDICTIONS_FILE, RESULTS_FILE, REPORT_FILE, CHART_FILE, SPEC_FILE, VIEW_FILE,
             LOCK_FILE, LOG_FILE)
