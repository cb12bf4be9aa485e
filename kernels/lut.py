"""Triton table lookup (the fused uint8 pointwise chain, one pass): drop-in for ``_torch.lut``.

``apply_lut(img, lut) -> uint8 (B, C, H, W)``
  img  uint8 (B, C, H, W), any strides; lut uint8 (B, C, 256) or (B, 1, 256) (one table for all channels),
  any strides. ``out[b, c, y, x] = lut[b, c, img[b, c, y, x]]``; the output keeps img's memory format.
Posterize, solarize, invert, brightness, contrast, equalize, autocontrast ... compose into one 256-entry
table per sample and channel on the host path's side, so a whole chain costs this one pass.

Bytes moved (the floor): read B*C*H*W + write B*C*H*W bytes (the tables, 256 B per sample and channel,
stay in L1/L2).

Launch: grid (ceil(H*W / BLOCK), B); one program loads BLOCK pixels of each channel and gathers from the
sample's table. Rows that follow each other in memory (contiguous, channels_last) are indexed as one run.

``equalize_lut(hist) -> uint8 (B, C, 256)``: PIL's equalize tables from the counts in one launch (one
program per sample and channel), for an equalize of histogram + table + apply_lut = three launches.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from gpuaug._checks import empty_output

from ._common import hw_offset, launch, layout, pixel_tile, register, rows, skip_launch, wrap


@triton.jit(do_not_specialize=["W"])
def _lut_kernel(
    src_ptr, dst_ptr, lut_ptr,
    W, HW,
    s_b, s_c, s_h, s_w,
    d_b, d_c, d_h, d_w,
    l_b, l_c,
    C: tl.constexpr, SRC_FLAT: tl.constexpr, DST_FLAT: tl.constexpr, INT64: tl.constexpr,
    BLOCK: tl.constexpr,
):
    _, i_b, o_p, m_p, y, x = pixel_tile(HW, W, INT64, BLOCK)
    o_src = hw_offset(o_p, y, x, s_h, s_w, SRC_FLAT)
    o_dst = hw_offset(o_p, y, x, d_h, d_w, DST_FLAT)
    p_src = src_ptr + i_b * s_b
    p_dst = dst_ptr + i_b * d_b
    p_lut = lut_ptr + i_b * l_b
    for c in tl.static_range(C):
        v = tl.load(p_src + c * s_c + o_src, mask=m_p, other=0)
        r = tl.load(p_lut + c * l_c + v.to(tl.int32), mask=m_p, other=0)
        tl.store(p_dst + c * d_c + o_dst, r, mask=m_p)


@register("apply_lut")
def apply_lut(img: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """``lut[b, c, img[b, c, y, x]]`` for uint8 ``img`` (B, C, H, W) and ``lut`` (B, C|1, 256) uint8."""
    if img.dtype != torch.uint8 or lut.dtype != torch.uint8:
        raise TypeError(f"img and lut must be uint8, got {img.dtype} and {lut.dtype}")
    b, c, h, w = img.shape
    if lut.dim() != 3 or lut.shape[0] != b or lut.shape[1] not in (1, c) or lut.shape[2] != 256:
        raise ValueError(f"lut must be (B, C or 1, 256) = ({b}, {c} or 1, 256), got {tuple(lut.shape)}")
    out = empty_output(img)
    if out.numel() == 0 or skip_launch(out):
        return out
    lut = lut.to(img.device, non_blocking=True)
    if lut.stride(2) != 1:
        lut = lut.contiguous()
    l_c = lut.stride(1) if lut.shape[1] == c and c > 1 else 0
    launch(_lut_kernel, "lut", h * w, b, lambda lo, hi: (
        *rows(lo, hi, img, out, lut), w, h * w, *img.stride(), *out.stride(), lut.stride(0), l_c,
    ), C=c, **layout(img, out))
    return out


@triton.jit
def _equalize_lut_kernel(hist_ptr, lut_ptr, h_bc, l_bc):
    """One program per (sample, channel): PIL's ImageOps.equalize table from the 256 counts."""
    i_bc = tl.program_id(0).to(tl.int64)
    idx = tl.arange(0, 256)
    h = tl.load(hist_ptr + i_bc * h_bc + idx)
    total = tl.sum(h, axis=0)
    last = tl.max(tl.where(h > 0, idx, -1), axis=0)
    h_last = tl.sum(tl.where(idx == last, h, 0), axis=0)
    step = (total - h_last) // 255
    before = tl.cumsum(h, axis=0) - h
    lut = (step // 2 + before) // tl.maximum(step, 1)
    lut = tl.where(step > 0, tl.minimum(lut, 255), idx)
    tl.store(lut_ptr + i_bc * l_bc + idx, lut.to(tl.uint8))


@register("equalize_lut")
def equalize_lut(hist: torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, 256) equalize tables from int32 (B, C, 256) counts, in one launch (the torch version,
    ``gpuaug._torch.lut.equalize_lut``, is about a dozen tiny kernels): ``step = (total - count of the
    last non-empty bin) // 255``, ``lut[i] = (step // 2 + sum(h[:i])) // step`` clipped to 255, identity
    where step is 0. Counts per image must stay below 2**31 (int32)."""
    if hist.dim() != 3 or hist.shape[-1] != 256:
        raise ValueError(f"hist must be (B, C, 256), got shape {tuple(hist.shape)}")
    b, c, _ = hist.shape
    out = torch.empty((b, c, 256), dtype=torch.uint8, device=hist.device)
    if out.numel() == 0 or skip_launch(out):
        return out
    h = hist.reshape(b * c, 256).to(torch.int32)
    if h.stride(1) != 1:
        h = h.contiguous()
    wrap(_equalize_lut_kernel)[(b * c,)](h, out, h.stride(0), 256, num_warps=1)
    return out
