"""The evaluation on Ray: two nodes of a `ray.cluster_utils.Cluster` on this machine, started
once for the module, stand in for a cluster. Replicas answer what one process answers; a
replica killed mid-run and a driver killed mid-run lose nothing and ask little twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from models.dummy_model import DummyModel
from models.vllm_config import load_shop_model_config
from models.vllm_model import VLLMShopModel
from runtime.cli import evaluation_main
from runtime.grading.config import load_config
from runtime.grading.evaluation import evaluate
from runtime.grading.results import Results
from tests.conftest import REPO_ROOT

ray = pytest.importorskip("ray")
HERE = "tests.runtime.grading.test_cluster"


class KilledOnceModel(DummyModel):
    """The dummy, whose process kills itself in its second batch the first time any replica
    gets there (a marker in its folder, which it takes as its weights, says it happened)."""

    def __init__(self, weights: Path) -> None:
        super().__init__()
        self.folder = Path(weights)
        self.batches = 0

    def batch_predict(self, batch, is_multiple_choice):
        self.batches += 1
        marker = self.folder / "killed"
        if self.batches == 2 and not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return super().batch_predict(batch, is_multiple_choice)


class LoggingSlowModel(DummyModel):
    """The dummy, slowed down, writing every prompt it is asked to `asked.txt` beside the
    folder it takes as its weights (a run's weights do not change under it)."""

    def __init__(self, weights: Path) -> None:
        super().__init__()
        self.log = Path(weights).parent / "asked.txt"

    def batch_predict(self, batch, is_multiple_choice):
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(p) + "\n" for p in batch["prompt"]))
        time.sleep(0.4)
        return super().batch_predict(batch, is_multiple_choice)


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    nodes.add_node(num_cpus=2)
    ray.init(address=nodes.address, log_to_driver=False, logging_level="ERROR")
    yield nodes
    ray.shutdown()
    nodes.shutdown()


def run(tmp: Path, name: str, data: Path, cluster=None, **fields) -> dict:
    out = tmp / name
    config = load_config(None, data=data, output_dir=out, progress=False,
                         ray=cluster.address if cluster is not None else None, **fields)
    return evaluate(config)


