"""Triton channel-mixing and stencil pixel ops: drop-ins for ``gpuaug._torch.color``.

``grayscale(img) -> (B, 1, H, W)`` same dtype: ITU-R 601-2 luma of an RGB batch; uint8 in PIL's fixed
  point ``(19595 R + 38470 G + 7471 B + 0x8000) >> 16`` (exact), floats ``0.299 R + 0.587 G + 0.114 B``.
``gray_mean(img, lut=None) -> float32 (B,)``: mean of the grayscale image (of ``lut(img)`` when a
  (B, C|1, 256) uint8 table is given); uint8: PIL's integer ``(2 * sum + n) // (2 * n)``. C = 1: the image.
``adjust_saturation(img, factor)``: blend an RGB batch with its grayscale (PIL ``ImageEnhance.Color``).
``adjust_sharpness(img, factor)``: blend with the 3x3 SMOOTH filter (1 1 1 / 1 5 1 / 1 1 1, / 13), border
  pixels kept (PIL ``ImageEnhance.Sharpness``); uint8 smooth is rounded exactly as PIL: ``(2 s + 13) // 26``.
Blends are PIL's ``deg + f * (x - deg)`` in float32, clamped, uint8 truncated; factor float32 (B,).
On a GPU the product is rounded on its own (``mul.rn``: no fused multiply-add), so uint8 results equal the
torch path's bit for bit; the interpreter (numpy) never fuses.

Bytes moved (the floor): grayscale reads 3 and writes 1 element per pixel; gray_mean reads 3 (plus 4 bytes
per BLOCK pixels of partial sums); saturation and sharpness read and write every element once (the 3x3
neighbourhood comes from cache).

Launch: grid (ceil(H*W / BLOCK), B); per-pixel work (gray, stencil offsets) is done once per pixel.
gray_mean writes one partial sum per program and torch adds them up: deterministic (no float atomics).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from gpuaug._checks import empty_output, memory_format_of

from ._common import (
    INTERPRET,
    block_for,
    hw_offset,
    launch,
    layout,
    per_sample_vector,
    pixel_tile,
    register,
    round_half_even,
    rows,
    skip_launch,
)


@triton.jit
def _mul_rn(a, b, EXACT: tl.constexpr):
    """a * b rounded to float32 on its own, so a following add is not fused into an FMA (PIL/torch order)."""
    if EXACT:
        r = tl.inline_asm_elementwise("mul.rn.f32 $0, $1, $2;", "=f,f,f", [a, b], dtype=tl.float32,
                                      is_pure=True, pack=1)
    else:
        r = a * b
    return r


@triton.jit
def _luma(r, g, b, IS_U8: tl.constexpr):
    """Gray value as float32: uint8 PIL's integer; floats 0.299 R + 0.587 G + 0.114 B, not rounded to the
    image dtype (saturation and gray_mean blend/average the float32 value, as the torch path)."""
    if IS_U8:
        y = (r.to(tl.int32) * 19595 + g.to(tl.int32) * 38470 + b.to(tl.int32) * 7471 + 0x8000) >> 16
        y = y.to(tl.float32)
    else:
        y = r.to(tl.float32) * 0.299 + g.to(tl.float32) * 0.587 + b.to(tl.float32) * 0.114
    return y


@triton.jit
def _blend_store(p_dst, deg, x, f, m, IS_U8: tl.constexpr, EXACT: tl.constexpr):
    y = deg + _mul_rn(f, x - deg, EXACT)
    if IS_U8:
        y = tl.minimum(tl.maximum(y, 0.0), 255.0)
    else:
        y = tl.minimum(tl.maximum(y, 0.0), 1.0)
    tl.store(p_dst, y.to(p_dst.dtype.element_ty), mask=m)


@triton.jit(do_not_specialize=["W"])
def _gray_kernel(
    src_ptr, dst_ptr, lut_ptr, part_ptr, factor_ptr,
    W, HW,
    s_b, s_c, s_h, s_w,
    d_b, d_c, d_h, d_w,
    l_b, l_c, part_b,
    C: tl.constexpr, MODE: tl.constexpr, HAS_LUT: tl.constexpr, IS_U8: tl.constexpr, EXACT: tl.constexpr,
    SRC_FLAT: tl.constexpr, DST_FLAT: tl.constexpr, INT64: tl.constexpr, BLOCK: tl.constexpr,
):
    """MODE 0: store the gray image; 1: store per-program sums of it; 2: saturation blend."""
    i_p, i_b, o_p, m_p, y, x = pixel_tile(HW, W, INT64, BLOCK)
    o_src = hw_offset(o_p, y, x, s_h, s_w, SRC_FLAT)
    o_dst = hw_offset(o_p, y, x, d_h, d_w, DST_FLAT)
    p_src = src_ptr + i_b * s_b
    v0 = tl.load(p_src + o_src, mask=m_p, other=0)
    if C == 3:
        v1 = tl.load(p_src + s_c + o_src, mask=m_p, other=0)
        v2 = tl.load(p_src + 2 * s_c + o_src, mask=m_p, other=0)
        if HAS_LUT:
            p_lut = lut_ptr + i_b * l_b
            v0 = tl.load(p_lut + v0.to(tl.int32), mask=m_p, other=0)
            v1 = tl.load(p_lut + l_c + v1.to(tl.int32), mask=m_p, other=0)
            v2 = tl.load(p_lut + 2 * l_c + v2.to(tl.int32), mask=m_p, other=0)
        g = _luma(v0, v1, v2, IS_U8)
    else:
        if HAS_LUT:
            v0 = tl.load(lut_ptr + i_b * l_b + v0.to(tl.int32), mask=m_p, other=0)
        g = v0.to(tl.float32)
    if MODE == 0:
        tl.store(dst_ptr + i_b * d_b + o_dst, g.to(dst_ptr.dtype.element_ty), mask=m_p)
    elif MODE == 1:
        if IS_U8:
            s = tl.sum(tl.where(m_p, g.to(tl.int32), 0), axis=0)  # <= BLOCK * 255: fits int32
        else:
            s = tl.sum(tl.where(m_p, g, 0.0), axis=0)
        tl.store(part_ptr + i_b * part_b + i_p, s)
    else:
        f = tl.load(factor_ptr + i_b) + tl.zeros([BLOCK], tl.float32)
        p_dst = dst_ptr + i_b * d_b + o_dst
        _blend_store(p_dst, g, v0.to(tl.float32), f, m_p, IS_U8, EXACT)
        _blend_store(p_dst + d_c, g, v1.to(tl.float32), f, m_p, IS_U8, EXACT)
        _blend_store(p_dst + 2 * d_c, g, v2.to(tl.float32), f, m_p, IS_U8, EXACT)


@triton.jit(do_not_specialize=["H", "W"])
def _sharpness_kernel(
    src_ptr, dst_ptr, factor_ptr,
    H, W, HW,
    s_b, s_c, s_h, s_w,
    d_b, d_c, d_h, d_w,
    C: tl.constexpr, IS_U8: tl.constexpr, EXACT: tl.constexpr, DST_FLAT: tl.constexpr,
    INT64: tl.constexpr, BLOCK: tl.constexpr,
):
    _, i_b, o_p, m_p, y, x = pixel_tile(HW, W, INT64, BLOCK)
    inner = m_p & (y >= 1) & (y < H - 1) & (x >= 1) & (x < W - 1)  # H or W < 3: no inner pixel
    o_src = y * s_h + x * s_w  # the 3x3 taps step from here by s_h, s_w: no flat variant
    o_dst = hw_offset(o_p, y, x, d_h, d_w, DST_FLAT)
    f = tl.load(factor_ptr + i_b) + tl.zeros([BLOCK], tl.float32)
    for c in tl.static_range(C):
        p = src_ptr + i_b * s_b + c * s_c + o_src
        v = tl.load(p, mask=m_p, other=0)
        if IS_U8:
            acc = v.to(tl.int32) * 4  # centre weight 5 = 4 + the centre tap in the 3x3 sum below
        else:
            acc = v.to(tl.float32) * 4.0
        for dy in tl.static_range(3):
            for dx in tl.static_range(3):
                t = tl.load(p + (dy - 1) * s_h + (dx - 1) * s_w, mask=inner, other=0)
                if IS_U8:
                    acc += t.to(tl.int32)
                else:
                    acc += t.to(tl.float32)
        if IS_U8:
            smooth = ((2 * acc + 13) // 26).to(tl.float32)  # PIL's rounding of acc / 13, exact
        else:
            smooth = acc / 13.0
        vf = v.to(tl.float32)
        deg = tl.where(inner, smooth, vf)
        _blend_store(dst_ptr + i_b * d_b + c * d_c + o_dst, deg, vf, f, m_p, IS_U8, EXACT)


@triton.jit
def _hue_store(p, mx, d, h6, shift, m_p, IS_U8: tl.constexpr):
    k = (h6 + shift) % 6.0  # float % is C fmod; h6 + shift > 0 (see _hue_kernel)
    m = tl.minimum(tl.maximum(tl.minimum(k, 4.0 - k), 0.0), 1.0)
    y = mx - d * m
    if IS_U8:
        y = tl.minimum(tl.maximum(round_half_even(y), 0.0), 255.0)
    else:
        y = tl.minimum(tl.maximum(y, 0.0), 1.0)
    tl.store(p, y.to(p.dtype.element_ty), mask=m_p)


@triton.jit(do_not_specialize=["W"])
def _hue_kernel(
    src_ptr, dst_ptr, delta_ptr,
    W, HW,
    s_b, s_c, s_h, s_w,
    d_b, d_c, d_h, d_w,
    IS_U8: tl.constexpr, SRC_FLAT: tl.constexpr, DST_FLAT: tl.constexpr, INT64: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """colorsys's RGB -> HSV -> RGB with the hue turned by delta, reduced as the torch path does it, on the
    image's own scale: h6 = (g - b) / d (r max), 2 + (b - r) / d (g max), 4 + (r - g) / d (b max);
    channel n in (5, 3, 1): k = (n + h6 + 6 delta) mod 6, value = max - d * clamp(min(k, 4 - k), 0, 1).
    h6 >= -1 and 6 delta >= -3, so n + 12 keeps the fmod argument positive."""
    _, i_b, o_p, m_p, y, x = pixel_tile(HW, W, INT64, BLOCK)
    o_src = hw_offset(o_p, y, x, s_h, s_w, SRC_FLAT)
    o_dst = hw_offset(o_p, y, x, d_h, d_w, DST_FLAT)
    p_src = src_ptr + i_b * s_b + o_src
    r = tl.load(p_src, mask=m_p, other=0).to(tl.float32)
    g = tl.load(p_src + s_c, mask=m_p, other=0).to(tl.float32)
    b = tl.load(p_src + 2 * s_c, mask=m_p, other=0).to(tl.float32)
    mx = tl.maximum(tl.maximum(r, g), b)
    d = mx - tl.minimum(tl.minimum(r, g), b)
    safe = tl.where(d > 0, d, 1.0)
    h6 = tl.where(g == mx, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe)
    h6 = tl.where(r == mx, (g - b) / safe, h6)
    turn = 6.0 * tl.load(delta_ptr + i_b)
    p_dst = dst_ptr + i_b * d_b + o_dst
    _hue_store(p_dst, mx, d, h6, 17.0 + turn, m_p, IS_U8)
    _hue_store(p_dst + d_c, mx, d, h6, 15.0 + turn, m_p, IS_U8)
    _hue_store(p_dst + 2 * d_c, mx, d, h6, 13.0 + turn, m_p, IS_U8)


def _check_rgb(img: torch.Tensor, op: str) -> None:
    if img.shape[1] != 3:
        raise ValueError(f"{op} needs an RGB image (C = 3), got C = {img.shape[1]}")


def _launch_gray(img, mode, lut=None, factor=None, out=None, partial=None, block=None):
    b, c, h, w = img.shape
    dummy = img  # placeholder pointer for unused arguments (never dereferenced)
    lut_t = lut if lut is not None else dummy
    l_b = lut.stride(0) if lut is not None else 0
    l_c = lut.stride(1) if lut is not None and lut.shape[1] == c and c > 1 else 0
    dst = out if out is not None else dummy
    part = partial if partial is not None else dummy
    fac = factor if factor is not None else dummy
    launch(_gray_kernel, "lut", h * w, b, lambda lo, hi: (
        *rows(lo, hi, img, dst, lut_t, part, fac), w, h * w, *img.stride(), *dst.stride(),
        l_b, l_c, part.stride(0),
    ), block=block, C=c, MODE=mode, HAS_LUT=lut is not None, IS_U8=img.dtype == torch.uint8,
        EXACT=not INTERPRET, **layout(img, dst))


@register("grayscale")
def grayscale(img: torch.Tensor) -> torch.Tensor:
    """ITU-R 601-2 luma of an RGB batch (B, 3, H, W) -> (B, 1, H, W), same dtype and memory format."""
    b, c, h, w = img.shape
    _check_rgb(img, "grayscale")
    out = torch.empty((b, 1, h, w), dtype=img.dtype, device=img.device, memory_format=memory_format_of(img))
    if out.numel() == 0 or skip_launch(out):
        return out
    _launch_gray(img, 0, out=out)
    return out


@register("gray_mean")
def gray_mean(img: torch.Tensor, lut: torch.Tensor | None = None) -> torch.Tensor:
    """float32 (B,) mean of the grayscale image (of ``lut(img)`` if given); uint8: PIL's rounded integer."""
    b, c, h, w = img.shape
    n = h * w
    block, _ = block_for("lut", n)
    tiles = triton.cdiv(n, block) if n else 0
    u8 = img.dtype == torch.uint8
    partial = torch.empty((b, tiles), dtype=torch.int32 if u8 else torch.float32, device=img.device)
    if b == 0 or n == 0 or skip_launch(partial):
        return torch.zeros((b,), dtype=torch.float32, device=img.device)
    if lut is not None:
        lut = lut.to(img.device, non_blocking=True)
        if lut.stride(2) != 1:
            lut = lut.contiguous()
    _launch_gray(img, 1, lut=lut, partial=partial, block=block)
    if u8:
        s = partial.sum(1, dtype=torch.int64)
        return ((2 * s + n) // (2 * n)).to(torch.float32)
    return partial.sum(1) / n


@register("adjust_saturation")
def adjust_saturation(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend an RGB batch with its grayscale: ``gray + f * (x - gray)``; factor float32 (B,)."""
    b, c, h, w = img.shape
    _check_rgb(img, "adjust_saturation")
    out = empty_output(img)
    if out.numel() == 0 or skip_launch(out):
        return out
    _launch_gray(img, 2, out=out, factor=per_sample_vector(factor, b, img.device))
    return out


@register("adjust_sharpness")
def adjust_sharpness(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend with the 3x3 SMOOTH-filtered image (border pixels kept); factor float32 (B,)."""
    b, c, h, w = img.shape
    out = empty_output(img)
    if out.numel() == 0 or skip_launch(out):
        return out
    factor = per_sample_vector(factor, b, img.device)
    launch(_sharpness_kernel, "warp", h * w, b, lambda lo, hi: (
        *rows(lo, hi, img, out, factor), h, w, h * w, *img.stride(), *out.stride(),
    ), C=c, IS_U8=img.dtype == torch.uint8, EXACT=not INTERPRET, **layout(img, out, gather=True))
    return out


@register("adjust_hue")
def adjust_hue(img: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Rotate the hue of an RGB batch by ``delta`` turns (float32 (B,)) through HSV; uint8 rounds."""
    b, c, h, w = img.shape
    _check_rgb(img, "adjust_hue")
    out = empty_output(img)
    if out.numel() == 0 or skip_launch(out):
        return out
    delta = per_sample_vector(delta, b, img.device)
    launch(_hue_kernel, "lut", h * w, b, lambda lo, hi: (
        *rows(lo, hi, img, out, delta), w, h * w, *img.stride(), *out.stride(),
    ), IS_U8=img.dtype == torch.uint8, **layout(img, out))
    return out
