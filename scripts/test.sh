#!/usr/bin/env bash
# Install gpuaug with its test extras, then run the test suite twice:
#   1. every test on the default backend (torch path on the CPU, Triton on a GPU), and the benchmark
#      files once each, untimed;
#   2. the functional and kernel tests through the Triton kernels in Triton's interpreter (no GPU needed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/setup.sh" "test,bench"
cd "$here"
py="$here/.venv/bin/python"
# timm's auto_augment.py is the oracle of the policy strings (tests/test_timm.py loads that one file: timm's
# package imports torchvision, which has no CPU wheel here); --no-deps keeps it from pulling a torch
"$py" -m pip install -q --no-deps "timm==1.0.31"
"$py" -m ruff check .
"$py" -m pytest -q "$@"
"$py" -m pytest -q -p no:cacheprovider benchmarks --benchmark-disable   # the pytest-benchmark files, as a smoke
# (the kernel tests, one file per family; not tests/test_kernels_compile.py, which compiles for sm_90 instead)
kernel_tests=(tests/test_kernels_{common,warp,lut,histogram,erase,color,normalize,pipeline,resize,blur,add}.py)
TRITON_INTERPRET=1 GPUAUG_BACKEND=triton "$py" -m pytest -q -p no:cacheprovider "${kernel_tests[@]}" \
  tests/test_color.py tests/test_pointwise.py tests/test_geometry.py tests/test_layers.py tests/test_policies.py \
  tests/test_profile.py tests/test_timm.py tests/test_plan.py tests/test_targets.py tests/test_more_ops.py \
  tests/test_keras.py tests/test_video.py
