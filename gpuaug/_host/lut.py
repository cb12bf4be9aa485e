"""Table lookup on the host (CPU tensors): ``apply_lut`` with OpenCV ``LUT``, samples spread over threads.

Same signature and meaning as ``gpuaug._torch.lut.apply_lut`` (the reference): ``out[b, c, y, x] =
lut[b, c, img[b, c, y, x]]``, img uint8 (B, C, H, W), lut uint8 (B or 1, C or 1, 256); the output keeps
img's memory format. Bitwise equal to the reference (a lookup; tests/test_host.py).

One ``cv2.LUT`` per sample where the table is shared by the channels (the sample's bytes as one 2-D
array, whatever the layout), else one per plane (contiguous) or one with a C-channel table
(channels_last). ``equalize_lut`` (256 entries per plane) has no host kernel: the torch path.

Speed, (64, 3, 224, 224) uint8, one thread, interleaved medians: per-channel tables 3.3 ms (torch path
8.5 ms, numpy ``take`` per plane 9.1 ms, ``PIL.Image.point`` per image 8.2 ms), one table per sample
3.0 ms; channels_last with per-channel tables 5.9 ms.
"""

from __future__ import annotations

import cv2
import torch

from gpuaug._checks import empty_output
from gpuaug._host._common import dense, parallel, planes


def apply_lut(img: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """``lut[b, c, img[b, c, y, x]]``: img uint8 (B, C, H, W), lut uint8 (B, C or 1, 256)."""
    out = empty_output(img)
    if img.numel() == 0:
        return out
    b, c = img.shape[:2]
    src, last = planes(dense(img))
    dst, _ = planes(out)
    table = lut.detach().to(device="cpu", dtype=torch.uint8).expand(b, lut.shape[1], 256)
    shared = table.shape[1] == 1 or c == 1
    if shared:
        tables = table[:, 0].contiguous().numpy()  # (B, 256)
    elif last:
        tables = table.permute(0, 2, 1).contiguous().numpy()[:, :, None, :]  # (B, 256, 1, C)
    else:
        tables = table.contiguous().numpy()  # (B, C, 256)

    def task(b0: int, b1: int) -> None:
        for i in range(b0, b1):
            if shared:
                s, d = src[i].reshape(-1, src.shape[-1]), dst[i].reshape(-1, dst.shape[-1])
                cv2.LUT(s, tables[i], dst=d)
            elif last:
                cv2.LUT(src[i], tables[i], dst=dst[i])
            else:
                for k in range(c):
                    cv2.LUT(src[i, k], tables[i, k], dst=dst[i, k])

    parallel(task, b)
    return out
