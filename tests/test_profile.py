"""The profile instrument (gpuaug.profile, ``python -m gpuaug profile``): launches, bytes, host syncs.

Counts are checked against kernels whose traffic is known by construction (a table lookup reads and writes
each pixel once), so a broken counter fails here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

INTERPRET = os.environ.get("TRITON_INTERPRET", "0").strip() not in ("", "0")
needs_interpreter = pytest.mark.skipif(
    not INTERPRET or os.environ.get("GPUAUG_BACKEND") != "triton",
    reason="counts the CUDA code path: needs TRITON_INTERPRET=1 GPUAUG_BACKEND=triton (the interpreter run)")


@needs_interpreter
def test_lut_kernel_reads_and_writes_each_pixel_once():
    import gpuaug.functional as F
    from gpuaug.profile import Profile

    x = torch.randint(0, 256, (4, 3, 32, 48), dtype=torch.uint8)
    F.posterize(x, 3)  # import and compile outside the count
    with Profile(count_bytes=True) as p:
        out = F.posterize(x, 3)
    r = p.report
    assert r.triton == {"_lut_kernel": 1}
    n = x.numel()
    # the image once each way, plus the tables (one 256-byte row per sample, read from cache per pixel)
    assert r.written["_lut_kernel"] == n
    assert r.read["_lut_kernel"] == n + 4 * 256
    assert r.torch_ops and all(v > 0 for v in r.torch_ops.values())  # the table builders
    assert not r.syncs
    assert torch.equal(out, x & 0xE0)


@needs_interpreter
def test_stub_mode_records_launches_without_running_them():
    import gpuaug.functional as F
    from gpuaug.profile import Profile

    x = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    with Profile(stub=True) as p:
        F.equalize(x)
    assert p.report.triton == {"_histogram_kernel": 1, "_equalize_lut_kernel": 1, "_lut_kernel": 1}
    assert p.report.host_s is not None and not p.report.read


@needs_interpreter
def test_syncs_and_host_built_tensors_are_counted():
    from gpuaug.profile import Profile

    t = torch.arange(6.0)
    with Profile() as p:
        float(t.sum())  # .item(): a sync on CUDA
        t.nonzero()  # data-dependent size: a sync on CUDA
        torch.tensor([1.0, 2.0])  # a host-built tensor (a pageable copy when it goes to CUDA)
        t[0] = 3.0  # a 0-d value written in: a fill on CUDA, not counted
    assert p.report.syncs["_local_scalar_dense"] == 1 and p.report.syncs["nonzero"] == 1
    assert p.report.host_built == 1


def test_profile_command_smoke(tmp_path):
    """``python -m gpuaug profile`` on a small batch (it switches the interpreter on by itself)."""
    out = tmp_path / "profile.json"
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET", "GPUAUG_BACKEND")}
    proc = subprocess.run(
        [sys.executable, "-m", "gpuaug", "profile", "--batch-size", "8", "--size", "32", "--bytes-batch", "2",
         "--bytes-size", "32", "--json", str(out)],
        capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "launches per batch:" in proc.stdout and "global bytes per image:" in proc.stdout
    r = json.loads(out.read_text())
    assert r["launches"] == sum(r["triton"].values()) + sum(r["torch"].values()) > 0
    assert r["read_N"] > 1 and r["written_N"] > 1  # at least the input read and the output written once
    assert r["host_ms"] > 0


@needs_interpreter
@pytest.mark.parametrize("preset", ["readme", "ra-cutmix"])
def test_the_two_pipelines_run_as_plans_within_the_targets(preset):
    """Issue 10's targets on the CUDA code path: a compiled plan of at most 6 launches (the parameter kernel,
    one pass per stage, the block of uniforms), at most 8 N global bytes per image, no host sync, no
    host-built tensor."""
    from gpuaug.profile import build_pipeline, run

    make, _ = build_pipeline(preset, None, None, torch.bfloat16)
    r = run(make, batch=16, size=64, bytes_batch=2, bytes_size=64, reps=1)
    assert r["triton"].get("_params_kernel") == 1 and r["triton"].get("_pass_kernel", 0) >= 3
    assert r["launches"] <= 6, (r["triton"], r["torch"])
    assert r["read_N"] + r["written_N"] <= 8.0, r["bytes_by_kernel_N"]
    assert r["written_N"] >= 2.0  # the bf16 output at least: the counter sees the real traffic
    assert not r["syncs"] and r["host_built"] == 0
