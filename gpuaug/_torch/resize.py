"""Resize on the torch path (mirror of ``kernels/resize.py``): the host path and the kernel's reference.

``resize(img, size) -> (B, C, size[0], size[1])``: bilinear with PIL's antialiasing (``Image.resize`` with
``BILINEAR``): per axis, the triangle filter is stretched by the downscale factor ``s = in / out`` when
``s > 1`` (support ``s`` pixels each side, weights ``max(0, 1 - |d| / s)``), plain bilinear (support 1)
when upscaling; output pixel ``i`` is centred on source position ``(i + 1/2) s`` (pixel corners at
integers), taps outside the image are dropped and the weights renormalised (which replicates the edge).
This is exactly ``torch.nn.functional.interpolate(mode="bilinear", antialias=True, align_corners=False)``
(whose weights are PIL's), computed in float32 (float64 for float64); uint8 rounds to nearest (ties to even)
and clamps. PIL itself rounds its fixed-point horizontal pass to uint8 before the vertical one: within a
level or two of it (docs/contract.md "More ops").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gpuaug._checks import empty_output


def resize(img: torch.Tensor, size: list[int]) -> torch.Tensor:
    """Antialiased bilinear resize of a (B, C, H, W) batch to ``size`` = (H_out, W_out); see the module."""
    ho, wo = int(size[0]), int(size[1])
    out = empty_output(img, (ho, wo))
    if out.numel() == 0:
        return out
    compute = torch.float64 if img.dtype == torch.float64 else torch.float32
    y = F.interpolate(img.to(compute), size=(ho, wo), mode="bilinear", align_corners=False, antialias=True)
    if img.dtype == torch.uint8:
        y = y.round_().clamp_(0, 255)
    out.copy_(y)
    return out
