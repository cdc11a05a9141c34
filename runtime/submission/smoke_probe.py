"""The smoke run: the UserModel answers one grader batch of every task type of a data file, and
every answer must parse: `python -m runtime.submission.smoke_probe REPO DATA [WEIGHTS]` prints one
JSON line of the task types asked and the answers the official parser cannot read (run by the
checker in a subprocess, from REPO, so that the submission's own code answers)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

# Lines of the probe's own progress on stderr start with this; the checker shows them (the
# engine's log, also on stderr, it does not).
PROGRESS = "smoke run progress: "


def _progress(text: str) -> None:
    print(PROGRESS + text, file=sys.stderr, flush=True)


def smoke_run(repo: str, data: str, weights: str | None) -> dict[str, Any]:
    sys.path.insert(0, repo)
    from models.user_config import UserModel
    from runtime.grading.grader import batches_as_grader, check_reply
    from runtime.grading.parsers import is_parse_failure
    from runtime.grading.questions import load_questions
    from runtime.grading.scoring import parsed_answer

    started = time.perf_counter()
    model = UserModel(weights=Path(weights)) if weights else UserModel()
    questions = load_questions(data).questions
    types = list(dict.fromkeys(q.labels.task_type for q in questions))
    _progress(f"the UserModel is built ({time.perf_counter() - started:.0f} s); answering one "
              f"batch of each of {len(types)} task types")
    seen: set[str] = set()
    problems: list[str] = []
    for batch in batches_as_grader(questions, model):
        if batch.task_type in seen:
            continue
        seen.add(batch.task_type)
        _progress(f"{len(seen)}/{len(types)}: a batch of {len(batch.questions)} "
                  f"{batch.task_type} questions ({time.perf_counter() - started:.0f} s so far)")
        reply = check_reply(model.batch_predict(
            {"prompt": [q.input_field for q in batch.questions]}, batch.is_multiple_choice),
            batch)
        for q, answer in zip(batch.questions, reply, strict=True):
            if is_parse_failure(parsed_answer(answer, batch.task_type), batch.task_type):
                problems.append(f"row {q.row} ({q.task_type}): {answer[:60]!r}")
    return {"task_types": sorted(seen), "problems": problems}


if __name__ == "__main__":  # vLLM spawns workers: the engine must start under this guard
    print(json.dumps(smoke_run(sys.argv[1], sys.argv[2],
                               sys.argv[3] if len(sys.argv) > 3 else None)))
