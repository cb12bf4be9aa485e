"""Pixel layers: color jitter, single color ops, the uint8 pointwise ops, erasing, Normalize.

Pointwise layers (brightness, contrast, posterize, solarize, equalize, autocontrast, invert) describe
themselves as steps of ``gpuaug.functional.pointwise_chain``: on uint8 a chain of them is one
256-entry table per image and channel, and Compose fuses consecutive ones into one pass. A sample that is
not selected gets the identity parameter (factor 1, 8 bits) or, for ops without a parameter, an identity
table. The other layers call the functional ops with identity factors (1, hue 0) where not selected.
Pixel layers leave masks, boxes and keypoints unchanged.
"""

from __future__ import annotations

import math
from numbers import Real

import torch

from gpuaug import functional as F
from gpuaug._checks import check_range, max_value
from gpuaug.layers.base import RandomLayer, Sampler, check_int, check_number, to_range


def _factor_range(value, name: str, center: float = 1.0, bound: float = math.inf):
    """torchvision ColorJitter ranges: x -> [max(0, c - x), c + x], or a pair; None -> disabled."""
    if value is None:
        return None
    if isinstance(value, Real) and not isinstance(value, bool):
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be finite, got {value!r}")
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value!r}")
        lo, hi = center - float(value), center + float(value)
        lo = max(lo, 0.0) if center == 1.0 else lo
        rng = (lo, hi)
    else:
        rng = to_range(value, name)
    if center == 1.0 and rng[0] < 0:
        raise ValueError(f"{name} factors must be non-negative, got {value!r}")
    if rng[0] < -bound or rng[1] > bound:
        raise ValueError(f"{name} must lie in [{-bound}, {bound}], got {value!r}")
    return None if rng == (center, center) else rng


def _gated(apply: torch.Tensor, value: torch.Tensor, identity: float) -> torch.Tensor:
    return torch.where(apply, value, identity)


class _Pointwise(RandomLayer):
    """uint8-table ops; subclasses implement ``lut_steps``."""

    kind = "pointwise"

    def lut_steps(self, params: dict, img: torch.Tensor) -> list:
        """``pointwise_chain`` steps (op, per-sample params, apply mask or None) for these params."""
        raise NotImplementedError

    @staticmethod
    def run_steps(img: torch.Tensor, steps: list) -> torch.Tensor:
        return F.pointwise_chain(img, steps)

    def _transform(self, img, params, targets):
        return self.run_steps(img, self.lut_steps(params, img)), targets


