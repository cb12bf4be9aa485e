"""KerasAugment: Keras' ``ImageDataGenerator`` augmentation arguments with their meanings, batched and per
sample (docs/contract.md "More ops"; the argument mapping table is in docs/contract.md "KerasAugment").

Per sample, as ``ImageDataGenerator.get_random_transform`` draws them (in its order): ``theta`` uniform in
``+-rotation_range`` degrees; the height shift ``tx`` (rows) and width shift ``ty`` (columns) from
``height_shift_range`` / ``width_shift_range`` (a float: uniform in ``+-r``; an int n: one of ``0 .. n-1``
with a random sign; a list: one of its values with a random sign; a fraction of the size when the largest
value is < 1, else pixels); ``shear`` uniform in ``+-shear_range`` degrees; ``zx, zy`` each uniform in
``zoom_range`` (a float z: ``[1 - z, 1 + z]``); a horizontal / vertical flip with probability 1/2 each when
enabled; a channel shift uniform in ``+-channel_shift_range``; a brightness factor uniform in
``brightness_range``.

Applied as ``ImageDataGenerator.apply_transform``: Keras' output -> input matrix
``R(theta) @ Shift(tx, ty) @ Shear(shear) @ Zoom(zx, zy)`` in (row, column) coordinates about the image
centre, then the flips, all composed into ONE forward matrix and one warp (targets move with it); then the
channel shift (one value for all channels, clamped to the image's own min and max, as Keras'
``apply_channel_shift``) and the brightness factor (PIL's ``ImageEnhance.Brightness``, as Keras).
``cval`` and ``channel_shift_range`` are in Keras' pixel units, uint8 levels (scaled by 1/255 on floating
images in [0, 1]).

Deliberate differences: the centre is the image centre ``((H - 1) / 2, (W - 1) / 2)`` (Keras'
``transform_matrix_offset_center`` uses ``H / 2 + 0.5``, one pixel past it, which shifts its rotated and
zoomed images by up to a pixel); ``fill_mode="constant"`` blends toward ``cval`` over the border pixel
(scipy ``grid-constant``; Keras' scipy ``constant`` cuts at the last pixel centre); ``"wrap"`` is periodic
with period W (scipy ``grid-wrap``; Keras' scipy ``wrap`` has period W - 1, first and last pixel
overlapping).
"""

from __future__ import annotations

from numbers import Real

import torch

from gpuaug import _checks
from gpuaug import functional as F
from gpuaug.layers.base import RandomLayer, Sampler, check_bool, check_int, check_number, to_range
from gpuaug.layers.geometric import warp_targets

#: Keras fill_mode -> gpuaug fill_mode
FILL_MODES = {"constant": "constant", "nearest": "edge", "reflect": "reflect", "wrap": "wrap"}
_ORDERS = {0: "nearest", 1: "bilinear"}


