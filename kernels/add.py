"""Triton additive pixel ops: drop-ins for ``gpuaug._torch.add`` (one kernel, two primitives).

``channel_shift(img, shift, low, high) -> img'``: ``clamp(x + shift, low, high)``; shift, low, high float32
  (B, C) in the image's units (or anything that broadcasts to it).
``gaussian_noise(img, mean, sigma, seed, clip) -> img'``: ``x + max * (mean + sigma * z)``, z standard normal
  from the per-sample int ``seed`` (B,) and the element's index in its sample, the SAME integers as the torch
  path (murmur3's finaliser on ``seed * 0x9E3779B1 + 2 i + k``, uint32 arithmetic, then Box-Muller): noise
  is regenerated, never stored, and both backends agree up to the float rounding of log / cos. Clamped to
  [0, max] when ``clip`` (always for uint8).
img (B, C, H, W) uint8 / float32 / float16 / bfloat16, any strides; output in its dtype and memory format;
uint8 rounds to nearest (ties to even).

Bytes moved (the floor): each element read once and written once.

Launch: grid (ceil(H*W / BLOCK), B), channels looped inside the program.
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


@triton.jit
def _fmix32(x):
    """murmur3's 32-bit finaliser on uint32 ``x`` (products wrap mod 2^32)."""
    x = x ^ (x >> 16)
    x = x * 0x85EBCA6B
    x = x ^ (x >> 13)
    x = x * 0xC2B2AE35
    x = x ^ (x >> 16)
    return x


@triton.jit
def normal_noise(key, idx):
    """Standard normal float32 noise of element indices ``idx`` (uint32) under the sample's ``key`` (uint32,
    ``seed * 0x9E3779B1``): two 24-bit uniforms, Box-Muller."""
    base = key + 2 * idx
    u0 = (_fmix32(base) >> 8).to(tl.float32)
    u1 = (_fmix32(base + 1) >> 8).to(tl.float32)
    r = tl.sqrt(-2.0 * tl.log((u0 + 1.0) * (1.0 / 16777216.0)))
    return r * tl.cos((u1 * (1.0 / 16777216.0)) * 6.283185307179586)


@triton.jit(do_not_specialize=["W"])
def _add_kernel(
    src_ptr, dst_ptr, shift_ptr, sigma_ptr, seed_ptr, low_ptr, high_ptr,
    W, HW,
    s_b, s_c, s_h, s_w,
    d_b, d_c, d_h, d_w,
    shift_b, shift_c, low_b, low_c, high_b, high_c,
    C: tl.constexpr, NOISE: tl.constexpr, IS_U8: tl.constexpr,
    SRC_FLAT: tl.constexpr, DST_FLAT: tl.constexpr, INT64: tl.constexpr, BLOCK: tl.constexpr,
):
    _, i_b, o_p, m_p, y, x = pixel_tile(HW, W, INT64, BLOCK)
    o_src = hw_offset(o_p, y, x, s_h, s_w, SRC_FLAT)
    o_dst = hw_offset(o_p, y, x, d_h, d_w, DST_FLAT)
    if NOISE:
        sigma = tl.load(sigma_ptr + i_b)
        key = tl.load(seed_ptr + i_b).to(tl.uint32) * 0x9E3779B1
    for c in tl.static_range(C):
        v = tl.load(src_ptr + i_b * s_b + c * s_c + o_src, mask=m_p, other=0).to(tl.float32)
        shift = tl.load(shift_ptr + i_b * shift_b + c * shift_c)  # noise: the mean
        if NOISE:
            z = normal_noise(key, (c * HW + o_p).to(tl.uint32))
            n = shift + sigma * z
            if IS_U8:
                v = v + 255.0 * n
            else:
                v = v + n
        else:
            v = v + shift
        lo = tl.load(low_ptr + i_b * low_b + c * low_c)
        hi = tl.load(high_ptr + i_b * high_b + c * high_c)
        v = tl.minimum(tl.maximum(v, lo), hi)
        if IS_U8:
            v = tl.minimum(tl.maximum(round_half_even(v), 0.0), 255.0)
        tl.store(dst_ptr + i_b * d_b + c * d_c + o_dst, v.to(dst_ptr.dtype.element_ty), mask=m_p)


def _launch(img, shift, sigma, seed, low, high, noise: bool) -> torch.Tensor:
    if img.dim() != 4:
        raise ValueError(f"img must be (B, C, H, W), got shape {tuple(img.shape)}")
    b, c, h, w = img.shape
    out = empty_output(img)
    if out.numel() == 0 or skip_launch(out):
        return out
    dev = img.device
    shift, low, high = (per_channel(t, b, c, dev) for t in (shift, low, high))
    sigma = per_sample_vector(sigma, b, dev) if noise else shift
    seed = per_sample_vector(seed, b, dev, torch.int64) if noise else shift
    launch(_add_kernel, "add", h * w, b, lambda lo, hi: (
        *rows(lo, hi, img, out, shift, sigma, seed, low, high), w, h * w, *img.stride(), *out.stride(),
        *shift.stride(), *low.stride(), *high.stride(),
    ), C=c, NOISE=noise, IS_U8=img.dtype == torch.uint8, **layout(img, out))
    return out


@register("channel_shift")
def channel_shift(img: torch.Tensor, shift: torch.Tensor, low: torch.Tensor,
                  high: torch.Tensor) -> torch.Tensor:
    """``clamp(x + shift, low, high)`` per sample and channel; see the module docstring."""
    return _launch(img, shift, None, None, low, high, False)


@register("gaussian_noise")
def gaussian_noise(img: torch.Tensor, mean: torch.Tensor, sigma: torch.Tensor, seed: torch.Tensor,
                   clip: bool) -> torch.Tensor:
    """``x + max * (mean + sigma * z)`` per sample, z from ``seed``; see the module docstring."""
    mx = 255.0 if img.dtype == torch.uint8 else 1.0
    bounded = clip or img.dtype == torch.uint8
    low = torch.full((), 0.0 if bounded else -float("inf"), device=img.device)
    high = torch.full((), mx if bounded else float("inf"), device=img.device)
    mean = mean.to(device=img.device, dtype=torch.float32, non_blocking=True).reshape(-1, 1)
    return _launch(img, mean, sigma, seed, low, high, True)

