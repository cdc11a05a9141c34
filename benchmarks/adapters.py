"""Serving LoRA adapters unmerged: what it costs in time here, and in GPU memory on paper.

Measured: the runtime answers `--data` (default: the development set) over a float base
(default: the embedded SmolLM2) in five ways, each in a process of its own with a fresh engine:

    base       the base alone, LoRA off
    lora-on    LoRA on in the engine, no adapter used
    one        adapter A for every question (as --adapter)
    by-skill   A for skills 1 and 2, B for skills 3 and 4 (the router's guess picks)
    merged     A merged into the base (merge-adapter), served as a plain checkpoint

The adapters are made here with peft (rank `--rank` over all seven projections, small random
weights, so that answers stay near the base's and decode lengths comparable: the cost of an
adapter does not depend on its values). Each way answers the set `--repeats` times from an empty
prefix cache, as the grader calls; printed: engine start, generation seconds (median, min-max),
decode steps, ms per decode step, answers per adapter.

On paper: the memory vLLM sets aside on each GPU for one and two slots of rank-16 and rank-64
adapters over Qwen2-72B at tensor parallel 4 (the winners' base, FACTS.md), against a T4.

    .venv/bin/python -m benchmarks.adapters [--weights DIR] [--data F ...] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.recipes import load_all, run_recipe
from runtime.common.paths import REPO_ROOT

WAYS = ("base", "lora-on", "one", "by-skill", "merged")
# Qwen2-72B-Instruct's config.json dimensions (public), the winners' base model.
QWEN2_72B = {"hidden_size": 8192, "intermediate_size": 29568, "num_hidden_layers": 80,
             "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 128}
T4_GB = 16.0
WINNERS_WEIGHTS_GB = 42.0  # AWQ 4-bit Qwen2-72B, FACTS.md


def make_adapters(base: Path, folder: Path, rank: int) -> tuple[Path, Path]:
    """Adapters A and B of `base`: every projection, rank `rank`, small random weights."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    made = []
    for seed, name in ((1, "A"), (2, "B")):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
        adapted = get_peft_model(model, LoraConfig(
            r=rank, lora_alpha=rank, init_lora_weights=False, task_type="CAUSAL_LM",
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                            "down_proj"]))
        with torch.no_grad():
            for parameter_name, parameter in adapted.named_parameters():
                if "lora_B" in parameter_name:
                    parameter.mul_(0.01)
        adapted.save_pretrained(str(folder / name))
        made.append(folder / name)
    return made[0], made[1]


def run_way(way: str, weights: Path, adapters: tuple[Path, Path], data: list[Path],
            repeats: int) -> dict[str, Any]:
    """One way's passes over the data, in this process (one engine)."""
    from models.vllm_config import AdapterConfig, load_shop_model_config, served_adapters_config
    from models.vllm_model import VLLMShopModel
    from runtime.answering.adapters import read_adapter, served_rank
    from runtime.answering.engine import Engine

    config = load_shop_model_config(None, weights)
    if way == "one":
        config = served_adapters_config(config, adapters[0])
    elif way in ("lora-on", "by-skill"):
        rank = served_rank(max(read_adapter(a).rank for a in adapters))
        lora_on = config.engine.model_copy(update={"enable_lora": True, "max_lora_rank": rank})
        mapping = AdapterConfig(by_skill={"1": adapters[0], "2": adapters[0],
                                          "3": adapters[1], "4": adapters[1]}) \
            if way == "by-skill" else AdapterConfig()
        config = config.model_copy(update={"engine": lora_on, "adapters": mapping})
    engine = Engine(config.engine)
    model = VLLMShopModel(config=config, engine=engine)
    questions = load_all(data)
    passes = []
    for _ in range(repeats):
        engine.reset_prefix_cache()
        run = run_recipe(model, questions)
        passes.append({"seconds": run["seconds"], "decode_steps": run["decode_steps"],
                       "generated_tokens": run["generated_tokens"],
                       "adapters": run["adapters"]})
    return {"way": way, "model": config.engine.model.name, "load_s": engine.load_s,
            "dtype": str(engine.llm.llm_engine.model_config.dtype).removeprefix("torch."),
            "questions": len(questions), "passes": passes}


def _child(way: str, weights: Path, adapters: tuple[Path, Path], data: list[Path],
           repeats: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.adapters", "--child", way, "--weights",
               str(weights), "--adapter-folders", *map(str, adapters), "--repeats",
               str(repeats), "--data", *map(str, data)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"error: the {way} run failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory_lines() -> list[str]:
    from runtime.answering.adapters import lora_slot_bytes

    weights_per_gpu = WINNERS_WEIGHTS_GB / 4
    lines = ["| rank | slots | GB per T4 at TP 4 | with 10.5 GB of weights per T4 |",
             "|---|---|---|---|"]
    for rank in (16, 64):
        for slots in (1, 2):
            gb = lora_slot_bytes(QWEN2_72B, slots, rank, gpus=4) / 1e9
            lines.append(f"| {rank} | {slots} | {gb:.2f} | {weights_per_gpu + gb:.2f} of "
                         f"{T4_GB:g} GB |")
    return lines


def print_table(results: list[dict[str, Any]]) -> None:
    base = next(r for r in results if r["way"] == "base")
    base_s = statistics.median(p["seconds"] for p in base["passes"])
    print(f"{base['questions']} questions; {base['model']} ({base['dtype']}); "
          f"{len(base['passes'])} passes per way")
    print("| way | engine start s | gen s median (min-max) | vs base | decode steps | "
          "ms per step | answers per adapter |")
    print("|---|---|---|---|---|---|---|")
    for result in results:
        seconds = [p["seconds"] for p in result["passes"]]
        median = statistics.median(seconds)
        steps = statistics.median(p["decode_steps"] for p in result["passes"])
        used = ", ".join(f"{name} {count}" for name, count in
                         sorted(result["passes"][-1]["adapters"].items()))
        print(f"| {result['way']} | {result['load_s']:.1f} | {median:.1f} "
              f"({min(seconds):.1f}-{max(seconds):.1f}) | {median / base_s:.2f}x | "
              f"{steps:,.0f} | {1000 * median / max(steps, 1):.0f} | {used} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, help="a float base (default: the embedded "
                        "SmolLM2, float)")
    parser.add_argument("--data", type=Path, nargs="+",
                        default=[REPO_ROOT.parent / "shared" / "data" / "development.json"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--ways", nargs="+", choices=WAYS[1:], default=list(WAYS[1:]),
                        help="the ways besides the base, which is always measured")
    parser.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--adapter-folders", type=Path, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_way(args.child, args.weights, tuple(args.adapter_folders),
                                 args.data, args.repeats)))
        return
    from models.vllm_config import embedded_model_dirs
    from runtime.tools.merge_adapter import merge_adapter

    weights = (args.weights or embedded_model_dirs()[2]).resolve()
    with tempfile.TemporaryDirectory(prefix="adapters-benchmark-") as scratch:
        folder = Path(scratch)
        adapters = make_adapters(weights, folder, args.rank)
        merged = folder / "merged"
        if "merged" in args.ways:
            merge_adapter(weights, adapters[0], merged)
        results = []
        for way in ["base", *args.ways]:
            print(f"{way}...", file=sys.stderr)
            results.append(_child(way, merged if way == "merged" else weights, adapters,
                                  args.data, args.repeats))
    print_table(results)
    print("\nOn paper: vLLM's LoRA slots over Qwen2-72B (every projection, float16, "
          "fully_sharded_loras off), per T4 at tensor parallel 4")
    print("\n".join(memory_lines()))


if __name__ == "__main__":
    main()
