"""The plan's kernels (gpuaug.kernels.pipeline) against its torch path (gpuaug._torch.pipeline, itself equal
to the eager layers: tests/test_plan.py), on the same block of uniforms.

Runs on a GPU, or on the CPU through Triton's interpreter (TRITON_INTERPRET=1)."""

from __future__ import annotations

import pytest
import torch
from kernel_checks import DEVICE

# isort: split
from gpuaug.kernels import pipeline as kpipe
from helpers import photo_batch
from test_plan import MEAN, PIPELINES, STD, gen

from gpuaug._torch import pipeline as tpipe
from gpuaug.plan import Epilogue, compile_plan

NAMES = list(PIPELINES)


def _setup(name, epilogue, b=6, size=(37, 45), out=29):
    x = photo_batch(b, size).to(DEVICE)
    labels = (torch.arange(b, device=DEVICE) * 7 + 3) % 10
    augment, mix = PIPELINES[name](gen(1), out)
    ep = Epilogue(MEAN, STD, torch.bfloat16, True) if epilogue else None
    spec = compile_plan(augment, mix, ep, x, labels if mix is not None else None, {})
    block = torch.rand((b, spec.ncols), generator=gen(7)).to(DEVICE)
    return x, labels if mix is not None else None, spec, block


@pytest.mark.parametrize("name", NAMES)
def test_params_equal_the_layers_draws(name):
    x, labels, spec, block = _setup(name, True)
    P, soft, hists = kpipe.pipeline_params(block, labels, spec)
    Pr, soft_r, hists_r = tpipe.pipeline_params(block.cpu(), None if labels is None else labels.cpu(), spec)
    P = P.cpu()
    assert torch.equal(hists.cpu(), hists_r)  # zeroed
    ints = []
    if spec.policy is not None:
        for k in range(spec.slots):
            ints += [spec.slot(k), spec.slot(k) + 2]  # kind, interpolation
    if spec.mix is not None:
        ints += [spec.mix_col + i for i in range(6)]  # mode, partner, box
    for c in ints:
        assert torch.equal(P[:, c], Pr[:, c]), (name, c, P[:, c], Pr[:, c])
    # arguments, matrices, weights: float32 arithmetic (trigonometry in float32 on the device)
    torch.testing.assert_close(P, Pr, atol=2e-4, rtol=1e-5)
    if soft is not None:
        torch.testing.assert_close(soft.cpu(), soft_r, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("epilogue", [False, True])
def test_passes_equal_the_torch_path_on_the_same_rows(name, epilogue):
    """Given the same rows, every pass equals the torch path: uint8 table ops and blends bitwise, warps within
    one level (float32 sampling positions), the epilogue within a bfloat16 rounding."""
    _check_passes(name, epilogue, 6)


def test_every_op_kind_on_the_kernels():
    """timm's widest policy on 24 samples draws all 16 kinds (asserted, so the check cannot thin out)."""
    kinds = _check_passes("policy-inc", False, 24)
    assert kinds == set(range(16)), sorted(set(range(16)) - kinds)


def _check_passes(name, epilogue, b):
    """Each pass on the kernels against the torch path, from the same input (the torch path's previous
    output) and the same statistics; the histograms a kernel pass writes for the next slot are those of
    its own output (a warp may differ from the torch path by one level on a rounding tie)."""
    x, labels, spec, block = _setup(name, epilogue, b=b)
    Pr, _, hists_r = tpipe.pipeline_params(block.cpu(), None if labels is None else labels.cpu(), spec)
    P = Pr.to(DEVICE)
    out_t = x.cpu()
    last = spec.slots - 1
    steps = ([(-1, last < 0)] if spec.geo else ([(None, False)] if spec.slots else [(-2, True)]))
    steps += [(k, k == last) for k in range(spec.slots)]
    for k, final in steps:
        hists = hists_r.clone().to(DEVICE)
        if k is None:
            kpipe.pipeline_stats(out_t.to(DEVICE), P, spec, hists)
            tpipe.pipeline_stats(out_t, Pr, spec, hists_r)
            assert torch.equal(hists.cpu(), hists_r), name
            continue
        out_k = kpipe.pipeline_pass(out_t.to(DEVICE), P, hists, spec, k, final)
        out_t = tpipe.pipeline_pass(out_t, Pr, hists_r, spec, k, final)
        assert out_k.dtype == out_t.dtype and out_k.shape == out_t.shape and out_k.stride() == out_t.stride()
        nxt = k + 1 if k >= 0 else 0
        if not final and nxt < spec.slots:  # the statistics the next slot reads: of this pass's output
            need = torch.isin(Pr[:, spec.slot(nxt)], torch.tensor([8.0, 13.0, 14.0]))
            assert torch.equal(hists.cpu()[nxt], tpipe.stats(out_k.cpu(), need)), (name, k)
            assert torch.equal(hists.cpu()[nxt + 1:], hists_r[nxt + 1:]), (name, k)  # nothing else written
        got, ref = out_k.cpu().float(), out_t.float()
        if out_t.dtype == torch.uint8:
            diff = (got - ref).abs()
            assert float(diff.max()) <= 1, (name, k)
            assert float((diff > 0).float().mean()) < 0.01, (name, k)
        else:  # bf16 of (v - mean) / std: one uint8 level is 1 / (255 std) < 0.018
            torch.testing.assert_close(got, ref, atol=0.02, rtol=0.01)
    return {int(v) for k in range(spec.slots) for v in Pr[:, spec.slot(k)].tolist()}


@pytest.mark.parametrize("name", ["readme", "ra-cutmix"])
def test_plan_on_the_kernels_equals_the_torch_path(name):
    """The whole plan (parameters derived on the device) against the torch path on the same block."""
    import gpuaug.functional as F
    from gpuaug import backend

    x, labels, spec, block = _setup(name, True, b=8)
    with backend.backend("triton"):
        out, soft = F.run_plan(spec, x, labels, block)
    with backend.backend("torch"):
        ref, soft_r = F.run_plan(spec, x.cpu(), None if labels is None else labels.cpu(), block.cpu())
    # in uint8 levels; a warp's rounding tie (one level) can move an equalize or autocontrast table, so: per
    # sample at most 1% of the pixels more than 1.5 levels off (one bf16 step near 2.5 is ~0.9 level)
    std = torch.tensor(STD).view(1, 3, 1, 1) * 255
    d = (out.cpu().float() * std - ref.float() * std).abs()
    assert float((d > 1.5).flatten(1).float().mean(1).max()) <= 0.01
    torch.testing.assert_close(soft.cpu(), soft_r, atol=1e-6, rtol=1e-6)
