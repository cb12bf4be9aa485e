#!/usr/bin/env bash
# The main job: install, then run the feeding check on the bundled sample photos
# (GPU when there is one, else CPU). Extra arguments go to `python -m gpuaug bench`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/setup.sh"
exec "$here/.venv/bin/python" -m gpuaug bench "$@"
