"""Triton warp: per-sample affine resampling, drop-in for ``gpuaug._torch.warp.warp``.

``warp(img, inv, size, interpolation, fill_mode, fill) -> (B, C, size[0], size[1])``
  img   (B, C, H, W) uint8 / float32 / float16 / bfloat16, any strides (channels_last, slices, ...)
  inv   float (B, 2, 3): OUTPUT pixel (x, y) -> SOURCE position (already inverted), pixel centres at integers
  interpolation "nearest" | "bilinear"; fill_mode "constant" | "edge" | "reflect" | "mirror" | "wrap"
  fill  float32 (B, C) (or anything that broadcasts to it), in the image's value range
The output has the input's dtype and memory format; uint8 rounds to nearest (ties to even, as torch.round)
and clamps to 0..255; a uint8 image's fill is rounded the same way first. Results follow
``scipy.ndimage.map_coordinates`` (order 0 rounds half up / order 1) with modes grid-constant, nearest,
reflect, mirror, grid-wrap. The source coordinate is folded into range once per axis (float arithmetic, as
the torch path), so the four taps need only a clamp, not an integer modulo each.

Bytes moved (the floor): each output element written once, each needed source element read once (the
2x2 bilinear footprints of neighbouring outputs overlap and are served from cache), plus 24 bytes of matrix
per sample: for a same-size uint8 warp, 2 * B*C*H*W bytes.

Launch: grid (2-D tiles of the output, B); a program computes the source position of its tile's pixels once
(``source_position``) and samples each channel there (``sample_channel``: the same device functions as the
compiled plan's passes, ``kernels/pipeline.py``). Sample bases are int64; H, W, Ho are not specialised, the
output width only on divisibility by 16 (vectorised row stores).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from gpuaug._checks import empty_output

from . import _common as common
from ._common import (
    FILL_MODES,
    INTERPOLATIONS,
    per_channel,
    register,
    round_half_even,
    skip_launch,
    tile_2d,
    tile_for,
    wrap,
)

# Coordinates are clamped to +-2**24 before the float -> int conversion: beyond that a float32 position has
# no sub-pixel precision left, and the clamp keeps the index arithmetic inside int32.
_COORD_LIMIT = tl.constexpr(16777216.0)


@triton.jit
def _fold(t, n, MODE: tl.constexpr):
    """Fold a float source coordinate on an axis of n pixels into the range whose taps need no more than a
    clamp (scipy's modes, as the torch path folds them). constant: unchanged (taps are tested instead)."""
    nf = n.to(tl.float32)
    if MODE == 1:  # edge: [0, n-1]
        t = tl.minimum(tl.maximum(t, 0.0), nf - 1.0)
    elif MODE == 2:  # reflect: half-sample symmetric about -0.5 and n-0.5, period 2n -> [-0.5, n-0.5]
        period = 2.0 * nf
        u = t + 0.5
        u = u - tl.floor(u / period) * period
        t = tl.minimum(u, period - u) - 0.5
    elif MODE == 3:  # mirror: whole-sample symmetric about 0 and n-1, period 2n-2 -> [0, n-1]
        period = tl.maximum(2.0 * nf - 2.0, 1.0)  # n == 1: everything maps to 0
        u = t - tl.floor(t / period) * period
        t = tl.minimum(u, period - u)
    elif MODE == 4:  # wrap: period n -> [0, n)
        t = t - tl.floor(t / nf) * nf
    return t


@triton.jit
def _tap(i, n, MODE: tl.constexpr):
    """Integer tap of a folded coordinate -> (index in [0, n), valid). Only wrap can step past the end by
    one period; the others clamp (their folded taps reach at most one pixel outside, with the edge value)."""
    if MODE == 0:
        valid = (i >= 0) & (i < n)
        i = tl.minimum(tl.maximum(i, 0), n - 1)
    elif MODE == 4:
        valid = i == i
        i = tl.where(i >= n, i - n, i)
        i = tl.where(i < 0, i + n, i)  # float rounding can leave -1 or n: one period at most
    else:
        valid = i == i
        i = tl.minimum(tl.maximum(i, 0), n - 1)
    return i, valid


@triton.jit
def _tap_far(i, n, MODE: tl.constexpr):
    """A bicubic tap -> (index in [0, n), valid): folded on its own by the fill mode, as the torch path's
    ``_fold_index`` (reflect: period 2n; mirror: period 2n - 2; wrap: period n; edge: a clamp, the taps
    replicate the edge; constant: valid inside only)."""
    if MODE == 0:
        valid = (i >= 0) & (i < n)
        i = tl.minimum(tl.maximum(i, 0), n - 1)
    else:
        valid = i == i
        if MODE == 2:
            p = 2 * n
            m = ((i % p) + p) % p
            i = tl.minimum(m, p - 1 - m)
        elif MODE == 3:
            p = tl.maximum(2 * n - 2, 1)
            m = ((i % p) + p) % p
            i = tl.minimum(m, p - m)
        elif MODE == 4:
            i = ((i % n) + n) % n
        i = tl.minimum(tl.maximum(i, 0), n - 1)
    return i, valid


@triton.jit
def cubic_weights(d):
    """Taps at -1, 0, 1, 2 from floor(x), d = x - floor(x): the cubic convolution with a = -1 (PIL's
    affine BICUBIC)."""
    d2 = d * d
    d3 = d2 * d
    return -d + 2.0 * d2 - d3, 1.0 - 2.0 * d2 + d3, d + d2 - d3, d3 - d2


@triton.jit
def _cubic_row(p_c, o_y, x0, W, s_w, m_y, fill, w0, w1, w2, w3, MODE: tl.constexpr):
    """One row of a bicubic footprint: the four taps of row offset ``o_y`` blended by x weights."""
    acc = tl.zeros_like(w0)
    for k in tl.static_range(4):
        ix, vx = _tap_far(x0 + (k - 1), W, MODE)
        m = m_y & vx
        v = tl.load(p_c + o_y + ix * s_w, mask=m, other=0).to(tl.float32)
        if MODE == 0:
            v = tl.where(m, v, fill)
        if k == 0:
            acc += w0 * v
        elif k == 1:
            acc += w1 * v
        elif k == 2:
            acc += w2 * v
        else:
            acc += w3 * v
    return acc


@triton.jit
def source_position(p_inv, ox, oy, H, W, MODE: tl.constexpr, INTERP: tl.constexpr):
    """The source position of output pixels (ox, oy) through the inverse matrix at ``p_inv`` (6 floats),
    clamped to +-2**24 and folded by the fill mode (bicubic edge: left to the taps)."""
    xf = ox.to(tl.float32)
    yf = oy.to(tl.float32)
    sx = tl.load(p_inv + 0) * xf + tl.load(p_inv + 1) * yf + tl.load(p_inv + 2)
    sy = tl.load(p_inv + 3) * xf + tl.load(p_inv + 4) * yf + tl.load(p_inv + 5)
    sx = tl.minimum(tl.maximum(sx, -_COORD_LIMIT), _COORD_LIMIT)
    sy = tl.minimum(tl.maximum(sy, -_COORD_LIMIT), _COORD_LIMIT)
    if INTERP != 2 or MODE != 1:
        sx = _fold(sx, W, MODE)
        sy = _fold(sy, H, MODE)
    return sx, sy


@triton.jit
def sample_channel(p_c, sx, sy, H, W, s_h, s_w, m_p, fill, MODE: tl.constexpr, INTERP: tl.constexpr,
                   SRC_U8: tl.constexpr, INT64: tl.constexpr = False):
    """One channel (base pointer ``p_c``) sampled at the folded positions ``(sx, sy)``: nearest, bilinear or
    bicubic, ``fill`` outside for "constant"; uint8 sources round to nearest (ties to even) and clamp,
    floating bicubic clamps to [0, 1]. ``INT64``: tap offsets in int64 (samples of 2**31 elements or more)."""
    if INTERP == 2:
        x0f = tl.floor(sx)
        y0f = tl.floor(sy)
        wx0, wx1, wx2, wx3 = cubic_weights(sx - x0f)
        wy0, wy1, wy2, wy3 = cubic_weights(sy - y0f)
        x0 = x0f.to(tl.int32)
        y0 = y0f.to(tl.int32)
        if INT64:
            x0 = x0.to(tl.int64)
            y0 = y0.to(tl.int64)
        v = tl.zeros_like(sx)
        for j in tl.static_range(4):
            iy, vy = _tap_far(y0 + (j - 1), H, MODE)
            row = _cubic_row(p_c, iy * s_h, x0, W, s_w, m_p & vy, fill, wx0, wx1, wx2, wx3, MODE)
            if MODE == 0:
                row = tl.where(vy, row, fill)
            if j == 0:
                v += wy0 * row
            elif j == 1:
                v += wy1 * row
            elif j == 2:
                v += wy2 * row
            else:
                v += wy3 * row
    elif INTERP == 1:
        x0f = tl.floor(sx)
        y0f = tl.floor(sy)
        fx = sx - x0f
        fy = sy - y0f
        x0 = x0f.to(tl.int32)
        y0 = y0f.to(tl.int32)
        if INT64:
            x0 = x0.to(tl.int64)
            y0 = y0.to(tl.int64)
        ix0, vx0 = _tap(x0, W, MODE)
        ix1, vx1 = _tap(x0 + 1, W, MODE)
        iy0, vy0 = _tap(y0, H, MODE)
        iy1, vy1 = _tap(y0 + 1, H, MODE)
        m00 = m_p & vy0 & vx0
        m01 = m_p & vy0 & vx1
        m10 = m_p & vy1 & vx0
        m11 = m_p & vy1 & vx1
        v00 = tl.load(p_c + iy0 * s_h + ix0 * s_w, mask=m00, other=0).to(tl.float32)
        v01 = tl.load(p_c + iy0 * s_h + ix1 * s_w, mask=m01, other=0).to(tl.float32)
        v10 = tl.load(p_c + iy1 * s_h + ix0 * s_w, mask=m10, other=0).to(tl.float32)
        v11 = tl.load(p_c + iy1 * s_h + ix1 * s_w, mask=m11, other=0).to(tl.float32)
        if MODE == 0:
            v00 = tl.where(m00, v00, fill)
            v01 = tl.where(m01, v01, fill)
            v10 = tl.where(m10, v10, fill)
            v11 = tl.where(m11, v11, fill)
        top = v00 + fx * (v01 - v00)
        bot = v10 + fx * (v11 - v10)
        v = top + fy * (bot - top)
    else:
        xn = tl.floor(sx + 0.5).to(tl.int32)  # round half up, as scipy order=0
        yn = tl.floor(sy + 0.5).to(tl.int32)
        if INT64:
            xn = xn.to(tl.int64)
            yn = yn.to(tl.int64)
        ixn, vxn = _tap(xn, W, MODE)
        iyn, vyn = _tap(yn, H, MODE)
        mn = m_p & vyn & vxn
        v = tl.load(p_c + iyn * s_h + ixn * s_w, mask=mn, other=0).to(tl.float32)
        if MODE == 0:
            v = tl.where(mn, v, fill)
    if SRC_U8 and INTERP != 0:
        v = tl.minimum(tl.maximum(round_half_even(v), 0.0), 255.0)
    elif INTERP == 2:
        v = tl.minimum(tl.maximum(v, 0.0), 1.0)
    return v


@triton.jit(do_not_specialize=["H", "W", "Ho", "b0"])
def _warp_kernel(
    src_ptr, dst_ptr, inv_ptr, fill_ptr,
    H, W, Ho, Wo, b0,
    s_b, s_c, s_h, s_w,
    d_b, d_c, d_h, d_w,
    inv_b, fill_b, fill_c,
    C: tl.constexpr, INTERP: tl.constexpr, MODE: tl.constexpr, SRC_U8: tl.constexpr, INT64: tl.constexpr,
    TH: tl.constexpr, TW: tl.constexpr,
):
    i_b, m, oy, ox = tile_2d(Ho, Wo, b0, INT64, TH, TW)
    # source position of each output pixel, folded by the fill mode once (not once per tap or channel)
    sx, sy = source_position(inv_ptr + i_b * inv_b, ox, oy, H, W, MODE, INTERP)
    p_src = src_ptr + i_b * s_b
    p_dst = dst_ptr + i_b * d_b + oy * d_h + ox * d_w
    for c in tl.static_range(C):
        fill = tl.load(fill_ptr + i_b * fill_b + c * fill_c)
        if SRC_U8:
            fill = round_half_even(fill)  # the fill is a uint8 value too (as the torch path's border)
        v = sample_channel(p_src + c * s_c, sx, sy, H, W, s_h, s_w, m, fill, MODE, INTERP, SRC_U8, INT64)
        tl.store(p_dst + c * d_c, v.to(dst_ptr.dtype.element_ty), mask=m)


def _check(img, inv, size, interpolation, fill_mode):
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
    if img.dim() != 4:
        raise ValueError(f"img must be (B, C, H, W), got shape {tuple(img.shape)}")
    if inv.shape != (img.shape[0], 2, 3):
        raise ValueError(f"inv must be (B, 2, 3) = ({img.shape[0]}, 2, 3), got shape {tuple(inv.shape)}")
    if len(size) != 2 or min(size) < 0:
        raise ValueError(f"size must be (H_out, W_out) with non-negative entries, got {tuple(size)}")


def _launch(img, inv, size, interpolation, fill_mode, fill, out):
    b, c, h, w = img.shape
    ho, wo = int(size[0]), int(size[1])
    if out.numel() == 0 or skip_launch(out):
        return out
    if h == 0 or w == 0:
        raise ValueError(f"img has an empty spatial size {(h, w)}: nothing to sample from")
    inv = inv.to(device=img.device, dtype=torch.float32, non_blocking=True).contiguous()
    fill = per_channel(fill, b, c, img.device, 0.0)
    th, tw, warps = tile_for("warp", ho, wo)
    tiles = triton.cdiv(ho, th) * triton.cdiv(wo, tw)
    for lo, hi in common.batch_chunks(b):
        wrap(_warp_kernel)[(tiles, hi - lo)](
            img, out, inv, fill, h, w, ho, wo, lo, *img.stride(), *out.stride(), inv.stride(0),
            *fill.stride(),
            C=c, INTERP=INTERPOLATIONS.index(interpolation), MODE=FILL_MODES.index(fill_mode),
            SRC_U8=img.dtype == torch.uint8, INT64=common.needs_int64(img, out), TH=th, TW=tw,
            num_warps=warps)
    return out


@register("warp")
def warp(
    img: torch.Tensor,
    inv: torch.Tensor,
    size: list[int],
    interpolation: str,
    fill_mode: str,
    fill: torch.Tensor | None,
) -> torch.Tensor:
    """Resample each sample at ``inv @ (x, y, 1)``; see the module docstring for the contract."""
    _check(img, inv, size, interpolation, fill_mode)
    out = empty_output(img, (int(size[0]), int(size[1])))
    return _launch(img, inv, size, interpolation, fill_mode, fill, out)
