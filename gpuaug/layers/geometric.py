"""Geometric layers: each draws a per-sample forward matrix (B, 3, 3) and warps ONCE.

Matrices map SOURCE pixel coordinates (x, y) to OUTPUT coordinates (docs/contract.md "Geometry");
pixel centres at integers. They are built by ``gpuaug.functional``'s builders (``affine_matrix``,
``hflip_matrix``, ``vflip_matrix``, ``resized_crop_matrix``) and resampled by ``warp_affine`` (targets by
``warp_masks``, ``warp_boxes``, ``warp_keypoints``); ``center`` arguments are torchvision's (pixel
corners), ``(cx - 1/2, cy - 1/2)`` in pixel-centre coordinates. A sample that is not selected gets the
identity matrix (for crops: the deterministic centre crop / full-image resize, so the output size stays
fixed). Compose multiplies the
matrices of consecutive geometric layers and warps once (see ``container.py``).

Targets follow the same matrix: ``masks`` (B, H, W) or (B, K, H, W) of any dtype (nearest, filled with
``mask_fill``), ``boxes`` (B, K, 4) x0, y0, x1, y1 with x1, y1 exclusive (enclosing box of the moved
corners, clipped to the output), ``keypoints`` (B, K, 2) (moved, not clipped).
"""

from __future__ import annotations

import math
from numbers import Real

import torch

from gpuaug import functional as F
from gpuaug.functional import geometry as G
from gpuaug.layers.base import (
    RandomLayer,
    Sampler,
    check_number,
    check_size,
    to_range,
)

INTERPOLATIONS = G.INTERPOLATIONS
FILL_MODES = G.FILL_MODES


# ---------------------------------------------------------------------------------------------- warping


def warp_all(img, m, size, interpolation, fill_mode, fill, mask_fill, targets: dict):
    """The (B, C, H, W) batch and its targets through one forward matrix ``m`` (B, 3, 3) to ``size``;
    returns ``(img, targets)`` (labels and box_labels unchanged)."""
    out = F.warp_affine(img, m, size, interpolation, fill_mode, fill)
    return out, warp_targets(targets, m, size, fill_mode, mask_fill)


def warp_targets(targets: dict, m, size, fill_mode, mask_fill) -> dict:
    """The targets of a batch through the forward matrix ``m`` (B, 3, 3) to ``size`` (labels and box_labels
    unchanged): what :func:`warp_all` does besides the image."""
    targets = dict(targets)
    if "masks" in targets:
        targets["masks"] = F.warp_masks(targets["masks"], m, size, fill_mode, mask_fill)
    if "boxes" in targets:
        targets["boxes"] = F.warp_boxes(targets["boxes"], m, size)
    if "keypoints" in targets:
        targets["keypoints"] = F.warp_keypoints(targets["keypoints"], m)
    return targets


# ----------------------------------------------------------------------------------------------- layers


def _check_choice(value, name: str, choices) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {choices}, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _check_center(center):
    if center is None:
        return None
    if (not isinstance(center, (list, tuple)) or len(center) != 2
            or not all(isinstance(v, Real) and not isinstance(v, bool) for v in center)):
        raise TypeError(f"center must be a pair of numbers (x, y), got {center!r}")
    return (check_number(center[0], "center"), check_number(center[1], "center"))


def _check_fill(fill):
    """A number, a sequence of 1 or 3 numbers (finite: the range depends on the image's dtype and is
    checked at the call), or a tensor (checked at the call)."""
    if fill is None:
        return 0
    if isinstance(fill, bool):
        raise TypeError("fill must be a number or a sequence of numbers, got bool")
    if isinstance(fill, Real):
        return check_number(fill, "fill")
    if isinstance(fill, (list, tuple)) and all(isinstance(v, Real) and not isinstance(v, bool) for v in fill):
        if len(fill) not in (1, 3):
            raise ValueError(f"fill must have 1 or 3 values (one per channel), got {len(fill)}")
        return [check_number(v, "fill") for v in fill]
    if isinstance(fill, torch.Tensor):
        return fill
    raise TypeError(f"fill must be a number or a sequence of numbers, got {type(fill).__name__}")


