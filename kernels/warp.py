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

``warp_normalize(img, inv, size, interpolation, fill_mode, fill, mean, std, out_dtype)`` does the same
resampling and writes ``(v / max - mean) / std`` in ``out_dtype`` (float32/float16/bfloat16) in the same pass
(max = 255 for uint8, 1 for floats); a uint8 sample is first rounded to uint8, so the result equals
``normalize(warp(img))`` up to float rounding. mean/std broadcast to (B, C).

Bytes moved (the floor): each output element written once, each needed source element read once (the
2x2 bilinear footprints of neighbouring outputs overlap and are served from cache), plus 24 bytes of matrix
per sample: for a same-size uint8 warp, 2 * B*C*H*W bytes; with normalize to float32, 5 * B*C*H*W.

Launch: grid (ceil(Ho*Wo / BLOCK), B); one program computes the source position of BLOCK output pixels once
and loops over the channels (constexpr C). Sample bases are int64; H, W, Ho, Wo are not specialised
(Ho*Wo, the mask bound, is, on divisibility by 16 only: vectorised uint8 stores).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from gpuaug._checks import empty_output

from ._common import (
    FILL_MODES,
    INTERPOLATIONS,
    hw_offset,
    launch,
    layout,
    per_channel,
    pixel_tile,
    register,
    round_half_even,
    rows,
    skip_launch,
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
                   SRC_U8: tl.constexpr):
    """One channel (base pointer ``p_c``) sampled at the folded positions ``(sx, sy)``: nearest, bilinear or
    bicubic, ``fill`` outside for "constant"; uint8 sources round to nearest (ties to even) and clamp,
    floating bicubic clamps to [0, 1]. The same arithmetic as ``_warp_kernel``."""
    if INTERP == 2:
        x0f = tl.floor(sx)
        y0f = tl.floor(sy)
        wx0, wx1, wx2, wx3 = cubic_weights(sx - x0f)
        wy0, wy1, wy2, wy3 = cubic_weights(sy - y0f)
        x0 = x0f.to(tl.int32)
        y0 = y0f.to(tl.int32)
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
        xn = tl.floor(sx + 0.5).to(tl.int32)
        yn = tl.floor(sy + 0.5).to(tl.int32)
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


