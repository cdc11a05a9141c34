"""What the engine is configured to do on the target: dtype, memory per GPU, the context the
longest prompt needs, and trust_remote_code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.answering.adapters import lora_slot_bytes
from runtime.answering.engine import EngineConfig
from runtime.submission.outcome import Check, Target


def check_dtype(engine: EngineConfig, target: Target) -> Check:
    dtype = engine.dtype
    if target.gpu is not None and not target.gpu.bfloat16 and dtype == "bfloat16":
        return Check("dtype", False, f"dtype bfloat16 on {target.gpu.name}, which has no "
                     "bfloat16: set engine.dtype to \"auto\" or \"float16\"")
    return Check("dtype", True, f"dtype {dtype}")


def check_tensor_parallel(engine: EngineConfig, target: Target) -> tuple[Check | None, int]:
    """The GPUs the engine will shard over (its tensor_parallel_size), against the target's:
    the shard and memory checks use what the submission would run. None on a CPU target."""
    tp = engine.tensor_parallel_size
    if target.gpu is None:
        return None, 1
    if tp > target.count:
        return Check("tensor_parallel_size", False, f"engine.tensor_parallel_size is {tp}, "
                     f"but {target.name} has {target.count} GPU(s): set it to at most "
                     f"{target.count} in models/vllm_config.json"), target.count
    if tp < target.count:
        return Check("tensor_parallel_size", False, f"engine.tensor_parallel_size is {tp}: "
                     f"the submission would use {tp} GPU(s) of {target.count} on "
                     f"{target.name} (the checks below are for {tp}); set it to "
                     f"{target.count} in models/vllm_config.json to use them all",
                     fatal=False), tp
    return Check("tensor_parallel_size", True, f"{tp}: every GPU of {target.name}"), tp


def check_memory(weights: Path, model: dict[str, Any], engine: EngineConfig, target: Target,
                 batch_size: int, gpus: int) -> Check:
    if target.gpu is None:
        return Check("memory", True, "CPU target: no GPU memory to check", fatal=False)
    weight_bytes = sum(p.stat().st_size for p in weights.rglob("*.safetensors"))
    layers = int(model.get("num_hidden_layers", 0))
    heads = int(model.get("num_attention_heads", 1))
    kv_heads = int(model.get("num_key_value_heads", heads))
    head_dim = int(model.get("head_dim", int(model.get("hidden_size", 0)) // max(heads, 1)))
    max_len, fraction = engine.max_model_len, engine.gpu_memory_utilization
    kv_per_token = 2 * layers * kv_heads * head_dim * 2  # keys and values, float16
    kv_bytes = kv_per_token * max_len * batch_size
    lora = lora_slot_bytes(model, engine.max_loras, engine.max_lora_rank, gpus) \
        if engine.enable_lora else 0
    per_gpu = (weight_bytes + kv_bytes) / gpus + lora
    budget = target.gpu.memory_gb * 1e9 * fraction
    adapters = (f" + LoRA slots {engine.max_loras} x rank {engine.max_lora_rank} over every "
                f"projection, {lora / 1e9:.2f} GB on each GPU" if lora else "")
    arithmetic = (f"(weights {weight_bytes / 1e9:.2f} GB + KV cache 2 x {layers} layers x "
                  f"{kv_heads} kv heads x {head_dim} x 2 bytes x {max_len} tokens x "
                  f"{batch_size} sequences = {kv_bytes / 1e9:.2f} GB) / {gpus} GPU(s)"
                  f"{adapters} = "
                  f"{per_gpu / 1e9:.2f} GB per GPU against {fraction:g} x "
                  f"{target.gpu.memory_gb:g} GB = {budget / 1e9:.2f} GB")
    if per_gpu > budget:
        return Check("memory", False, f"does not fit: {arithmetic}. Use fewer bits, more GPUs, "
                     "a smaller max_model_len or batch size")
    return Check("memory", True, f"fits: {arithmetic}")


def check_context(weights: Path, engine: EngineConfig, data: Path, largest_budget: int
                  ) -> Check:
    from runtime.grading.questions import load_questions

    questions = load_questions(data).questions
    longest = max(questions, key=lambda q: len(q.input_field))
    tokens, how = len(longest.input_field) // 3, "about 3 characters per token"
    if (weights / "tokenizer.json").is_file() or (weights / "tokenizer.model").is_file():
        try:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(
                str(weights), local_files_only=True,
                trust_remote_code=engine.trust_remote_code)
            tokens = max(len(tokenizer.encode(q.input_field)) for q in questions)
            how = "the model's tokenizer"
        except Exception as err:  # noqa: BLE001 - any tokenizer failure falls back to chars
            how = f"about 3 characters per token (tokenizer failed: {err})"
    needed = tokens + largest_budget
    max_len = engine.max_model_len
    message = (f"longest prompt of {data.name} is {tokens} tokens ({how}) + largest new-token "
               f"budget {largest_budget} = {needed}; max_model_len is {max_len}")
    if needed > max_len:
        return Check("max_model_len", False, f"{message}: raise max_model_len to at least "
                     f"{needed} (longer prompts would be shortened, losing text)")
    return Check("max_model_len", True, message)


def check_trust_remote_code(engine: EngineConfig) -> Check:
    if engine.trust_remote_code:
        return Check("trust_remote_code", False, "trust_remote_code is on: the checkpoint's own "
                     "Python code will run in the container. Keep it only if the architecture "
                     "needs it; vLLM supports Qwen2 and Llama without it", fatal=False)
    return Check("trust_remote_code", True, "off")
