"""Physical lower bounds on a track's run time, on paper, before anything runs.

Prefill is bound by compute: 2 x parameters FLOPs per prompt token, at the GPUs' half-precision
throughput. Decode is bound by memory bandwidth: every decoding step of a batch reads all the
weights once. Real runs are slower (attention, KV-cache reads, kernel efficiency, scheduling);
a projection below these bounds is impossible, one far above them is room to optimise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, Field


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
    prompt_tokens: float = Field(ge=0, description="Mean prompt tokens per question.")
    new_tokens: int = Field(ge=0, description="New tokens per question (the budget).")


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
        compute_s = 2 * parameters_b * 1e9 * w.questions * w.prompt_tokens / flops
        # Each batch's prefill is one forward pass: at least one read of the weights.
        prefill_s += max(compute_s, batches * read_s)
        # The prefill yields the first new token; every further token is a decode step of
        # the batch, and each step reads all the weights once.
        steps += batches * max(w.new_tokens - 1, 0)
    return Bound(prefill_s=prefill_s, decode_s=steps * read_s, weight_gb=weights / 1e9,
                 decode_steps=steps)


BASELINE_NEW_TOKENS = {"multiple-choice": 1, "retrieval": 100, "ranking": 100,
                       "named_entity_recognition": 100, "generation": 100}


def runtime_new_tokens() -> dict[str, int]:
    """This runtime's default budgets per task type, from the shape table (a 15-candidate pick,
    a 5-item ranking)."""
    from runtime.answering.shapes import DecodingConfig, typical_new_tokens

    return typical_new_tokens(DecodingConfig())


def estimate_lines(
    parameters_b: float, bits: int, gpu: GPUSpec, gpus: int, batch_size: int,
    counts: dict[str, dict[str, int]], prompt_tokens: dict[str, float],
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
        f"  prefill: 2 x {parameters_b:g}e9 FLOP per prompt token / "
        f"{gpu.fp16_tflops * gpus:g} TFLOP/s (at least one weight read per batch)",
        "  decode: (new tokens - 1) steps per batch x one weight read",
    ]
    if weights / gpus > gpu.memory_gb * 1e9:
        lines.append("  WARNING: the weights alone do not fit in the GPUs' memory")
    total_all: list[Workload] = []
    for track, per_type in counts.items():
        workloads = [Workload(questions=n, prompt_tokens=prompt_tokens.get(t, 300),
                              new_tokens=new_tokens.get(t, 50)) for t, n in per_type.items()]
        total_all += workloads
        bound = lower_bound(parameters_b, bits, gpu, gpus, workloads, batch_size)
        lines.append(_bound_line(names.get(track, track), bound, limits.get(track)))
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