@triton.jit(do_not_specialize=["H", "W", "Ho", "Wo"])
def _warp_kernel(
    src_ptr, dst_ptr, inv_ptr, fill_ptr, mean_ptr, std_ptr,
    H, W, Ho, Wo, HWo,
    s_b, s_c, s_h, s_w,
    d_b, d_c, d_h, d_w,
    inv_b, fill_b, fill_c, mean_b, mean_c, std_b, std_c,
    C: tl.constexpr, INTERP: tl.constexpr, MODE: tl.constexpr,
    SRC_U8: tl.constexpr, DST_U8: tl.constexpr, NORMALIZE: tl.constexpr,
    DST_FLAT: tl.constexpr, INT64: tl.constexpr, BLOCK: tl.constexpr,
):
    _, i_b, o_p, m_p, oy, ox = pixel_tile(HWo, Wo, INT64, BLOCK)

    # source position of each output pixel, folded by the fill mode once per axis (not once per tap)
    p_inv = inv_ptr + i_b * inv_b
    xf = ox.to(tl.float32)
    yf = oy.to(tl.float32)
    sx = tl.load(p_inv + 0) * xf + tl.load(p_inv + 1) * yf + tl.load(p_inv + 2)
    sy = tl.load(p_inv + 3) * xf + tl.load(p_inv + 4) * yf + tl.load(p_inv + 5)
    sx = tl.minimum(tl.maximum(sx, -_COORD_LIMIT), _COORD_LIMIT)
    sy = tl.minimum(tl.maximum(sy, -_COORD_LIMIT), _COORD_LIMIT)
    if INTERP != 2 or MODE != 1:  # bicubic edge: the taps clamp, not the coordinate
        sx = _fold(sx, W, MODE)
        sy = _fold(sy, H, MODE)

    p_src = src_ptr + i_b * s_b
    p_dst = dst_ptr + i_b * d_b
    o_dst = hw_offset(o_p, oy, ox, d_h, d_w, DST_FLAT)

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
        o00 = iy0 * s_h + ix0 * s_w
        o01 = iy0 * s_h + ix1 * s_w
        o10 = iy1 * s_h + ix0 * s_w
        o11 = iy1 * s_h + ix1 * s_w
        m00 = m_p & vy0 & vx0
        m01 = m_p & vy0 & vx1
        m10 = m_p & vy1 & vx0
        m11 = m_p & vy1 & vx1
    else:
        xn = tl.floor(sx + 0.5).to(tl.int32)  # round half up, as scipy order=0
        yn = tl.floor(sy + 0.5).to(tl.int32)
        if INT64:
            xn = xn.to(tl.int64)
            yn = yn.to(tl.int64)
        ixn, vxn = _tap(xn, W, MODE)
        iyn, vyn = _tap(yn, H, MODE)
        on = iyn * s_h + ixn * s_w
        mn = m_p & vyn & vxn

    for c in tl.static_range(C):
        fill = tl.load(fill_ptr + i_b * fill_b + c * fill_c)
        if SRC_U8:
            fill = round_half_even(fill)  # the fill is a uint8 value too (as the torch path's border)
        p_c = p_src + c * s_c
        if INTERP == 2:
            v = tl.zeros_like(sx)
            for j in tl.static_range(4):
                iy, vy = _tap_far(y0 + (j - 1), H, MODE)
                row = _cubic_row(p_c, iy * s_h, x0, W, s_w, m_p & vy, fill, wx0, wx1, wx2, wx3, MODE)
                if MODE == 0:
                    row = tl.where(vy, row, fill)  # a whole row outside: fill (the weights sum to 1)
                if j == 0:
                    v += wy0 * row
                elif j == 1:
                    v += wy1 * row
                elif j == 2:
                    v += wy2 * row
                else:
                    v += wy3 * row
        elif INTERP == 1:
            v00 = tl.load(p_c + o00, mask=m00, other=0).to(tl.float32)
            v01 = tl.load(p_c + o01, mask=m01, other=0).to(tl.float32)
            v10 = tl.load(p_c + o10, mask=m10, other=0).to(tl.float32)
            v11 = tl.load(p_c + o11, mask=m11, other=0).to(tl.float32)
            if MODE == 0:
                v00 = tl.where(m00, v00, fill)
                v01 = tl.where(m01, v01, fill)
                v10 = tl.where(m10, v10, fill)
                v11 = tl.where(m11, v11, fill)
            top = v00 + fx * (v01 - v00)  # along x, then y (lerp, as the torch path)
            bot = v10 + fx * (v11 - v10)
            v = top + fy * (bot - top)
        else:
            v = tl.load(p_c + on, mask=mn, other=0).to(tl.float32)
            if MODE == 0:
                v = tl.where(mn, v, fill)
        if SRC_U8 and INTERP != 0:
            v = tl.minimum(tl.maximum(round_half_even(v), 0.0), 255.0)  # ties to even, as torch.round
        elif INTERP == 2:
            v = tl.minimum(tl.maximum(v, 0.0), 1.0)  # the cubic overshoots: back into [0, 1]
        if NORMALIZE:
            mean = tl.load(mean_ptr + i_b * mean_b + c * mean_c)
            std = tl.load(std_ptr + i_b * std_b + c * std_c)
            if SRC_U8:
                v = v / 255.0
            v = (v - mean) / std
        if DST_U8:
            tl.store(p_dst + c * d_c + o_dst, v.to(tl.uint8), mask=m_p)
        else:
            tl.store(p_dst + c * d_c + o_dst, v.to(dst_ptr.dtype.element_ty), mask=m_p)


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


def _launch(img, inv, size, interpolation, fill_mode, fill, mean, std, out):
    b, c, h, w = img.shape
    ho, wo = int(size[0]), int(size[1])
    if out.numel() == 0 or skip_launch(out):
        return out
    if h == 0 or w == 0:
        raise ValueError(f"img has an empty spatial size {(h, w)}: nothing to sample from")
    normalize = mean is not None
    inv = inv.to(device=img.device, dtype=torch.float32, non_blocking=True).contiguous()
    fill = per_channel(fill, b, c, img.device, 0.0)
    mean = per_channel(mean, b, c, img.device, 0.0)
    std = per_channel(std, b, c, img.device, 1.0)
    launch(_warp_kernel, "warp", ho * wo, b, lambda lo, hi: (
        *rows(lo, hi, img, out, inv, fill, mean, std), h, w, ho, wo, ho * wo, *img.stride(), *out.stride(),
        inv.stride(0), *fill.stride(), *mean.stride(), *std.stride(),  # (B, C) each
    ), C=c, INTERP=INTERPOLATIONS.index(interpolation), MODE=FILL_MODES.index(fill_mode),
        SRC_U8=img.dtype == torch.uint8, DST_U8=out.dtype == torch.uint8, NORMALIZE=normalize,
        **layout(img, out, gather=True))
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
    return _launch(img, inv, size, interpolation, fill_mode, fill, None, None, out)


@register("warp_normalize")
def warp_normalize(
    img: torch.Tensor,
    inv: torch.Tensor,
    size: list[int],
    interpolation: str,
    fill_mode: str,
    fill: torch.Tensor | None,
    mean: torch.Tensor,
    std: torch.Tensor,
    out_dtype: torch.dtype,
) -> torch.Tensor:
    """``warp`` then ``(v / max - mean) / std`` in ``out_dtype``, in one pass (for the loader)."""
    _check(img, inv, size, interpolation, fill_mode)
    if out_dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise TypeError(f"out_dtype must be float32, float16 or bfloat16, got {out_dtype}")
    out = empty_output(img, (int(size[0]), int(size[1])), dtype=out_dtype)
    return _launch(img, inv, size, interpolation, fill_mode, fill, mean, std, out)
