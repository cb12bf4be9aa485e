"""Additive pixel ops on the torch path (mirror of ``kernels/add.py``): the host path and the reference.

``channel_shift(img, shift, low, high)``: ``clamp(x + shift, low, high)`` per sample and channel (float32
(B, C) each, in the image's units); uint8 rounds to nearest (ties to even).
``gaussian_noise(img, mean, sigma, seed, clip)``: ``x + max * (mean + sigma * z)`` with ``z`` standard normal
(max = 255 for uint8, 1 for floating images; mean, sigma float32 (B,)), clamped to [0, max] when ``clip``
(always for uint8, which rounds to nearest).

``z`` is a pure function of the per-sample int ``seed`` (B,) and the element's index ``i = c H W + y W + x``
in its sample, so the noise replays without generator state and needs no host sync or noise tensor in
memory: two counter-based uniforms ``u = murmur3_fmix32((seed * 0x9E3779B1 + 2 i + k) mod 2^32) >> 8``
(k = 0, 1; 24 bits), then Box-Muller ``z = sqrt(-2 ln((u0 + 1) / 2^24)) cos(2 pi u1 / 2^24)``. The Triton
kernel computes the same integers (uint32 arithmetic), so both backends draw the same noise up to the float
rounding of log / cos.
"""

from __future__ import annotations

import math

import torch

from gpuaug._torch import _common as K
from gpuaug._torch.erase import _M32, _hash_

_GOLDEN = 0x9E3779B1


def _finish(y: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    if dtype == torch.uint8:
        y = y.round_().clamp_(0, 255)
    return y.to(dtype)


def channel_shift(img: torch.Tensor, shift: torch.Tensor, low: torch.Tensor,
                  high: torch.Tensor) -> torch.Tensor:
    """``clamp(x + shift, low, high)`` per sample and channel; see the module docstring."""
    b, c = img.shape[:2]
    compute = torch.float64 if img.dtype == torch.float64 else torch.float32
    params = [t.to(device=img.device, dtype=compute).expand(b, c)[:, :, None, None]
              for t in (shift, low, high)]

    def run(x, s, lo, hi):
        return _finish(torch.minimum(torch.maximum(x.to(compute) + s, lo), hi), x.dtype)

    return K.by_chunks(run, img, *params)


def normal_noise(seed: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """float32 (B, C, H, W) standard normal noise of the (B,) int ``seed`` (see the module docstring)."""
    c, h, w = shape
    idx = torch.arange(c * h * w, dtype=torch.int64, device=seed.device).view(1, c, h, w)
    key = ((seed.to(torch.int64).reshape(-1) * _GOLDEN) & _M32).view(-1, 1, 1, 1)
    base = key + 2 * idx
    u0 = _hash_(base & _M32) >> 8
    u1 = _hash_((base + 1) & _M32) >> 8
    r = torch.sqrt(-2.0 * torch.log((u0.to(torch.float32) + 1.0) * (1.0 / 16777216.0)))
    return r * torch.cos((u1.to(torch.float32) * (1.0 / 16777216.0)) * (2.0 * math.pi))


def gaussian_noise(img: torch.Tensor, mean: torch.Tensor, sigma: torch.Tensor, seed: torch.Tensor,
                   clip: bool) -> torch.Tensor:
    """``x + max * (mean + sigma * z)`` per sample; see the module docstring."""
    b = img.shape[0]
    mx = 255.0 if img.dtype == torch.uint8 else 1.0
    params = [t.to(device=img.device).reshape(-1).expand(b) for t in (mean, sigma, seed)]

    def run(x, m, s, sd):
        z = normal_noise(sd, tuple(x.shape[1:]))
        compute = torch.float64 if x.dtype == torch.float64 else torch.float32
        n = m.float()[:, None, None, None] + s.float()[:, None, None, None] * z
        y = x.to(compute) + (mx * n).to(compute)
        if clip or x.dtype == torch.uint8:
            y = y.clamp_(0.0, mx)
        return _finish(y, x.dtype)

    return K.by_chunks(run, img, *params)
