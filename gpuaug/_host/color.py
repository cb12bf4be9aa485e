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

``adjust_sharpness(img, factor)``: same signature and meaning as the torch path's (PIL's
``ImageEnhance.Sharpness``): the SMOOTH filter (3x3 ones, centre 5, / 13) is ``cv2.filter2D`` to uint8,
which rounds ``s / 13`` to nearest, PIL's result exactly (a sum over 13 is never a tie, and the float
error is far below the 1/26 margin); border pixels are copied back (PIL keeps them). The blend is PIL's
``Image.blend`` arithmetic in float32 with numpy ufuncs (``deg + f * (x - deg)``, no fused multiply-add),
clipped, truncated. Bitwise equal to the torch path (tests/test_host.py). 0.27 ms per 3 x 224 x 224
sample against the torch path's 0.45 ms (one thread, interleaved). Floating images: the torch path.
(Saturation, the other blend, measured no faster this way than the torch path: it stays there.)
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from gpuaug._checks import empty_output
from gpuaug._host._common import dense, parallel, planes
from gpuaug._torch import color as _ref

_WEIGHTS = {3: (19595, 38470, 7471), 1: (65536,)}
_SMOOTH = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13


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


def adjust_sharpness(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend with the SMOOTH-filtered image (PIL ``ImageEnhance.Sharpness``); factor float32 (B,)."""
    b, c, h, w = img.shape
    if img.dtype != torch.uint8 or img.numel() == 0:
        return _ref.adjust_sharpness(img, factor)
    out = empty_output(img)
    src, last = planes(dense(img))
    dst, _ = planes(out)
    alphas = factor.detach().to(device="cpu", dtype=torch.float32).expand(b).numpy()
    shape = (h, w, c) if last else (h, w)

    def task(b0: int, b1: int) -> None:
        deg, d = np.empty(shape, np.uint8), np.empty(shape, np.float32)
        for i in range(b0, b1):
            for s, o in ((src[i], dst[i]),) if last else zip(src[i], dst[i]):
                cv2.filter2D(s, -1, _SMOOTH, dst=deg, borderType=cv2.BORDER_REPLICATE)
                deg[0], deg[-1], deg[:, 0], deg[:, -1] = s[0], s[-1], s[:, 0], s[:, -1]
                np.subtract(s, deg, out=d, dtype=np.float32)
                np.multiply(d, alphas[i], out=d)
                np.add(d, deg, out=d)
                np.clip(d, 0, 255, out=d)
                np.copyto(o, d, casting="unsafe")  # truncates, as PIL's (UINT8) cast

    parallel(task, b)
    return out
