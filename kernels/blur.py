"""Triton Gaussian blur: both separable passes in ONE kernel, drop-in for ``gpuaug._torch.blur``.

``gaussian_blur(img, sigma, kernel_size) -> img'``
  img    (B, C, H, W) uint8 / float32 / float16 / bfloat16, any strides; output in its dtype and memory format
  sigma  float32 (B, 2): (sigma_x, sigma_y) per sample; 0 is the identity on that axis
  kernel_size  [kx, ky], odd: torchvision's taps ``exp(-d^2 / (2 sigma^2))``, normalised, d = -r .. r
The border is whole-sample symmetric (``mirror``, scipy's ``mirror``, torch's ``reflect`` padding), folded
again when the kernel is wider than the image. uint8 rounds to nearest (ties to even). Within float32
rounding of the torch path (uint8: one level where a sum lands on .5).

How both passes stay on chip: a program owns a TO x TO output tile. The separable blur is two products with
banded (Toeplitz) weight matrices built in registers from the sample's sigma, ``out = Wv @ (S @ Wh)``: for
each chunk of CH source rows, the horizontal pass ``S (CH x CH chunk of the mirrored source) @ Wh (CH x TO)``
is accumulated over the column chunks into a (CH, TO) block, which the vertical pass ``Wv (TO x CH) @ block``
consumes at once. ``tl.dot`` keeps both operands in registers / shared memory: the only global traffic is
the source tile with its halo (read once, ``(TO + 2r)^2 / TO^2`` times the output) and the output (written
once); no intermediate image. Any radius: the chunk loops run ``ceil((TO + 2 r) / CH)`` times each.

The dots run in float32 (``input_precision="ieee"``): TF32 / fp16 tensor-core inputs round the weights to
10-11 bits, which moves uint8 results across a rounding edge (about 0.1 level of error). Cost: about
``(TO + 2r)(2 TO + 2r) / TO`` multiply-adds per output pixel and channel (192 at r <= 16 with TO = CH = 32),
against ``2 (2 r + 1)`` for a direct separable filter: the price of keeping the intermediate on chip.

Launch: grid (output tiles, B), channels looped inside the program.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from gpuaug._checks import empty_output

from . import _common as common
from ._common import register, round_half_even, skip_launch, wrap

#: output tile side and source chunk side (both >= 16: tl.dot's minimum)
TO = 32
CH = 32


@triton.jit
def _mirror(i, n):
    """Whole-sample symmetric fold of integer positions onto [0, n): period 2n - 2 (n = 1: all 0)."""
    p = tl.maximum(2 * n - 2, 1)
    m = i % p
    m = tl.where(m < 0, m + p, m)
    return tl.minimum(m, p - m)


@triton.jit
def _gauss(d, sigma, r):
    """Unnormalised taps at float offsets ``d`` (0 beyond the radius ``r``); sigma 0: 1 at d = 0 only."""
    s = tl.where(sigma > 0, sigma, 1.0)
    t = d / s
    g = tl.where(sigma > 0, tl.exp(-0.5 * t * t), tl.where(d == 0, 1.0, 0.0))
    return tl.where(tl.abs(d) <= r, g, 0.0)


@triton.jit
def _norm(sigma, r):
    """The sum of the 2r + 1 taps (torchvision normalises the kernel to sum 1)."""
    total = 0.0
    for d in range(-r, r + 1):
        total += _gauss(d * 1.0, sigma, r)
    return total


@triton.jit(do_not_specialize=["H", "W", "b0", "RX", "RY", "NX", "NY"])
def _blur_kernel(
    src_ptr, dst_ptr, sigma_ptr,
    H, W, b0,
    s_b, s_c, s_h, s_w,
    d_b, d_c, d_h, d_w,
    RX, RY, NX, NY,
    C: tl.constexpr, IS_U8: tl.constexpr, INT64: tl.constexpr, TO: tl.constexpr, CH: tl.constexpr,
):
    t = tl.program_id(0)
    i_b = tl.program_id(1).to(tl.int64) + b0
    ntx = tl.cdiv(W, TO)
    y0 = (t // ntx) * TO
    x0 = (t - (t // ntx) * ntx) * TO
    o = tl.arange(0, TO)
    a = tl.arange(0, CH)
    sx = tl.load(sigma_ptr + i_b * 2)
    sy = tl.load(sigma_ptr + i_b * 2 + 1)
    inv_nx = 1.0 / _norm(sx, RX)
    inv_ny = 1.0 / _norm(sy, RY)
    p_src = src_ptr + i_b * s_b
    for c in tl.static_range(C):
        acc = tl.zeros((TO, TO), dtype=tl.float32)
        for rc in range(NY):
            rows = _mirror(y0 - RY + rc * CH + a, H)  # (CH,) source rows of this chunk, folded
            if INT64:
                rows = rows.to(tl.int64)
            block = tl.zeros((CH, TO), dtype=tl.float32)  # horizontal pass of these rows, this tile's columns
            for kc in range(NX):
                cols = _mirror(x0 - RX + kc * CH + a, W)
                if INT64:
                    cols = cols.to(tl.int64)
                s = tl.load(p_src + c * s_c + rows[:, None] * s_h + cols[None, :] * s_w).to(tl.float32)
                # Wh[j, o]: weight of source column x0 - RX + kc CH + j for output column x0 + o
                dx = ((kc * CH - RX) + a[:, None] - o[None, :]).to(tl.float32)
                wh = _gauss(dx, sx, RX) * inv_nx
                block += tl.dot(s, wh, input_precision="ieee")
            dy = ((rc * CH - RY) + a[None, :] - o[:, None]).to(tl.float32)  # Wv[o, j]
            wv = _gauss(dy, sy, RY) * inv_ny
            acc += tl.dot(wv, block, input_precision="ieee")
        if IS_U8:
            acc = tl.minimum(tl.maximum(round_half_even(acc), 0.0), 255.0)
        oy = y0 + o[:, None]
        ox = x0 + o[None, :]
        if INT64:
            oy = oy.to(tl.int64)
            ox = ox.to(tl.int64)
        m = (oy < H) & (ox < W)
        p_dst = dst_ptr + i_b * d_b + c * d_c + oy * d_h + ox * d_w
        tl.store(p_dst, acc.to(dst_ptr.dtype.element_ty), mask=m)


@register("gaussian_blur")
def gaussian_blur(img: torch.Tensor, sigma: torch.Tensor, kernel_size: list[int]) -> torch.Tensor:
    """Separable Gaussian blur with per-sample ``sigma`` (B, 2); see the module docstring."""
    if img.dim() != 4:
        raise ValueError(f"img must be (B, C, H, W), got shape {tuple(img.shape)}")
    kx, ky = int(kernel_size[0]), int(kernel_size[1])
    if kx < 1 or ky < 1 or kx % 2 == 0 or ky % 2 == 0:
        raise ValueError(f"kernel_size must be odd and positive, got {(kx, ky)}")
    b, c, h, w = img.shape
    out = empty_output(img)
    if out.numel() == 0 or skip_launch(out):
        return out
    sigma = sigma.to(device=img.device, dtype=torch.float32, non_blocking=True).expand(b, 2).contiguous()
    rx, ry = kx // 2, ky // 2
    tiles = triton.cdiv(h, TO) * triton.cdiv(w, TO)
    nx, ny = triton.cdiv(TO + 2 * rx, CH), triton.cdiv(TO + 2 * ry, CH)
    for lo, hi in common.batch_chunks(b):
        wrap(_blur_kernel)[(tiles, hi - lo)](
            img, out, sigma, h, w, lo, *img.stride(), *out.stride(), rx, ry, nx, ny,
            C=c, IS_U8=img.dtype == torch.uint8, INT64=common.needs_int64(img, out), TO=TO, CH=CH,
            num_warps=4)
    return out
