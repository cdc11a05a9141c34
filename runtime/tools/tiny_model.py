"""A tiny random causal LM, written in seconds, for smoke tests of the whole engine path.

`write_tiny_model(out_dir, awq=False)` writes a Qwen2-architecture model (2 layers, hidden size
128, head size 64) with random weights, its own byte-level BPE tokenizer trained here on a few
shopping sentences and the shipped sample set, and a chat template. With `awq=True` the same
weights are written in the 4-bit AWQ checkpoint layout of real AWQ models (GEMM packing, zero
points, group size 128).

The AWQ form uses plain round-to-nearest quantisation, not activation-aware scaling: it proves
the loading and kernel path, not quantisation quality. Real AWQ weights come from llm-compressor
(docs/quantizing.md). Everything is random: answers are noise; only the plumbing is real.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from runtime.common.paths import SAMPLE_DATA
from runtime.grading.questions import load_questions
from runtime.tools.awq import quantization_config, quantize_linear_layers
from runtime.tools.model_files import fresh_model_dir, save_json, save_weights

VOCAB = 2048
HIDDEN = 128
INTERMEDIATE = 256
LAYERS = 2
HEADS = 2
KV_HEADS = 1
AWQ_GROUP = 128
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "Which of the following product categories best complements the product?",
    "You should output three numbers, separated with comma. Output: 1, 2, 3",
    "Please rank the products according to their relevance with the query.",
    "Extract phrases from the query that correspond to the entity type 'brand'.",
    "Translate the product title into German, French, Spanish, Italian or Japanese.",
    "A customer bought a product and wrote a review about its quality and size.",
    "['samsung', 'otterbox'] ['red', 'black'] 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",
    "Answer: 0. 1. 2. 3. the a an of for with and or is are was were this that",
    "Edelstahl Trinkflasche Veste de course Cafetera italiana 東京 ホテル 充電器",
]


def _corpus() -> list[str]:
    """The sentences above plus the shipped sample set's prompts and answers (our own text):
    trained on these, the tokenizer splits shopping prompts into about 2.4 characters per
    token instead of 1.5, nearer a real tokenizer's, so prefill is not wildly over-weighted."""
    texts = CORPUS * 4
    if SAMPLE_DATA.is_file():
        for question in load_questions(SAMPLE_DATA).questions:
            truth = question.output_field
            texts.append(question.input_field)
            texts.extend(str(t) for t in (truth if isinstance(truth, list) else [truth]))
    return texts


def _train_tokenizer(out_dir: Path) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(), trainer=trainer)
    tokenizer.save(str(out_dir / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "model_max_length": 4096,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
    }
    save_json(out_dir / "tokenizer_config.json", config)
    return tokenizer.get_vocab_size()


def _config(vocab_size: int, eos_id: int, pad_id: int) -> dict:
    return {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS,
        "head_dim": HIDDEN // HEADS,
        "hidden_act": "silu",
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "vocab_size": vocab_size,
        "bos_token_id": eos_id,
        "eos_token_id": eos_id,
        "pad_token_id": pad_id,
        "torch_dtype": "float16",
        "use_sliding_window": False,
        "sliding_window": None,
    }


def _linear_shapes() -> dict[str, tuple[int, int]]:
    """(out_features, in_features) of every linear layer of one decoder layer."""
    head = HIDDEN // HEADS
    return {
        "self_attn.q_proj": (HEADS * head, HIDDEN),
        "self_attn.k_proj": (KV_HEADS * head, HIDDEN),
        "self_attn.v_proj": (KV_HEADS * head, HIDDEN),
        "self_attn.o_proj": (HIDDEN, HEADS * head),
        "mlp.gate_proj": (INTERMEDIATE, HIDDEN),
        "mlp.up_proj": (INTERMEDIATE, HIDDEN),
        "mlp.down_proj": (HIDDEN, INTERMEDIATE),
    }


def _random_weights(vocab_size: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def normal(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float16)

    weights = {
        "model.embed_tokens.weight": normal(vocab_size, HIDDEN),
        "model.norm.weight": np.ones(HIDDEN, dtype=np.float16),
        "lm_head.weight": normal(vocab_size, HIDDEN),
    }
    head = HIDDEN // HEADS
    for layer in range(LAYERS):
        prefix = f"model.layers.{layer}"
        weights[f"{prefix}.input_layernorm.weight"] = np.ones(HIDDEN, dtype=np.float16)
        weights[f"{prefix}.post_attention_layernorm.weight"] = np.ones(HIDDEN, dtype=np.float16)
        for name, (out_features, in_features) in _linear_shapes().items():
            weights[f"{prefix}.{name}.weight"] = normal(out_features, in_features)
        weights[f"{prefix}.self_attn.q_proj.bias"] = normal(HEADS * head)
        weights[f"{prefix}.self_attn.k_proj.bias"] = normal(KV_HEADS * head)
        weights[f"{prefix}.self_attn.v_proj.bias"] = normal(KV_HEADS * head)
    return weights


def write_tiny_model(out_dir: str | Path, awq: bool = False, seed: int = 0) -> Path:
    """Write the tiny model (and, with `awq`, its 4-bit AWQ form) to a new `out_dir`."""
    out = fresh_model_dir(out_dir)
    vocab_size = _train_tokenizer(out)
    tokenizer = json.loads((out / "tokenizer.json").read_text())
    vocab = tokenizer["model"]["vocab"]
    specials = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    vocab_size = max(vocab_size, max(vocab.values()) + 1, max(specials.values()) + 1)
    # Pad the vocabulary to a multiple of 64 so every matrix has friendly shapes.
    vocab_size = (vocab_size + 63) // 64 * 64
    config = _config(vocab_size, specials["<|im_end|>"], specials["<|endoftext|>"])
    weights = _random_weights(vocab_size, seed)
    if awq:
        weights = quantize_linear_layers(weights, AWQ_GROUP)
        config["quantization_config"] = quantization_config(AWQ_GROUP, "runtime.tools.tiny_model")
    save_json(out / "config.json", config)
    save_json(out / "generation_config.json",
              {"eos_token_id": config["eos_token_id"], "pad_token_id": config["pad_token_id"]})
    save_weights(out, weights)
    return out
