#!/usr/bin/env bash
# Create ./.venv (reusing an already installed torch: it is never replaced) and install gpuaug into it.
# Usage: source scripts/setup.sh [extras]   e.g. "test,bench"
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-}"
py="${PYTHON:-python3}"
if [ ! -x "$here/.venv/bin/python" ]; then
  # --system-site-packages: a torch the machine already has (CUDA or CPU) is used as it is.
  "$py" -m venv --system-site-packages "$here/.venv"
fi
vpy="$here/.venv/bin/python"
if ! "$vpy" -c "import torch" >/dev/null 2>&1; then
  # Torch first, so no dependency pulls a build we did not choose. On a machine without a GPU this
  # pins the CPU wheel release; with a GPU, pip's default (CUDA) build of a supported release.
  if command -v nvidia-smi >/dev/null 2>&1; then
    "$vpy" -m pip install -q "torch>=2.4,<2.15"
  else
    "$vpy" -m pip install -q "torch==2.13.0"
  fi
fi
spec="$here"
[ -n "$extras" ] && spec="$here[$extras]"
"$vpy" -m pip install -q -e "$spec"