class RandomBrightness(_Pointwise):
    """Brightness factor per sample from ``brightness`` (x -> [max(0, 1 - x), 1 + x], or (min, max))."""

    def __init__(self, brightness=0.2, p=1.0, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        self.brightness = _factor_range(brightness, "brightness") or (1.0, 1.0)

    def _args(self):
        return {"brightness": self.brightness}

    def _draw(self, s, shape):
        return {"factor": s.uniform(*self.brightness)}

    def lut_steps(self, params, img):
        return [("brightness", _gated(params["apply"], params["factor"], 1.0), None)]


class RandomContrast(_Pointwise):
    """Contrast factor per sample from ``contrast`` (x -> [max(0, 1 - x), 1 + x], or (min, max))."""

    def __init__(self, contrast=0.2, p=1.0, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        self.contrast = _factor_range(contrast, "contrast") or (1.0, 1.0)

    def _args(self):
        return {"contrast": self.contrast}

    def _draw(self, s, shape):
        return {"factor": s.uniform(*self.contrast)}

    def lut_steps(self, params, img):
        return [("contrast", _gated(params["apply"], params["factor"], 1.0), None)]


class RandomPosterize(_Pointwise):
    """torchvision's RandomPosterize: keep ``bits`` (1..8, or an int range (lo, hi) drawn per sample)."""

    def __init__(self, bits, p=0.5, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        if isinstance(bits, (list, tuple)):
            if len(bits) != 2:
                raise ValueError(f"bits must be an int or a pair (lo, hi), got {bits!r}")
            self.bits = (check_int(bits[0], "bits", 1, 8), check_int(bits[1], "bits", 1, 8))
            if self.bits[0] > self.bits[1]:
                raise ValueError(f"bits must be (lo, hi) with lo <= hi, got {bits!r}")
        else:
            b = check_int(bits, "bits", 1, 8)
            self.bits = (b, b)

    def _args(self):
        return {"bits": self.bits[0] if self.bits[0] == self.bits[1] else self.bits}

    def _draw(self, s, shape):
        return {"bits": s.randint(self.bits[0], self.bits[1] + 1).to(torch.float32)}

    def lut_steps(self, params, img):
        # the apply mask, not 8 bits where not selected: on floats 8 bits still quantizes to 256 levels
        return [("posterize", params["bits"], params["apply"])]


class RandomSolarize(_Pointwise):
    """torchvision's RandomSolarize: invert values >= ``threshold`` (in the image's range: 0..255 for
    uint8, [0, 1] for floats; a pair draws per sample)."""

    def __init__(self, threshold, p=0.5, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        if isinstance(threshold, (list, tuple)):
            self.threshold = to_range(threshold, "threshold", lo=0.0, hi=255.0)
        else:
            t = check_number(threshold, "threshold", 0.0, 255.0)
            self.threshold = (t, t)

    def _args(self):
        t = self.threshold
        return {"threshold": t[0] if t[0] == t[1] else t}

    def _draw(self, s, shape):
        return {"threshold": s.uniform(*self.threshold)}

    def lut_steps(self, params, img):
        # the range against the image's dtype, on the constructor's numbers: on every device, no sync
        check_range(self.threshold, 0.0, max_value(img.dtype), "threshold", "(the image's value range)")
        return [("solarize", params["threshold"], params["apply"])]


class _NoParam(_Pointwise):
    op = ""

    def __init__(self, p=0.5, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)

    def lut_steps(self, params, img):
        return [(self.op, None, params["apply"])]


class RandomEqualize(_NoParam):
    """Histogram equalization (per image and channel) with probability ``p`` per sample."""

    op = "equalize"


class RandomAutocontrast(_NoParam):
    """Stretch each channel's min..max to the full range with probability ``p`` per sample."""

    op = "autocontrast"


class RandomInvert(_NoParam):
    """``max - x`` with probability ``p`` per sample."""

    op = "invert"


# ---------------------------------------------------------------------------------------- non-pointwise


class RandomSaturation(RandomLayer):
    """Saturation factor per sample from ``saturation`` (x -> [max(0, 1 - x), 1 + x], or (min, max));
    1-channel images pass unchanged."""

    def __init__(self, saturation=0.2, p=1.0, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        self.saturation = _factor_range(saturation, "saturation") or (1.0, 1.0)

    def _args(self):
        return {"saturation": self.saturation}

    def _draw(self, s, shape):
        return {"factor": s.uniform(*self.saturation)}

    def _transform(self, img, params, targets):
        if img.shape[1] == 1:  # gray stays gray (as torchvision's layer)
            return img.clone(memory_format=torch.preserve_format), targets
        f = _gated(params["apply"], params["factor"], 1.0)
        return F.adjust_saturation(img, f), targets


class RandomHue(RandomLayer):
    """Hue shift per sample from ``hue`` (x -> [-x, x] turns, x <= 0.5, or a pair in [-0.5, 0.5]);
    1-channel images pass unchanged."""

    def __init__(self, hue=0.1, p=1.0, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        self.hue = _factor_range(hue, "hue", center=0.0, bound=0.5) or (0.0, 0.0)

    def _args(self):
        return {"hue": self.hue}

    def _draw(self, s, shape):
        return {"delta": s.uniform(*self.hue)}

    def _transform(self, img, params, targets):
        if img.shape[1] == 1:  # a gray image has no hue
            return img.clone(memory_format=torch.preserve_format), targets
        d = _gated(params["apply"], params["delta"], 0.0)
        return F.adjust_hue(img, d), targets


class RandomGrayscale(RandomLayer):
    """torchvision's RandomGrayscale: with probability ``p`` a sample becomes gray (3 equal channels for
    RGB; 1-channel images are unchanged). Done as saturation factor 0, identity factor 1 elsewhere."""

    def __init__(self, p=0.1, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)

    def _transform(self, img, params, targets):
        if img.shape[1] == 1:
            return img.clone(memory_format=torch.preserve_format), targets
        f = torch.where(params["apply"], 0.0, 1.0)
        return F.adjust_saturation(img, f), targets


class RandomSharpness(RandomLayer):
    """torchvision's RandomAdjustSharpness: ``sharpness_factor`` (a number, or a range drawn per sample)
    with probability ``p`` per sample."""

    def __init__(self, sharpness_factor=2.0, p=0.5, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        if isinstance(sharpness_factor, (list, tuple)):
            self.sharpness_factor = to_range(sharpness_factor, "sharpness_factor", lo=0.0)
        else:
            f = check_number(sharpness_factor, "sharpness_factor", 0.0)
            self.sharpness_factor = (f, f)

    def _args(self):
        f = self.sharpness_factor
        return {"sharpness_factor": f[0] if f[0] == f[1] else f}

    def _draw(self, s, shape):
        return {"factor": s.uniform(*self.sharpness_factor)}

    def _transform(self, img, params, targets):
        f = _gated(params["apply"], params["factor"], 1.0)
        return F.adjust_sharpness(img, f), targets


class ColorJitter(RandomLayer):
    """torchvision's ColorJitter per sample: brightness, contrast, saturation (factor ranges, x ->
    [max(0, 1 - x), 1 + x]) and hue (x -> [-x, x] turns, x <= 0.5). Applied in the fixed order
    brightness, contrast, saturation, hue (torchvision shuffles the order per call); on uint8, brightness
    and contrast are one lookup table."""

    def __init__(
        self, brightness=0, contrast=0, saturation=0, hue=0, p=1.0, generator=None, same_on_batch=False
    ):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        self.brightness = _factor_range(brightness, "brightness")
        self.contrast = _factor_range(contrast, "contrast")
        self.saturation = _factor_range(saturation, "saturation")
        self.hue = _factor_range(hue, "hue", center=0.0, bound=0.5)

    def _args(self):
        return {
            "brightness": self.brightness or 0,
            "contrast": self.contrast or 0,
            "saturation": self.saturation or 0,
            "hue": self.hue or 0,
        }

    def _draw(self, s, shape):
        out = {}
        for name in ("brightness", "contrast", "saturation", "hue"):
            rng = getattr(self, name)
            if rng is not None:
                out[name] = s.uniform(*rng)
        return out

    def _transform(self, img, params, targets):
        a = params["apply"]
        steps = [
            (name, _gated(a, params[name], 1.0), None)
            for name in ("brightness", "contrast")
            if name in params
        ]
        out = F.pointwise_chain(img, steps) if steps else img
        rgb = img.shape[1] == 3  # saturation and hue leave gray images as they are
        if "saturation" in params and rgb:
            out = F.adjust_saturation(out, _gated(a, params["saturation"], 1.0))
        if "hue" in params and rgb:
            out = F.adjust_hue(out, _gated(a, params["hue"], 0.0))
        if out is img:
            out = img.clone(memory_format=torch.preserve_format)
        return out, targets


class Normalize(RandomLayer):
    """``(x - mean) / std`` per channel -> floating output (float32; uint8 input is scaled to [0, 1]
    first, as ``ToTensor`` + ``Normalize`` in torchvision). Deterministic: runs in eval mode too."""

    deterministic = True

    def __init__(self, mean, std):
        super().__init__()
        self.mean = _channel_values(mean, "mean")
        self.std = _channel_values(std, "std")
        if any(v <= 0 for v in self.std):
            raise ValueError(f"std must be positive, got {std!r}")

    def _args(self):
        return {"mean": self.mean, "std": self.std}

    def _transform(self, img, params, targets):
        return F.normalize(img, self.mean, self.std), targets


def _channel_values(value, name):
    if isinstance(value, Real) and not isinstance(value, bool):
        return [check_number(value, name)]
    if (
        isinstance(value, (list, tuple))
        and len(value) in (1, 3)
        and all(isinstance(v, Real) and not isinstance(v, bool) for v in value)
    ):
        return [check_number(v, name) for v in value]  # finite
    raise TypeError(f"{name} must be a number or a sequence of 1 or 3 numbers, got {value!r}")


class RandomErasing(RandomLayer):
    """torchvision's RandomErasing (cutout), per sample, with timm's ``count``: ``count`` boxes (an int, or
    (min, max) drawn per sample), each of area fraction in ``scale`` and aspect ratio (h / w, log-uniform)
    in ``ratio``; 10 tries per box, a box that never fits is skipped (as torchvision). ``value``: a number
    or per-channel sequence in the image's range, or ``"random"`` for per-pixel noise (uniform in the
    value range)."""

    TRIES = 10

    def __init__(
        self,
        p=0.5,
        scale=(0.02, 0.33),
        ratio=(0.3, 3.3),
        value=0,
        count=1,
        generator=None,
        same_on_batch=False,
    ):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        self.scale = to_range(scale, "scale", lo=0.0, hi=1.0)
        self.ratio = to_range(ratio, "ratio", lo=0.0)
        if self.ratio[0] <= 0:
            raise ValueError(f"ratio must be positive, got {ratio!r}")
        if isinstance(value, str):
            if value != "random":
                raise ValueError(f"value must be a number, a sequence or 'random', got {value!r}")
        elif isinstance(value, (list, tuple)):
            if len(value) not in (1, 3):
                raise ValueError(f"value must have 1 or 3 values (one per channel), got {len(value)}")
            value = [check_number(v, "value") for v in value]
        else:
            value = check_number(value, "value")
        self.value = value
        if isinstance(count, (list, tuple)):
            if len(count) != 2:
                raise ValueError(f"count must be an int or a pair (min, max), got {count!r}")
            self.count = (check_int(count[0], "count", 0), check_int(count[1], "count", 1))
            if self.count[0] > self.count[1]:
                raise ValueError(f"count must be (min, max) with min <= max, got {count!r}")
        else:
            c = check_int(count, "count", 1)
            self.count = (c, c)

    def _args(self):
        c = self.count
        return {
            "scale": self.scale,
            "ratio": self.ratio,
            "value": self.value,
            "count": c[0] if c[0] == c[1] else c,
        }

    def _draw(self, s: Sampler, shape):
        h, w = shape[-2:]
        k, t = self.count[1], self.TRIES
        area = s.uniform(*self.scale, k, t) * float(h * w)
        ar = torch.exp(s.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), k, t))
        eh = torch.sqrt(area * ar).round()
        ew = torch.sqrt(area / ar).round()
        ok = (eh < h) & (ew < w) & (eh > 0) & (ew > 0)
        first = torch.argmax(ok.to(torch.uint8), -1, keepdim=True)
        found = ok.any(-1)
        eh, ew = eh.gather(-1, first)[..., 0], ew.gather(-1, first)[..., 0]
        y0 = torch.floor(s.uniform(0.0, 1.0, k) * (h - eh + 1))
        x0 = torch.floor(s.uniform(0.0, 1.0, k) * (w - ew + 1))
        n = s.randint(self.count[0], self.count[1] + 1) if self.count[0] != self.count[1] else None
        keep = found if n is None else found & (torch.arange(k, device=s.device)[None] < n[:, None])
        boxes = torch.stack([x0, y0, x0 + ew, y0 + eh], -1) * keep[..., None]
        out = {"boxes": boxes}
        if self.value == "random":
            out["seed"] = s.randint(0, 2**31 - 1)
        return out

    def _transform(self, img, params, targets):
        bx = params["boxes"] * params["apply"][:, None, None]  # not selected: empty boxes
        if self.value == "random":
            out = F.erase_noise(img, bx, params["seed"])
        else:
            out = F.erase(img, bx, self.value)
        return out, targets


__all__ = [
    "RandomBrightness",
    "RandomContrast",
    "RandomPosterize",
    "RandomSolarize",
    "RandomEqualize",
    "RandomAutocontrast",
    "RandomInvert",
    "RandomSaturation",
    "RandomHue",
    "RandomGrayscale",
    "RandomSharpness",
    "ColorJitter",
    "Normalize",
    "RandomErasing",
]
