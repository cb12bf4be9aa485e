"""Triton erase / paste (random erasing, cutout, CutMix): drop-ins for ``gpuaug._torch.erase``.

``erase(img, boxes, value) -> img'``
  img (B, C, H, W) uint8 / float32 / float16 / bfloat16, any strides; boxes (B, K, 4) float or int
  ``x0, y0, x1, y1`` (x1, y1 exclusive): pixel (x, y) is erased when x0 <= x < x1 and y0 <= y < y1, which
  clips every box to the image and makes empty boxes do nothing; value float32 (B, C) in the image's range
  (uint8: rounded to nearest, clamped).
``erase_noise(img, boxes, seed) -> img'``: the same boxes filled with uniform noise over the image's range
  (``tl.rand``: nothing stored, regenerated from ``seed`` int (B,) per sample, on the device: no sync).
``paste(img, partner, box) -> img'``
  partner int64 (B,), box (B, 4): ``out[b] = img[b]`` with the box region taken from ``img[partner[b]]``.
All outputs keep img's dtype and memory format; the input is not modified.

Bytes moved (the floor): read and write B*C*H*W elements once each (erase skips reading erased pixels; paste
reads each pixel from one of the two samples).

Launch: grid (ceil(H*W / BLOCK), B); one program tests BLOCK pixels against the sample's boxes once and
loops over the channels.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from gpuaug._checks import empty_output

from ._common import (
    hw_offset,
    launch,
    layout,
    per_channel,
    per_sample_vector,
    pixel_tile,
    register,
    round_half_even,
    rows,
    skip_launch,
)


@triton.jit(do_not_specialize=["W", "K"])
def _erase_kernel(
    src_ptr, dst_ptr, box_ptr, value_ptr, seed_ptr,
    W, HW, K,
    s_b, s_c, s_h, s_w,
    d_b, d_c, d_h, d_w,
    box_b, value_b, value_c,
    C: tl.constexpr, NOISE: tl.constexpr, IS_U8: tl.constexpr,
    SRC_FLAT: tl.constexpr, DST_FLAT: tl.constexpr, INT64: tl.constexpr, BLOCK: tl.constexpr,
):
    _, i_b, o_p, m_p, y, x = pixel_tile(HW, W, INT64, BLOCK)
    xf = x.to(tl.float32)
    yf = y.to(tl.float32)
    inside = m_p & (xf != xf)  # all False
    p_box = box_ptr + i_b * box_b
    for k in range(K):
        x0 = tl.load(p_box + 4 * k + 0)
        y0 = tl.load(p_box + 4 * k + 1)
        x1 = tl.load(p_box + 4 * k + 2)
        y1 = tl.load(p_box + 4 * k + 3)
        inside = inside | ((xf >= x0) & (xf < x1) & (yf >= y0) & (yf < y1))
    o_src = hw_offset(o_p, y, x, s_h, s_w, SRC_FLAT)
    o_dst = hw_offset(o_p, y, x, d_h, d_w, DST_FLAT)
    p_src = src_ptr + i_b * s_b
    p_dst = dst_ptr + i_b * d_b
    if NOISE:
        seed = tl.load(seed_ptr + i_b)
    for c in tl.static_range(C):
        # Erased pixels are never read: saves the bytes under the boxes.
        v = tl.load(p_src + c * s_c + o_src, mask=m_p & ~inside, other=0)
        if NOISE:
            r = tl.rand(seed, (c * HW + o_p).to(tl.int32))
            if IS_U8:
                fv = tl.minimum(tl.floor(r * 256.0), 255.0)
            else:
                fv = r
        else:
            fv = tl.load(value_ptr + i_b * value_b + c * value_c)
            if IS_U8:
                fv = tl.minimum(tl.maximum(round_half_even(fv.to(tl.float32)), 0.0), 255.0)
        v = tl.where(inside, fv.to(dst_ptr.dtype.element_ty), v)
        tl.store(p_dst + c * d_c + o_dst, v, mask=m_p)


@triton.jit(do_not_specialize=["W", "b_first"])
def _paste_kernel(
    src_ptr, dst_ptr, partner_ptr, box_ptr,
    W, HW, b_first,
    s_b, s_c, s_h, s_w,
    d_b, d_c, d_h, d_w,
    box_b,
    C: tl.constexpr, SRC_FLAT: tl.constexpr, DST_FLAT: tl.constexpr, INT64: tl.constexpr,
    BLOCK: tl.constexpr,
):
    _, i_b, o_p, m_p, y, x = pixel_tile(HW, W, INT64, BLOCK)
    xf = x.to(tl.float32)
    yf = y.to(tl.float32)
    p_box = box_ptr + i_b * box_b
    x0 = tl.load(p_box + 0)
    y0 = tl.load(p_box + 1)
    x1 = tl.load(p_box + 2)
    y1 = tl.load(p_box + 3)
    inside = (xf >= x0) & (xf < x1) & (yf >= y0) & (yf < y1)
    partner = tl.load(partner_ptr + i_b).to(tl.int64)
    # Per pixel: which sample to read from (int64: sample bases may pass 2**31).
    sample = tl.where(inside, partner, i_b + b_first)
    o_src = sample * s_b + hw_offset(o_p, y, x, s_h, s_w, SRC_FLAT)
    o_dst = hw_offset(o_p, y, x, d_h, d_w, DST_FLAT)
    p_dst = dst_ptr + i_b * d_b
    for c in tl.static_range(C):
        v = tl.load(src_ptr + c * s_c + o_src, mask=m_p, other=0)
        tl.store(p_dst + c * d_c + o_dst, v, mask=m_p)


def _launch_erase(img, boxes, value, seed):
    b, c, h, w = img.shape
    if boxes.dim() != 3 or boxes.shape[0] != b or boxes.shape[2] != 4:
        raise ValueError(f"boxes must be (B, K, 4) = ({b}, K, 4), got shape {tuple(boxes.shape)}")
    noise = seed is not None
    out = empty_output(img)
    if out.numel() == 0 or skip_launch(out):
        return out
    boxes = boxes.to(device=img.device, dtype=torch.float32, non_blocking=True).contiguous()
    # Float images: the value cast to the image dtype here (round-to-nearest-even; Triton's interpreter
    # truncates float32 -> bfloat16 casts). uint8: float32, rounded half-to-even in the kernel (as torch).
    vdtype = torch.float32 if img.dtype == torch.uint8 else img.dtype
    value = per_channel(value, b, c, img.device, dtype=vdtype)
    if seed is None:
        seed = torch.zeros((), dtype=torch.int32, device=img.device)
    seed = per_sample_vector(seed, b, img.device, torch.int32)
    launch(_erase_kernel, "erase", h * w, b, lambda lo, hi: (
        *rows(lo, hi, img, out, boxes, value, seed), w, h * w, boxes.shape[1], *img.stride(), *out.stride(),
        boxes.stride(0), *value.stride(),
    ), C=c, NOISE=noise, IS_U8=img.dtype == torch.uint8, **layout(img, out))
    return out


@register("erase")
def erase(img: torch.Tensor, boxes: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``img`` with every pixel inside one of the (B, K, 4) ``boxes`` set to ``value`` (B, C)."""
    return _launch_erase(img, boxes, value, None)


