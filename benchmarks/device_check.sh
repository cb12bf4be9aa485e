#!/usr/bin/env bash
# One call on a lent GPU machine (the `device` tool): check, then time, what the CPU machine cannot.
# Fits one 10-minute command: the stages are time-boxed to ~8.5 minutes together, first-run JIT included,
# the most important first (plans, then the GPU tests, then the kernels, the peers, the feeding check).
#
# Prepare once on the CPU machine, from the repo root (the device has no network):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl \
#     kornia==0.9.0 kornia_rs==0.2.0 triton-augment==0.3.0 setuptools wheel pytest pluggy iniconfig \
#     packaging pygments
# then: run(command="bash benchmarks/device_check.sh", carry=[".whl"], timeout_s=600).
#
# Output (under $OUT, at most 8 files come back): device_check.log (every stage's output, line by line),
# plans.jsonl (the machine, the profile numbers, the plan timings: one JSON row per line as measured),
# kernels.json, suite.json, feeding/report.json + report.png. A stage that times out keeps what it wrote.
set -uo pipefail
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
LOG="$OUT/device_check.log"
export PYTHONUNBUFFERED=1
say() { echo "$*" | tee -a "$LOG"; }
stage() {  # stage NAME SECONDS CMD...: time-boxed, output appended to the log as it comes, never stops us
  local name=$1 limit=$2 t0=$SECONDS; shift 2
  say "== $name (limit ${limit}s)"
  timeout "$limit" "$@" 2>&1 | tee -a "$LOG" | tail -n 3
  say "   $name: exit ${PIPESTATUS[0]} after $((SECONDS - t0))s"
}

# -- install: the wheels carried in .whl (no network), then gpuaug itself, editable (needs `wheel`) --------
if ls .whl/*.whl >/dev/null 2>&1; then
  python -m pip install -q --no-index --no-deps .whl/*.whl >>"$LOG" 2>&1 || say "some carried wheels failed"
fi
python -m pip install -q --no-deps --no-build-isolation -e . >>"$LOG" 2>&1 || say "editable install FAILED"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$LOG"
# Fail loudly: without gpuaug.kernels every op silently runs on the torch path and every number is a lie.
python - <<'EOF' 2>&1 | tee -a "$LOG"
import sys, torch, triton
print("torch", torch.__version__, "triton", triton.__version__, "cuda", torch.version.cuda)
try:
    import gpuaug.kernels.pipeline, gpuaug.kernels.warp  # noqa: F401
    from gpuaug import backend
    x = torch.zeros(1, 3, 8, 8, dtype=torch.uint8, device="cuda")
    assert backend.use_triton(x), "backend does not choose the Triton kernels for CUDA tensors"
except Exception as e:
    print(f"FATAL: gpuaug.kernels is not usable ({type(e).__name__}: {e})")
    sys.exit(1)
print("gpuaug.kernels: OK")
EOF
if [ "${PIPESTATUS[0]}" != 0 ]; then say "FATAL: stopping (see $LOG)"; exit 1; fi

# -- 1. plans: the profile numbers (CUDA code path, interpreter, CPU) beside the timings on this GPU --------
for p in readme ra-cutmix; do
  stage "profile-$p" 30 python -m gpuaug profile --preset "$p" --json "/tmp/profile-$p.json"
done
stage plans 120 python benchmarks/bench_plans.py --out "$OUT/plans.jsonl" \
  --profile /tmp/profile-readme.json /tmp/profile-ra-cutmix.json
# -- 2. correctness on the GPU: plans and kernels vs the torch path, CUDA graphs, the loader (no -x: every
#       failure is worth seeing on the first run)
stage tests 120 python -m pytest -q -p no:cacheprovider -o addopts="" -rfEs tests/test_plan.py \
  tests/test_kernels_pipeline.py tests/test_kernels_warp.py tests/test_kernels_lut.py \
  tests/test_kernels_color.py tests/test_kernels_erase.py tests/test_kernels_normalize.py \
  tests/test_kernels_histogram.py tests/test_kernels_common.py tests/test_loader.py tests/test_policies.py
# -- 3. kernels against the copy bandwidth and the torch path (torch.compile off: its compile time would eat
#       the call)
stage kernels 70 python benchmarks/bench_kernels.py --no-compile --out "$OUT/kernels.json"
# -- 4. the peers (kornia, torchvision v2, triton-augment) at batch 256, 224², uint8
stage suite 60 python benchmarks/run.py --batch 256 --size 224 --dtype uint8 --no-compile --no-progress \
  --out "$OUT/suite.json"
# -- 5. the feeding check: ResNet-50 bf16 channels_last, RandAugment + CutMix/MixUp, batch 256
stage feeding 50 python -m gpuaug bench --device cuda --steps 15 --quiet --out "$OUT/feeding"
say "== done after ${SECONDS}s"
ls -la "$OUT" | tee -a "$LOG"
