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


_NP_PAD = {"edge": "edge", "reflect": "symmetric", "mirror": "reflect", "wrap": "wrap"}


def cubic_warp_reference(img: np.ndarray, inv: np.ndarray, size, mode: str, fill) -> np.ndarray:
    """float64 bicubic resampling of ``img`` (C, H, W) at ``inv @ (x, y, 1)`` (output -> source pixel
    centres), written independently: the cubic convolution with a = -1 (PIL's affine BICUBIC weights) over
    the 4 x 4 taps, the image extended by numpy's padding of the same name as each fill mode (constant: the
    fill value)."""
    c, h, w = img.shape
    pad = 8 + int(max(h, w))
    if mode == "constant":
        ext = np.stack([np.pad(img[k], pad, constant_values=float(fill[k])) for k in range(c)])
    else:
        ext = np.stack([np.pad(img[k], pad, mode=_NP_PAD[mode]) for k in range(c)])
    ho, wo = size
    yy, xx = np.meshgrid(np.arange(ho, dtype=np.float64), np.arange(wo, dtype=np.float64), indexing="ij")
    sx = inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2]
    sy = inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2]
    x0, y0 = np.floor(sx), np.floor(sy)

    def weights(d):
        return [-d + 2 * d**2 - d**3, 1 - 2 * d**2 + d**3, d + d**2 - d**3, d**3 - d**2]

    wx, wy = weights(sx - x0), weights(sy - y0)
    out = np.zeros((c, ho, wo))
    far = (np.abs(sx) > pad - 4) | (np.abs(sy) > pad - 4)
    for j in range(4):
        iy = np.clip(y0.astype(np.int64) + j - 1 + pad, 0, ext.shape[1] - 1)
        for k in range(4):
            ix = np.clip(x0.astype(np.int64) + k - 1 + pad, 0, ext.shape[2] - 1)
            out += wy[j] * wx[k] * ext[:, iy, ix]
    if mode == "constant":
        out[:, far] = np.asarray(fill, dtype=np.float64)[:, None]
    return out
