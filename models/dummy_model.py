"""A seeded random answerer, for parity with the organisers' starter kit.

It answers a random option digit for multiple choice and a short random list of small integers
otherwise, which is about what chance scores (about 0.16 for track 5 on the development set).
Each answer is drawn from a generator seeded by the seed and the prompt, so a prompt gets the
same answer however the questions are batched or split between replicas.
"""

from __future__ import annotations

import random
from typing import Any

from models.base_model import ShopBenchBaseModel


class DummyModel(ShopBenchBaseModel):
    def __init__(self, seed: int = 773815) -> None:
        self.seed = seed

    def get_batch_size(self) -> int:
        return 4

    def batch_predict(self, batch: dict[str, Any], is_multiple_choice: bool) -> list[str]:
        answers = []
        for prompt in batch["prompt"]:
            # Bytes, not text, seed it: a prompt may hold a lone surrogate.
            rng = random.Random(f"{self.seed}:".encode() + prompt.encode("utf-8", "surrogatepass"))
            if is_multiple_choice:
                answers.append(str(rng.choice([0, 1, 2, 3])))
            else:
                length = rng.randint(1, 5)
                answers.append(", ".join(str(rng.randint(1, 5)) for _ in range(length)))
        return answers
