"""The competition interface every submission model implements.

The grader calls `get_batch_size()` before each batch (its answer may change between calls) and
then `batch_predict({"prompt": [...]}, is_multiple_choice)`, which must return one string per
prompt. The grader groups questions by task type first, so one batch is one task type.
"""

from __future__ import annotations

from typing import Any


class ShopBenchBaseModel:
    def get_batch_size(self) -> int:
        """How many prompts the next `batch_predict` call should receive: 1 to 16."""
        raise NotImplementedError

    def batch_predict(self, batch: dict[str, Any], is_multiple_choice: bool) -> list[str]:
        """Answer `batch["prompt"]` (a list of prompt strings) with one string each."""
        raise NotImplementedError