def lines(results_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (results_dir / "predictions.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("model", ["dummy", "baseline"])
def test_two_replicas_answer_as_one_process(cluster, tmp_path, sample_path, model):
    one = run(tmp_path, "one", sample_path, model=model)
    two = run(tmp_path, "two", sample_path, cluster, model=model, replicas=2)
    saved_one, saved_two = lines(tmp_path / "one"), lines(tmp_path / "two")
    assert [x["model_output_str"] for x in saved_two] == [x["model_output_str"]
                                                         for x in saved_one]
    assert {x["replica"] for x in saved_two} == {0, 1}
    assert "replica" not in saved_one[0]
    assert two.tasks == one.tasks and two.overall == one.overall
    assert two.run.replicas == 2
    assert sum(r.questions for r in two.run.replica_stats) == 42


@pytest.mark.engine
def test_two_replicas_of_the_vllm_model_ask_what_one_process_asks(
        cluster, tmp_path, development_path, tiny_model_dir, tiny_engine):
    config = load_shop_model_config(None, tiny_model_dir)
    out = tmp_path / "one"
    one_config = load_config(None, data=development_path, output_dir=out, progress=False,
                             model="vllm", weights=tiny_model_dir)
    evaluate(one_config, model=VLLMShopModel(config=config, engine=tiny_engine))
    two = run(tmp_path, "two", development_path, cluster, model="vllm",
              weights=tiny_model_dir, replicas=2)
    assert sum(t.parse_failures for t in two.tasks) == 0

    def requests(name: str) -> list[tuple]:
        return [(x["row"], json.dumps(x["runtime"]["route"], sort_keys=True),
                 x["runtime"]["max_tokens"], x["runtime"]["constraint"])
                for x in sorted(lines(tmp_path / name), key=lambda x: x["row"])]

    assert requests("two") == requests("one")
    assert {x["replica"] for x in lines(tmp_path / "two")} == {0, 1}


def test_a_replica_killed_mid_run_loses_nothing(cluster, tmp_path, development_path):
    folder = tmp_path / "model"
    folder.mkdir()
    whole = run(tmp_path, "whole", development_path, model="dummy")
    killed = run(tmp_path, "killed", development_path, cluster, replicas=2,
                 model=f"{HERE}:KilledOnceModel", weights=folder)
    assert (folder / "killed").exists()  # a replica did die
    rows = [x["row"] for x in lines(tmp_path / "killed")]
    assert sorted(rows) == list(range(96))  # every row answered exactly once
    assert killed.tasks == whole.tasks and killed.overall == whole.overall


def test_a_killed_driver_resumes_on_the_cluster(cluster, tmp_path, sample_path):
    folder = tmp_path / "model"
    folder.mkdir()
    out = tmp_path / "run"
    argv = ["--model", f"{HERE}:LoggingSlowModel", "--weights", str(folder), "--output-dir",
            str(out), "--no-progress", "--ray", cluster.address, "--replicas", "2"]
    driver = subprocess.Popen([sys.executable, "local_evaluation.py", *argv], cwd=REPO_ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    predictions = out / "predictions.jsonl"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and driver.poll() is None:
        if predictions.exists() and len(predictions.read_text().splitlines()) >= 12:
            break
        time.sleep(0.05)
    assert driver.poll() is None, driver.stderr.read().decode() if driver.stderr else ""
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    saved = len(predictions.read_text().splitlines())
    assert 12 <= saved < 42

    assert evaluation_main([*argv, "--resume"]) == 0
    whole = run(tmp_path, "whole", sample_path, model="dummy")
    resumed = Results.model_validate_json((out / "results.json").read_text())
    assert resumed.tasks == whole.tasks and resumed.overall == whole.overall
    assert sorted(x["row"] for x in lines(out)) == list(range(42))
    asked = Counter((tmp_path / "asked.txt").read_text().splitlines())
    again = sum(count - 1 for count in asked.values() if count > 1)
    # At most what was in flight when the driver died: a batch of 4 on each replica.
    assert again <= 2 * 4, again


def test_the_single_process_run_does_not_import_ray(tmp_path):
    code = ("import sys; from runtime.cli import evaluation_main; "
            f"assert evaluation_main(['--model', 'dummy', '--output-dir', '{tmp_path}', "
            "'--no-progress']) == 0; assert 'ray' not in sys.modules, 'ray imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize(("argv", "words"), [
    (["--replicas", "0"], "replicas"),
    (["--gpus-per-replica", "2"], "GPUs"),
    (["--replicas", "9"], "needs 9 CPUs"),
])
def test_replicas_the_cluster_cannot_place(cluster, tmp_path, sample_path, capsys, argv,
                                           words):
    saved = tmp_path / "out"
    assert evaluation_main(["--model", "dummy", "--output-dir", str(saved), "--no-progress"]) == 0
    before = (saved / "predictions.jsonl").read_bytes()
    try:
        code = evaluation_main(["--model", "dummy", "--output-dir", str(saved),
                                "--no-progress", "--overwrite", "--ray", cluster.address, *argv])
    except SystemExit as exit_:  # argparse's own refusal of the number
        code = int(exit_.code or 0)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error: " in line]
    assert code == 2 and len(errors) == 1 and words in errors[0], err
    assert (saved / "predictions.jsonl").read_bytes() == before


def test_a_failed_cluster_run_leaves_no_lock_and_no_empty_answers(cluster, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    code = evaluation_main(["--model", "dummy", "--output-dir", str(out), "--no-progress",
                            "--ray", cluster.address, "--gpus-per-replica", "2"])
    assert code == 2 and "GPUs" in capsys.readouterr().err
    assert list(out.iterdir()) == []
    fresh = tmp_path / "fresh"
    assert evaluation_main(["--model", "dummy", "--output-dir", str(fresh), "--no-progress",
                            "--ray", cluster.address, "--gpus-per-replica", "2"]) == 2
    assert not fresh.exists()
