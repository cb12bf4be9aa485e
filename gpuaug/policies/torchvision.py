"""torchvision's policies, with torchvision's meanings: RandAugment, TrivialAugmentWide, AutoAugment, AugMix.

Each chooses its ops PER SAMPLE (the slot machinery is ``slots.Policy``); the op arguments are
torchvision's ``_augmentation_space`` (``registry.TORCHVISION``, ``TORCHVISION_WIDE``,
``TORCHVISION_AUGMIX``).
Policy strings (``from_string``) mean what timm means instead: ``gpuaug.policies.timm``.
"""

from __future__ import annotations

import torch

from gpuaug import _checks
from gpuaug.layers.base import check_bool, check_int, check_number, dirichlet, spatial
from gpuaug.policies import registry as R
from gpuaug.policies.slots import Policy


class RandAugment(Policy):
    """torchvision's RandAugment, per sample: ``num_ops`` ops drawn uniformly from the 14 of its space,
    each at bin ``magnitude`` of ``num_magnitude_bins``, a random sign for signed ops.

    Extras (timm): ``magnitude_std`` Gaussian noise on the bin per op and sample (``inf``: uniform in
    [0, magnitude]), clipped to [0, ``magnitude_max``] (default: the last bin); ``op_prob`` the chance each
    op applies (timm's string default is 0.5). ``p`` gates the whole policy per sample.
    """

    def __init__(
        self,
        num_ops=2,
        magnitude=9,
        num_magnitude_bins=31,
        interpolation="nearest",
        fill=0,
        magnitude_std=0.0,
        magnitude_max=None,
        op_prob=1.0,
        fill_mode="constant",
        p=1.0,
        generator=None,
        same_on_batch=False,
        mask_fill=0,
    ):
        super().__init__(
            R.RANDAUGMENT_OPS, R.TORCHVISION, interpolation, fill, fill_mode, p, generator, same_on_batch,
            mask_fill=mask_fill,
        )
        self.num_ops = check_int(num_ops, "num_ops", 0, 64)
        self.num_magnitude_bins = check_int(num_magnitude_bins, "num_magnitude_bins", 2)
        self.magnitude = check_number(magnitude, "magnitude", 0, self.num_magnitude_bins - 1)
        self.magnitude_std = check_number(magnitude_std, "magnitude_std", 0.0, finite=False)  # inf: uniform
        mm = self.num_magnitude_bins - 1 if magnitude_max is None else magnitude_max
        self.magnitude_max = check_number(mm, "magnitude_max", 0, self.num_magnitude_bins - 1)
        self._mmax_given = magnitude_max
        self.op_prob = check_number(op_prob, "op_prob", 0.0, 1.0)

    @property
    def num_slots(self) -> int:
        return self.num_ops

    @property
    def levels(self) -> float:
        """The magnitude of f = 1: the last bin."""
        return float(self.num_magnitude_bins - 1)

    @property
    def upper(self) -> float:
        """The clip of a noisy magnitude."""
        return float(self.magnitude_max)

    def _args(self):
        return {
            "num_ops": self.num_ops,
            "magnitude": self.magnitude,
            "num_magnitude_bins": self.num_magnitude_bins,
            "magnitude_std": self.magnitude_std,
            "magnitude_max": self._mmax_given,
            "op_prob": self.op_prob,
            **self._warp_args(),
        }

    def _draw(self, s, shape):
        return self._draw_rand(s)


class TrivialAugmentWide(Policy):
    """torchvision's TrivialAugmentWide, per sample: one op of the 14 uniformly, a magnitude bin uniform
    in [0, num_magnitude_bins), the wide ranges (Rotate 135, Shear 0.99, Translate 32 px, ...)."""

    def __init__(
        self,
        num_magnitude_bins=31,
        interpolation="nearest",
        fill=0,
        fill_mode="constant",
        p=1.0,
        generator=None,
        same_on_batch=False,
        mask_fill=0,
    ):
        super().__init__(R.TRIVIALAUGMENT_OPS, R.TORCHVISION_WIDE, interpolation, fill, fill_mode, p,
                         generator, same_on_batch, mask_fill=mask_fill)
        self.num_magnitude_bins = check_int(num_magnitude_bins, "num_magnitude_bins", 2)

    num_slots = 1

    def _args(self):
        return {"num_magnitude_bins": self.num_magnitude_bins, **self._warp_args()}

    def _draw(self, s, shape):
        bins = self.num_magnitude_bins
        return {
            "ops": s.randint(0, len(self.ops), 1),
            "f": s.randint(0, bins, 1).to(torch.float32) / (bins - 1),
            "sign": torch.where(s.bernoulli(0.5, 1), 1.0, -1.0),
            "active": s.bernoulli(1.0, 1),
        }


