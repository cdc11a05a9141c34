"""The paper estimate: a track's physical lower bound from weights read per decode step and
prefill compute, below every measured run."""

import math
import subprocess
import sys

import pytest

from runtime.budget.estimate import GPUS, Workload, lower_bound
from tests.conftest import REPO_ROOT


def test_lower_bound_arithmetic():
    t4 = GPUS["T4"]
    bound = lower_bound(8, 16, t4, 4, [Workload(questions=32, prompt_tokens=100,
                                                new_tokens=100)], batch_size=16)
    read = 16e9 / (320e9 * 4)
    assert bound.decode_steps == 2 * 99
    assert bound.decode_s == pytest.approx(198 * read)
    assert bound.prefill_s == pytest.approx(max(2 * 8e9 * 3200 / 260e12, 2 * read))


def estimate(*args):
    result = subprocess.run([sys.executable, "-m", "runtime", "estimate", *args],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def bounds(text):
    out = {}
    for line in text.splitlines():
        if "; bound " in line:
            name = line.strip().split(":")[0]
            out[name] = float(line.split("; bound ")[1].split(" s")[0])
    return out


def test_the_organisers_8b_baseline_timings_lie_above_the_8b_bound(development_path):
    text = estimate("--params", "8", "--bits", "16", "--recipe", "baseline", "--data",
                    str(development_path))
    measured = {"Track 1": 1490, "Track 2": 397, "Track 3": 576, "Track 4": 359}
    found = bounds(text)
    for track, seconds in measured.items():
        assert found[track] < seconds, text
    assert "12.5 ms" in text  # 16 GB read at 4 x 320 GB/s


def test_a_72b_4bit_model_on_4_t4_is_estimated(development_path):
    text = estimate("--params", "72", "--bits", "4", "--data", str(development_path))
    assert "36.0 GB = 9.0 GB per GPU" in text
    assert all(not math.isnan(v) and v > 0 for v in bounds(text).values())


def test_few_shot_exemplars_multiply_the_prompt_tokens(capsys):
    from runtime.cli import runtime_main

    def prompt_line(*extra):
        assert runtime_main(["estimate", *extra]) == 0
        return next(line for line in capsys.readouterr().out.splitlines()
                    if line.startswith("Prompt tokens"))

    plain, shots = prompt_line("--exemplars", "0"), prompt_line("--exemplars", "2")
    assert "few-shot" not in plain and "times 3 for 2 few-shot exemplars" in shots
    tokens = [dict(item.rsplit(" ", 1) for item in line.split("): ")[1].split(", "))
              for line in (plain, shots)]
    assert all(abs(float(tokens[1][t]) - 3 * float(n)) <= 1.5 for t, n in tokens[0].items())


def test_a_shared_prompt_start_is_computed_once_per_track():
    t4 = GPUS["T4"]
    alone = lower_bound(72, 4, t4, 4, [Workload(questions=1000, prompt_tokens=100,
                                                new_tokens=1)], batch_size=16)
    shared = lower_bound(72, 4, t4, 4, [Workload(questions=1000, prompt_tokens=100,
                                                 shared_prompt_tokens=400, new_tokens=1)],
                         batch_size=16)
    # 400 shared tokens cost what 4 questions' own tokens cost, not 1000 times that.
    assert shared.prefill_s == pytest.approx(alone.prefill_s * 1004 / 1000)


def test_prompt_sizes_split_the_shared_start_from_each_questions_own_part():
    from runtime.budget.estimate import common_start, prompt_sizes

    assert common_start([[1, 2, 3, 4], [1, 2, 9], [1, 2, 3]]) == 2
    sizes = prompt_sizes({"ranking": [[1, 2, 3, 4], [1, 2, 9, 9, 9, 9]]}, 1.0, "ids")
    assert sizes.shared == {"ranking": 2} and sizes.per_question == {"ranking": 3}


def test_estimate_describes_the_configuration_that_ships(tmp_path, monkeypatch, capsys):
    import json

    import models.vllm_config
    from runtime.cli import runtime_main

    shipped = json.loads((REPO_ROOT / "models" / "vllm_config.json").read_text())
    shipped.setdefault("decoding", {})["new_tokens"] = {"named_entity_recognition": 33}
    config = tmp_path / "vllm_config.json"
    config.write_text(json.dumps(shipped))
    (tmp_path / "embedded").symlink_to(REPO_ROOT / "models" / "embedded")
    monkeypatch.setattr(models.vllm_config, "DEFAULT_SHOP_MODEL_CONFIG", config)
    assert runtime_main(["estimate"]) == 0
    out = capsys.readouterr().out
    assert "named_entity_recognition 33" in out
    assert "counted with the tokenizer and chat template of" in out
