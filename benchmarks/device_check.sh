#!/usr/bin/env bash
# One call on a lent GPU machine: check, then time, everything the CPU machine cannot.
# Prepare once on the CPU machine (from the repo root; no network on the device):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl \
#     kornia==0.9.0 kornia_rs==0.2.0 triton-augment==0.3.0
# Then run this script with the device tool (carry .whl); results land in $OUT (default ./out).
# Stages are time-boxed so the whole call fits in one 10-minute command.
set -uo pipefail
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  pip install -q --no-index --no-deps --target .site .whl/*.whl
  export PYTHONPATH="$PWD/.site${PYTHONPATH:+:$PYTHONPATH}"
fi
pip install -q --no-deps --no-build-isolation -e . >/dev/null
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
python -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)" | tee -a "$OUT/gpu.txt"

stage() {  # stage NAME SECONDS CMD...: run with a time limit, keep its log, never stop the script
  local name=$1 limit=$2; shift 2
  echo "== $name (limit ${limit}s)"
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  echo "   exit $? ($(tail -n 1 "$OUT/$name.log"))"
}

# 1. correctness on the GPU: every test, the CUDA-only ones included (kernels vs torch path, no host sync,
#    CUDA graphs, float64 refused on CUDA)
stage tests 240 python -m pytest -q -x -p no:cacheprovider tests
# 2. kernels against the copy bandwidth, the torch path and torch.compile (MEASURING.md JSON)
stage kernels 150 python benchmarks/bench_kernels.py --out "$OUT/kernels.json"
# 3. the suite against kornia / torchvision v2 / triton-augment at batch 256, 224², uint8
stage suite 150 python benchmarks/run.py --batch 256 --size 224 --dtype uint8 --no-progress --out "$OUT/suite.json"
# 4. the feeding check: ResNet-50 bf16 channels_last, RandAugment + CutMix/MixUp, batch 256
stage feeding 120 python -m gpuaug bench --device cuda --steps 20 --quiet --out "$OUT/feeding"
ls -la "$OUT"
