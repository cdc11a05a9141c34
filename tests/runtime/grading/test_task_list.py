"""`python -m runtime tasks`: every task of a data set with its type, metric(s), question count
and group, counted here from the raw files; the embedding models the metrics need; plain text
and JSON; the same loading and errors as the evaluation."""

import json
from collections import Counter
from pathlib import Path

from runtime.cli import runtime_main
from runtime.grading.task_list import list_tasks
from tests.conftest import REPO_ROOT, SAMPLE

SHOPPING_MMLU = REPO_ROOT / "tests" / "fixtures" / "shopping_mmlu" / "data"


def read_rows(path: Path) -> list[dict]:
    """A data file's rows, read here without the runtime's loader: a JSON array or lines."""
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_the_development_set_lists_every_task_with_its_type_metric_and_count(
        capsys, development_path):
    rows = read_rows(development_path)
    counts = Counter(row["task_name"] for row in rows)
    first = {row["task_name"]: row for row in reversed(rows)}
    assert runtime_main(["tasks", "--data", str(development_path), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["scheme"] == "shopbench" and listing["group"] == "track"
    assert {t["name"]: t["questions"] for t in listing["tasks"]} == dict(counts)
    for task in listing["tasks"]:
        row = first[task["name"]]
        assert task["task_type"] == row["task_type"]
        assert row["metric"].replace("_", " ") in [m.replace("_", " ") for m in
                                                  task["metrics"]], (task, row["metric"])
    assert len(listing["tasks"]) == 18 and sum(listing["groups"].values()) == len(rows) == 96


def test_the_text_listing_has_a_line_per_task_and_says_what_a_metric_lacks(capsys):
    assert runtime_main(["tasks"]) == 0  # the sample set: all nine metrics
    out = capsys.readouterr().out
    names = {json.loads(line)["task_name"] for line in SAMPLE.read_text().splitlines()}
    task_lines = [line for line in out.splitlines() if line.split()[:1]
                  and line.split()[0] in names]
    assert len(task_lines) == len(names) == 18
    assert "the default for these files" in out
    assert "multilingual-sent-transformer" in out and "--embedding-model" in out
    assert "sent-transformer: available at" in out


def test_shopping_mmlu_files_list_their_skills_and_metrics():
    listing = list_tasks([SHOPPING_MMLU])
    assert listing.scheme == "shopping-mmlu" and listing.group == "skill"
    skill_rows = [row for path in sorted((SHOPPING_MMLU / "skills").glob("*.json"))
                  for row in read_rows(path)]
    assert listing.questions == len(skill_rows) == sum(t.questions for t in listing.tasks)
    metrics = {t.name: t.metrics for t in listing.tasks}
    assert metrics["product_title_JP_translation"] == ["jp-bleu"]
    assert metrics["attribute_value_extraction"] == ["rougel"]
    assert metrics["brand_entity_recognition"] == ["micro f1"]
    assert metrics["query_product_ranking"] == ["ndcg"]
    assert metrics["query_product_retrieval"] == ["hit rate@3"]
    assert {t.group for t in listing.tasks} <= {"Shopping Concept Understanding",
                                                "Shopping Knowledge Reasoning",
                                                "User Behavior Alignment",
                                                "Multi-lingual Abilities"}


def test_a_scheme_given_is_said_as_chosen(capsys):
    assert runtime_main(["tasks", "--data", str(SAMPLE), "--scoring", "shopping-mmlu"]) == 0
    out = capsys.readouterr().out
    assert "scoring: shopping-mmlu" in out and "as chosen" in out and "skills:" in out


def test_data_that_does_not_load_is_the_evaluations_one_error_line(tmp_path: Path, capsys):
    (tmp_path / "d.jsonl").write_text('{"input_field": "x"}\n', encoding="utf-8")
    assert runtime_main(["tasks", "--data", str(tmp_path / "d.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "d.jsonl" in err[0]
