"""Shared test helpers: real photos (skimage.data) at small odd sizes, PIL <-> tensor conversions."""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from PIL import Image

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")


@functools.cache
def _photo(name: str) -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(getattr(skimage.data, name)())


def photo(name: str = "astronaut", size: tuple[int, int] = (37, 53), offset: int = 0) -> np.ndarray:
    """A real RGB photo as HWC uint8, resized (PIL bilinear) to ``size = (H, W)`` after an optional crop."""
    a = _photo(name)
    if offset:
        a = a[offset:, offset:]
    return np.asarray(Image.fromarray(a).resize((size[1], size[0]), Image.BILINEAR))


def photo_batch(b: int = 4, size: tuple[int, int] = (37, 53), gray: bool = False) -> torch.Tensor:
    """``(B, C, H, W)`` uint8 batch of different real photos (C = 1 when ``gray``)."""
    imgs = [photo(PHOTOS[i % len(PHOTOS)], size, offset=7 * (i // len(PHOTOS))) for i in range(b)]
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous()
    if gray:
        x = to_tensor_batch([Image.fromarray(i).convert("L") for i in imgs])
    return x


def to_pil(img: torch.Tensor) -> Image.Image:
    """``(C, H, W)`` uint8 tensor -> PIL image (mode L or RGB)."""
    a = img.detach().cpu()
    if a.shape[0] == 1:
        return Image.fromarray(a[0].numpy(), "L")
    return Image.fromarray(a.permute(1, 2, 0).contiguous().numpy(), "RGB")


def to_tensor(im: Image.Image) -> torch.Tensor:
    """PIL image (L or RGB) -> ``(C, H, W)`` uint8 tensor."""
    a = np.asarray(im)
    if a.ndim == 2:
        a = a[:, :, None]
    return torch.from_numpy(a.copy()).permute(2, 0, 1).contiguous()


def to_tensor_batch(ims) -> torch.Tensor:
    return torch.stack([to_tensor(i) for i in ims])


def pil_map(fn, batch: torch.Tensor) -> torch.Tensor:
    """Apply a PIL function image by image (the oracle) and stack the results back into a batch."""
    return torch.stack([to_tensor(fn(to_pil(img))) for img in batch])


def max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> int:
    return int((a.to(torch.int32) - b.to(torch.int32)).abs().max()) if a.numel() else 0


def tv_inverse_affine(center, angle, translate, scale, shear):
    """torchvision.transforms.functional._get_inverse_affine_matrix (inverted=True), copied as the oracle:
    the PIL ``Image.transform`` data of ``F.affine(img, angle, translate, scale, shear, center)``."""
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    (cx, cy), (tx, ty) = center, translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [v / scale for v in (d, -b, 0.0, -c, a, 0.0)]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    return m
