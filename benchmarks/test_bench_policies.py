"""pytest-benchmark: gpuaug's random layers and policies (CutMix, RandAugment, the full pipeline) against
each available peer's equivalent layer. Random outputs differ by nature: each peer is checked for the
invariants (shape, dtype, value range, soft labels that sum to one) before it is timed.

    pytest benchmarks/test_bench_policies.py                  # time
    pytest benchmarks/ --benchmark-disable -q                 # smoke
"""

from __future__ import annotations

import pytest

from benchmarks.test_bench_ops import LIBS, run_bench

POLICIES = ["cutmix", "randaugment", "pipeline"]


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("op", POLICIES)
def test_policy(benchmark, op, lib):
    run_bench(benchmark, op, lib)