def _shift_spec(value, name: str):
    """Keras' shift range: ``("uniform", r)``, ``("choice", values)`` or None (no shift), and whether the
    values are fractions of the size (largest < 1)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a float, an int or a list of numbers, got bool")
    if isinstance(value, int):  # np.random.choice(n): one of 0 .. n-1
        check_int(value, name, 0)
        return (None if value == 0 else ("int", value)), value < 1
    if isinstance(value, Real):
        r = check_number(value, name, 0.0)
        return (None if r == 0 else ("uniform", r)), r < 1
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, Real) and not isinstance(v, bool) for v in value):
        vals = tuple(float(v) for v in value)
        return ("choice", vals), max(vals) < 1
    raise TypeError(f"{name} must be a float, an int or a non-empty list of numbers, got {value!r}")


def _draw_shift(s: Sampler, spec, fraction: bool, size: int) -> torch.Tensor:
    if spec is None:
        return torch.zeros(s.n, device=s.device)
    kind, v = spec
    if kind == "uniform":
        return s.uniform(-v, v) * (size if fraction else 1.0)
    idx = s.randint(0, v if kind == "int" else len(v))
    if kind == "int":
        t = idx.to(torch.float32)
    else:  # the list's values picked with where (no host-built table on the device path)
        t = torch.zeros(s.n, device=s.device)
        for k, value in enumerate(v):
            t = torch.where(idx == k, value, t)
    t = t * (s.randint(0, 2).to(torch.float32) * 2.0 - 1.0)  # Keras: times a random sign
    return t * size if fraction else t


def keras_matrix(theta, tx, ty, shear, zx, zy, size) -> torch.Tensor:
    """Keras' output -> input map (``apply_affine_transform``) about the image centre, as our forward
    (B, 3, 3) float64 matrix in (x, y) = (column, row) coordinates: angles in degrees, shifts in pixels
    (``tx`` rows, ``ty`` columns), ``zx`` on rows, ``zy`` on columns."""
    h, w = size
    t, sh = torch.deg2rad(theta.double()), torch.deg2rad(shear.double())
    zero, one = torch.zeros_like(t), torch.ones_like(t)

    def mat(*rows):
        return torch.stack([torch.stack(r, -1) for r in rows], -2)

    rot = mat((torch.cos(t), -torch.sin(t), zero), (torch.sin(t), torch.cos(t), zero), (zero, zero, one))
    shift = mat((one, zero, tx.double()), (zero, one, ty.double()), (zero, zero, one))
    shear_m = mat((one, -torch.sin(sh), zero), (zero, torch.cos(sh), zero), (zero, zero, one))
    zoom = mat((zx.double(), zero, zero), (zero, zy.double(), zero), (zero, zero, one))
    oy, ox = (h - 1) / 2.0, (w - 1) / 2.0  # rows, columns (see the module docstring)
    offset = mat((one, zero, one * oy), (zero, one, one * ox), (zero, zero, one))
    reset = mat((one, zero, -one * oy), (zero, one, -one * ox), (zero, zero, one))
    r = offset @ rot @ shift @ shear_m @ zoom @ reset  # output (row, col) -> input (row, col)
    # the same map in (x, y) = (col, row): rows and columns of the matrix swapped
    inv_xy = mat((r[:, 1, 1], r[:, 1, 0], r[:, 1, 2]), (r[:, 0, 1], r[:, 0, 0], r[:, 0, 2]),
                 (zero, zero, one))
    return torch.linalg.inv_ex(inv_xy)[0]  # (no error check: no host sync; a singular map samples outside)


class KerasAugment(RandomLayer):
    """Keras ``ImageDataGenerator``'s augmentation arguments, per sample (see the module docstring):
    ``rotation_range`` (degrees), ``width_shift_range`` / ``height_shift_range`` (fraction < 1 or pixels),
    ``shear_range`` (degrees), ``zoom_range`` (z -> [1 - z, 1 + z], or [lo, hi], per axis),
    ``channel_shift_range`` (pixel units), ``fill_mode`` ("nearest", "reflect", "wrap", "constant") with
    ``cval`` (pixel units), ``horizontal_flip``, ``vertical_flip``, ``brightness_range`` ([lo, hi]),
    ``interpolation_order`` (0 or 1, scipy's order). Geometry is one warp."""

    def __init__(self, rotation_range=0.0, width_shift_range=0.0, height_shift_range=0.0, shear_range=0.0,
                 zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest", cval=0.0,
                 horizontal_flip=False, vertical_flip=False, brightness_range=None, interpolation_order=1,
                 mask_fill=0, p=1.0, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        self.rotation_range = check_number(rotation_range, "rotation_range", 0.0)
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self._shifts = (_shift_spec(height_shift_range, "height_shift_range"),
                        _shift_spec(width_shift_range, "width_shift_range"))
        self.shear_range = check_number(shear_range, "shear_range", 0.0)
        if isinstance(zoom_range, Real) and not isinstance(zoom_range, bool):
            z = check_number(zoom_range, "zoom_range", 0.0)
            self._zoom = (1.0 - z, 1.0 + z)
        elif isinstance(zoom_range, (list, tuple)) and len(zoom_range) == 2:
            self._zoom = to_range(zoom_range, "zoom_range")
        else:
            raise ValueError(f"zoom_range should be a float or a tuple or list of two floats, got "
                             f"{zoom_range!r}")
        self.zoom_range = zoom_range
        self.channel_shift_range = check_number(channel_shift_range, "channel_shift_range", 0.0)
        if not isinstance(fill_mode, str) or fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {tuple(FILL_MODES)} (Keras' names), got "
                             f"{fill_mode!r}")
        self.fill_mode = fill_mode
        self.cval = check_number(cval, "cval", 0.0, 255.0)
        self.horizontal_flip = check_bool(horizontal_flip, "horizontal_flip")
        self.vertical_flip = check_bool(vertical_flip, "vertical_flip")
        if brightness_range is not None:
            if not isinstance(brightness_range, (list, tuple)) or len(brightness_range) != 2:
                raise ValueError(f"brightness_range should be a tuple or list of two floats, got "
                                 f"{brightness_range!r}")
            brightness_range = to_range(brightness_range, "brightness_range", lo=0.0)
        self.brightness_range = brightness_range
        if interpolation_order not in _ORDERS or isinstance(interpolation_order, bool):
            raise ValueError(f"interpolation_order must be 0 or 1, got {interpolation_order!r}")
        self.interpolation_order = interpolation_order
        self.mask_fill = check_number(mask_fill, "mask_fill")

    def _args(self):
        return {"rotation_range": self.rotation_range, "width_shift_range": self.width_shift_range,
                "height_shift_range": self.height_shift_range, "shear_range": self.shear_range,
                "zoom_range": self.zoom_range, "channel_shift_range": self.channel_shift_range,
                "fill_mode": self.fill_mode, "cval": self.cval, "horizontal_flip": self.horizontal_flip,
                "vertical_flip": self.vertical_flip, "brightness_range": self.brightness_range,
                "interpolation_order": self.interpolation_order, "mask_fill": self.mask_fill}

    def _draw(self, s: Sampler, shape):
        h, w = shape[-2:]
        zeros = torch.zeros(s.n, device=s.device)
        rot = self.rotation_range
        out = {"theta": s.uniform(-rot, rot) if rot else zeros}
        (hs, hf), (ws, wf) = self._shifts
        out["tx"] = _draw_shift(s, hs, hf, h)
        out["ty"] = _draw_shift(s, ws, wf, w)
        out["shear"] = s.uniform(-self.shear_range, self.shear_range) if self.shear_range else zeros
        if self._zoom == (1.0, 1.0):
            out["zoom"] = torch.ones(s.n, 2, device=s.device)
        else:
            out["zoom"] = s.uniform(*self._zoom, 2)
        out["flip"] = torch.stack([s.bernoulli(0.5 if self.horizontal_flip else 0.0),
                                   s.bernoulli(0.5 if self.vertical_flip else 0.0)], -1)
        if self.channel_shift_range:
            out["channel_shift"] = s.uniform(-self.channel_shift_range, self.channel_shift_range)
        if self.brightness_range is not None:
            out["brightness"] = s.uniform(*self.brightness_range)
        return out

    def matrix(self, params, size) -> torch.Tensor:
        """The forward (B, 3, 3) float32 matrix of the geometry (flips after the affine, as Keras), the
        identity where ``apply`` is false."""
        h, w = size
        m = keras_matrix(params["theta"], params["tx"], params["ty"], params["shear"], params["zoom"][:, 0],
                         params["zoom"][:, 1], size)
        fh, fv = params["flip"].unbind(-1)
        flip = torch.eye(3, dtype=torch.float64, device=m.device).repeat(m.shape[0], 1, 1)
        flip[:, 0, 0] = torch.where(fh, -1.0, 1.0)
        flip[:, 0, 2] = torch.where(fh, w - 1.0, 0.0)
        flip[:, 1, 1] = torch.where(fv, -1.0, 1.0)
        flip[:, 1, 2] = torch.where(fv, h - 1.0, 0.0)
        m = flip @ m
        eye = torch.eye(3, dtype=torch.float64, device=m.device)
        return torch.where(params["apply"][:, None, None], m, eye).float()

    def _transform(self, img, params, targets):
        size = tuple(img.shape[-2:])
        m = self.matrix(params, size)
        level = _checks.max_value(img.dtype) / 255.0  # Keras' pixel units on this image's scale
        mode = FILL_MODES[self.fill_mode]
        fill = torch.full((), self.cval * level, device=img.device)  # (a number would be a host-built tensor)
        out = F.warp_affine(img, m, None, _ORDERS[self.interpolation_order], mode, fill)
        targets = warp_targets(targets, m, size, mode, self.mask_fill)
        a = params["apply"]
        if "channel_shift" in params:
            shift = torch.where(a, params["channel_shift"], 0.0) * level
            out = F.channel_shift(out, shift[:, None], bounds="image")
        if "brightness" in params:
            out = F.adjust_brightness(out, torch.where(a, params["brightness"], 1.0))
        return out, targets


__all__ = ["KerasAugment", "keras_matrix"]
