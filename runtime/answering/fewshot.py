"""Few-shot exemplars: a team's labelled questions shown as earlier chat turns.

A pool is a data file in the development format (JSON lines or a JSON array; `input_field`,
`output_field`, `task_type`, `is_multiple_choice`). Each pool question is routed as an asked
one would be, and kept where the router agrees with its label; its answer is its truth written
the way the runtime writes answers (one option number, `1,3,7`, entities separated by ", ",
the reference text). For an asked prompt the k pool questions of the same answer
shape (task type and generation kind) with the most similar prompts are its exemplars, by the
cosine of sentence embeddings (all-MiniLM-L6-v2, which the project already carries), most
similar last, next to the question. A pool question that is the asked question itself
(compared normalised: Unicode NFC, line ends, runs of white space) is never one, and each
answer's record counts those left out.

The pool's embeddings are computed once and cached beside it (`<pool>.embeddings.npz`, keyed
by the pool's sha256 and the embedding model's folder name).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from runtime.answering.postprocess import phrase_list
from runtime.answering.router import Route, route
from runtime.common.competition import TaskType
from runtime.common.embeddings import Encoder, encode, load_encoder
from runtime.common.errors import one_line
from runtime.common.prompt_lines import normalised
from runtime.common.settings import ConfigError


class PoolQuestion(BaseModel):
    """The fields of a pool row that exemplars use; the rest of the row is ignored."""

    model_config = ConfigDict(extra="ignore")

    input_field: str
    output_field: Any
    task_type: TaskType
    is_multiple_choice: bool


@dataclass(frozen=True)
class Exemplar:
    prompt: str
    answer: str


def shape_key(decision: Route) -> tuple[str, str]:
    """Questions answered in the same form: one task type, one generation kind."""
    return decision.task_type, decision.generation_kind


def written_answer(question: PoolQuestion) -> str | None:
    """The truth as the runtime writes an answer, or None where it has no such form."""
    truth = question.output_field
    if question.task_type == "multiple-choice" and isinstance(truth, int):
        return str(truth)
    if question.task_type in ("retrieval", "ranking") and isinstance(truth, list) and truth \
            and all(isinstance(i, int) for i in truth):
        return ",".join(str(i) for i in truth)
    if question.task_type == "named_entity_recognition" and isinstance(truth, list) \
            and all(isinstance(e, str) for e in truth):
        return phrase_list(list(truth)) or None
    if question.task_type == "generation":
        if isinstance(truth, list) and truth and isinstance(truth[0], str):
            truth = truth[0]
        return truth.strip() if isinstance(truth, str) and truth.strip() else None
    return None


def read_pool(path: Path) -> list[PoolQuestion]:
    """The pool's rows, validated; an unreadable or malformed pool is one error line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"few-shot pool {path}: cannot read it ({one_line(err)}): set "
                          "fewshot.pool to a data file in the development format") from err
    try:
        stripped = text.lstrip()
        rows = json.loads(text) if stripped.startswith("[") else [
            json.loads(line) for line in text.splitlines() if line.strip()]
        return [PoolQuestion.model_validate(row) for row in rows]
    except (ValueError, RecursionError, ValidationError) as err:
        raise ConfigError(f"few-shot pool {path}: not a data file in the development format "
                          f"({one_line(err)}): each row needs input_field, output_field, "
                          "task_type and is_multiple_choice") from err


def _cache_key(pool: Path, embedding_model: Path) -> str:
    digest = hashlib.sha256(pool.read_bytes()).hexdigest()
    return f"{digest}:{Path(embedding_model).name}"


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def pool_embeddings(pool: Path, prompts: list[str], encoder: Encoder,
                    embedding_model: Path) -> np.ndarray:
    """Unit vectors of the pool's prompts, from the cache beside the pool where it matches."""
    cache = pool.with_name(pool.name + ".embeddings.npz")
    key = _cache_key(pool, embedding_model)
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as saved:
                if str(saved["key"]) == key and len(saved["vectors"]) == len(prompts):
                    return np.asarray(saved["vectors"])
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is computed again
    vectors = _unit(encode(encoder, prompts))
    try:
        handle, name = tempfile.mkstemp(dir=pool.parent, suffix=".npz.tmp")
        with os.fdopen(handle, "wb") as out:
            np.savez(out, key=np.array(key), vectors=vectors)
        os.replace(name, cache)
    except OSError:
        pass  # a read-only pool folder: the embeddings are recomputed next time
    return vectors


class ExemplarPool:
    """A pool's usable questions, their embeddings, and the choice of exemplars."""

    def __init__(self, pool: Path, embedding_model: Path) -> None:
        questions = read_pool(pool)
        self.encoder = load_encoder(embedding_model)
        kept: list[tuple[PoolQuestion, Route, str]] = []
        for question in questions:
            decision = route(question.input_field, question.is_multiple_choice)
            answer = written_answer(question)
            if answer is not None and decision.task_type == question.task_type:
                kept.append((question, decision, answer))
        if not kept:
            raise ConfigError(f"few-shot pool {pool}: none of its {len(questions)} rows is "
                              "usable as an exemplar (each needs a truth of its task type's "
                              "form, routed as labelled)")
        self.prompts = [q.input_field for q, _, _ in kept]
        self.normalised = [normalised(prompt) for prompt in self.prompts]
        self.excluded: list[int] = []  # of the last call, per prompt
        self.answers = [answer for _, _, answer in kept]
        members: dict[tuple[str, str], list[int]] = {}
        for index, (_, decision, _) in enumerate(kept):
            members.setdefault(shape_key(decision), []).append(index)
        self.by_shape = {key: np.array(indices) for key, indices in members.items()}
        self.vectors = pool_embeddings(pool, self.prompts, self.encoder, embedding_model)

    def __len__(self) -> int:
        return len(self.prompts)

    def exemplars(self, prompts: list[str], decisions: list[Route],
                  k: int) -> list[list[Exemplar]]:
        """Each prompt's k most similar pool questions of its answer shape, most similar
        last; fewer where the pool has fewer of that shape. A pool question that is the asked
        question (compared normalised: NFC, line ends and runs of white space) is never one;
        `self.excluded` counts, per prompt, those left out for it."""
        self.excluded = [0 for _ in prompts]
        if k <= 0 or not prompts:
            return [[] for _ in prompts]
        asked = _unit(encode(self.encoder, prompts))
        similarity = asked @ self.vectors.T
        chosen: list[list[Exemplar]] = []
        for i, (prompt, decision) in enumerate(zip(prompts, decisions, strict=True)):
            shape = self.by_shape.get(shape_key(decision), np.array([], dtype=int))
            order = np.argsort(-similarity[i, shape], kind="stable")
            text = normalised(prompt)
            best: list[int] = []
            for j in shape[order]:
                if self.normalised[j] == text:
                    self.excluded[i] += 1
                elif len(best) < k:
                    best.append(int(j))
            chosen.append([Exemplar(self.prompts[j], self.answers[j]) for j in reversed(best)])
        return chosen
