"""Look at what a pipeline does: a PNG grid of a few images under several random draws.

Row i shows image i: the original, then ``draws`` augmented versions. Floating outputs (after
``Normalize``) are stretched per cell to 0..255 for display; cells of other sizes (crops) are centred on a
gray background.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from gpuaug.samples import sample_batch


def _num_classes(layer) -> int | None:
    """The class count of the first mixing layer in ``layer`` (None: no mixing layer)."""
    if getattr(layer, "kind", None) == "mix":
        return layer.num_classes or 1000
    for t in getattr(layer, "transforms", ()):
        n = _num_classes(t)
        if n is not None:
            return n
    return None


def _to_display(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) -> uint8 (H, W, 3) for display."""
    x = x.detach().cpu()
    if x.dtype != torch.uint8:
        x = x.float()
        lo, hi = x.min(), x.max()
        x = ((x - lo) / (hi - lo).clamp_min(1e-6) * 255.0).round().clamp(0, 255).to(torch.uint8)
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    return x.permute(1, 2, 0).contiguous().numpy()


def preview(
    pipeline,
    images: torch.Tensor | None = None,
    draws: int = 4,
    path: str | os.PathLike = "preview.png",
    pad: int = 4,
):
    """Write a grid of ``images`` ((B, C, H, W); default: 4 bundled photos) under ``draws`` random draws
    of ``pipeline`` to ``path`` (PNG). Returns the PIL image. The pipeline runs in training mode (its mode
    is restored after)."""
    from PIL import Image

    if not isinstance(draws, int) or isinstance(draws, bool) or draws < 1:
        raise ValueError(f"draws must be a positive int, got {draws!r}")
    if images is None:
        images = sample_batch(4, (160, 160), seed=None)
    if not isinstance(images, torch.Tensor) or images.dim() not in (3, 4):
        raise TypeError("images must be a (B, C, H, W) or (C, H, W) tensor")
    if images.dim() == 3:
        images = images.unsqueeze(0)
    was_training = pipeline.training
    pipeline.train()
    try:
        columns = [images]
        for _ in range(draws):
            with torch.no_grad():
                n = _num_classes(pipeline)
                if n is not None:
                    labels = torch.arange(images.shape[0], device=images.device) % n
                    out = pipeline(images, labels=labels)
                else:
                    out = pipeline(images)
            columns.append(out[0] if isinstance(out, tuple) else out)
    finally:
        pipeline.train(was_training)
    cell_h = max(int(c.shape[-2]) for c in columns)
    cell_w = max(int(c.shape[-1]) for c in columns)
    rows, cols = images.shape[0], len(columns)
    grid = np.full((rows * (cell_h + pad) + pad, cols * (cell_w + pad) + pad, 3), 128, dtype=np.uint8)
    for j, col in enumerate(columns):
        for i in range(rows):
            cell = _to_display(col[i])
            h, w = cell.shape[:2]
            y = pad + i * (cell_h + pad) + (cell_h - h) // 2
            x = pad + j * (cell_w + pad) + (cell_w - w) // 2
            grid[y : y + h, x : x + w] = cell
    im = Image.fromarray(grid)
    im.save(path)
    return im


__all__ = ["preview"]
