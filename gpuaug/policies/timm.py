"""timm's policies with timm's meanings (``timm.data.auto_augment``), per sample: what a policy string such as
``"rand-m9-n2-mstd0.5"`` builds (``from_string``).

- op lists, order and level-to-argument maps: ``registry.TIMM`` (``_RAND_TRANSFORMS``,
  ``_RAND_INCREASING_TRANSFORMS``, ``_AUGMIX_TRANSFORMS``, ``LEVEL_TO_ARG``);
- magnitude ``m`` of 10 (``f = m / 10``), noise ``N(m, mstd)`` (``mstd`` inf: ``U(0, m)``), clipped to
  ``[0, mmax or 10]`` (timm's ``magnitude_max or _LEVEL_DENOM``: ``mmax0`` means 10);
- each op applied with probability ``op_prob`` (RandAugment: 0.5; AugMix: 1), ops drawn uniformly with
  replacement, a random sign for signed ops;
- interpolation drawn per op among bilinear and bicubic; fill timm's gray (128, 128, 128), or what the
  caller passes (timm's ``create_transform`` passes the dataset mean: ``build_hook`` does the same).

Differences that remain, by design: geometry resamples with gpuaug's warp (pixel-centre conventions as
PIL's, the fill blended at the border and results rounded, where PIL truncates and fills whole pixels);
everything is per sample on the batch.
"""

from __future__ import annotations

import math

import torch

from gpuaug import _checks
from gpuaug.layers.base import check_bool, check_int, check_number, dirichlet, spatial
from gpuaug.policies import registry as R
from gpuaug.policies.slots import Policy, magnitude_fraction

TIMM_FILL = (128, 128, 128)
TIMM_INTERPOLATION = ("bilinear", "bicubic")


def _upper(magnitude_max) -> float:
    """timm's ``magnitude_max or _LEVEL_DENOM``: None and 0 mean 10."""
    return float(magnitude_max) if magnitude_max else R.TIMM_LEVELS


class TimmRandAugment(Policy):
    """timm's RandAugment: ``num_ops`` ops per sample drawn uniformly (with replacement) from timm's 15
    (``increasing``: the Increasing variants), each applied with probability ``op_prob`` at magnitude
    ``magnitude`` (of 10), with timm's noise and clipping (module docstring). ``fill`` is in uint8 levels
    (timm's ``img_mean``; scaled for floating images)."""

    fill_in_levels = True

    def __init__(
        self,
        num_ops=2,
        magnitude=10,
        magnitude_std=0.0,
        magnitude_max=None,
        op_prob=0.5,
        increasing=False,
        interpolation=TIMM_INTERPOLATION,
        fill=TIMM_FILL,
        fill_mode="constant",
        p=1.0,
        generator=None,
        same_on_batch=False,
        mask_fill=0,
    ):
        self.increasing = check_bool(increasing, "increasing")
        ops = R.TIMM_RAND_INCREASING_OPS if self.increasing else R.TIMM_RAND_OPS
        super().__init__(ops, R.TIMM, interpolation, fill, fill_mode, p, generator, same_on_batch,
                         mask_fill=mask_fill)
        self.num_ops = check_int(num_ops, "num_ops", 0, 64)
        self.magnitude = check_number(magnitude, "magnitude", 0.0)
        self.magnitude_std = check_number(magnitude_std, "magnitude_std", 0.0, finite=False)  # inf: uniform
        mmax = magnitude_max
        self.magnitude_max = None if mmax is None else check_number(mmax, "magnitude_max", 0.0)
        self.op_prob = check_number(op_prob, "op_prob", 0.0, 1.0)

    @property
    def num_slots(self) -> int:
        return self.num_ops

    levels = R.TIMM_LEVELS  # f = m / 10

    @property
    def upper(self) -> float:
        """timm's clip of a noisy magnitude: ``magnitude_max or 10``."""
        return _upper(self.magnitude_max)

    def _args(self):
        return {
            "num_ops": self.num_ops,
            "magnitude": self.magnitude,
            "magnitude_std": self.magnitude_std,
            "magnitude_max": self.magnitude_max,
            "op_prob": self.op_prob,
            "increasing": self.increasing,
            **self._warp_args(),
        }

    def _draw(self, s, shape):
        return self._draw_rand(s)


