"""The feeding check's data: the bundled photos (:class:`SampleDataset`) or an ImageFolder-style tree
(:class:`FolderDataset`), both as fixed-size ``(HWC uint8 array, int)`` items."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gpuaug.samples import IMAGE_EXTENSIONS, sample_crops, sample_photos

__all__ = ["FolderDataset", "SampleDataset"]


def _center_square(im: Image.Image, size: int) -> Image.Image:
    """Shorter side to ``size``, then the centre ``size x size`` crop (a fixed-size uint8 sample)."""
    w, h = im.size
    s = size / min(w, h)
    nw, nh = max(size, round(w * s)), max(size, round(h * s))
    im = im.resize((nw, nh), Image.BILINEAR, reducing_gap=3.0)
    left, top = (nw - size) // 2, (nh - size) // 2
    return im.crop((left, top, left + size, top + size))


class SampleDataset(torch.utils.data.Dataset):
    """``n`` fixed-size images cut from the bundled photos, held in memory as one uint8 array.

    Image ``i`` is a random crop (25-100 % of the area, aspect 3/4..4/3) of photo ``i % 8``, resized to
    ``size x size``; its label is the photo's index. Items are ``(HWC uint8 array, int)``.
    """

    def __init__(self, n: int = 512, size: int = 224, seed: int = 0) -> None:
        self.classes = [name for name, _ in sample_photos()]
        if seed is None:  # fresh random crops (sample_crops reads seed=None as "whole photos")
            seed = np.random.SeedSequence().entropy
        self.images = sample_crops(n, size, seed=seed, scale=(0.25, 1.0), ratio=(3 / 4, 4 / 3))
        self.labels = np.arange(n) % len(self.classes)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.images[i], int(self.labels[i])


#: what PIL raises on a file it cannot decode (truncated, empty, not an image, too large)
UNREADABLE = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


class FolderDataset(torch.utils.data.Dataset):
    """An ImageFolder-style tree (``root/<class>/<image>``) decoded with PIL to ``size x size`` RGB uint8.

    Each item is decoded on access (that is the loader's real work): shorter side to ``size``, centre crop.
    A file that does not decode (truncated, empty, not an image) is skipped: the item is the next readable
    file (with its own label), one line on stderr names the file the first time, and :attr:`skipped`
    counts such files across the DataLoader's worker processes (a flag per file in shared memory). With no
    readable file at all, an item is a ``ValueError``.
    """

    def __init__(self, root: str | os.PathLike, size: int = 224) -> None:
        root = Path(root)
        if not root.is_dir():
            raise ValueError(f"--data must be a folder of class sub-folders, got {str(root)!r}")
        self.classes = sorted(d.name for d in root.iterdir() if d.is_dir())
        self.samples = []
        for label, c in enumerate(self.classes):
            for f in sorted((root / c).rglob("*")):
                if f.suffix.lower() in IMAGE_EXTENSIONS:
                    self.samples.append((f, label))
        if not self.samples:
            raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in class sub-folders of {root}")
        self.size = size
        self.root = root
        # one flag per file, shared with forked or spawned DataLoader workers
        self._bad = multiprocessing.RawArray("b", len(self.samples))

    @property
    def skipped(self) -> list[str]:
        """The files found unreadable so far (by this process or a worker)."""
        return [str(self.samples[i][0]) for i, bad in enumerate(self._bad) if bad]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        n = len(self.samples)
        for k in range(n):
            j = (i + k) % n
            if self._bad[j]:
                continue
            path, label = self.samples[j]
            try:
                return self._decode(path), label
            except UNREADABLE as e:
                self._bad[j] = 1
                print(f"gpuaug: skipping unreadable image {path} ({type(e).__name__}: {e})", file=sys.stderr)
        raise ValueError(f"--data {str(self.root)!r}: none of its {n} images could be read")

    def _decode(self, path) -> np.ndarray:
        with Image.open(path) as im:
            im.draft("RGB", (self.size, self.size))  # JPEG: decode at a reduced scale when it can
            return np.asarray(_center_square(im.convert("RGB"), self.size))
