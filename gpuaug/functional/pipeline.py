"""Run a compiled plan (``gpuaug.plan``): one draw of uniforms, one launch deriving every parameter, one
launch per pass (the geometric run, each policy slot; a stats-only pass when a policy comes first); the
last pass also mixes, normalizes, casts and lays out. No host sync, no host-built tensor: capturable in a
CUDA graph."""

from __future__ import annotations

import torch

from gpuaug import backend
from gpuaug.functional.geometry import warp_boxes, warp_keypoints

__all__ = ["run_plan"]


def run_plan(spec, x: torch.Tensor, labels: torch.Tensor | None = None, block: torch.Tensor | None = None,
             targets: dict | None = None):
    """``(out, soft_labels)`` of the plan ``spec`` on the uint8 batch ``x`` (the shape it was compiled
    for). ``block``: the uniforms (default: drawn from the plan's generator). ``targets``: ``boxes`` (B, K, 4)
    xyxy pixels and ``keypoints`` (B, K, 2), moved by the plan's matrices as the layers move them (no pass
    over the image); then ``(out, soft_labels, targets)``."""
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
    if targets is None:
        return out, soft
    return out, soft, _move(spec, P, dict(targets))


def _move(spec, P: torch.Tensor, targets: dict) -> dict:
    """Boxes and keypoints through the geometric run's matrix, then each slot's (the identity where a
    sample's op is not geometric), clipped after each as the layers clip them. The rows hold the INVERSE
    matrices; the forward ones are their inverses (float64, then float32 as the layers' matrices)."""
    cols = ([0] if spec.geo else []) + [spec.slot(k) + 3 for k in range(spec.slots)]
    for c in cols:
        m = _forward(P[:, c:c + 6])
        if "boxes" in targets:
            targets["boxes"] = warp_boxes(targets["boxes"], m, spec.size)
        if "keypoints" in targets:
            targets["keypoints"] = warp_keypoints(targets["keypoints"], m)
    return targets


def _forward(inv: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) float32 forward matrices from (B, 6) inverse rows (output -> source), without a sync."""
    b = inv.shape[0]
    m = torch.zeros((b, 3, 3), dtype=torch.float64, device=inv.device)
    m[:, :2] = inv.reshape(b, 2, 3)
    m[:, 2, 2] = 1.0
    return torch.linalg.inv_ex(m)[0].float()
