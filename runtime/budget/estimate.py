"""Physical lower bounds on a track's run time, on paper, before anything runs.

Prefill is bound by compute: 2 x parameters FLOPs per prompt token the engine must compute, at
the GPUs' half-precision throughput. The engine caches shared prompt prefixes, so the start
that every prompt of a task type shares (system turn, task instruction) is computed once per
track, and only each question's own tokens after it once per question (`PromptSizes`). Decode
is bound by memory bandwidth: every decoding step of a batch reads all the weights once. Real
runs are slower (attention, KV-cache reads, kernel efficiency, scheduling); a projection below
these bounds is impossible, one far above them is room to optimise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from runtime.answering.shapes import DecodingConfig, typical_new_tokens
from runtime.common.paths import shown_path


class GPUSpec(BaseModel):
    """Published figures of one GPU (dense half-precision tensor throughput, memory)."""

    name: str
    memory_gb: float = Field(description="Memory per GPU, GB.")
    bandwidth_gbs: float = Field(description="Memory bandwidth, GB/s.")
    fp16_tflops: float = Field(description="Dense FP16 tensor-core throughput, TFLOP/s.")
    bfloat16: bool = Field(description="Whether the GPU computes in bfloat16.")
    compute_capability: float


GPUS: dict[str, GPUSpec] = {
    "T4": GPUSpec(name="T4", memory_gb=16, bandwidth_gbs=320, fp16_tflops=65, bfloat16=False,
                  compute_capability=7.5),
    "A10G": GPUSpec(name="A10G", memory_gb=24, bandwidth_gbs=600, fp16_tflops=125,
                    bfloat16=True, compute_capability=8.6),
    "L4": GPUSpec(name="L4", memory_gb=24, bandwidth_gbs=300, fp16_tflops=121, bfloat16=True,
                  compute_capability=8.9),
    "A100": GPUSpec(name="A100", memory_gb=80, bandwidth_gbs=2039, fp16_tflops=312,
                    bfloat16=True, compute_capability=8.0),
    "H100": GPUSpec(name="H100", memory_gb=80, bandwidth_gbs=3350, fp16_tflops=989,
                    bfloat16=True, compute_capability=9.0),
}


class Workload(BaseModel):
    """What one track asks of the model: per task type, questions and their token sizes."""

    questions: int = Field(ge=0)
    prompt_tokens: float = Field(ge=0, description="Mean prompt tokens per question that no "
                                 "other prompt shares (computed for each question).")
    shared_prompt_tokens: float = Field(default=0, ge=0, description="The prompt start every "
                                        "question of the type shares: computed once.")
    new_tokens: int = Field(ge=0, description="New tokens per question (the budget).")


@dataclass(frozen=True)
class PromptSizes:
    """Prompt tokens per task type as the engine computes them, and how they were counted."""

    per_question: dict[str, float]  # each question's own tokens, after the shared start
    shared: dict[str, float]  # the start every prompt of the type shares
    counted_with: str  # "the tokenizer of X" or "about 4 characters per token"


def common_start(sequences: list[list[int]] | list[str]) -> int:
    """The length of the start every sequence shares."""
    if not sequences:
        return 0
    first = sequences[0]
    length = len(first)
    for other in sequences[1:]:
        length = min(length, len(other))
        for i in range(length):
            if other[i] != first[i]:
                length = i
                break
    return length


def prompt_sizes(by_type: dict[str, list[list[int]]] | dict[str, list[str]], scale: float,
                 counted_with: str) -> PromptSizes:
    """Per task type, the shared start of its prompts and each question's mean own part, in
    tokens (`scale` turns the sequences' units into tokens: 1 for token ids, 1/4 for
    characters)."""
    shared = {t: common_start(seqs) * scale for t, seqs in by_type.items()}
    own = {t: sum(len(seq) for seq in seqs) / len(seqs) * scale - shared[t]
           for t, seqs in by_type.items() if seqs}
    return PromptSizes(own, shared, counted_with)


@dataclass
class Bound:
    prefill_s: float
    decode_s: float
    weight_gb: float
    decode_steps: int

    @property
    def total_s(self) -> float:
        return self.prefill_s + self.decode_s


def weight_bytes(parameters_b: float, bits: int) -> float:
    """Bytes of weights: parameters (billions) at `bits` per weight."""
    return parameters_b * 1e9 * bits / 8


def lower_bound(
    parameters_b: float,
    bits: int,
    gpu: GPUSpec,
    gpus: int,
    workloads: list[Workload],
    batch_size: int,
) -> Bound:
    """The least time the workloads can take on `gpus` x `gpu` at `batch_size` per step."""
    flops = gpu.fp16_tflops * 1e12 * gpus
    bandwidth = gpu.bandwidth_gbs * 1e9 * gpus
    weights = weight_bytes(parameters_b, bits)
    read_s = weights / bandwidth  # one pass over the weights
    prefill_s = 0.0
    steps = 0
    for w in workloads:
        batches = math.ceil(w.questions / batch_size)
        tokens = w.questions * w.prompt_tokens + (w.shared_prompt_tokens if w.questions else 0)
        compute_s = 2 * parameters_b * 1e9 * tokens / flops
        # Each batch's prefill is one forward pass: at least one read of the weights.
        prefill_s += max(compute_s, batches * read_s)
        # The prefill yields the first new token; every further token is a decode step of
        # the batch, and each step reads all the weights once.
        steps += batches * max(w.new_tokens - 1, 0)
    return Bound(prefill_s=prefill_s, decode_s=steps * read_s, weight_gb=weights / 1e9,
                 decode_steps=steps)


BASELINE_NEW_TOKENS = {"multiple-choice": 1, "retrieval": 100, "ranking": 100,
                       "named_entity_recognition": 100, "generation": 100}


def runtime_new_tokens(decoding: DecodingConfig) -> dict[str, int]:
    """The budgets per task type of a model configuration's decoding settings (the shape
    table's defaults where it sets none; a 15-candidate pick, a 5-item ranking)."""
    return typical_new_tokens(decoding)