class _Geometric(RandomLayer):
    """Shared argument handling for the geometric layers (not a public class)."""

    kind = "geometric"
    #: whether the result depends on the interpolation / on what lies outside the image (flips move whole
    #: pixels inside the image: neither; integer crops: only the fill). Compose fuses a layer into a run
    #: of others when the settings it depends on agree.
    uses_interpolation = True
    uses_fill = True
    #: whether the layer's op is its matrix, so Compose may fold it into a run's one warp (an antialiased
    #: ``Resize`` is not: it runs its own op, its matrix serves the targets)
    fusable = True

    def __init__(self, interpolation="bilinear", fill_mode="constant", fill=0, mask_fill=0, **kw):
        super().__init__(**kw)
        self.interpolation = _check_choice(interpolation, "interpolation", INTERPOLATIONS)
        self.fill_mode = _check_choice(fill_mode, "fill_mode", FILL_MODES)
        self.fill = _check_fill(fill)
        self.mask_fill = check_number(mask_fill, "mask_fill")

    def _warp_args(self) -> dict:
        return {
            "interpolation": self.interpolation,
            "fill_mode": self.fill_mode,
            "fill": self.fill,
            "mask_fill": self.mask_fill,
        }

    def pivot(self, size: tuple[int, int]) -> tuple[float, float]:
        """The rotation centre of a layer with a ``center`` (RandomAffine, RandomRotation) for images of
        ``size``, in pixel-centre coordinates (a compiled plan packs it too)."""
        return _center(size, self.center)

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """Output (H, W) for an input of (H, W); same for every sample."""
        return size

    def matrix(self, params: dict, size: tuple[int, int]) -> torch.Tensor:
        """Forward (B, 3, 3) for an input of ``size`` (H, W), identity where ``params["apply"]`` is false."""
        raise NotImplementedError

    def _transform(self, img, params, targets):
        size = tuple(img.shape[-2:])
        m = self.matrix(params, size)
        return warp_all(img, m, self.output_size(size), self.interpolation, self.fill_mode, self.fill,
                        self.mask_fill, targets)