class TimmAugMix(Policy):
    """timm's AugMix (``augment_and_mix_transform``, its basic mode): ``mixture_width`` chains of
    ``chain_depth`` ops (-1: 1 to 3 per chain and sample) from timm's 13 AugMix ops, each at a magnitude drawn
    as timm does (default ``U(0, severity)`` of 10); the chains are summed with Dirichlet(``alpha``)
    weights, clipped to the value range (uint8: truncated, as timm's ``astype(uint8)``), then blended
    ``img + m (mixed - img)`` with ``m ~ Beta(alpha, alpha)`` (uint8: truncated, as PIL's ``Image.blend``).
    ``fill`` is in uint8 levels (timm's ``img_mean``)."""

    fill_in_levels = True

    def __init__(
        self,
        severity=3,
        mixture_width=3,
        chain_depth=-1,
        alpha=1.0,
        magnitude_std=math.inf,
        interpolation=TIMM_INTERPOLATION,
        fill=TIMM_FILL,
        fill_mode="constant",
        p=1.0,
        generator=None,
        same_on_batch=False,
    ):
        super().__init__(R.TIMM_AUGMIX_OPS, R.TIMM, interpolation, fill, fill_mode, p, generator,
                         same_on_batch)
        self.severity = check_number(severity, "severity", 0.0)
        self.mixture_width = check_int(mixture_width, "mixture_width", 1, 16)
        self.chain_depth = check_int(chain_depth, "chain_depth", -1, 16)
        if self.chain_depth == 0:
            raise ValueError("chain_depth must be -1 (1 to 3 at random) or positive, got 0")
        self.alpha = check_number(alpha, "alpha", 0.0)
        if not 0 < self.alpha < math.inf:
            raise ValueError(f"alpha must be positive and finite, got {alpha!r}")
        self.magnitude_std = check_number(magnitude_std, "magnitude_std", 0.0, finite=False)  # inf: uniform

    def _args(self):
        return {
            "severity": self.severity,
            "mixture_width": self.mixture_width,
            "chain_depth": self.chain_depth,
            "alpha": self.alpha,
            "magnitude_std": self.magnitude_std,
            **self._warp_args(),
        }

    def _depth(self) -> int:
        return self.chain_depth if self.chain_depth > 0 else 3

    def _draw(self, s, shape):
        w, d = self.mixture_width, self._depth()
        if self.chain_depth > 0:
            active = s.bernoulli(1.0, w * d)
        else:  # depth 1..3 per chain and sample (np.random.randint(1, 4)): slot k runs when k < depth
            depth = s.randint(1, 4, w)
            active = (torch.arange(d, device=s.device).view(1, 1, d) < depth[:, :, None]).reshape(s.n, w * d)
        return {
            "ops": s.randint(0, len(self.ops), w * d),
            "f": magnitude_fraction(s, self.severity, R.TIMM_LEVELS, self.magnitude_std, R.TIMM_LEVELS,
                                    w * d),
            "sign": torch.where(s.bernoulli(0.5, w * d), 1.0, -1.0),
            "active": active,
            **self._draw_interp(s, w * d),
            "weights": dirichlet(s, self.alpha, w),
            "m": s.beta(self.alpha),
        }

    def _transform(self, img, params, targets):
        if spatial(targets):
            raise ValueError(
                "AugMix mixes differently moved copies: masks, boxes and keypoints are not supported"
            )
        kinds = self.op_kinds(params)
        d = self._depth()
        mixed = None
        for i in range(self.mixture_width):
            aug = self._run_slots(img, params, kinds, range(i * d, (i + 1) * d), {})[0]
            term = aug.to(torch.float32) * params["weights"][:, i].view(-1, 1, 1, 1)
            mixed = term if mixed is None else mixed.add_(term)
        x = img.to(torch.float32)
        mx = _checks.max_value(img.dtype)
        mixed = mixed.clamp_(0, mx)
        if img.dtype == torch.uint8:
            mixed = mixed.trunc_()
        # m = 0 where the sample is not selected: exactly the input
        m = torch.where(params["apply"], params["m"], 0.0).view(-1, 1, 1, 1)
        out = x + m * (mixed - x)
        if img.dtype == torch.uint8:
            out = out.trunc_().clamp_(0, 255)
        return out.to(img.dtype).contiguous(memory_format=_checks.memory_format_of(img)), targets


__all__ = ["TIMM_FILL", "TIMM_INTERPOLATION", "TimmAugMix", "TimmRandAugment"]
