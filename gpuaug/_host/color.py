"""Channel-mixing pixel ops on the host (CPU tensors).

``gray_mean(img, lut=None)``: same signature and meaning as ``gpuaug._torch.color.gray_mean`` (the
reference, PIL's rounded mean of ``convert("L")``): the table is applied with the host ``apply_lut``
(OpenCV, threads; 3.3 ms against the torch path's 8.5 ms for (64, 3, 224, 224)), then the torch path's
exact fixed-point luma sum runs on the result. OpenCV's own ``RGB2GRAY`` uses 14-bit weights
(4899, 9617, 1868) where PIL uses 16-bit ones (19595, 38470, 7471): its gray values differ by one level
on some pixels, so it cannot give PIL's mean exactly and is not used.
"""

from __future__ import annotations

import torch

from gpuaug._host.lut import apply_lut
from gpuaug._torch import color as _ref


def gray_mean(img: torch.Tensor, lut: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of the grayscale image (of ``lut(img)`` when a lut is given) -> float32 (B,)."""
    if lut is not None and img.dtype == torch.uint8 and img.numel():
        img, lut = apply_lut(img, lut), None
    return _ref.gray_mean(img, lut)
