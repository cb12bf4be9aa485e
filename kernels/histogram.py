"""Triton histogram per sample and channel, drop-in for ``gpuaug._torch.histogram``.

``histogram(img) -> int32 (B, C, 256)``: img uint8 (B, C, H, W), any strides;
``out[b, c, v] = #{(y, x): img[b, c, y, x] == v}``. Feeds equalize, autocontrast (min/max from the counts)
and contrast (the mean from the counts).

Bytes moved (the floor): read B*C*H*W bytes once; write 1 KiB per sample and channel.

Launch: grid (ceil(H*W / BLOCK), B); each program counts BLOCK pixels of each channel in registers/shared
memory (``tl.histogram``) and adds its 256 counts to the output with relaxed atomics, so the atomic traffic
is 256 per BLOCK pixels, not one per pixel. Masked-off lanes are loaded as 0 and taken back out of bin 0
(``tl.histogram``'s own mask argument is not in every Triton version we support). ``tl.histogram`` counts
with warp ballots (about log2(256) + 256/32 * 4 instructions per 32 pixels), which may make it compute-
rather than memory-bound; ``ALGORITHM = "atomics"`` is the alternative to measure against.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._common import hw_offset, launch, layout, pixel_tile, register, rows, skip_launch

#: "block": tl.histogram per BLOCK pixels + 256 atomics (default); "atomics": one global atomic per pixel.
#: Not measured on a GPU yet: benchmarks/bench_kernels.py times both ("histogram_atomics" rows).
ALGORITHM = "block"


@triton.jit(do_not_specialize=["W"])
def _histogram_kernel(
    src_ptr, hist_ptr,
    W, HW,
    s_b, s_c, s_h, s_w,
    C: tl.constexpr, SRC_FLAT: tl.constexpr, INT64: tl.constexpr, PER_PIXEL_ATOMICS: tl.constexpr,
    BLOCK: tl.constexpr,
):
    _, i_b, o_p, m_p, y, x = pixel_tile(HW, W, INT64, BLOCK)
    n_masked = BLOCK - tl.sum(m_p.to(tl.int32), axis=0)
    o_src = hw_offset(o_p, y, x, s_h, s_w, SRC_FLAT)
    p_src = src_ptr + i_b * s_b
    bins = tl.arange(0, 256)
    for c in tl.static_range(C):
        v = tl.load(p_src + c * s_c + o_src, mask=m_p, other=0)
        p_hist = hist_ptr + (i_b * C + c) * 256
        if PER_PIXEL_ATOMICS:
            # one global atomic per pixel: no in-block counting, but hot bins contend in L2
            tl.atomic_add(p_hist + v.to(tl.int32), tl.full([BLOCK], 1, tl.int32), mask=m_p, sem="relaxed")
        else:
            h = tl.histogram(v.to(tl.int32), 256)
            h = tl.where(bins == 0, h - n_masked, h)
            tl.atomic_add(p_hist + bins, h, sem="relaxed")


@register("histogram")
def histogram(img: torch.Tensor) -> torch.Tensor:
    """int32 (B, C, 256) counts of each value, per sample and channel, for uint8 ``img`` (B, C, H, W)."""
    if img.dtype != torch.uint8:
        raise TypeError(f"img must be uint8, got {img.dtype}")
    b, c, h, w = img.shape
    out = torch.zeros((b, c, 256), dtype=torch.int32, device=img.device)
    if img.numel() == 0 or skip_launch(out):
        return out
    launch(_histogram_kernel, "histogram", h * w, b, lambda lo, hi: (
        *rows(lo, hi, img, out), w, h * w, *img.stride(),
    ), C=c, PER_PIXEL_ATOMICS=ALGORITHM == "atomics", **layout(img))
    return out
