"""Channel-mixing pixel ops on the host (CPU tensors).

``gray_mean(img, lut=None) -> float32 (B,)``: same signature and meaning as
``gpuaug._torch.color.gray_mean`` (the reference): PIL's rounded mean of ``convert("L")`` (of
``lut(img)`` when a table is given), exactly. PIL's luma is ``L = S >> 16`` with
``S = 19595 R + 38470 G + 7471 B + 32768``; the host kernel folds the weights (and the table) into three
int32 tables, so per plane it is one ``cv2.LUT`` to int32 and one ``cv2.add``, and
``sum(L) = (sum(S) - sum(S & 0xFFFF)) / 65536`` (``cv2.bitwise_and``, ``cv2.sumElems``: sums below 2^53,
exact in float64). The table is never applied to the image. (OpenCV's own ``RGB2GRAY`` uses 14-bit
weights 4899, 9617, 1868: its gray differs from PIL's by one level on some pixels, so it is not used.)
Floating images take the torch path.

Speed, (64, 3, 224, 224) uint8 with a table, one thread, interleaved medians: 5.9 ms (torch path 14.6
ms; host ``apply_lut`` then the torch path's luma sum 8.1 ms); bitwise equal to the torch path.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from gpuaug._host._common import dense, parallel, planes
from gpuaug._torch import color as _ref

_WEIGHTS = {3: (19595, 38470, 7471), 1: (65536,)}


def gray_mean(img: torch.Tensor, lut: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of the grayscale image (of ``lut(img)`` when a lut is given) -> float32 (B,)."""
    b, c, h, w = img.shape
    if img.dtype != torch.uint8 or c not in _WEIGHTS or img.numel() == 0:
        return _ref.gray_mean(img, lut)
    if lut is None:
        table = torch.arange(256, dtype=torch.int64).expand(b, c, 256)
    else:
        table = lut.detach().to(device="cpu", dtype=torch.int64).expand(b, c, 256)
    weights = torch.tensor(_WEIGHTS[c], dtype=torch.int64).view(1, c, 1)
    tables = (table * weights).to(torch.int32).contiguous().numpy()  # (B, C, 256)
    if c == 3:
        tables[:, 0] += 32768  # PIL's rounding offset, folded into the first table
    src, last = planes(dense(img))
    sums = np.zeros(b, np.float64)

    def task(b0: int, b1: int) -> None:
        acc, tmp = np.empty((h, w), np.int32), np.empty((h, w), np.int32)
        split = [np.empty((h, w), np.uint8) for _ in range(c)] if last else None
        for i in range(b0, b1):
            if last:
                cv2.split(src[i], split)
            chans = split if last else src[i]
            cv2.LUT(chans[0], tables[i, 0], dst=acc)
            for k in range(1, c):
                cv2.LUT(chans[k], tables[i, k], dst=tmp)
                cv2.add(acc, tmp, dst=acc)
            total = cv2.sumElems(acc)[0]
            cv2.bitwise_and(acc, 0xFFFF, dst=tmp)
            sums[i] = (total - cv2.sumElems(tmp)[0]) / 65536

    parallel(task, b)
    s = torch.from_numpy(sums).to(torch.int64)
    n = h * w
    return ((2 * s + n) // (2 * n)).to(torch.float32)