def _gated(apply: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return torch.where(apply[:, None, None], m, torch.eye(3, device=m.device, dtype=m.dtype))


def _center(size, center=None) -> tuple[float, float]:
    """Rotation centre in our pixel-centre coordinates: the image centre, or torchvision's ``center``
    (pixel-corner coordinates, as PIL) moved by -1/2."""
    h, w = size
    if center is None:
        return ((w - 1) / 2.0, (h - 1) / 2.0)
    return (center[0] - 0.5, center[1] - 0.5)


class RandomAffine(_Geometric):
    """torchvision's RandomAffine per sample: ``degrees`` (x or (a, b)), ``translate`` (fractions of
    (W, H); the shift is rounded to whole pixels), ``scale`` (range), ``shear`` (x, (a, b) for x, or
    (a, b, c, d) for x and y, degrees), ``center`` (torchvision's: pixel corners, ``(W/2, H/2)`` is the
    image centre; default the image centre).

    A draw ``(angle, translate, scale, shear)`` (``return_params``) gives exactly torchvision's
    ``F.affine(img, angle, translate, scale, shear, center)``: its matrix
    ``T(translate) C R(angle) Shear_y(sy) Shear_x(sx) scale C^-1`` with
    ``Shear_x(s) = [[1, -tan s], [0, 1]]`` (``gpuaug.functional.affine_matrix``). As in torchvision, a
    positive angle turns CLOCKWISE on screen here (torchvision's ``F.affine``), unlike ``RandomRotation``
    and ``gpuaug.functional.affine`` (counter-clockwise, as ``F.rotate`` / PIL); for a symmetric
    ``degrees`` range the two are the same distribution."""

    def __init__(
        self,
        degrees=0,
        translate=None,
        scale=None,
        shear=None,
        interpolation="nearest",
        fill_mode="constant",
        fill=0,
        center=None,
        mask_fill=0,
        p=1.0,
        generator=None,
        same_on_batch=False,
    ):
        super().__init__(
            interpolation, fill_mode, fill, mask_fill, p=p, generator=generator, same_on_batch=same_on_batch
        )
        self.degrees = to_range(degrees, "degrees")
        if translate is not None:
            if (
                not isinstance(translate, (list, tuple))
                or len(translate) != 2
                or not all(isinstance(v, Real) and not isinstance(v, bool) for v in translate)
            ):
                raise TypeError(f"translate must be a pair of fractions (a, b), got {translate!r}")
            if not all(0.0 <= float(v) <= 1.0 for v in translate):
                raise ValueError(f"translate fractions must be in [0, 1], got {translate!r}")
            translate = (float(translate[0]), float(translate[1]))
        self.translate = translate
        self.scale = None if scale is None else to_range(scale, "scale", lo=0.0)
        if self.scale is not None and self.scale[0] <= 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
        if shear is None:
            self.shear = None
        elif isinstance(shear, (list, tuple)) and len(shear) == 4:
            self.shear = to_range(shear[:2], "shear") + to_range(shear[2:], "shear")
        else:
            self.shear = to_range(shear, "shear") + (0.0, 0.0)
        self.center = _check_center(center)

    def _args(self):
        return {
            "degrees": self.degrees,
            "translate": self.translate,
            "scale": self.scale,
            "shear": self.shear,
            "center": self.center,
            **self._warp_args(),
        }

    def _draw(self, s: Sampler, shape):
        h, w = shape[-2:]
        out = {"angle": s.uniform(*self.degrees)}
        if self.translate is not None:
            mx, my = self.translate[0] * w, self.translate[1] * h
            # torchvision rounds the translation to whole pixels
            out["translate"] = torch.stack([s.uniform(-mx, mx), s.uniform(-my, my)], -1).round()
        if self.scale is not None:
            out["scale"] = s.uniform(*self.scale)
        if self.shear is not None:
            out["shear"] = torch.stack([s.uniform(*self.shear[:2]), s.uniform(*self.shear[2:])], -1)
        return out

    def matrix(self, params, size):
        angle = params["angle"]
        m = G.affine_matrix(
            angle.shape[0],
            -angle,  # torchvision's F.affine turns clockwise; affine_matrix counter-clockwise
            params.get("translate", (0.0, 0.0)),
            params.get("scale", 1.0),
            params.get("shear", (0.0, 0.0)),
            self.pivot(size),
            angle.device,
        )
        return _gated(params["apply"], m)


class RandomRotation(_Geometric):
    """torchvision's RandomRotation per sample: ``degrees`` counter-clockwise on screen (``F.rotate``, PIL),
    about ``center`` (torchvision's pixel-corner coordinates; default the image centre). ``expand`` is not
    supported: the output keeps the size."""

    def __init__(
        self,
        degrees,
        interpolation="nearest",
        fill_mode="constant",
        fill=0,
        center=None,
        mask_fill=0,
        p=1.0,
        generator=None,
        same_on_batch=False,
    ):
        super().__init__(
            interpolation, fill_mode, fill, mask_fill, p=p, generator=generator, same_on_batch=same_on_batch
        )
        self.degrees = to_range(degrees, "degrees")
        self.center = _check_center(center)

    def _args(self):
        return {"degrees": self.degrees, "center": self.center, **self._warp_args()}

    def _draw(self, s, shape):
        return {"angle": s.uniform(*self.degrees)}

    def matrix(self, params, size):
        angle = params["angle"]
        m = G.affine_matrix(angle.shape[0], angle, center=self.pivot(size), device=angle.device)
        return _gated(params["apply"], m)


class RandomHorizontalFlip(_Geometric):
    """Mirror left-right with probability ``p`` per sample: x' = W - 1 - x."""

    uses_interpolation = False
    uses_fill = False

    def __init__(self, p=0.5, generator=None, same_on_batch=False, mask_fill=0):
        super().__init__(
            "nearest", "constant", 0, mask_fill, p=p, generator=generator, same_on_batch=same_on_batch
        )

    def _args(self):
        return {"p": self.p}

    def matrix(self, params, size):
        a = params["apply"]
        return _gated(a, G.hflip_matrix(a.shape[0], size[1], a.device))


class RandomVerticalFlip(_Geometric):
    """Mirror top-bottom with probability ``p`` per sample: y' = H - 1 - y."""

    uses_interpolation = False
    uses_fill = False

    def __init__(self, p=0.5, generator=None, same_on_batch=False, mask_fill=0):
        super().__init__(
            "nearest", "constant", 0, mask_fill, p=p, generator=generator, same_on_batch=same_on_batch
        )

    def _args(self):
        return {"p": self.p}

    def matrix(self, params, size):
        a = params["apply"]
        return _gated(a, G.vflip_matrix(a.shape[0], size[0], a.device))


class RandomResizedCrop(_Geometric):
    """torchvision's RandomResizedCrop per sample: a box of area fraction in ``scale`` and aspect ratio
    (w / h, log-uniform) in ``ratio`` is resized to ``size``. As torchvision: 10 tries, the first box that
    fits wins, else the whole image clamped to the ratio range (all tries drawn at once, no host sync).
    Samples not selected (``p < 1``) get the full image resized. Bilinear without antialiasing."""

    TRIES = 10

    def __init__(
        self,
        size,
        scale=(0.08, 1.0),
        ratio=(3.0 / 4.0, 4.0 / 3.0),
        interpolation="bilinear",
        fill_mode="constant",
        fill=0,
        mask_fill=0,
        p=1.0,
        generator=None,
        same_on_batch=False,
    ):
        super().__init__(
            interpolation, fill_mode, fill, mask_fill, p=p, generator=generator, same_on_batch=same_on_batch
        )
        self.size = check_size(size)
        self.scale = to_range(scale, "scale", lo=0.0)
        self.ratio = to_range(ratio, "ratio", lo=0.0)
        if self.scale[1] <= 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
        if self.ratio[0] <= 0:
            raise ValueError(f"ratio must be positive, got {ratio!r}")

    def _args(self):
        return {"size": self.size, "scale": self.scale, "ratio": self.ratio, **self._warp_args()}

    def output_size(self, size):
        return self.size

    def _draw(self, s, shape):
        h, w = shape[-2:]
        area = float(h * w)
        t = self.TRIES
        target = s.uniform(*self.scale, t) * area
        logr = s.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), t)
        ar = torch.exp(logr)
        cw = torch.sqrt(target * ar).round()
        ch = torch.sqrt(target / ar).round()
        ok = (cw > 0) & (ch > 0) & (cw <= w) & (ch <= h)
        first = torch.argmax(ok.to(torch.uint8), 1, keepdim=True)
        found = ok.any(1)
        cw, ch = cw.gather(1, first)[:, 0], ch.gather(1, first)[:, 0]
        ux, uy = s.uniform(0.0, 1.0), s.uniform(0.0, 1.0)
        fw, fh, fx, fy = self.fallback_box(h, w)
        cw = torch.where(found, cw, float(fw))
        ch = torch.where(found, ch, float(fh))
        # offsets: integers uniform in [0, W - w] (torchvision's randint), centred for the fallback
        x0 = torch.where(found, torch.floor(ux * (w - cw + 1)), float(fx))
        y0 = torch.where(found, torch.floor(uy * (h - ch + 1)), float(fy))
        return {"box": torch.stack([x0, y0, cw, ch], -1)}

    def fallback_box(self, h: int, w: int) -> tuple[int, int, int, int]:
        """torchvision's fallback when no try fits: the central crop of the whole image clamped to the ratio
        range, ``(width, height, x0, y0)`` (a compiled plan packs it too)."""
        in_ratio = w / h
        if in_ratio < self.ratio[0]:
            fw, fh = w, round(w / self.ratio[0])
        elif in_ratio > self.ratio[1]:
            fw, fh = round(h * self.ratio[1]), h
        else:
            fw, fh = w, h
        return fw, fh, (w - fw) // 2, (h - fh) // 2

    def matrix(self, params, size):
        h, w = size
        box = params["box"]
        full = torch.tensor([0.0, 0.0, float(w), float(h)]).to(box.device, non_blocking=True)
        box = torch.where(params["apply"][:, None], box, full)
        x0, y0, w, h = box.unbind(-1)
        boxes = torch.stack([x0, y0, x0 + w, y0 + h], -1)  # whole pixels: exact in float32
        return G.resized_crop_matrix(box.shape[0], boxes, self.size, box.device)


