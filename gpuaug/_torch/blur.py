"""Gaussian blur on the torch path (mirror of ``kernels/blur.py``): the host path and the kernel's reference.

``gaussian_blur(img, sigma, kernel_size) -> img'``: img (B, C, H, W) uint8 or floating; sigma float32
(B, 2) = (sigma_x, sigma_y) per sample (0: the identity on that axis); kernel_size ``[kx, ky]`` odd.
torchvision's kernel: taps ``d = -(k-1)/2 .. (k-1)/2``, weights ``exp(-d^2 / (2 sigma^2))`` normalised to
sum 1; separable (rows, then columns); the border is whole-sample symmetric (``mirror``: ``dcb|abcd|cba``,
torch's ``reflect`` padding, scipy's ``mirror``), folded again for kernels wider than the image. Computed in
float32 (float64 for float64); uint8 rounds to nearest (ties to even). Output in the input's dtype and
memory format.

CPU: each pass is a depthwise ``conv2d`` (one filter per sample and channel) on a mirror-padded copy, in
groups of samples (``_common.by_chunks``) so the float32 temporaries stay in cache.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gpuaug._checks import empty_output
from gpuaug._torch import _common as K


def gaussian_kernel1d(sigma: torch.Tensor, k: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(B, k) normalised Gaussian taps for per-sample ``sigma`` (B,), torchvision's; sigma 0: the identity."""
    d = torch.arange(k, dtype=dtype, device=sigma.device) - (k - 1) / 2
    s = sigma.to(dtype)[:, None]
    pdf = torch.exp(-0.5 * (d / torch.where(s > 0, s, 1.0)) ** 2)
    pdf = torch.where(s > 0, pdf, (d == 0).to(dtype))
    return pdf / pdf.sum(1, keepdim=True)


def mirror_index(n: int, r: int, device) -> torch.Tensor:
    """Source indices of positions ``-r .. n - 1 + r`` folded whole-sample symmetric (period 2n - 2)."""
    i = torch.arange(-r, n + r, device=device)
    p = max(2 * n - 2, 1)
    i = torch.remainder(i, p)
    return torch.minimum(i, p - i)


def _blur(x: torch.Tensor, sigma: torch.Tensor, kx: int, ky: int) -> torch.Tensor:
    b, c, h, w = x.shape
    compute = torch.float64 if x.dtype == torch.float64 else torch.float32
    y = x.to(compute).reshape(1, b * c, h, w)
    for axis, k, s in ((3, kx, sigma[:, 0]), (2, ky, sigma[:, 1])):
        r = k // 2
        if r == 0:
            continue
        wts = gaussian_kernel1d(s, k, compute).repeat_interleave(c, 0)  # (B * C, k)
        n = y.shape[axis]
        y = y.index_select(axis, mirror_index(n, r, y.device))
        shape = (b * c, 1, 1, k) if axis == 3 else (b * c, 1, k, 1)
        y = F.conv2d(y, wts.view(shape), groups=b * c)
    y = y.view(b, c, h, w)
    if x.dtype == torch.uint8:
        y = y.round_().clamp_(0, 255)
    return y.to(x.dtype)


def gaussian_blur(img: torch.Tensor, sigma: torch.Tensor, kernel_size: list[int]) -> torch.Tensor:
    """Separable Gaussian blur with per-sample ``sigma`` (B, 2); see the module docstring."""
    kx, ky = int(kernel_size[0]), int(kernel_size[1])
    if img.numel() == 0:
        return empty_output(img)
    sigma = sigma.to(device=img.device, dtype=torch.float32).expand(img.shape[0], 2)
    return K.by_chunks(lambda x, s: _blur(x, s, kx, ky), img, sigma)