def estimate_lines(
    parameters_b: float, bits: int, gpu: GPUSpec, gpus: int, batch_size: int,
    counts: dict[str, dict[str, int]], prompts: PromptSizes,
    new_tokens: dict[str, int], limits: dict[str, float], names: dict[str, str],
) -> list[str]:
    """The bound of every track, with the arithmetic spelled out."""
    weights = weight_bytes(parameters_b, bits)
    read_ms = weights / (gpu.bandwidth_gbs * 1e9 * gpus) * 1e3
    lines = [
        f"Lower bound for a {parameters_b:g}B model at {bits}-bit on {gpus} x {gpu.name} "
        f"({gpu.bandwidth_gbs:g} GB/s, {gpu.fp16_tflops:g} TFLOP/s FP16 each), batch "
        f"{batch_size}:",
        f"  weights {weights / 1e9:.1f} GB = {weights / 1e9 / gpus:.1f} GB per GPU "
        f"(of {gpu.memory_gb:g} GB"
        + (", so they do not fit: more GPUs or fewer bits" if weights / 1e9 / gpus
           > gpu.memory_gb else "") + f"); one read of all weights = {weights / 1e9:.1f} GB / "
        f"{gpu.bandwidth_gbs * gpus:g} GB/s = {read_ms:.1f} ms",
        f"  prefill: 2 x {parameters_b:g}e9 FLOP per prompt token the engine computes / "
        f"{gpu.fp16_tflops * gpus:g} TFLOP/s (at least one weight read per batch; a task "
        "type's shared prompt start computed once per track)",
        "  decode: (new tokens - 1) steps per batch x one weight read",
    ]
    if weights / gpus > gpu.memory_gb * 1e9:
        lines.append("  WARNING: the weights alone do not fit in the GPUs' memory")
    every: dict[str, int] = {}
    for track, per_type in counts.items():
        workloads = [Workload(questions=n, prompt_tokens=prompts.per_question.get(t, 300),
                              shared_prompt_tokens=prompts.shared.get(t, 0),
                              new_tokens=new_tokens.get(t, 50)) for t, n in per_type.items()]
        for t, n in per_type.items():
            every[t] = every.get(t, 0) + n
        bound = lower_bound(parameters_b, bits, gpu, gpus, workloads, batch_size)
        lines.append(_bound_line(names.get(track, track), bound, limits.get(track)))
    # Track 5 answers every question in one run: each task type's shared start once.
    total_all = [Workload(questions=n, prompt_tokens=prompts.per_question.get(t, 300),
                          shared_prompt_tokens=prompts.shared.get(t, 0),
                          new_tokens=new_tokens.get(t, 50)) for t, n in every.items()]
    bound = lower_bound(parameters_b, bits, gpu, gpus, total_all, batch_size)
    lines.append(_bound_line(names.get("all", "Track 5 (all questions)"), bound,
                             limits.get("all")))
    return lines