class AutoAugment(Policy):
    """torchvision's AutoAugment (``policy`` "imagenet", "cifar10" or "svhn"), per sample: a sub-policy
    of 25 uniformly, then its two ops, each with its probability, magnitude bin (of 10) and a random sign."""

    def __init__(
        self,
        policy="imagenet",
        interpolation="nearest",
        fill=0,
        fill_mode="constant",
        p=1.0,
        generator=None,
        same_on_batch=False,
        mask_fill=0,
    ):
        if not isinstance(policy, str) or policy.lower() not in R.AUTOAUGMENT_POLICIES:
            raise ValueError(f"policy must be one of {tuple(R.AUTOAUGMENT_POLICIES)}, got {policy!r}")
        self.policy = policy.lower()
        subs = R.AUTOAUGMENT_POLICIES[self.policy]
        names = sorted({op for sub in subs for op, _, _ in sub}, key=list(R.OPS).index)
        super().__init__(names, R.TORCHVISION, interpolation, fill, fill_mode, p, generator, same_on_batch,
                         mask_fill=mask_fill)
        index = {n: i for i, n in enumerate(self.ops)}
        self._sub_rows = (
            [float(index[op]) for sub in subs for op, _, _ in sub],
            [float(prob) for sub in subs for _, prob, _ in sub],
            [float(m or 0) / (R.AUTOAUGMENT_BINS - 1) for sub in subs for _, _, m in sub],
        )
        self._subs: dict = {}

    num_slots = 2

    def _args(self):
        return {"policy": self.policy, **self._warp_args()}

    def _sub_table(self, device):
        key = str(device)
        t = self._subs.get(key)
        if t is None:
            n = len(R.AUTOAUGMENT_POLICIES[self.policy])
            t = _checks.to_device([v for row in self._sub_rows for v in row], torch.float32, device).view(
                3, n, 2
            )
            self._subs[key] = t
        return t

    def _draw(self, s, shape):
        table = self._sub_table(s.device)
        sub = s.randint(0, table.shape[1])
        rows = table[:, sub]  # (3, n, 2)
        return {
            "sub": sub,
            "ops": rows[0].to(torch.int64),
            "f": rows[2],
            "sign": torch.where(s.bernoulli(0.5, 2), 1.0, -1.0),
            "active": s.uniform(0.0, 1.0, 2) <= rows[1],
        }


class AugMix(Policy):
    """torchvision's AugMix, per sample: ``mixture_width`` chains of ``chain_depth`` ops (-1: 1 to 3 per
    chain and sample), each op uniform over AugMix's space (with ``all_ops`` the color ops too) at a
    magnitude bin below ``severity`` of 10, mixed with Dirichlet(alpha) weights, then blended with the
    original by m ~ Beta(alpha, alpha): ``m * img + (1 - m) * sum_i w_i chain_i(img)`` (uint8 rounds).
    Posterize keeps at least 1 bit (torchvision's 0 bits only occurs at severity >= 8)."""

    def __init__(
        self,
        severity=3,
        mixture_width=3,
        chain_depth=-1,
        alpha=1.0,
        all_ops=True,
        interpolation="bilinear",
        fill=0,
        fill_mode="constant",
        p=1.0,
        generator=None,
        same_on_batch=False,
    ):
        self.all_ops = check_bool(all_ops, "all_ops")
        ops = R.AUGMIX_OPS + (R.AUGMIX_COLOR_OPS if self.all_ops else ())
        super().__init__(ops, R.TORCHVISION_AUGMIX, interpolation, fill, fill_mode, p, generator,
                         same_on_batch)
        self.severity = check_int(severity, "severity", 1, R.AUGMIX_BINS)
        self.mixture_width = check_int(mixture_width, "mixture_width", 1, 16)
        self.chain_depth = check_int(chain_depth, "chain_depth", -1, 16)
        if self.chain_depth == 0:
            raise ValueError("chain_depth must be -1 (1 to 3 at random) or positive, got 0")
        self.alpha = check_number(alpha, "alpha", 0.0)
        if self.alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha!r}")

    def _args(self):
        return {
            "severity": self.severity,
            "mixture_width": self.mixture_width,
            "chain_depth": self.chain_depth,
            "alpha": self.alpha,
            "all_ops": self.all_ops,
            **self._warp_args(),
        }

    def _depth(self) -> int:
        return self.chain_depth if self.chain_depth > 0 else 3

    def _draw(self, s, shape):
        w, d = self.mixture_width, self._depth()
        if self.chain_depth > 0:
            active = s.bernoulli(1.0, w * d)
        else:  # depth 1..3 per chain and sample: slot k of a chain runs when k < depth
            depth = s.randint(1, 4, w)
            active = (torch.arange(d, device=s.device).view(1, 1, d) < depth[:, :, None]).reshape(s.n, w * d)
        return {
            "ops": s.randint(0, len(self.ops), w * d),
            "f": s.randint(0, self.severity, w * d).to(torch.float32) / (R.AUGMIX_BINS - 1),
            "sign": torch.where(s.bernoulli(0.5, w * d), 1.0, -1.0),
            "active": active,
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
        mix = None
        for i in range(self.mixture_width):
            aug = self._run_slots(img, params, kinds, range(i * d, (i + 1) * d), {})[0]
            term = aug.to(torch.float32) * params["weights"][:, i].view(-1, 1, 1, 1)
            mix = term if mix is None else mix.add_(term)
        # m = 1 where the sample is not selected: exactly the input (its chains ran with identity ops)
        m = torch.where(params["apply"], params["m"], 1.0).view(-1, 1, 1, 1)
        out = img.to(torch.float32) * m + mix * (1.0 - m)
        if img.dtype == torch.uint8:
            out = out.round_().clamp_(0, 255)
        return out.to(img.dtype).contiguous(memory_format=_checks.memory_format_of(img)), targets


__all__ = ["RandAugment", "TrivialAugmentWide", "AutoAugment", "AugMix"]
