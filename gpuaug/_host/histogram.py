"""Histogram per sample and channel on the host (CPU tensors): OpenCV ``calcHist``, samples over threads.

Same signature and meaning as ``gpuaug._torch.histogram.histogram`` (the reference): uint8 (B, C, H, W)
-> int32 (B, C, 256) counts, bitwise equal (tests/test_host.py). ``calcHist`` counts in integers and
returns float32, exact while a plane has fewer than 2^24 pixels; larger planes take the torch path.

Speed, (64, 3, 224, 224) uint8, one thread, interleaved medians: 5.8 ms (torch path's chunked int16
``bincount`` 9.8 ms, ``np.bincount`` per plane 12.2 ms, PIL ``Image.histogram`` 5-6 ms).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from gpuaug._host._common import dense, parallel, planes
from gpuaug._torch import histogram as _ref

_MAX_PIXELS = 1 << 24  # float32 counts are exact below this


def histogram(img: torch.Tensor) -> torch.Tensor:
    """Counts per image and channel: uint8 (B, C, H, W) -> int32 (B, C, 256)."""
    b, c, h, w = img.shape
    if img.numel() == 0 or h * w >= _MAX_PIXELS or img.dtype != torch.uint8:
        return _ref.histogram(img)
    src, last = planes(dense(img))
    hist = np.empty((b, c, 256), np.float32)

    def task(b0: int, b1: int) -> None:
        for i in range(b0, b1):
            for k in range(c):
                if last:
                    hist[i, k] = cv2.calcHist([src[i]], [k], None, [256], [0, 256]).reshape(256)
                else:
                    hist[i, k] = cv2.calcHist([src[i, k]], [0], None, [256], [0, 256]).reshape(256)

    parallel(task, b)
    return torch.from_numpy(hist).to(torch.int32)
