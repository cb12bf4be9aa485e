"""Geometric ops (docs/contract.md "Geometry"): every op is one affine resampling through ``warp_affine``.

Coordinates: pixel ``(x, y)`` = (column, row), pixel centres at integers, origin top-left, y down.
Matrices are FORWARD maps, source -> output, as OpenCV ``warpAffine`` and kornia ``warp_affine``: output
pixel ``p`` samples the source at ``M^-1 p``. The builders (``affine_matrix``, ``hflip_matrix``,
``vflip_matrix``, ``resized_crop_matrix``) return ``(B, 3, 3)`` float32 matrices; chained ops compose
by matrix product (``M2 @ M1`` applies ``M1`` first) and resample once.

Sampling follows ``scipy.ndimage.affine_transform`` (order 0 / 1): ``fill_mode`` "constant" is scipy
"grid-constant" (bilinear blends toward ``fill`` at the border), "edge" is "nearest", "reflect" is
"reflect" (half-sample), "mirror" is "mirror" (whole-sample), "wrap" is "grid-wrap". Nearest rounds
half up (``floor(x + 0.5)``); uint8 results round to nearest.

Per-sample parameters are a number (or pair) for the whole batch or a tensor broadcasting to ``(B,)``
(``(B, 2)`` for pairs, ``(B, 4)`` for boxes); tensors on another device are moved without a host sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

import torch

from gpuaug import backend
from gpuaug._checks import (
    _show,
    as_batch,
    check_count,
    check_finite,
    check_positive,
    check_real,
    is_sequence,
    parse_fill,
    per_sample,
    readable,
    wants_grad,
)
from gpuaug._torch.warp import FILL_MODES as _FILL_MODES
from gpuaug._torch.warp import INTERPOLATIONS
from gpuaug.functional import _autograd as autograd

__all__ = [
    "FILL_MODES",
    "INTERPOLATIONS",
    "affine",
    "affine_matrix",
    "hflip",
    "hflip_matrix",
    "resized_crop",
    "resized_crop_matrix",
    "rotate",
    "scale",
    "shear_x",
    "shear_y",
    "translate",
    "vflip",
    "vflip_matrix",
    "warp_affine",
    "warp_boxes",
    "warp_keypoints",
    "warp_masks",
]

FILL_MODES = tuple(_FILL_MODES)


# ------------------------------------------------------------------------------------------- matrices


def _device(device) -> torch.device:
    return torch.device("cpu") if device is None else torch.device(device)


def _eye(batch: int, device: torch.device) -> torch.Tensor:
    return torch.eye(3, dtype=torch.float64, device=device).repeat(batch, 1, 1)


def affine_matrix(
    batch: int,
    angle=0.0,
    translate=(0.0, 0.0),
    scale=1.0,
    shear=(0.0, 0.0),
    center=(0.0, 0.0),
    device=None,
) -> torch.Tensor:
    """Forward ``(batch, 3, 3)`` float32 matrices: rotate/scale/shear about ``center``, then translate.

    ``angle`` degrees, counter-clockwise on screen (as PIL ``Image.rotate``); ``translate`` pixels
    ``(dx, dy)``; ``scale`` > 0; ``shear`` degrees ``(sx, sy)``; ``center`` pixel coordinates. Each is a
    number / pair or a tensor broadcasting to ``(batch,)`` / ``(batch, 2)``.

    The linear part is torchvision's ``_get_inverse_affine_matrix(..., inverted=False)`` with the angle
    negated (torchvision's ``F.affine`` turns clockwise, its ``F.rotate`` counter-clockwise):
    ``R(-angle) @ Shear_y(sy) @ Shear_x(sx) * scale`` with ``Shear_x(s) = [[1, -tan s], [0, 1]]``, so
    ``affine(img, a, t, s, sh)`` here equals torchvision ``F.affine(img, -a, t, s, sh)``.
    Parameters must be finite (numbers and readable tensors are checked); tensors that require grad give
    differentiable matrices.
    """
    return _affine64(batch, angle, translate, scale, shear, center, device).float()


def _affine64(batch, angle, translate, scale, shear, center, device) -> torch.Tensor:
    """:func:`affine_matrix` in float64 (what ``affine`` warps with: float64 gradients stay exact)."""
    check_count(batch, "batch", 0)
    dev = _device(device)
    f64 = torch.float64
    angle = per_sample(angle, batch, "angle", dev, f64)
    translate = per_sample(translate, batch, "translate", dev, f64, (2,))
    scale = per_sample(scale, batch, "scale", dev, f64)
    shear = per_sample(_pair(shear, "shear"), batch, "shear", dev, f64, (2,))
    center = per_sample(center, batch, "center", dev, f64, (2,))
    rot = torch.deg2rad(-angle)
    sx, sy = torch.deg2rad(shear[:, 0]), torch.deg2rad(shear[:, 1])
    # torchvision's RotateScaleShear (y down, so R(rot) turns clockwise on screen)
    a = torch.cos(rot - sy) / torch.cos(sy)
    b = -torch.cos(rot - sy) * torch.tan(sx) / torch.cos(sy) - torch.sin(rot)
    c = torch.sin(rot - sy) / torch.cos(sy)
    d = -torch.sin(rot - sy) * torch.tan(sx) / torch.cos(sy) + torch.cos(rot)
    lin = torch.stack((torch.stack((a, b), -1), torch.stack((c, d), -1)), -2) * scale[:, None, None]
    m = _eye(batch, dev)
    m[:, :2, :2] = lin
    # p' = lin (p - center) + center + translate
    m[:, :2, 2] = center + translate - (lin @ center[:, :, None])[:, :, 0]
    return m


def hflip_matrix(batch: int, width: int, device=None) -> torch.Tensor:
    """Forward ``(batch, 3, 3)`` float32 matrices of a horizontal flip: ``x -> width - 1 - x``."""
    check_count(batch, "batch", 0)
    check_count(width, "width", 1)
    m = _eye(batch, _device(device))
    m[:, 0, 0] = -1
    m[:, 0, 2] = width - 1
    return m.float()


def vflip_matrix(batch: int, height: int, device=None) -> torch.Tensor:
    """Forward ``(batch, 3, 3)`` float32 matrices of a vertical flip: ``y -> height - 1 - y``."""
    check_count(batch, "batch", 0)
    check_count(height, "height", 1)
    m = _eye(batch, _device(device))
    m[:, 1, 1] = -1
    m[:, 1, 2] = height - 1
    return m.float()


def resized_crop_matrix(batch: int, boxes, size, device=None) -> torch.Tensor:
    """Forward ``(batch, 3, 3)`` float32 matrices taking ``boxes`` onto an output of ``size``.

    ``boxes``: ``(4,)`` or ``(batch, 4)`` ``x0, y0, x1, y1`` in pixels, x1, y1 exclusive: the box covers
    pixels ``x0 .. x1 - 1`` (their outer edges ``x0 - 1/2 .. x1 - 1/2``), which land on the output's
    edges ``-1/2 .. W_out - 1/2``. Output pixel ``j`` samples ``x0 + (j + 1/2) (x1 - x0) / W_out - 1/2``:
    the mapping of ``F.interpolate(crop, size, align_corners=False)``.
    """
    return _resized_crop64(batch, boxes, size, device).float()


def _resized_crop64(batch, boxes, size, device) -> torch.Tensor:
    check_count(batch, "batch", 0)
    dev = _device(device)
    h_out, w_out = _size(size, "size")
    _check_boxes(boxes)
    box = per_sample(boxes, batch, "boxes", dev, torch.float64, (4,))
    bw, bh = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    sx, sy = w_out / bw, h_out / bh
    m = _eye(batch, dev)
    m[:, 0, 0] = sx
    m[:, 1, 1] = sy
    m[:, 0, 2] = (0.5 - box[:, 0]) * sx - 0.5
    m[:, 1, 2] = (0.5 - box[:, 1]) * sy - 0.5
    return m


# ------------------------------------------------------------------------------------------- warping


def warp_affine(
    img: torch.Tensor,
    matrix: torch.Tensor,
    size=None,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill=0,
) -> torch.Tensor:
    """Resample ``img`` through the forward affine ``matrix``: output pixel ``p`` takes source ``M^-1 p``.

    img: ``(B, C, H, W)`` or ``(C, H, W)``, uint8 or float32/float16/bfloat16.
    matrix: ``(2, 3)``, ``(3, 3)``, ``(B, 2, 3)`` or ``(B, 3, 3)`` floating, source -> output pixel
    coordinates (the last row of a 3 x 3 is ignored); inverted on the device in float64, no host sync.
    A singular matrix maps every output pixel to source (-2, -2): ``fill`` for "constant".
    size: ``(H_out, W_out)`` or an int for a square; default the input size.
    interpolation: one of ``INTERPOLATIONS``; fill_mode: one of ``FILL_MODES``; fill: number, ``(C,)``
    or ``(B, C)`` in the image's range (used by "constant").
    Returns the image in the input's shape convention, dtype, device and memory format, at ``size``.
    """
    x, restore = as_batch(img)
    b, c, h, w = x.shape
    _check_names(interpolation, fill_mode)
    out_size = (h, w) if size is None else _size(size, "size")
    fill_bc = parse_fill(fill, b, c, x.dtype, x.device)
    return restore(_warp_forward(x, matrix, out_size, interpolation, fill_mode, fill_bc))


def _warp_forward(x, matrix, size, interpolation, fill_mode, fill_bc) -> torch.Tensor:
    """The one way from a forward matrix to the ``warp`` primitive (``warp_affine``, the layers and the
    policies all come here, so the inversion exists once).

    x: ``(B, C, H, W)`` batch; matrix: forward ``(2, 3)`` / ``(3, 3)`` / ``(B, 2, 3)`` / ``(B, 3, 3)``
    floating, any device (moved without a sync); size: ``(H_out, W_out)`` ints; fill_bc: float32
    ``(B, C)`` in the image's range (``parse_fill``); the names are already checked.
    A result that must carry autograd (``wants_grad``) takes the differentiable formulation
    (``gpuaug.functional._autograd.warp``) on every device; otherwise the ``warp`` primitive, without
    autograd.
    """
    inv = _invert(_as_matrix(matrix, x.shape[0], x.device))
    if wants_grad(x, inv, fill_bc):
        return autograd.warp(x, inv, tuple(size), interpolation, fill_mode, fill_bc)
    with torch.no_grad():
        return backend.op("warp", x)(x, inv.float(), tuple(size), interpolation, fill_mode, fill_bc)


def affine(
    img: torch.Tensor,
    angle=0.0,
    translate=(0.0, 0.0),
    scale=1.0,
    shear=(0.0, 0.0),
    center=None,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill=0,
) -> torch.Tensor:
    """Rotate by ``angle`` degrees counter-clockwise on screen (as PIL ``Image.rotate``), scale by
    ``scale`` and shear by ``shear`` degrees ``(x, y)`` (a number: x only) about ``center``, then translate
    by ``translate`` pixels ``(dx, dy)``. Shear follows torchvision (see ``affine_matrix``).

    ``center`` is in pixel-centre coordinates, default the image centre ``((W-1)/2, (H-1)/2)``;
    torchvision's ``center=(cx, cy)`` (pixel-corner coordinates) is ``(cx - 0.5, cy - 0.5)`` here.
    Each parameter is a number / pair or a per-sample tensor ``(B,)`` / ``(B, 2)``, finite. ``scale`` must
    be > 0 (checked for numbers and CPU tensors).
    """
    return _affine(img, angle, translate, scale, shear, center, interpolation, fill_mode, fill)


def _affine(img, angle=0.0, translate=(0.0, 0.0), scale=1.0, shear=(0.0, 0.0), center=None,
            interpolation="bilinear", fill_mode="constant", fill=0, scale_name="scale"):
    x, _ = as_batch(img)
    b, _, h, w = x.shape
    _check_names(interpolation, fill_mode)
    check_positive(scale, scale_name)
    if center is None:
        center = ((w - 1) / 2, (h - 1) / 2)
    m = _affine64(b, angle, translate, scale, shear, center, x.device)
    return warp_affine(img, m, None, interpolation, fill_mode, fill)


def rotate(img, angle, center=None, interpolation="bilinear", fill_mode="constant", fill=0):
    """Rotate by ``angle`` degrees counter-clockwise on screen about ``center`` (default the image
    centre), keeping the size: ``PIL.Image.rotate(angle)``."""
    return affine(img, angle=angle, center=center, interpolation=interpolation, fill_mode=fill_mode,
                  fill=fill)


def translate(img, translate, interpolation="bilinear", fill_mode="constant", fill=0):
    """Move the content by ``translate`` = ``(dx, dy)`` pixels (per sample ``(B, 2)``); fractional shifts
    interpolate."""
    return affine(img, translate=translate, interpolation=interpolation, fill_mode=fill_mode, fill=fill)


def shear_x(img, angle, center=None, interpolation="bilinear", fill_mode="constant", fill=0):
    """Shear along x by ``angle`` degrees about ``center``: ``x' = x - tan(angle) (y - cy)`` (torchvision's
    sign). ``angle``: a number or a tensor broadcasting to ``(B,)``."""
    _one_per_sample(img, angle, "angle")
    return affine(img, shear=_stack_pair(angle, 0.0), center=center, interpolation=interpolation,
                  fill_mode=fill_mode, fill=fill)


def shear_y(img, angle, center=None, interpolation="bilinear", fill_mode="constant", fill=0):
    """Shear along y by ``angle`` degrees about ``center`` (torchvision's ``shear=(0, angle)``)."""
    _one_per_sample(img, angle, "angle")
    return affine(img, shear=_stack_pair(0.0, angle), center=center, interpolation=interpolation,
                  fill_mode=fill_mode, fill=fill)


def scale(img, factor, center=None, interpolation="bilinear", fill_mode="constant", fill=0):
    """Zoom by ``factor`` (> 0; > 1 enlarges) about ``center`` (default the image centre), keeping the
    size."""
    _one_per_sample(img, factor, "factor")
    return _affine(img, scale=factor, center=center, interpolation=interpolation, fill_mode=fill_mode,
                   fill=fill, scale_name="factor")


def _one_per_sample(img, value, name: str) -> None:
    """A wrapper's own parameter checked under its own name (type, shape ``(B,)``, finite)."""
    x, _ = as_batch(img)
    per_sample(value, x.shape[0], name, x.device, torch.float64)


def hflip(img: torch.Tensor) -> torch.Tensor:
    """Mirror left-right, exactly (``x -> W - 1 - x``; the same as ``warp_affine`` with ``hflip_matrix``)."""
    x, restore = as_batch(img)
    return restore(torch.flip(x, dims=(-1,)))


def vflip(img: torch.Tensor) -> torch.Tensor:
    """Mirror top-bottom, exactly (``y -> H - 1 - y``)."""
    x, restore = as_batch(img)
    return restore(torch.flip(x, dims=(-2,)))


def resized_crop(img, boxes, size, interpolation="bilinear", fill_mode="constant", fill=0):
    """Crop ``boxes`` and resize them to ``size`` in one resampling.

    ``boxes``: ``(4,)`` or ``(B, 4)`` ``x0, y0, x1, y1`` in pixels, x1/y1 exclusive (pixels ``x0 .. x1-1``;
    fractional boxes allowed); ``size``: ``(H_out, W_out)`` or an int. The mapping is that of
    ``F.interpolate(img[..., y0:y1, x0:x1], size, mode="bilinear", align_corners=False)`` (nearest:
    ``mode="nearest-exact"``). Unlike crop-then-resize, taps just outside the box read the real
    neighbouring pixels (``fill_mode`` acts only outside the image), so the border pixels of an enlarged
    crop can differ from the crop-first result; no antialiasing when shrinking.
    """
    x, _ = as_batch(img)
    _check_names(interpolation, fill_mode)
    out_size = _size(size, "size")
    m = _resized_crop64(x.shape[0], boxes, out_size, x.device)
    return warp_affine(img, m, out_size, interpolation, fill_mode, fill)


# ------------------------------------------------------------------------------------------- targets


def warp_masks(masks: torch.Tensor, matrix, size, fill_mode: str = "constant", mask_fill=0) -> torch.Tensor:
    """Masks through the forward ``matrix`` (as :func:`warp_affine`): nearest, ``mask_fill`` outside.

    masks: (B, H, W) or (B, M, H, W), any integer, bool or floating dtype (integer ids exact below 2**24);
    matrix: (B, 3, 3) / (B, 2, 3) forward; size: (H_out, W_out). Returns masks of that size and dtype."""
    if not isinstance(masks, torch.Tensor):
        raise TypeError(f"masks must be a torch.Tensor, got {type(masks).__name__}")
    if masks.is_complex():
        raise TypeError(f"masks must be an integer, bool or floating tensor, got dtype {masks.dtype}")
    if masks.dim() not in (3, 4):
        raise ValueError(f"masks must be (B, H, W) or (B, K, H, W), got shape {tuple(masks.shape)}")
    check_real(mask_fill, "mask_fill")
    check_finite(mask_fill, "mask_fill")
    m4 = masks if masks.dim() == 4 else masks.unsqueeze(1)
    b, k, h, w = m4.shape
    m = _as_matrix(matrix, b, masks.device)
    size = _size(size, "size")
    # uint8 masks warp as uint8; everything else as float32 (exact for integer ids below 2**24).
    work = torch.uint8 if masks.dtype in (torch.uint8, torch.bool) else torch.float32
    flat = m4.reshape(b * k, 1, h, w).to(work)
    if b * k == 0:
        out = flat.new_empty((b * k, 1, *size))
    else:
        mk = m.repeat_interleave(k, 0)
        fill_t = torch.full((b * k, 1), float(mask_fill), dtype=torch.float32, device=masks.device)
        out = _warp_forward(flat, mk, size, "nearest", fill_mode, fill_t)
    out = out.reshape(b, k, *size).to(masks.dtype)
    return out if masks.dim() == 4 else out[:, 0]


def warp_boxes(boxes: torch.Tensor, matrix, size) -> torch.Tensor:
    """Boxes (B, K, 4) x0, y0, x1, y1 in pixels (x1, y1 exclusive) through the forward ``matrix``
    ((B, 3, 3) / (B, 2, 3)): the enclosing box of the 4 moved corners, clipped to ``size`` (H_out, W_out)."""
    if not isinstance(boxes, torch.Tensor) or boxes.dim() != 3 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must be a (B, K, 4) tensor, got {getattr(boxes, 'shape', boxes)!r}")
    check_real(boxes, "boxes")
    bx = boxes.to(torch.float32) - 0.5  # box edges in pixel-centre coordinates
    x0, y0, x1, y1 = bx.unbind(-1)
    cx = torch.stack([x0, x1, x1, x0], -1)
    cy = torch.stack([y0, y0, y1, y1], -1)
    size = _size(size, "size")
    mm = _as_matrix(matrix, boxes.shape[0], boxes.device).float()[:, None]
    nx = mm[..., 0, 0:1] * cx + mm[..., 0, 1:2] * cy + mm[..., 0, 2:3]
    ny = mm[..., 1, 0:1] * cx + mm[..., 1, 1:2] * cy + mm[..., 1, 2:3]
    h, w = size
    # Python bounds: a bound tensor built from a list would be a pageable host-to-device copy on CUDA
    out = torch.stack([(nx.amin(-1) + 0.5).clamp(0, w), (ny.amin(-1) + 0.5).clamp(0, h),
                       (nx.amax(-1) + 0.5).clamp(0, w), (ny.amax(-1) + 0.5).clamp(0, h)], -1)
    return out.round().to(boxes.dtype) if not boxes.is_floating_point() else out.to(boxes.dtype)


def warp_keypoints(keypoints: torch.Tensor, matrix) -> torch.Tensor:
    """Keypoints (B, K, 2) (x, y) in pixel coordinates, moved by the forward ``matrix`` (not clipped)."""
    if not isinstance(keypoints, torch.Tensor) or keypoints.dim() != 3 or keypoints.shape[-1] != 2:
        raise ValueError(
            f"keypoints must be a (B, K, 2) tensor, got {getattr(keypoints, 'shape', keypoints)!r}"
        )
    check_real(keypoints, "keypoints")
    mm = _as_matrix(matrix, keypoints.shape[0], keypoints.device).float()
    p = keypoints.to(torch.float32)
    out = p @ mm[:, :2, :2].transpose(1, 2) + mm[:, None, :2, 2]
    return out.to(keypoints.dtype) if keypoints.is_floating_point() else out.round().to(keypoints.dtype)


# ------------------------------------------------------------------------------------------- helpers


def _check_names(interpolation, fill_mode) -> None:
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")


def _size(size, name: str) -> tuple[int, int]:
    if isinstance(size, Integral) and not isinstance(size, bool):
        size = (size, size)
    if (
        not is_sequence(size)
        or len(size) != 2
        or not all(isinstance(s, Integral) and not isinstance(s, bool) for s in size)
    ):
        raise TypeError(f"{name} must be an int or a pair of ints (H, W), got {size!r}")
    if size[0] < 1 or size[1] < 1:
        raise ValueError(f"{name} must be positive, got {tuple(size)}")
    return int(size[0]), int(size[1])


def _pair(value, name: str):
    """A number means (value, 0); pairs and tensors pass through (per_sample checks their shape)."""
    if isinstance(value, Real) and not isinstance(value, bool):
        return (float(value), 0.0)
    return value


def _stack_pair(a, b):
    """(a, b) with one of them a number and the other a number or a per-sample tensor -> a pair or (n, 2)."""
    first = isinstance(a, torch.Tensor)
    t = a if first else b
    if not isinstance(t, torch.Tensor):
        return (a, b)
    if t.dtype == torch.bool or t.is_complex() or t.dim() > 1:
        return t  # per_sample reports it
    t = t.reshape(-1).to(torch.float64)
    zero = torch.zeros_like(t)
    return torch.stack((t, zero) if first else (zero, t), -1)


def _check_boxes(boxes) -> None:
    """x1 > x0 and y1 > y0 for sequences and CPU tensors (CUDA tensors are not read: no sync)."""
    if isinstance(boxes, torch.Tensor):
        if not readable(boxes) or boxes.dim() == 0 or boxes.shape[-1] != 4:
            return  # shape and dtype errors come from per_sample
        if boxes.dtype == torch.bool or boxes.is_complex():
            return
        b = boxes.reshape(-1, 4).double()
        bad = bool(((b[:, 2] <= b[:, 0]) | (b[:, 3] <= b[:, 1])).any())
    elif isinstance(boxes, Sequence) and len(boxes) == 4 and all(isinstance(v, Real) for v in boxes):
        bad = not (boxes[2] > boxes[0] and boxes[3] > boxes[1])
    else:
        return
    if bad:
        raise ValueError(f"boxes must have x1 > x0 and y1 > y0 (x0, y0, x1, y1), got {_show(boxes)}")


def _as_matrix(matrix, batch: int, device: torch.device) -> torch.Tensor:
    """``matrix`` as a float64 ``(batch, 2, 3)`` tensor on ``device`` (no host sync)."""
    if not isinstance(matrix, torch.Tensor):
        try:
            matrix = torch.as_tensor(matrix, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(
                f"matrix must be a tensor of shape (2, 3) or (B, 2, 3), got {type(matrix).__name__}"
            ) from e
    if not matrix.dtype.is_floating_point:
        raise TypeError(f"matrix must be a floating tensor, got dtype {matrix.dtype}")
    shape = tuple(matrix.shape)
    if matrix.dim() not in (2, 3) or shape[-2:] not in ((2, 3), (3, 3)) or (
        matrix.dim() == 3 and shape[0] not in (1, batch)
    ):
        raise ValueError(
            f"matrix must have shape (2, 3), (3, 3), ({batch}, 2, 3) or ({batch}, 3, 3), got {shape}"
        )
    check_finite(matrix, "matrix")
    m = matrix.to(device=device, non_blocking=True).to(torch.float64)
    return m[..., :2, :].expand(batch, 2, 3)


def _invert(m: torch.Tensor) -> torch.Tensor:
    """float64 ``(B, 2, 3)`` inverse of forward affines ``m`` (float64), in closed form: batched, no
    host sync (``torch.linalg.inv`` checks for singular input). Non-finite results become a map to
    (-2, -2)."""
    a, b, c = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    d, e, f = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    det = a * e - b * d
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    inv = torch.stack(
        (torch.stack((ia, ib, -(ia * c + ib * f)), -1), torch.stack((id_, ie, -(id_ * c + ie * f)), -1)), -2
    )
    outside = torch.zeros_like(inv[:1])
    outside[..., 2] = -2.0  # a scalar fill: no host-to-device copy
    ok = torch.isfinite(inv).all(dim=(1, 2), keepdim=True)
    return torch.where(ok, inv, outside)