def _bound_line(name: str, bound: Bound, limit: float | None) -> str:
    verdict = ""
    if limit:
        verdict = (f" -> {bound.total_s / limit:.0%} of the {limit / 60:.0f}-minute limit"
                   + (" (CANNOT FIT)" if bound.total_s > limit else ""))
    return (f"  {name}: prefill {bound.prefill_s:.0f} s + decode {bound.decode_steps} steps "
            f"= {bound.decode_s:.0f} s; bound {bound.total_s:.0f} s{verdict}")


def rendered_prompt_sizes(questions: list[Any], prompts_dir: Path, model_dir: Path | None,
                          exemplars: int = 0) -> PromptSizes:
    """The prompt sizes of `questions` as the runtime sends them: routed, its task template and
    system turn applied, in the model's chat template and counted with its tokenizer where
    `model_dir` has one (else about 4 characters per token). Each few-shot exemplar is one
    more question's own tokens."""
    from runtime.answering.prompting import messages_for
    from runtime.answering.router import route

    tokenizer = _tokenizer(model_dir)
    by_type: dict[str, list[Any]] = {}
    for q in questions:
        messages = messages_for(q.input_field, route(q.input_field, q.is_multiple_choice),
                                prompts_dir)
        if tokenizer is not None:
            text = tokenizer.apply_chat_template(messages, tokenize=False,
                                                 add_generation_prompt=True)
            rendered: Any = tokenizer.encode(str(text), add_special_tokens=False)
        else:
            rendered = "".join(f"{m['role']}\n{m['content']}\n" for m in messages)
        by_type.setdefault(str(q.labels.task_type), []).append(list(rendered))
    counted = (f"the tokenizer and chat template of {shown_path(model_dir)}"
               if tokenizer is not None and model_dir is not None else
               "about 4 characters per token (no tokenizer in the configured model folder)")
    sizes = prompt_sizes(by_type, 1.0 if tokenizer is not None else 0.25, counted)
    if not exemplars:
        return sizes
    return PromptSizes({t: n * (1 + exemplars) for t, n in sizes.per_question.items()},
                       sizes.shared, f"{counted}; each question's own part times "
                       f"{1 + exemplars} for {exemplars} few-shot exemplars")


def _tokenizer(model_dir: Path | None) -> Any:
    """The model folder's tokenizer with a chat template, or None."""
    if model_dir is None or not (Path(model_dir) / "tokenizer_config.json").is_file():
        return None
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    # A folder whose tokenizer does not load is counted by characters instead, and says so.
    except Exception:  # noqa: BLE001
        return None
    return tokenizer if getattr(tokenizer, "chat_template", None) else None
