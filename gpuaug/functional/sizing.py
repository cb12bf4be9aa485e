"""Resize and center crop (docs/contract.md "More ops"): the ops that give eval batches the training size.

``resize(img, size, interpolation="bilinear", antialias=True, max_size=None)``: ``size`` an int (or ``[s]``)
sets the shorter side, the longer one ``int(s * long / short)`` (torchvision's rounding, with its
``max_size``); ``(H, W)`` sets both. Bilinear with antialias is PIL's ``Image.resize(BILINEAR)`` filter (the
``resize`` primitive: ``kernels/resize.py``, ``gpuaug/_torch/resize.py``); without antialias, and nearest
(PIL's NEAREST, torch's ``nearest-exact``), it is one ``warp_affine`` with the resize matrix and the edge
replicated: a 2 x 2 (1 x 1) footprint is all a warp samples, so those need no kernel of their own.

``center_crop(img, size)``: torchvision's offsets, ``top = int(round((H - h) / 2))``; a crop larger than
the image is zero-padded as torchvision does (the image at ``(h - H) // 2``). A slice and one copy (no
arithmetic: no kernel).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import torch

from gpuaug import backend
from gpuaug._checks import as_batch, empty_output
from gpuaug.functional.geometry import _size, warp_affine

__all__ = ["RESIZE_INTERPOLATIONS", "center_crop", "center_crop_offsets", "resize", "resize_matrix",
           "resize_size"]

RESIZE_INTERPOLATIONS = ("bilinear", "nearest")


def resize_size(in_size, size, max_size=None) -> tuple[int, int]:
    """The output (H, W) of :func:`resize` for an input of ``in_size`` (H, W): torchvision's
    ``_compute_resized_output_size``."""
    h, w = int(in_size[0]), int(in_size[1])
    if isinstance(size, Sequence) and not isinstance(size, str) and len(size) == 1:
        size = size[0]
    if isinstance(size, Integral) and not isinstance(size, bool):
        if size < 1:
            raise ValueError(f"size must be positive, got {size!r}")
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = int(size), int(size * long / short)
        if max_size is not None:
            if isinstance(max_size, bool) or not isinstance(max_size, Integral):
                raise TypeError(f"max_size must be an int or None, got {type(max_size).__name__}")
            if max_size <= size:
                raise ValueError(f"max_size = {max_size} must be larger than size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), int(max_size)
        return (new_long, new_short) if w <= h else (new_short, new_long)
    if max_size is not None:
        raise ValueError("max_size is only allowed when size is an int (the shorter side)")
    return _size(size, "size")


def resize(img: torch.Tensor, size, interpolation: str = "bilinear", antialias: bool = True,
           max_size=None) -> torch.Tensor:
    """Resize ``img`` ((B, C, H, W) or (C, H, W), uint8 or floating) to ``size`` (see the module docstring).

    ``antialias`` acts on bilinear downscaling (PIL's filter, support stretched by the factor); upscaling is
    the same with or without it. Returns the input's dtype, device and memory format at the new size.
    """
    x, restore = as_batch(img)
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {RESIZE_INTERPOLATIONS}, got {interpolation!r}")
    if not isinstance(antialias, bool):
        raise TypeError(f"antialias must be a bool, got {type(antialias).__name__}")
    b, _, h, w = x.shape
    out = resize_size((h, w), size, max_size)
    if interpolation == "bilinear" and antialias:
        return restore(backend.op("resize", x)(x, list(out)))
    m = resize_matrix(b, (h, w), out, x.device)
    # (the fill is never sampled with "edge"; a device scalar keeps a host-built tensor off the CUDA path)
    return restore(warp_affine(x, m, out, interpolation, "edge", torch.zeros((), device=x.device)))


def resize_matrix(batch: int, in_size, out_size, device=None) -> torch.Tensor:
    """Forward ``(batch, 3, 3)`` float32 matrices of a resize from ``in_size`` to ``out_size`` (H, W): pixel
    edges onto pixel edges, ``x' = (x + 1/2) W' / W - 1/2`` (``resized_crop_matrix`` of the whole image),
    built on the device (no host tensor)."""
    (h, w), (ho, wo) = in_size, out_size
    sx, sy = wo / w, ho / h
    m = torch.zeros((batch, 3, 3), device=device)
    m[:, 0, 0], m[:, 1, 1], m[:, 2, 2] = sx, sy, 1.0
    m[:, 0, 2], m[:, 1, 2] = 0.5 * sx - 0.5, 0.5 * sy - 0.5
    return m


def center_crop_offsets(in_size, size) -> tuple[int, int]:
    """``(top, left)`` of the ``size`` crop in an image of ``in_size`` (negative: zero padding)."""
    (h, w), (ch, cw) = (int(in_size[0]), int(in_size[1])), _size(size, "size")
    return _offset(h, ch), _offset(w, cw)


def _offset(n: int, c: int) -> int:
    # torchvision pads a crop larger than the image by (c - n) // 2 before and crops at 0
    return -((c - n) // 2) if c > n else int(round((n - c) / 2.0))


def center_crop(img: torch.Tensor, size) -> torch.Tensor:
    """The central ``size`` ((h, w) or an int) crop of ``img``, torchvision's (see the module docstring):
    a new tensor in the input's dtype and memory format."""
    x, restore = as_batch(img)
    h, w = x.shape[-2:]
    ch, cw = _size(size, "size")
    top, left = center_crop_offsets((h, w), (ch, cw))
    out = empty_output(x, (ch, cw))
    y0, y1, x0, x1 = max(top, 0), min(top + ch, h), max(left, 0), min(left + cw, w)
    if (y0, y1, x0, x1) != (top, top + ch, left, left + cw):
        out.zero_()  # torchvision's zero padding around an image smaller than the crop
    out[:, :, y0 - top:y1 - top, x0 - left:x1 - left] = x[:, :, y0:y1, x0:x1]
    return restore(out)
