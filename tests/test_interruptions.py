"""Real interruptions of `local_evaluation.py` as a program: `kill -9` at moments that land inside
the writing of long non-ASCII answers, then `--resume`, always gives the scores of an
uninterrupted run; Ctrl-C (SIGINT) ends with one line and exit status 130."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO_ROOT

# Tasks whose metrics need no embedding model: each run stays a few seconds.
TASKS = ["sample-t4-japanese", "sample-t4-translate", "sample-t1-keyphrase",
         "sample-t1-attribute", "sample-t3-rank", "sample-t1-entities"]


class JapaneseModel:
    """Answers that depend on the prompt alone (so a resumed run answers as an uninterrupted
    one), long Japanese free text (a line of about 300 kB: its write takes a while, and a kill
    can cut it inside a three-byte character), a batch of one, a pause per batch."""

    def get_batch_size(self):
        return 1

    def batch_predict(self, batch, is_multiple_choice):
        time.sleep(0.15)
        answers = []
        for prompt in batch["prompt"]:
            value = sum(map(ord, prompt))
            if is_multiple_choice:
                answers.append(str(value % 4))
            else:
                answers.append(f"{value % 5 + 1},{(value // 5) % 5 + 1} 答え{value % 7} "
                               + "日本語の長い答え。" * 11_000)
        return answers


def command(out, *extra):
    return [sys.executable, "local_evaluation.py", "--model",
            "tests.test_interruptions:JapaneseModel", "--output-dir", str(out),
            "--no-progress", *[arg for task in TASKS for arg in ("--task", task)], *extra]


def run(out, *extra):
    return subprocess.run(command(out, *extra), cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300)


def scores(out):
    results = json.loads((out / "results.json").read_text())
    return [(t["task_name"], t["score"]) for t in results["tasks"]], results["overall"]["score"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    assert run(out).returncode == 0
    return scores(out)


def started_and_answering(out, whole_line=False):
    """The run started, once its first answers are on disk (with `whole_line`, once a whole
    answer line is)."""
    process = subprocess.Popen(command(out), cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    saved = out / "predictions.jsonl"
    deadline = time.monotonic() + 120

    def there() -> bool:
        if not (saved.is_file() and saved.stat().st_size > 0):
            return False
        return not whole_line or b"\n" in saved.read_bytes()

    while not there():
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.01)
    return process


def tear_the_last_line_inside_a_character(path):
    """What a write cut short by the kill leaves (the kernel stops a large write at a page
    boundary when the process is killed): the file ends inside a character of its last
    Japanese line."""
    content = path.read_bytes()
    inside = content.rfind("答".encode()) + 1  # in the last line written in Japanese
    assert inside > 0
    path.write_bytes(content[:inside])


@pytest.mark.parametrize(("delay", "torn"), [(0.0, False), (0.07, False), (0.21, False),
                                             (0.45, False), (0.9, False), (0.3, True)])
def test_a_kill_at_any_moment_resumes_to_the_uninterrupted_scores(delay, torn, uninterrupted,
                                                                   tmp_path):
    out = tmp_path / "out"
    process = started_and_answering(out)
    time.sleep(delay)
    while torn and "答".encode() not in (out / "predictions.jsonl").read_bytes():
        time.sleep(0.02)  # until a Japanese answer is on disk
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    if torn:
        tear_the_last_line_inside_a_character(out / "predictions.jsonl")
    resumed = run(out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert scores(out) == uninterrupted


def test_ctrl_c_is_one_line_and_exit_130_and_resumes(uninterrupted, tmp_path):
    out = tmp_path / "out"
    process = started_and_answering(out, whole_line=True)  # one whole answer is on disk
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "interrupted;" in errors[0] and "--resume" in errors[0], err
    saved = int(errors[0].split("interrupted; ")[1].split(" ")[0])
    assert saved >= 1
    resumed = run(out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    # The count said is what the resume reused.
    assert json.loads((out / "results.json").read_text())["run"]["resumed_rows"] == saved
    assert scores(out) == uninterrupted


def test_the_second_of_two_runs_into_one_folder_is_refused_at_once(tmp_path):
    out = tmp_path / "out"
    first = started_and_answering(out)
    try:
        second = run(out, "--resume")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    assert second.returncode == 2
    assert "in use by another run (process" in second.stderr
    assert os.path.getsize(out / "predictions.jsonl") > 0


class PairModel:
    """Answers that depend on the prompt alone, two to a batch."""

    def get_batch_size(self):
        return 2

    def batch_predict(self, batch, is_multiple_choice):
        return [str(sum(map(ord, p)) % 4) if is_multiple_choice else f"{len(p) % 5 + 1},1"
                for p in batch["prompt"]]


# The code between a batch's answers and the next batch: the run loop, the file's writer.
WATCHED = {"generate_answers", "append_batch", "write_durably", "_as_text",
           "_write_atomically", "_slow_batch", "prediction_line"}


class CtrlCAt:
    """Sends this process SIGINT (as Ctrl-C does) at the `at`-th line the run executes from
    the moment it starts writing its second batch until it asks for the third; with `at`
    None, only lists those lines."""

    def __init__(self, at=None):
        self.at, self.lines, self.batches, self.active = at, [], 0, False

    def call(self, frame, event, arg):
        name = frame.f_code.co_name
        if event == "call" and name == "append_batch":
            self.batches += 1
            self.active = self.batches == 2
        elif event == "call" and name == "ask":
            self.active = False
        return self.line if name in WATCHED else None

    def line(self, frame, event, arg):
        if event == "line" and self.active:
            if len(self.lines) == self.at:
                os.kill(os.getpid(), signal.SIGINT)
            self.lines.append((frame.f_code.co_name, frame.f_lineno))
        return self.line


def interrupted_run(out, at):
    from runtime.cli import evaluation_main

    tracer = CtrlCAt(at)
    sys.settrace(tracer.call)
    try:
        code = evaluation_main(EVALUATION + ["--output-dir", str(out)])
    finally:
        sys.settrace(None)
    return code, tracer


EVALUATION = ["--model", "tests.test_interruptions:PairModel", "--no-progress",
              "--task", "sample-t1-attribute", "--task", "sample-t3-rank",
              "--task", "sample-t1-entities", "--task", "sample-t4-translate"]


def test_the_count_said_at_ctrl_c_is_what_the_resume_reuses_wherever_it_lands(tmp_path,
                                                                              capsys):
    code, listing = interrupted_run(tmp_path / "listing", None)
    assert code == 0 and len(listing.lines) > 10, listing.lines
    counts = set()
    for at in range(len(listing.lines)):
        out = tmp_path / f"at{at}"
        capsys.readouterr()
        code, tracer = interrupted_run(out, at)
        err = capsys.readouterr().err
        assert code == 130, (at, listing.lines[at], err)
        said = [line for line in err.splitlines() if line.startswith("error: interrupted; ")]
        assert len(said) == 1, err
        saved = int(said[0].removeprefix("error: interrupted; ").split(" ")[0])
        from runtime.cli import evaluation_main

        assert evaluation_main(EVALUATION + ["--output-dir", str(out), "--resume"]) == 0
        resumed = json.loads((out / "results.json").read_text())["run"]["resumed_rows"]
        assert resumed == saved, (at, listing.lines[at], err)
        counts.add(saved)
    # The points reached both sides of the second batch's write: its first batch's answers
    # alone, and the second's too.
    assert len(counts) == 2 and min(counts) == 2, counts

