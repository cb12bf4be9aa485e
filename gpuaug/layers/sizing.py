"""Resize and CenterCrop: deterministic geometric layers, applied in eval mode too (validation batches at the
training size, docs/contract.md "More ops").

Both have a matrix (targets move with it; Compose folds a CenterCrop or a non-antialiased Resize into a run's
one warp). An antialiased bilinear Resize is not a warp (``gpuaug.functional.resize``): it runs its own op,
and its matrix moves only the targets.

Both always apply, whatever an enclosing ``RandomApply`` / ``RandomChoice`` draws: the output size of a layer
is fixed (as a ``RandomResizedCrop`` that is not selected still resizes).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import torch

from gpuaug import functional as F
from gpuaug.layers.base import check_bool, check_size
from gpuaug.layers.geometric import _Geometric, warp_targets


def _eye(n: int, device) -> torch.Tensor:
    return torch.eye(3, device=device).expand(n, 3, 3)


class Resize(_Geometric):
    """torchvision's Resize: ``size`` an int (or ``[s]``) sets the shorter side (the longer one
    ``int(s * long / short)``, at most ``max_size``), ``(H, W)`` both; ``interpolation`` ``"bilinear"``
    (with ``antialias``: PIL's filter on downscale) or ``"nearest"`` (PIL's NEAREST). Deterministic: eval
    mode applies it too. Masks resize nearest."""

    deterministic = True

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=True, mask_fill=0):
        if interpolation not in F.RESIZE_INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {F.RESIZE_INTERPOLATIONS}, got {interpolation!r}")
        super().__init__(interpolation, "edge", 0, mask_fill)
        if isinstance(size, Sequence) and not isinstance(size, str) and len(size) == 1:
            size = size[0]
        shorter = isinstance(size, Integral) and not isinstance(size, bool)
        self.size = int(size) if shorter else check_size(size)
        F.resize_size((64, 64), self.size, max_size)  # checks size and max_size now, not at the first batch
        self.max_size = max_size
        self.antialias = check_bool(antialias, "antialias")

    @property
    def fusable(self) -> bool:
        return not (self.interpolation == "bilinear" and self.antialias)

    def _args(self):
        return {"size": self.size, "interpolation": self.interpolation, "max_size": self.max_size,
                "antialias": self.antialias, "mask_fill": self.mask_fill}

    def output_size(self, size):
        return F.resize_size(size, self.size, self.max_size)

    def matrix(self, params, size):
        a = params["apply"]
        return F.resize_matrix(a.shape[0], size, self.output_size(size), a.device)

    def _transform(self, img, params, targets):
        out = F.resize(img, self.size, self.interpolation, self.antialias, self.max_size)
        if targets:
            size = tuple(img.shape[-2:])
            targets = warp_targets(targets, self.matrix(params, size), self.output_size(size), self.fill_mode,
                                   self.mask_fill)
        return out, targets


class CenterCrop(_Geometric):
    """torchvision's CenterCrop: the central ``size`` ((h, w) or an int) crop, offsets
    ``int(round((H - h) / 2))``, zero padding where the crop is larger than the image. Deterministic: eval
    mode applies it too. On its own a slice and a copy; inside Compose a translation in the run's warp."""

    deterministic = True
    uses_interpolation = False

    def __init__(self, size, mask_fill=0):
        super().__init__("nearest", "constant", 0, mask_fill)
        self.size = check_size(size)

    def _args(self):
        return {"size": self.size, "mask_fill": self.mask_fill}

    def output_size(self, size):
        return self.size

    def matrix(self, params, size):
        top, left = F.center_crop_offsets(size, self.size)
        m = _eye(params["apply"].shape[0], params["apply"].device).clone()
        m[:, 0, 2] = -float(left)
        m[:, 1, 2] = -float(top)
        return m

    def _transform(self, img, params, targets):
        out = F.center_crop(img, self.size)
        if targets:
            size = tuple(img.shape[-2:])
            m = self.matrix(params, size)
            targets = warp_targets(targets, m, self.size, self.fill_mode, self.mask_fill)
        return out, targets


__all__ = ["Resize", "CenterCrop"]
