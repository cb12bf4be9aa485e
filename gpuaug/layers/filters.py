"""GaussianBlur, GaussianNoise, RandomChannelShift: per-sample pixel layers (docs/contract.md "More ops").

A sample that is not selected gets the identity parameters (sigma 0, shift 0), which these ops reproduce
exactly; on the CPU host path such samples are not computed at all (``functional.on_samples``).
"""

from __future__ import annotations

from numbers import Real

import torch

from gpuaug import _checks
from gpuaug import functional as F
from gpuaug.layers.base import RandomLayer, Sampler, check_bool, check_number, to_range


def _positive_range(value, name: str) -> tuple[float, float]:
    """A number (fixed) or a (min, max) pair, every value > 0 (torchvision's GaussianBlur sigma)."""
    if isinstance(value, Real) and not isinstance(value, bool):
        v = check_number(value, name)
        rng = (v, v)
    else:
        rng = to_range(value, name)
    if rng[0] <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return rng


class GaussianBlur(RandomLayer):
    """torchvision's GaussianBlur per sample: ``kernel_size`` (an int or (kx, ky), odd), ``sigma`` a number
    (fixed) or (min, max) drawn uniformly per sample (the same sigma on both axes). Separable, whole-sample
    symmetric border (torchvision's reflect padding); one kernel on the GPU."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0), p=1.0, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        self._ks = F.kernel_size_pair(kernel_size)
        self.kernel_size = kernel_size if isinstance(kernel_size, int) else self._ks
        self.sigma = _positive_range(sigma, "sigma")

    def _args(self):
        s = self.sigma
        return {"kernel_size": self.kernel_size, "sigma": s[0] if s[0] == s[1] else s}

    def _draw(self, s: Sampler, shape):
        return {"sigma": s.uniform(*self.sigma)}

    def _transform(self, img, params, targets):
        sigma = torch.where(params["apply"], params["sigma"], 0.0)  # sigma 0: the identity

        def blur(x, idx):
            return F.gaussian_blur(x, self._ks, sigma if idx is None else sigma[idx])

        out, owned = F.on_samples(img, params["apply"], blur)
        return (out if owned else out.clone(memory_format=torch.preserve_format)), targets


class GaussianNoise(RandomLayer):
    """Add Gaussian noise ``N(mean, sigma)`` in [0, 1] units (x 255 on uint8, rounded), per sample and
    pixel; ``clip`` clamps floating results to [0, 1] (uint8 always clamps to 0..255).

    The noise is drawn on the device without a host sync and without a noise tensor: each sample draws one
    int seed from the layer's generator, and the op derives the noise from the seed and each element's
    position (a counter-based hash, the same integers on both backends; ``gpuaug.functional.gaussian_noise``).
    Replaying ``last_params`` replays the noise. On a video, every frame of a clip gets the same noise."""

    def __init__(self, mean=0.0, sigma=0.1, clip=True, p=1.0, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        self.mean = check_number(mean, "mean")
        self.sigma = check_number(sigma, "sigma", 0.0)
        self.clip = check_bool(clip, "clip")

    def _args(self):
        return {"mean": self.mean, "sigma": self.sigma, "clip": self.clip}

    def _draw(self, s: Sampler, shape):
        return {"seed": s.randint(0, 2**31 - 1)}

    def _transform(self, img, params, targets):
        a = params["apply"]
        sigma = torch.where(a, self.sigma, 0.0)
        mean = torch.where(a, self.mean, 0.0)

        def noise(x, idx):
            sel = (lambda t: t) if idx is None else (lambda t: t[idx])
            return F.gaussian_noise(x, sel(sigma), sel(params["seed"]), sel(mean), self.clip)

        out, owned = F.on_samples(img, a, noise)
        return (out if owned else out.clone(memory_format=torch.preserve_format)), targets


class RandomChannelShift(RandomLayer):
    """Add a random shift per sample and channel, clamped to the value range: ``shift_range`` r in [0, 1]
    units (x 255 on uint8) means uniform in [-r, r], or a pair (min, max). ``per_channel=False`` draws one
    shift per sample for every channel. (Keras' ``channel_shift_range``, one shift per image in pixel
    units clamped to the image's own min and max, is ``KerasAugment``'s.)"""

    def __init__(self, shift_range=0.1, per_channel=True, p=1.0, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        self.shift_range = to_range(shift_range, "shift_range", lo=-1.0, hi=1.0)
        self.per_channel = check_bool(per_channel, "per_channel")

    def _args(self):
        return {"shift_range": self.shift_range, "per_channel": self.per_channel}

    def _draw(self, s: Sampler, shape):
        c = shape[1] if self.per_channel else 1
        return {"shift": s.uniform(*self.shift_range, c)}

    def _transform(self, img, params, targets):
        shift = torch.where(params["apply"][:, None], params["shift"], 0.0) * _checks.max_value(img.dtype)

        def run(x, idx):
            return F.channel_shift(x, shift if idx is None else shift[idx])

        out, owned = F.on_samples(img, params["apply"], run)
        return (out if owned else out.clone(memory_format=torch.preserve_format)), targets


__all__ = ["GaussianBlur", "GaussianNoise", "RandomChannelShift"]