class RandomCrop(_Geometric):
    """torchvision's RandomCrop: optional ``padding`` (int, (lr, tb) or (l, t, r, b)), ``pad_if_needed``,
    then a ``size`` crop at a random integer offset. Padding is done by ``fill_mode`` inside the one
    warp (torchvision's padding_mode "reflect" is our "mirror", its "symmetric" our "reflect").
    Samples not selected (``p < 1``) get the centre crop."""

    uses_interpolation = False

    def __init__(
        self,
        size,
        padding=None,
        pad_if_needed=False,
        fill=0,
        fill_mode="constant",
        mask_fill=0,
        p=1.0,
        generator=None,
        same_on_batch=False,
    ):
        super().__init__(
            "nearest", fill_mode, fill, mask_fill, p=p, generator=generator, same_on_batch=same_on_batch
        )
        self.size = check_size(size)
        if padding is None:
            pad = (0, 0, 0, 0)
        elif isinstance(padding, int) and not isinstance(padding, bool):
            pad = (padding,) * 4
        elif (
            isinstance(padding, (list, tuple))
            and len(padding) in (2, 4)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in padding)
        ):
            pad = tuple(padding) * 2 if len(padding) == 2 else tuple(padding)
        else:
            raise TypeError(f"padding must be an int or a sequence of 2 or 4 ints, got {padding!r}")
        if min(pad) < 0:
            raise ValueError(f"padding must be non-negative, got {padding!r}")
        self.padding = padding
        self._pad = pad  # left, top, right, bottom
        if not isinstance(pad_if_needed, bool):
            raise TypeError(f"pad_if_needed must be a bool, got {type(pad_if_needed).__name__}")
        self.pad_if_needed = pad_if_needed

    def _args(self):
        return {
            "size": self.size,
            "padding": self.padding,
            "pad_if_needed": self.pad_if_needed,
            "fill": self.fill,
            "fill_mode": self.fill_mode,
            "mask_fill": self.mask_fill,
        }

    def output_size(self, size):
        return self.size

    def _padded(self, size):
        l, t, r, b = self._pad
        h, w = size[0] + t + b, size[1] + l + r
        if self.pad_if_needed:
            # torchvision pads both sides by the shortfall
            if w < self.size[1]:
                dw = self.size[1] - w
                l, r, w = l + dw, r + dw, w + 2 * dw
            if h < self.size[0]:
                dh = self.size[0] - h
                t, b, h = t + dh, b + dh, h + 2 * dh
        if h < self.size[0] or w < self.size[1]:
            raise ValueError(
                f"size {self.size} is larger than the (padded) input {(h, w)}; "
                f"set pad_if_needed=True or padding"
            )
        return l, t, h, w

    def _draw(self, s, shape):
        _, _, ph, pw = self._padded(shape[-2:])
        ox = torch.floor(s.uniform(0.0, 1.0) * (pw - self.size[1] + 1))
        oy = torch.floor(s.uniform(0.0, 1.0) * (ph - self.size[0] + 1))
        return {"offset": torch.stack([ox, oy], -1)}

    def matrix(self, params, size):
        l, t, ph, pw = self._padded(size)
        off = params["offset"]
        centre = torch.tensor([float((pw - self.size[1]) // 2), float((ph - self.size[0]) // 2)])
        off = torch.where(params["apply"][:, None], off, centre.to(off.device, non_blocking=True))
        shift = torch.stack([l - off[:, 0], t - off[:, 1]], -1)
        return G.affine_matrix(off.shape[0], translate=shift, device=off.device)


__all__ = [
    "RandomAffine",
    "RandomRotation",
    "RandomHorizontalFlip",
    "RandomVerticalFlip",
    "RandomResizedCrop",
    "RandomCrop",
]