@register("erase_noise")
def erase_noise(img: torch.Tensor, boxes: torch.Tensor, seed: torch.Tensor) -> torch.Tensor:
    """``img`` with the (B, K, 4) ``boxes`` filled with uniform noise from ``seed`` (int, (B,) or ())."""
    return _launch_erase(img, boxes, None, seed)


@register("paste")
def paste(img: torch.Tensor, partner: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """``img`` with ``box[b]`` (x0, y0, x1, y1) of sample b replaced by that region of ``img[partner[b]]``."""
    b, c, h, w = img.shape
    if partner.shape != (b,):
        raise ValueError(f"partner must be (B,) = ({b},), got shape {tuple(partner.shape)}")
    if box.shape != (b, 4):
        raise ValueError(f"box must be (B, 4) = ({b}, 4), got shape {tuple(box.shape)}")
    out = empty_output(img)
    if out.numel() == 0 or skip_launch(out):
        return out
    partner = partner.to(device=img.device, dtype=torch.int64, non_blocking=True).contiguous()
    box = box.to(device=img.device, dtype=torch.float32, non_blocking=True).contiguous()
    # Partners index the whole batch, so chunks (B > 65535) keep the full source and offset the sample.
    launch(_paste_kernel, "paste", h * w, b, lambda lo, hi: (
        img, *rows(lo, hi, out, partner, box), w, h * w, lo, *img.stride(), *out.stride(), box.stride(0),
    ), C=c, **layout(img, out))
    return out
