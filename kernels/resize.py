"""Triton resize: antialiased bilinear, drop-in for ``gpuaug._torch.resize.resize``.

``resize(img, size) -> (B, C, size[0], size[1])``
  img  (B, C, H, W) uint8 / float32 / float16 / bfloat16, any strides; the output has its dtype and memory
  format. PIL's ``Image.resize(BILINEAR)`` filter (= ``F.interpolate(mode="bilinear", antialias=True)``):
  per axis a triangle filter stretched by the downscale factor ``s = in / out`` (``max(s, 1)`` pixels each
  side), centred on ``(i + 1/2) s``, taps outside the image dropped and the weights renormalised. uint8
  rounds to nearest (ties to even) and clamps. Within float32 rounding of the torch path (the sums run in
  another order: uint8 may differ by one level where a value lands on .5).

Why not a warp: a downscale by ``s`` must average about ``(2 s)^2`` source pixels per output pixel; the
affine warp samples 2 x 2 (aliasing). Upscaling is the same filter with support 1 (edge replicated).

Bytes moved (the floor): each source element read once (the footprints of neighbouring outputs overlap and
come from cache), each output element written once.

Launch: grid (2-D output tiles, B). The filter is separable and its weights depend on the row only (y taps)
or the column only (x taps), so a tile computes them as (TH, 1) and (1, TW) vectors per tap; the
``KY x KX`` taps of each output pixel are then one load and one FMA each. ``KY``, ``KX``
(``2 ceil(support) + 1``) are runtime loop bounds: no recompile per scale.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from gpuaug._checks import empty_output

from . import _common as common
from ._common import register, round_half_even, skip_launch, tile_2d, tile_for, wrap


@triton.jit
def _taps(o, n, scale, support):
    """Per output coordinate ``o`` on an axis of ``n`` source pixels: the filter centre, the first tap and
    the end of the taps (exclusive), as PIL / torch compute them (truncation toward zero, then clamped)."""
    center = (o.to(tl.float32) + 0.5) * scale
    lo = tl.maximum((center - support + 0.5).to(tl.int32), 0)
    hi = tl.minimum((center + support + 0.5).to(tl.int32), n)
    return center, lo, hi


@triton.jit
def _weight(t, lo, hi, center, inv):
    """Triangle weight of tap ``lo + t`` (0 past ``hi``)."""
    d = ((lo + t).to(tl.float32) - center + 0.5) * inv
    return tl.where(lo + t < hi, tl.maximum(1.0 - tl.abs(d), 0.0), 0.0)


@triton.jit(do_not_specialize=["H", "W", "Ho", "b0", "KY", "KX"])
def _resize_kernel(
    src_ptr, dst_ptr,
    H, W, Ho, Wo, b0,
    s_b, s_c, s_h, s_w,
    d_b, d_c, d_h, d_w,
    scale_y, scale_x, support_y, support_x, inv_y, inv_x, KY, KX,
    C: tl.constexpr, IS_U8: tl.constexpr, INT64: tl.constexpr, TH: tl.constexpr, TW: tl.constexpr,
):
    i_b, m, oy, ox = tile_2d(Ho, Wo, b0, INT64, TH, TW)
    cy, ylo, yhi = _taps(oy, H, scale_y, support_y)  # (TH, 1)
    cx, xlo, xhi = _taps(ox, W, scale_x, support_x)  # (1, TW)
    wys = tl.zeros_like(cy)
    for j in range(KY):
        wys += _weight(j, ylo, yhi, cy, inv_y)
    wxs = tl.zeros_like(cx)
    for i in range(KX):
        wxs += _weight(i, xlo, xhi, cx, inv_x)
    # every output pixel inside the image has a tap of positive weight (the max guards the masked lanes)
    norm = 1.0 / tl.maximum(wys * wxs, 1e-30)
    p_src = src_ptr + i_b * s_b
    p_dst = dst_ptr + i_b * d_b + oy * d_h + ox * d_w
    for c in tl.static_range(C):
        acc = tl.zeros((TH, TW), dtype=tl.float32)
        for j in range(KY):
            wy = _weight(j, ylo, yhi, cy, inv_y)
            iy = tl.minimum(ylo + j, H - 1)  # a tap past the end has weight 0: any row inside will do
            if INT64:
                iy = iy.to(tl.int64)
            row = tl.zeros((TH, TW), dtype=tl.float32)
            for i in range(KX):
                wx = _weight(i, xlo, xhi, cx, inv_x)
                ix = tl.minimum(xlo + i, W - 1)
                if INT64:
                    ix = ix.to(tl.int64)
                v = tl.load(p_src + c * s_c + iy * s_h + ix * s_w, mask=m, other=0).to(tl.float32)
                row += wx * v
            acc += wy * row
        r = acc * norm
        if IS_U8:
            r = tl.minimum(tl.maximum(round_half_even(r), 0.0), 255.0)
        tl.store(p_dst + c * d_c, r.to(dst_ptr.dtype.element_ty), mask=m)


def axis_params(n_in: int, n_out: int) -> tuple[float, float, float, int]:
    """``(scale, support, 1 / max(scale, 1), taps)`` of one axis (PIL's / torch's bilinear antialias)."""
    scale = n_in / n_out
    support = max(scale, 1.0)
    return scale, support, 1.0 / support, 2 * math.ceil(support) + 1


@register("resize")
def resize(img: torch.Tensor, size: list[int]) -> torch.Tensor:
    """Antialiased bilinear resize to ``size`` = (H_out, W_out); see the module docstring."""
    if img.dim() != 4:
        raise ValueError(f"img must be (B, C, H, W), got shape {tuple(img.shape)}")
    b, c, h, w = img.shape
    ho, wo = int(size[0]), int(size[1])
    out = empty_output(img, (ho, wo))
    if out.numel() == 0 or skip_launch(out):
        return out
    if h == 0 or w == 0:
        raise ValueError(f"img has an empty spatial size {(h, w)}: nothing to resize")
    sy, py, iy, ky = axis_params(h, ho)
    sx, px, ix, kx = axis_params(w, wo)
    th, tw, warps = tile_for("resize", ho, wo)
    tiles = triton.cdiv(ho, th) * triton.cdiv(wo, tw)
    for lo, hi in common.batch_chunks(b):
        wrap(_resize_kernel)[(tiles, hi - lo)](
            img, out, h, w, ho, wo, lo, *img.stride(), *out.stride(), sy, sx, py, px, iy, ix, ky, kx,
            C=c, IS_U8=img.dtype == torch.uint8, INT64=common.needs_int64(img, out), TH=th, TW=tw,
            num_warps=warps)
    return out
