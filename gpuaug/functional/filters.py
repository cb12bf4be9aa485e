"""Blur, noise and channel shift (docs/contract.md "More ops"): validate, then dispatch through
``gpuaug.backend`` to the ``gaussian_blur`` (``blur`` family), ``gaussian_noise`` and ``channel_shift``
(``add`` family) primitives.

Per-sample parameters are numbers or tensors broadcasting to ``(B,)`` (``(B, 2)`` for a blur's
(sigma_x, sigma_y), ``(B, C)`` for a channel shift); tensors on another device are moved without a sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import torch

from gpuaug import backend
from gpuaug._checks import as_batch, check_range, max_value, per_sample

__all__ = ["channel_shift", "gaussian_blur", "gaussian_noise", "kernel_size_pair"]


def kernel_size_pair(kernel_size, name: str = "kernel_size") -> tuple[int, int]:
    """``kernel_size`` (an int or (kx, ky), odd and positive, torchvision's order) as ``(kx, ky)``."""
    ks = (kernel_size, kernel_size) if isinstance(kernel_size, Integral) else kernel_size
    if (isinstance(kernel_size, bool) or not isinstance(ks, Sequence) or len(ks) != 2
            or not all(isinstance(k, Integral) and not isinstance(k, bool) for k in ks)):
        raise TypeError(f"{name} must be an int or a pair of ints (kx, ky), got {kernel_size!r}")
    if any(k < 1 or k % 2 == 0 for k in ks):
        raise ValueError(f"{name} must be odd and positive, got {kernel_size!r}")
    return int(ks[0]), int(ks[1])


def _sigma_pair(sigma, ks: tuple[int, int], batch: int, device) -> torch.Tensor:
    """sigma as float32 (B, 2): None (torchvision's default from the kernel size), a number, a pair
    (sx, sy) of numbers, a tensor broadcasting to (B,) (both axes), or a (B, 2) tensor."""
    if sigma is None:
        sigma = [0.3 * ((k - 1) * 0.5 - 1) + 0.8 for k in ks]
    if isinstance(sigma, torch.Tensor) and sigma.dim() == 2:
        t = per_sample(sigma, batch, "sigma", device, tail=(2,))
    elif isinstance(sigma, Sequence) and not isinstance(sigma, str):
        if len(sigma) != 2:
            raise ValueError(f"sigma must be a number, a pair (sx, sy) or a tensor, got {sigma!r}")
        t = per_sample(sigma, batch, "sigma", device, tail=(2,))
    else:
        t = per_sample(sigma, batch, "sigma", device)[:, None].expand(batch, 2)
    check_range(sigma, 0.0, float("inf"), "sigma")
    return t


def gaussian_blur(img: torch.Tensor, kernel_size, sigma=None) -> torch.Tensor:
    """Blur ``img`` ((B, C, H, W) or (C, H, W), uint8 or floating) with torchvision's Gaussian kernel.

    ``kernel_size``: an int or ``(kx, ky)``, odd; ``sigma``: see :func:`_sigma_pair` (>= 0; 0 leaves that
    axis as it is; ``None``: ``0.3 ((k - 1) / 2 - 1) + 0.8`` as torchvision). Separable, whole-sample
    symmetric border (``mirror``: torchvision's reflect padding). Returns the input's dtype and layout.
    """
    x, restore = as_batch(img)
    ks = kernel_size_pair(kernel_size)
    sig = _sigma_pair(sigma, ks, x.shape[0], x.device)
    return restore(backend.op("gaussian_blur", x)(x, sig, list(ks)))


def gaussian_noise(img: torch.Tensor, sigma, seed, mean=0.0, clip: bool = True) -> torch.Tensor:
    """Add ``N(mean, sigma)`` noise in [0, 1] units (x 255 for uint8, rounded), per sample.

    ``sigma`` (>= 0) and ``mean``: numbers or tensors broadcasting to ``(B,)``; ``seed``: an int or an integer
    tensor ``(B,)``: the noise is a pure function of the seed and the pixel's position (the same seed gives
    the same noise; see ``gpuaug/_torch/add.py``). ``clip``: clamp floating results to [0, 1]; uint8
    results are always clamped to 0..255 (the type holds nothing else).
    """
    x, restore = as_batch(img)
    if not isinstance(clip, bool):
        raise TypeError(f"clip must be a bool, got {type(clip).__name__}")
    b = x.shape[0]
    check_range(sigma, 0.0, float("inf"), "sigma")
    sig = per_sample(sigma, b, "sigma", x.device)
    mu = per_sample(mean, b, "mean", x.device)
    if isinstance(seed, torch.Tensor):
        if seed.dtype.is_floating_point or seed.is_complex() or seed.dtype == torch.bool:
            raise TypeError(f"seed must be an int or an integer tensor, got dtype {seed.dtype}")
        sd = per_sample(seed, b, "seed", x.device, torch.int64)
    elif isinstance(seed, Integral) and not isinstance(seed, bool):
        sd = torch.full((b,), int(seed) & 0xFFFFFFFF, dtype=torch.int64, device=x.device)
    else:
        raise TypeError(f"seed must be an int or an integer tensor, got {type(seed).__name__}")
    return restore(backend.op("gaussian_noise", x)(x, mu, sig, sd, clip))


BOUNDS = ("range", "image")


def channel_shift(img: torch.Tensor, shift, bounds: str = "range") -> torch.Tensor:
    """Add ``shift`` per sample and channel (in the image's units: levels for uint8, [0, 1] for floats),
    then clamp: to the value range (``bounds="range"``), or to each image's own min and max over all its
    channels (``"image"``, Keras' ``apply_channel_shift``). uint8 rounds to nearest.

    ``shift``: a number, a ``(C,)`` sequence or tensor (the same for every sample), or a tensor ``(B, C)``
    (``(B, 1)``: one shift per sample for all channels).
    """
    x, restore = as_batch(img)
    if bounds not in BOUNDS:
        raise ValueError(f"bounds must be one of {BOUNDS}, got {bounds!r}")
    b, c = x.shape[:2]
    s = per_sample(shift, b, "shift", x.device, tail=(c,))
    if bounds == "range":
        low = torch.zeros((), device=x.device)
        high = torch.full((), max_value(x.dtype), device=x.device)
    elif b == 0:
        low = high = torch.zeros((), device=x.device)
    else:
        flat = x.reshape(b, -1)
        low, high = (v.to(torch.float32)[:, None] for v in torch.aminmax(flat, dim=1))
    return restore(backend.op("channel_shift", x)(x, s, low, high))
