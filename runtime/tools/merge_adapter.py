"""`merge-adapter`: a LoRA adapter merged into its float base with peft's own merge
(`merge_and_unload`), written as a float checkpoint ready for `quantize`.

The base must be a float checkpoint (a 4-bit one cannot take the merge) and the adapter must fit
it (runtime/answering/adapters.py checks, before anything loads). The result is written the way
`quantize` writes: into a new folder of this run's own beside `OUT_DIR`, renamed into place when
complete, removed alone when the run fails; `OUT_DIR` must not be, lie inside or contain the
base or the adapter. Its config.json records how it was made (`merged_by`: tool, peft's version,
the adapter's folder, fingerprint, rank and alpha). peft is the optional `adapters` extra.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from runtime.answering.adapters import check_against_base, read_adapter
from runtime.tools.model_files import ModelDirError, save_json
from runtime.tools.quantize import check_out_dir, read_source, written_in_place


def _peft() -> Any:
    try:
        import peft
    except ImportError:
        raise ModelDirError("merge-adapter needs peft, an optional extra: pip install "
                            "'.[adapters]' (scripts/setup.sh installs it)") from None
    return peft


def merge_adapter(base: Path, adapter_dir: Path, out: Path) -> dict[str, Any]:
    """Write `base` with `adapter_dir` merged into it to `out`; returns `merged_by`."""
    peft = _peft()
    config = read_source(base, "merge into")  # a float causal LM in safetensors
    adapter = read_adapter(adapter_dir)
    check_against_base(adapter, base)
    for source, what in ((base, "the base model"), (adapter_dir, "the adapter")):
        check_out_dir(source, out, written="the merged checkpoint", source_is=what)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}.get(
        str(config.get("torch_dtype") or config.get("dtype")), torch.float32)
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=dtype, local_files_only=True)
    merged = peft.PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    made = {"tool": "runtime merge-adapter", "library": f"peft {peft.__version__}",
            "adapter": str(adapter.path), "fingerprint": adapter.fingerprint,
            "rank": adapter.rank, "alpha": adapter.alpha, "base": str(Path(base).resolve())}
    with written_in_place(out) as partial:
        merged.save_pretrained(str(partial), safe_serialization=True)
        AutoTokenizer.from_pretrained(str(base), local_files_only=True).save_pretrained(
            str(partial))
        for path in Path(base).iterdir():  # what the checkpoint carries besides its weights
            if path.is_file() and path.suffix != ".safetensors" and not (partial / path.name
                                                                        ).exists():
                shutil.copy2(path, partial / path.name)
        written = json.loads((partial / "config.json").read_text(encoding="utf-8"))
        save_json(partial / "config.json", {**written, "merged_by": made})
    return made
