"""Run a compiled plan (``gpuaug.plan``): one draw of uniforms, one launch deriving every parameter, one
launch per pass (the geometric run, each policy slot; a stats-only pass when a policy comes first); the
last pass also mixes, normalizes, casts and lays out. No host sync, no host-built tensor: capturable in a
CUDA graph."""

from __future__ import annotations

import torch

from gpuaug import backend

__all__ = ["run_plan"]


def run_plan(spec, x: torch.Tensor, labels: torch.Tensor | None = None, block: torch.Tensor | None = None):
    """``(out, soft_labels)`` of the plan ``spec`` on the uint8 batch ``x`` (the shape it was compiled
    for). ``block``: the uniforms (default: drawn from the plan's generator)."""
    if block is None:
        block = spec.uniforms(x.device)
    P, soft, hists = backend.op("pipeline_params", x)(block, labels, spec)
    run = backend.op("pipeline_pass", x)
    last = spec.slots - 1
    if spec.geo:
        out = run(x, P, hists, spec, -1, last < 0)
    elif spec.slots:
        out = x
        backend.op("pipeline_stats", x)(x, P, spec, hists)
    else:  # no geometry, no policy: the mixer and the epilogue alone
        out = run(x, P, hists, spec, -2, True)
    for k in range(spec.slots):
        out = run(out, P, hists, spec, k, k == last)
    return out, soft
