"""Scale-out benchmark: the same evaluation in one process and on Ray at 1 and 2 replicas.

For each model of `--models` (default: the no-LLM baseline and the default UserModel, the
embedded model through vLLM) and each way of running it (one process; `--ray` with 1 replica;
with 2), runs `local_evaluation.py`'s path on `--data` (default: the development and tuning
sets) `--repeats` times into fresh output folders, and prints per way: questions, answering
throughput (questions per second of generation), the model's load (engine starts included),
generation time, the whole command, each replica's busy seconds, and Ray's overhead against the
single process at 1 replica. The local Ray instance is started once (its start is printed on
its own) and shared by the Ray runs, as one would keep a cluster up between runs. Every run's
scores must equal the single process's (it stops otherwise).

    .venv/bin/python benchmarks/scale_out.py [--data PATH ...] [--models NAME ...] [--repeats N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from runtime.common.paths import REPO_ROOT
from runtime.grading.config import load_config
from runtime.grading.evaluation import evaluate
from runtime.grading.results import Results

SHARED = REPO_ROOT.parent / "shared" / "data"
DEFAULT_DATA = [SHARED / "development.json", SHARED / "tuning.jsonl"]
# Every way uses the whole machine: one replica holds both cores of a 2-core box, two hold one
# each (Ray gives a replica as many threads as CPUs).
WAYS: dict[str, dict[str, Any]] = {
    "one process": {},
    "Ray, 1 replica": {"ray": "local", "replicas": 1, "cpus_per_replica": 2},
    "Ray, 2 replicas": {"ray": "local", "replicas": 2, "cpus_per_replica": 1},
}


def one_run(model: str, data: list[Path], way: dict[str, Any], out: Path) -> Results:
    config = load_config(None, data=data, model=model, output_dir=out, progress=False, **way)
    with contextlib.redirect_stdout(io.StringIO()):  # the run's own tables
        return evaluate(config)


def _spread(values: list[float]) -> str:
    middle = statistics.median(values)
    return f"{middle:.1f} ({min(values):.1f}–{max(values):.1f})" if len(values) > 1 \
        else f"{middle:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", default=DEFAULT_DATA)
    parser.add_argument("--models", nargs="+", default=["baseline", "UserModel"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--ways", nargs="+", choices=list(WAYS), default=list(WAYS))
    args = parser.parse_args()

    import ray

    started = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    ray_start_s = time.perf_counter() - started
    print(f"Ray: a local instance started in {ray_start_s:.1f} s "
          f"({ray.cluster_resources().get('CPU', 0):g} CPUs), kept for every Ray run")
    print("| model | way | questions | throughput (q/s) | model load (s) | generation (s) "
          "| whole run (s) | replicas busy (s) |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for model in args.models:
        reference: Results | None = None
        generation: dict[str, list[float]] = {}
        for name, way in WAYS.items():
            if name not in args.ways:
                continue
            runs = []
            for _ in range(args.repeats):
                with tempfile.TemporaryDirectory() as folder:
                    runs.append(one_run(model, args.data, way, Path(folder) / "out"))
                print(f"{model}, {name}: {runs[-1].timing.total_s:.1f} s",
                      file=sys.stderr, flush=True)
            # Scores are compared with the first way run (the single process by default).
            reference = reference or runs[0]
            for result in runs:
                if result.tasks != reference.tasks:
                    sys.exit(f"{model}, {name}: scores differ from the single process's")
            times = [r.timing for r in runs]
            generation[name] = [t.generation_s or 0.0 for t in times]
            questions = runs[0].run.num_questions
            busy = [", ".join(f"{r.busy_s:.0f}" for r in result.run.replica_stats)
                    for result in runs if result.run.replica_stats]
            print(f"| {model} | {name} | {questions} "
                  f"| {_spread([questions / (t.generation_s or 1e-9) for t in times])} "
                  f"| {_spread([t.model_load_s or 0.0 for t in times])} "
                  f"| {_spread(generation[name])} | {_spread([t.total_s for t in times])} "
                  f"| {'; '.join(busy) or '–'} |", flush=True)
        if len(generation) == len(WAYS):
            single, on_ray, two = (statistics.median(generation[w]) for w in WAYS)
            print(f"\n{model}: Ray's overhead at 1 replica: {on_ray - single:+.1f} s of "
                  f"generation ({(on_ray / single - 1) * 100:+.1f}%); 2 replicas: "
                  f"{single / two:.2f}× the single process's throughput\n", flush=True)
    ray.shutdown()


if __name__ == "__main__":
    main()
