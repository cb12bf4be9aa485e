"""pytest-benchmark: gpuaug's pixel and geometry ops against every available peer, same input and semantics.

    pytest benchmarks/test_bench_ops.py                       # time (pytest-benchmark's table)
    pytest benchmarks/ --benchmark-disable -q                 # smoke: every case runs once, outputs checked

Size/device from the environment: GPUAUG_BENCH_BATCH (16), GPUAUG_BENCH_SIZE (64), GPUAUG_BENCH_DTYPE
(uint8), GPUAUG_BENCH_DEVICE (cuda if available, else cpu), GPUAUG_BENCH_THREADS (CPU: 1, so that ratios are
per core and a busy machine's spinning OpenMP threads do not distort them). Each peer's output is checked
against gpuaug's before it is timed; a missing peer is skipped with the reason.
"""

from __future__ import annotations

import os

import pytest
import torch

from benchmarks import cases as C
from benchmarks import peers as P

OPS = ["warp", "color_jitter", "posterize", "solarize", "equalize", "erase"]
LIBS = ["gpuaug", "kornia", "torchvision", "triton-augment", "torch.compile", "PIL"]
DEVICE = os.environ.get("GPUAUG_BENCH_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
THREADS = int(os.environ.get("GPUAUG_BENCH_THREADS", 1))


def bench_case(op: str) -> C.Case:
    return C.Case(
        op,
        int(os.environ.get("GPUAUG_BENCH_BATCH", 16)),
        int(os.environ.get("GPUAUG_BENCH_SIZE", 64)),
        os.environ.get("GPUAUG_BENCH_DTYPE", "uint8"),
    )


def run_bench(benchmark, op: str, lib: str) -> None:
    case = bench_case(op)
    if DEVICE == "cpu":
        torch.set_num_threads(THREADS)
    peer = P.PEERS_BY_NAME[lib]()
    if lib == "torch.compile" and benchmark.disabled:
        pytest.skip("torch.compile: compiling takes minutes; skipped with --benchmark-disable")
    try:
        impl, obj = P.checked(case, peer, DEVICE)
    except P.Skip as e:
        pytest.skip(f"{lib}: {e}")
    benchmark.group = case.name
    if DEVICE == "cuda" and not impl.host:
        benchmark(lambda: (impl.run(obj), torch.cuda.synchronize()))
    else:
        benchmark(impl.run, obj)


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("op", OPS)
def test_op(benchmark, op, lib):
    run_bench(benchmark, op, lib)
