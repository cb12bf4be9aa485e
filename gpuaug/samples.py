"""The bundled sample photos (``gpuaug/data/samples``, from ``skimage.data``): the one loader every user of
them (the feeding check, ``preview``, the benchmarks, the tests) goes through.

- :func:`sample_photos`: the photos as ``(name, RGB PIL image)``, sorted by name (decoded once);
- :func:`sample_crops`: ``n`` uint8 HWC images of one size, random crops of the photos (photo ``i % 8``
  for image ``i``) resized with PIL bilinear, or the whole photos resized (``seed=None``);
- :func:`sample_batch`: the same as a ``(n, 3, H, W)`` uint8 tensor.
"""

from __future__ import annotations

import functools
import importlib.resources
import math

import numpy as np
import torch

__all__ = ["IMAGE_EXTENSIONS", "sample_batch", "sample_crops", "sample_photos"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


@functools.cache
def _decoded() -> tuple:
    from PIL import Image

    root = importlib.resources.files("gpuaug").joinpath("data/samples")
    out = []
    for f in sorted(root.iterdir(), key=lambda p: p.name):
        if f.name.lower().endswith(IMAGE_EXTENSIONS):
            with f.open("rb") as fh:
                out.append((f.name.rsplit(".", 1)[0], Image.open(fh).convert("RGB")))
    if not out:
        raise RuntimeError("the bundled sample photos are missing from the gpuaug installation")
    return tuple(out)


def sample_photos() -> list:
    """The bundled photos as ``(name, RGB PIL.Image)``, sorted by name (copies: callers may modify them)."""
    return [(name, im.copy()) for name, im in _decoded()]


def _size(size) -> tuple[int, int]:
    h, w = (size, size) if isinstance(size, int) else size
    if h <= 0 or w <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    return int(h), int(w)


def sample_crops(
    n: int,
    size,
    *,
    seed: int | None = 0,
    scale: tuple[float, float] = (0.25, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> np.ndarray:
    """``n`` images ``(n, H, W, 3)`` uint8: image ``i`` is a crop of photo ``i % 8`` (area fraction in
    ``scale``, aspect w/h log-uniform in ``ratio``, uniform position; ``seed`` fixes the draws) resized to
    ``size`` (int or ``(H, W)``) with PIL bilinear. ``seed=None``: the whole photos, resized."""
    from PIL import Image

    h, w = _size(size)
    photos = _decoded()
    rng = None if seed is None else np.random.default_rng(seed)
    out = np.empty((n, h, w, 3), dtype=np.uint8)
    for i in range(n):
        im = photos[i % len(photos)][1]
        pw, ph = im.size
        box = None
        if rng is not None:
            area = pw * ph * rng.uniform(*scale)
            r = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
            cw = max(1, min(pw, round(math.sqrt(area * r))))
            ch = max(1, min(ph, round(math.sqrt(area / r))))
            x0, y0 = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
            box = (x0, y0, x0 + cw, y0 + ch)
        out[i] = np.asarray(im.resize((w, h), Image.BILINEAR, box=box))
    return out


def sample_batch(n: int, size, *, seed: int | None = 0, **crop_args) -> torch.Tensor:
    """:func:`sample_crops` as a contiguous ``(n, 3, H, W)`` uint8 tensor."""
    return torch.from_numpy(sample_crops(n, size, seed=seed, **crop_args)).permute(0, 3, 1, 2).contiguous()
