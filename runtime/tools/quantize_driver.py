"""The driver `quantize` runs inside the quantization environment (llm-compressor's own venv).

It is started as a subprocess by runtime/tools/quantize.py with one argument, a JSON job file,
and imports nothing of the runtime: that environment has llm-compressor, torch and
transformers, not vLLM or our dependencies. It loads the float checkpoint (safetensors only,
no remote code), tokenizes the calibration texts the runtime already rendered, runs
llm-compressor's one-shot pipeline with the method's modifiers, and saves the compressed-tensors
checkpoint with the tokenizer. Its last stdout line is a JSON summary (seconds, peak memory).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any


def _scheme(group_size: int) -> dict[str, Any]:
    """Asymmetric 4-bit integer weights with one scale and zero point per group of inputs:
    the W4A16_ASYM preset at the asked group size (the preset fixes 128)."""
    return {"group_0": {"targets": ["Linear"], "weights": {
        "num_bits": 4, "type": "int", "symmetric": False,
        "strategy": "group" if group_size > 0 else "channel",
        "group_size": group_size if group_size > 0 else None}}}


def _recipe(method: str, group_size: int) -> list[Any]:
    from llmcompressor.modifiers.quantization import GPTQModifier, QuantizationModifier
    from llmcompressor.modifiers.transform import AWQModifier

    groups = _scheme(group_size)
    if method == "awq":  # scales searched on activations, then the weights rounded
        return [AWQModifier(), QuantizationModifier(config_groups=groups, ignore=["lm_head"])]
    if method == "gptq":
        return [GPTQModifier(config_groups=groups, ignore=["lm_head"])]
    raise SystemExit(f"unknown method {method!r}")


def _allow_cpu_only() -> None:
    """llm-compressor 0.14's AWQ pins cached activations in page-locked memory before its
    grid search, which torch refuses without an accelerator; pinning only speeds copies to a
    device, so with none there is nothing to pin."""
    import torch
    from llmcompressor.pipelines.cache import IntermediatesCache

    if not torch.accelerator.is_available():
        IntermediatesCache.pin_memory = lambda self, *args, **kwargs: None  # type: ignore


def peak_memory_mb() -> int:
    """This process's own peak resident memory (VmHWM: ru_maxrss would also count the parent's
    memory that a forked child starts with)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def run(job: dict[str, Any]) -> dict[str, Any]:
    from datasets import Dataset
    from llmcompressor import oneshot
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _allow_cpu_only()
    started = time.perf_counter()
    source = str(job["model"])
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True,
                                              trust_remote_code=job["trust_remote_code"])
    model = AutoModelForCausalLM.from_pretrained(
        source, dtype="auto", local_files_only=True, use_safetensors=True,
        trust_remote_code=job["trust_remote_code"])
    texts = [json.loads(line)["text"] for line in
             Path(job["calibration"]).read_text(encoding="utf-8").splitlines() if line]
    # The texts are chat-rendered already: the template put in any special tokens it wants.
    encoded = [tokenizer(text, add_special_tokens=False, truncation=True,
                         max_length=job["max_seq_length"]) for text in texts]
    dataset = Dataset.from_list([{"input_ids": e["input_ids"],
                                  "attention_mask": e["attention_mask"]} for e in encoded])
    oneshot(model=model, dataset=dataset, recipe=_recipe(job["method"], job["group_size"]),
            num_calibration_samples=len(encoded), max_seq_length=job["max_seq_length"])
    model.save_pretrained(job["out"], save_compressed=True)
    tokenizer.save_pretrained(job["out"])
    return {"seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": peak_memory_mb(),
            "tokens": sum(len(e["input_ids"]) for e in encoded)}


if __name__ == "__main__":
    summary = run(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
    print(json.dumps(summary))
