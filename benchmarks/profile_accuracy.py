"""How well the profiler's projection matches a measured run.

Profiles VLLMShopModel on the CPU engine with the tiny model over a stratified 25 % sample of
the development set plus the sample set, projects the whole of both and each track from the
fitted cost model, then measures the whole of both and each track (called as the grader calls,
prefix cache emptied first). Profile and measurement run back to back in each of --rounds
rounds; prints the medians and each round's whole-run figures. Target: within 15 %.

    .venv/bin/python benchmarks/profile_accuracy.py [--fraction 0.25] [--rounds 5] [--data F ...]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

from models.vllm_config import ShopModelConfig
from models.vllm_model import VLLMShopModel
from runtime.answering.engine import Engine, EngineConfig
from runtime.budget.profiler import (
    counts_of,
    fit_costs,
    profile_batches,
    project_tracks,
    stratified_sample,
    warm_up,
)
from runtime.common.competition import TRACK5
from runtime.common.paths import REPO_ROOT, SAMPLE_DATA
from runtime.grading.questions import load_questions
from runtime.tools.tiny_model import write_tiny_model

DEVELOPMENT = REPO_ROOT.parent / "shared" / "data" / "development.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fraction", type=float, default=0.25)
    parser.add_argument("--rounds", type=int, default=5, help="profile-then-measure rounds")
    parser.add_argument("--data", type=Path, nargs="+", default=[DEVELOPMENT, SAMPLE_DATA],
                        help="data files profiled and measured together")
    args = parser.parse_args()
    questions = [q for path in args.data for q in load_questions(path).questions]
    # Rows are keyed by position: renumber so that the files' rows stay distinct.
    questions = [q.model_copy(update={"row": row}) for row, q in enumerate(questions)]
    engine = Engine(EngineConfig(model=write_tiny_model(Path(tempfile.mkdtemp()) / "tiny"),
                                 max_model_len=3072))
    model = VLLMShopModel(config=ShopModelConfig(engine=engine.config), engine=engine)
    sample = stratified_sample(questions, math.ceil(len(questions) * args.fraction))

    warm_up(model, sample)
    tracks = sorted({q.track or "" for q in questions})

    def timed(subset: list) -> float:
        engine.reset_prefix_cache()
        started = time.perf_counter()
        profile_batches(model, subset)
        return time.perf_counter() - started

    # One profile times about six batches of a few hundredths of a second, and a whole run takes
    # about a second; both swing by tens of percent on a shared 2-core machine. So each round
    # profiles and then measures back to back (a slow spell hits both), and the median of the
    # rounds' errors is the figure.
    rounds = []
    for _ in range(args.rounds):
        engine.reset_prefix_cache()
        records = profile_batches(model, sample)
        projection = project_tracks(records, fit_costs(records), counts_of(questions),
                                    model.get_batch_size())
        measured = {TRACK5: timed(questions)}
        for track in tracks:
            measured[track] = timed([q for q in questions if (q.track or "") == track])
        rounds.append({track: (projection[track].projected_s, measured[track])
                       for track in [*tracks, TRACK5]})

    print(f"engine start-up {engine.load_s:.1f} s (excluded); profiled {len(sample)} of "
          f"{len(questions)} questions in {len(records)} batches; {args.rounds} rounds")
    print(f"{'':48}{'projected':>11}{'measured':>11}{'error':>9}   (medians over rounds)")
    for track in [*tracks, TRACK5]:
        pairs = [r[track] for r in rounds]
        errors = [(p - m) / m for p, m in pairs]
        name = "whole of both (track 5)" if track == TRACK5 else track
        print(f"{name:48}{statistics.median(p for p, _ in pairs):>10.2f}s"
              f"{statistics.median(m for _, m in pairs):>10.2f}s"
              f"{statistics.median(errors):>+9.1%}"
              + ("   (target within 15 %)" if track == TRACK5 else ""))
    print("whole run, each round (projected / measured): " + ", ".join(
        f"{r[TRACK5][0]:.2f} / {r[TRACK5][1]:.2f} s" for r in rounds))

if __name__ == "__main__":
    main()
