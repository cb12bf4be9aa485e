"""Triton normalize: drop-in for ``gpuaug._torch.normalize.normalize``.

``normalize(img, scale, shift, dtype) -> (B, C, H, W) dtype``: ``img * scale + shift`` per sample and
channel, computed in float32 and written as ``dtype`` (float32/float16/bfloat16); scale, shift float32 (B, C)
(the caller folds ``x / max`` and ``(x - mean) / std`` into them). img uint8 or floating, any strides; the
output is in ``memory_format`` (default img's). Within an ulp or two of the torch path (FMA or not).

Bytes moved (the floor): read B*C*H*W input elements, write as many output elements: uint8 -> float32 is 5
bytes per element (193 MB for 256x3x224x224).

Launch: grid (ceil(H*W / BLOCK), B), channels looped inside the program.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from gpuaug._checks import memory_format_of

from ._common import hw_offset, launch, layout, per_channel, pixel_tile, register, rows, skip_launch


@triton.jit(do_not_specialize=["W"])
def _normalize_kernel(
    src_ptr, dst_ptr, scale_ptr, shift_ptr,
    W, HW,
    s_b, s_c, s_h, s_w,
    d_b, d_c, d_h, d_w,
    scale_b, scale_c, shift_b, shift_c,
    C: tl.constexpr, SRC_FLAT: tl.constexpr, DST_FLAT: tl.constexpr,
    INT64: tl.constexpr, BLOCK: tl.constexpr,
):
    _, i_b, o_p, m_p, y, x = pixel_tile(HW, W, INT64, BLOCK)
    o_src = hw_offset(o_p, y, x, s_h, s_w, SRC_FLAT)
    o_dst = hw_offset(o_p, y, x, d_h, d_w, DST_FLAT)
    for c in tl.static_range(C):
        v = tl.load(src_ptr + i_b * s_b + c * s_c + o_src, mask=m_p, other=0).to(tl.float32)
        scale = tl.load(scale_ptr + i_b * scale_b + c * scale_c)
        shift = tl.load(shift_ptr + i_b * shift_b + c * shift_c)
        r = v * scale + shift  # one FMA on a GPU; the torch path's addcmul may round the product or not
        tl.store(dst_ptr + i_b * d_b + c * d_c + o_dst, r.to(dst_ptr.dtype.element_ty), mask=m_p)


@register("normalize")
def _normalize_op(
    img: torch.Tensor,
    scale: torch.Tensor,
    shift: torch.Tensor,
    dtype: torch.dtype,
    channels_last: bool | None,
) -> torch.Tensor:
    """The registered op (torch.library schemas have no memory_format type: a bool stands in for it)."""
    if dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise TypeError(f"dtype must be float32, float16 or bfloat16, got {dtype}")
    b, c, h, w = img.shape
    if channels_last is None:
        fmt = memory_format_of(img)
    else:
        fmt = torch.channels_last if channels_last else torch.contiguous_format
    out = torch.empty((b, c, h, w), dtype=dtype, device=img.device, memory_format=fmt)
    if out.numel() == 0 or skip_launch(out):
        return out
    scale = per_channel(scale, b, c, img.device)
    shift = per_channel(shift, b, c, img.device)
    launch(_normalize_kernel, "lut", h * w, b, lambda lo, hi: (
        *rows(lo, hi, img, out, scale, shift), w, h * w, *img.stride(), *out.stride(),
        *scale.stride(), *shift.stride(),  # (B, C) each
    ), C=c, **layout(img, out))
    return out


def normalize(
    img: torch.Tensor,
    scale: torch.Tensor,
    shift: torch.Tensor,
    dtype: torch.dtype,
    memory_format: torch.memory_format | None = None,
) -> torch.Tensor:
    """``img * scale + shift`` per sample and channel (float32 (B, C) each), written as ``dtype`` in
    ``memory_format`` (default: img's; the loader asks for channels_last and gets the layout change free)."""
    cl = None if memory_format is None else memory_format == torch.channels_last
    return _normalize_op(img, scale, shift, dtype, cl)


normalize.launch = lambda img, scale, shift, dtype, memory_format=None: _normalize_op.launch(
    img, scale, shift, dtype, None if memory_format is None else memory_format == torch.channels_last)
