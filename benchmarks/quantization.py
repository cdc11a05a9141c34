"""Quantization benchmark: what each 4-bit method costs against the float model.

For each direction (calibrate on one file, measure on the other, so that no measured question
calibrated the weights) and each repeat (repeat r calibrates on the next `--samples` rows of
the file's spread order), the embedded model's float form is quantized by every method at one
group size with `runtime.tools.quantize` (in a child process: its wall time and its peak
resident memory, the llm-compressor driver's included). Then, on the held-out questions
rendered exactly as the runtime renders them, with their reference answers appended:
- KL: the mean per-token KL divergence KL(float || 4-bit) of the next-token distributions over
  the answer tokens, teacher-forced. Both models run in transformers in float32; the 4-bit
  weights are dequantized into it: compressed-tensors checkpoints by transformers' own
  decompression, the AWQ GEMM layout (rtn) by `runtime.tools.awq.dequantize`;
- top-1: the share of those tokens where both models' most likely token agrees;
- choice agreement: the share of multiple-choice questions where both pick the same option
  (the most likely of the options' tokens at the answer position).
With `--recipes`, the recipes benchmark's runtime row on the held-out questions for the float
form and each method (vLLM, grader batches), with each row's paired interval against float.

    .venv/bin/python benchmarks/quantization.py [--methods rtn awq gptq] [--samples 64]
        [--repeats 2] [--directions tuning:development development:tuning] [--recipes]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.vllm_config import embedded_model_dirs
from runtime.common.paths import REPO_ROOT
from runtime.tools.quantize import RenderedRow, rendered_rows

SHARED = REPO_ROOT.parent / "shared" / "data"
FILES = {"tuning": SHARED / "tuning.jsonl", "development": SHARED / "development.json"}


def quantize_in_child(source: Path, out: Path, method: str, calibration: Path, samples: int,
                      group: int, skip: int) -> dict[str, Any]:
    """Run `quantize` in a child process; its wall time and peak memory: the larger of the
    child's own (VmHWM) and the llm-compressor driver's."""
    if (out / "config.json").is_file():
        return json.loads((out / "bench.json").read_text())
    code = ("import json,sys; from pathlib import Path; from runtime.tools.quantize import "
            "quantize; from runtime.tools.quantize_driver import peak_memory_mb; "
            "a=json.loads(sys.argv[1]); made=quantize(Path(a[0]), Path(a[1]), a[2], "
            "Path(a[3]), a[4], a[5], skip=a[6]); print(json.dumps({**made, "
            "'own_peak_mb': peak_memory_mb()}))")
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, json.dumps(
        [str(source), str(out), method, str(calibration), samples, group, skip])],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    stdout = child.stdout.read() if child.stdout else ""
    if child.wait() != 0:
        raise SystemExit(f"quantize {method} failed: see {out}.quantize.log")
    summary = json.loads(stdout.strip().splitlines()[-1])
    figures = {"seconds": round(time.perf_counter() - started, 1),
               "peak_rss_mb": max(summary["own_peak_mb"], summary.get("peak_rss_mb") or 0),
               "driver_peak_rss_mb": summary.get("peak_rss_mb"),
               "calibration_tokens": summary.get("tokens")}
    (out / "bench.json").write_text(json.dumps(figures))
    return figures


def load_dequantized(model_dir: Path, float_dir: Path) -> Any:
    """A float32 transformers model holding the 4-bit weights of `model_dir`."""
    import torch
    from transformers import AutoModelForCausalLM

    config = json.loads((model_dir / "config.json").read_text())
    method = config["quantization_config"]["quant_method"]
    if method == "compressed-tensors":
        from transformers.utils.quantization_config import CompressedTensorsConfig

        return AutoModelForCausalLM.from_pretrained(
            str(model_dir), dtype=torch.float32,
            quantization_config=CompressedTensorsConfig(run_compressed=False)).eval()
    from safetensors.numpy import load_file

    from runtime.tools.awq import dequantize

    model = AutoModelForCausalLM.from_pretrained(str(float_dir), dtype=torch.float32).eval()
    packed = load_file(str(model_dir / "model.safetensors"))
    state = model.state_dict()
    for name in state:
        base = name.removesuffix(".weight")
        if f"{base}.qweight" in packed:
            weight = dequantize(packed[f"{base}.qweight"], packed[f"{base}.qzeros"],
                                packed[f"{base}.scales"])
            state[name] = torch.from_numpy(np.ascontiguousarray(weight))
        elif name in packed:  # float16 in the 4-bit checkpoint: as the engine reads it
            state[name] = torch.from_numpy(packed[name].astype(np.float32))
    model.load_state_dict(state)
    return model


def teacher_forced(models: dict[str, Any], rows: list[RenderedRow], tokenizer: Any,
                   max_tokens: int) -> dict[str, dict[str, float | None]]:
    """KL, top-1 and choice agreement of each 4-bit model against `models['float']`."""
    import torch

    kl: dict[str, list[float]] = {name: [] for name in models if name != "float"}
    top1: dict[str, list[bool]] = {name: [] for name in kl}
    choice: dict[str, list[bool]] = {name: [] for name in kl}
    for row in rows:
        prompt = tokenizer(row.prompt, add_special_tokens=False)["input_ids"]
        full = tokenizer(row.prompt + row.answer, add_special_tokens=False)["input_ids"]
        if len(full) > max_tokens or full[:len(prompt)] != prompt or len(full) == len(prompt):
            continue  # too long, or the answer's first token merged into the prompt's last
        ids = torch.tensor([full])
        with torch.no_grad():
            logs = {name: torch.log_softmax(m(ids).logits[0].float(), dim=-1)
                    for name, m in models.items()}
        answer = slice(len(prompt) - 1, len(full) - 1)
        reference = logs["float"][answer]
        option_ids = [tokenizer(str(o), add_special_tokens=False)["input_ids"]
                      for o in row.options]
        single = [i[0] for i in option_ids if len(i) == 1]
        for name in kl:
            quantized = logs[name][answer]
            kl[name] += (reference.exp() * (reference - quantized)).sum(-1).tolist()
            top1[name] += (reference.argmax(-1) == quantized.argmax(-1)).tolist()
            if row.options and len(single) == len(row.options):
                at = len(prompt) - 1
                choice[name].append(int(logs["float"][at, single].argmax())
                                    == int(logs[name][at, single].argmax()))
    return {name: {"kl": float(np.mean(kl[name])), "top1": float(np.mean(top1[name])),
                   "choice_agreement": float(np.mean(choice[name])) if choice[name] else None,
                   "answer_tokens": len(kl[name]), "choices": len(choice[name])}
            for name in kl}


def recipes_rows(weights: list[Path], held_out: Path, output: Path) -> dict[str, Any]:
    """The recipes benchmark's runtime row per weights form, with paired intervals against the
    first (float)."""
    if not output.is_file():
        subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "recipes.py"),
                        "--data", str(held_out), "--weights", *map(str, weights),
                        "--recipes", "runtime", "--repeats", "1", "--output", str(output)],
                       check=True, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    document = json.loads(output.read_text())
    return {run["label"]: run["recipes"]["runtime"] for run in document["runs"]
            if "runtime" in run["recipes"]}


def _spread(values: list[float], digits: int = 3) -> str:
    if not values or values[0] is None:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return (f"{statistics.mean(values):.{digits}f} ({min(values):.{digits}f}-"
            f"{max(values):.{digits}f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=["rtn", "awq", "gptq"])
    parser.add_argument("--samples", type=int, default=64, help="calibration prompts")
    parser.add_argument("--group-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1,
                        help="calibrations per direction, each on other rows")
    parser.add_argument("--directions", nargs="+", default=["tuning:development"],
                        help="CALIBRATION:HELD_OUT pairs of tuning, development")
    parser.add_argument("--max-tokens", type=int, default=2048,
                        help="longest question (prompt and answer) teacher-forced")
    parser.add_argument("--recipes", action="store_true",
                        help="also the recipes benchmark's runtime row per method (vLLM)")
    parser.add_argument("--work", type=Path, default=REPO_ROOT / "outputs" / "quantization",
                        help="where checkpoints and results go (reused when present)")
    args = parser.parse_args()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, _, float_dir = embedded_model_dirs()
    tokenizer = AutoTokenizer.from_pretrained(str(float_dir))
    results: list[dict[str, Any]] = []
    for direction in args.directions:
        calibrate, held = direction.split(":")
        rows = rendered_rows(FILES[held], float_dir, samples=10**6)
        for repeat in range(args.repeats):
            folder = args.work / f"{calibrate}-{args.samples}-r{repeat}"
            made = {m: quantize_in_child(float_dir, folder / m, m, FILES[calibrate],
                                         args.samples, args.group_size,
                                         repeat * args.samples) for m in args.methods}
            models = {"float": AutoModelForCausalLM.from_pretrained(str(float_dir)).eval()}
            models.update({m: load_dequantized(folder / m, float_dir) for m in args.methods})
            agreement = teacher_forced(models, rows, tokenizer, args.max_tokens)
            entry = {"calibration": calibrate, "held_out": held, "repeat": repeat,
                     "methods": {m: {**made[m], **agreement[m]} for m in args.methods}}
            if args.recipes:
                entry["recipes"] = recipes_rows([float_dir, *(folder / m for m in args.methods)],
                                                FILES[held], folder / "recipes.json")
            results.append(entry)
            print(f"done: {direction} repeat {repeat}", file=sys.stderr)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "results.json").write_text(json.dumps(results, indent=1))
    print(f"SmolLM2-135M-Instruct float form, group size {args.group_size}, {args.samples} "
          f"calibration prompts; mean (min-max) over {args.repeats} repeat(s) per direction")
    header = ["calibrated on -> measured on", "method", "KL nats/token", "top-1",
              "choice agreement", "track 5", "track 5 vs float (paired 95%)", "quantize s",
              "peak MB"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for direction in args.directions:
        calibrate, held = direction.split(":")
        entries = [e for e in results if e["calibration"] == calibrate]
        for method in args.methods:
            stats = [e["methods"][method] for e in entries]
            recipes = [e["recipes"][method] for e in entries if "recipes" in e]
            overall = _spread([_grader(r)["overall"] for r in recipes]) if recipes else "-"
            paired = "-"
            if recipes and "shopbench" in recipes[0].get("vs_runtime", {}):
                paired = "; ".join(
                    f"{p['delta']:+.3f} ({p['paired_interval'][0]:+.3f} to "
                    f"{p['paired_interval'][1]:+.3f})" for p in
                    (r["vs_runtime"]["shopbench"] for r in recipes))
            print(f"| {calibrate} -> {held} | {method} | "
                  f"{_spread([s['kl'] for s in stats])} | {_spread([s['top1'] for s in stats])} | "
                  f"{_spread([s['choice_agreement'] for s in stats])} | {overall} | {paired} | "
                  f"{_spread([s['seconds'] for s in stats], 0)} | "
                  f"{_spread([s['peak_rss_mb'] for s in stats], 0)} |")
        if any("recipes" in e for e in entries):
            floats = [_grader(e["recipes"][float_dir.name])["overall"] for e in entries]
            print(f"| {calibrate} -> {held} | float | 0 | 1 | 1 | {_spread(floats)} | - | - | - |")
    print(f"written to {args.work / 'results.json'}")


def _grader(row: dict) -> dict:
    """A recipes row's figures under the KDD Cup grader's scheme."""
    return row["schemes"]["shopbench"]


if __name__ == "__main__":
    main()
