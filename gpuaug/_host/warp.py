"""The ``warp`` primitive on the host (CPU tensors): OpenCV ``warpAffine``, samples spread over threads.

Same signature and meaning as ``gpuaug._torch.warp.warp`` (the reference): ``inv`` maps OUTPUT pixel
coordinates to SOURCE coordinates, pixel centres at integers, which is ``cv2.warpAffine`` with
``WARP_INVERSE_MAP``. Contiguous batches warp plane by plane (one call per sample and channel, the output
written in place), channels_last batches pixel by pixel (one call per sample).

Conventions, mapped exactly (docs/contract.md names -> OpenCV border):
constant (scipy grid-constant) -> ``BORDER_CONSTANT`` (bilinear blends toward ``fill``), edge (nearest)
-> ``BORDER_REPLICATE``, reflect (half-sample) -> ``BORDER_REFLECT``, mirror (whole-sample) ->
``BORDER_REFLECT_101``, wrap (grid-wrap) -> ``BORDER_WRAP``.

- bilinear: opencv-python-headless 5.0.0's warpAffine interpolates in float; a build that quantises
  positions to 1/32 pixel (``INTER_BITS``, OpenCV 4.x's remap tables; not tried here) fails
  :func:`_bilinear_ok`, probed once, and bilinear then runs on the torch path. Measured with
  opencv-python-headless 5.0.0, uint8, every mode, against scipy ``affine_transform(order=1)`` rounded:
  0 levels on the test photos and on uniform noise (23 x 31 -> 19 x 37, three random affine maps per
  mode; tests/test_host.py), max 1 level on 0.003-0.02 % of values on noise under 20 random rotations and
  scales (60 x 70). Against the torch path: max 1 level on 0.02 % of values (the torch path's own float32
  rounding of a blend near .5; it is the one that differs from scipy there).
- nearest: only whole-pixel translations (below) run here; other nearest warps take the torch path. Masks
  (any dtype) are warped nearest on the torch path, and an image must take the same source pixel as its
  mask; OpenCV's nearest rounds ties to even and before folding into the image, the contract half up
  (scipy ``order=0``) and after folding, so at exact ties (a 2x resized crop, RandAugment's shears) it
  would pick the neighbour.
- whole-pixel translations (``inv`` = identity + integer shift to 1e-6 pixel over the plane, as the torch
  path's ``_integer_map``) with "constant" are two numpy copies (fill, then the moved rectangle) instead
  of a warp: RandAugment's translate ops, integer crops. Bitwise the torch path's result.
- fill: uint8 ``fill`` values are rounded (the torch path rounds them for nearest); a non-integer fill with
  bilinear + constant is blended unrounded by the torch path, so that case stays there.
- The torch path also runs floating images (uint8 is the case the host kernels are for; OpenCV's float
  warp was not measured against the torch path's here), more than 4 channels, sides of 32767 pixels or
  more (OpenCV's index maps are int16) and coordinates beyond 2^22 pixels (the magnitudes stop being
  exact in float32).

Speed, (64, 3, 224, 224) uint8, rotation ±30°, one thread, interleaved medians: bilinear 21 ms (torch
path 53 ms, PIL ``Image.rotate`` per image 85 ms), nearest 10 ms (torch path 16 ms); channels_last 26 / 13 ms.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np
import torch

from gpuaug._checks import empty_output
from gpuaug._host._common import dense, parallel, planes
from gpuaug._torch import warp as _ref

INTERPOLATIONS = _ref.INTERPOLATIONS
FILL_MODES = _ref.FILL_MODES
_BORDER = {
    "constant": cv2.BORDER_CONSTANT,
    "edge": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT,
    "mirror": cv2.BORDER_REFLECT_101,
    "wrap": cv2.BORDER_WRAP,
}
_FLAGS = {"nearest": cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
          "bilinear": cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP}
_MAX_SIDE = 32766
_MAX_COORD = float(1 << 22)


@functools.cache
def _bilinear_ok() -> bool:
    """Does this OpenCV interpolate bilinearly in float? A 0/255 step sampled at 97 sub-pixel offsets
    must come out within 1 level of the exact blend (1/32-pixel positions are up to 4 levels off)."""
    src = np.tile(np.array([[0, 255, 0, 255, 0, 255]], np.uint8), (3, 1))
    for j in range(97):
        f = j / 97
        m = np.array([[1.0, 0.0, 1.0 + f], [0.0, 1.0, 0.0]])
        got = cv2.warpAffine(src, m, (1, 1), flags=_FLAGS["bilinear"], borderMode=cv2.BORDER_REPLICATE)
        if abs(int(got[0, 0]) - 255 * (1 - f)) > 1:
            return False
    return True


def warp(
    img: torch.Tensor,
    inv: torch.Tensor,
    size: tuple[int, int],
    interpolation: str,
    fill_mode: str,
    fill: torch.Tensor,
) -> torch.Tensor:
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {tuple(FILL_MODES)}, got {fill_mode!r}")
    b, c, h, w = img.shape
    ho, wo = int(size[0]), int(size[1])
    plan = _plan(img, inv, ho, wo, interpolation, fill_mode, fill)
    if plan is None:
        return _ref.warp(img, inv, size, interpolation, fill_mode, fill)
    mats, values, shifts = plan
    out = empty_output(img, (ho, wo))
    src, last = planes(dense(img))
    dst, _ = planes(out)
    flags, border = _FLAGS[interpolation], _BORDER[fill_mode]

    def task(b0: int, b1: int) -> None:
        for i in range(b0, b1):
            if shifts[i] is not None:
                _shift(src[i], dst[i], *shifts[i], values[i][:c], last)
            elif last:
                cv2.warpAffine(src[i], mats[i], (wo, ho), dst=dst[i], flags=flags, borderMode=border,
                               borderValue=values[i])
            else:
                for k in range(c):
                    cv2.warpAffine(src[i, k], mats[i], (wo, ho), dst=dst[i, k], flags=flags,
                                   borderMode=border, borderValue=values[i][k])

    parallel(task, b)
    return out


def _plan(img, inv, ho, wo, interpolation, fill_mode, fill):
    """(float64 (B, 2, 3) numpy matrices, per-sample border values) for OpenCV, or None: the torch path."""
    b, c, h, w = img.shape
    if img.dtype != torch.uint8 or c > 4 or img.numel() == 0 or ho * wo == 0:
        return None  # (empty batches and planes: the torch path's results and errors)
    if interpolation == "bicubic":
        return None  # OpenCV's cubic is a = -0.75; the contract's (PIL's affine bicubic) a = -1
    if max(h, w, ho, wo) > _MAX_SIDE:
        return None
    if interpolation == "bilinear" and not _bilinear_ok():
        return None
    m = inv.detach().to(device="cpu", dtype=torch.float64).expand(b, 2, 3).clone()
    # a non-finite matrix (singular forward map) samples source (-2, -2), as on the torch path
    bad = ~torch.isfinite(m).all(dim=(1, 2))
    if bool(bad.any()):
        m[bad] = torch.tensor([[0.0, 0.0, -2.0], [0.0, 0.0, -2.0]], dtype=torch.float64)
    # the largest source coordinate magnitude: at the output corners (affine), or the image's size
    r = float((m[:, :, :2].abs() @ torch.tensor([wo - 1.0, ho - 1.0], dtype=torch.float64)
               + m[:, :, 2].abs()).max())
    r = max(r, float(max(h, w)))
    if not math.isfinite(r) or r > _MAX_COORD:
        return None
    f = fill.detach().to(device="cpu", dtype=torch.float32).expand(b, c).clamp(0, 255)
    if interpolation == "bilinear" and fill_mode == "constant" and bool((f != f.round()).any()):
        return None
    shifts = [None] * b
    if fill_mode == "constant":
        ok, ax, tx, ay, ty = _ref._integer_map(m, ho, wo)
        ok &= (ax == 1) & (ay == 1)
        if bool(ok.any()):
            shifts = [(int(x), int(y)) if k else None
                      for k, x, y in zip(ok.tolist(), tx.tolist(), ty.tolist())]
    if interpolation == "nearest" and any(t is None for t in shifts):
        return None  # nearest: whole-pixel translations only (the module docstring)
    rows = f.round().tolist()
    values = [tuple(v) + (0.0,) * (4 - c) for v in rows]  # a pixel (channels_last), or [k] per plane
    return m.numpy(), values, shifts


def _shift(src: np.ndarray, dst: np.ndarray, tx: int, ty: int, fill, last: bool) -> None:
    """``dst[y, x] = src[y + ty, x + tx]`` (one sample, (C, H, W) or (H, W, C) with ``last``), ``fill``
    outside: a whole-pixel translation (the translate ops, crops) as two copies instead of a warp."""
    h, w = src.shape[:2] if last else src.shape[1:]
    ho, wo = dst.shape[:2] if last else dst.shape[1:]
    fill = np.asarray(fill, np.uint8)
    dst[...] = fill if last else fill[:, None, None]
    x0, x1, y0, y1 = max(0, -tx), min(wo, w - tx), max(0, -ty), min(ho, h - ty)
    if x1 > x0 and y1 > y0:
        if last:
            dst[y0:y1, x0:x1] = src[y0 + ty: y1 + ty, x0 + tx: x1 + tx]
        else:
            dst[:, y0:y1, x0:x1] = src[:, y0 + ty: y1 + ty, x0 + tx: x1 + tx]
