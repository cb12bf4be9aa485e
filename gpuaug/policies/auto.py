"""RandAugment, TrivialAugmentWide, AutoAugment: the op is chosen PER SAMPLE, with no host sync and no
Python loop over samples.

A policy draws, for each of its slots, an op index, a magnitude fraction ``f`` in [0, 1], a sign and an
"active" flag per sample (``params``: ``ops``, ``f``, ``sign``, ``active``; each (B, slots)). A slot
then runs on the whole batch in three vectorized stages, each with identity parameters for the samples
whose op is of another kind (or that are inactive):

1. geometric: one (B, 3, 3) matrix per sample (identity where the op is not geometric), one warp;
2. pointwise: one 256-entry table per sample and channel (``pointwise_chain``: identity where the op is
   not pointwise), one pass over the pixels (uint8; floats run the steps one by one);
3. saturation ("Color") and sharpness blends with factor 1 where not chosen.

A stage that no op of the policy uses is skipped. On CPU tensors (the host path, where reading a mask
costs nothing) a stage runs only on the samples that need it; CUDA tensors never take that branch.
Magnitudes follow torchvision's ``_augmentation_space`` (``registry.py``).
"""

from __future__ import annotations

import math

import torch

from gpuaug import _checks
from gpuaug import functional as F
from gpuaug.layers import geometric as geo
from gpuaug.layers.base import RandomLayer, Sampler, check_bool, check_int, check_number, dirichlet, spatial
from gpuaug.policies import registry as R

_KIND_CODE = {k: i for i, k in enumerate(R.KINDS)}
_UNIT_CODE = {"value": 0, "px": 1, "width": 2, "height": 3}


class _Policy(RandomLayer):
    """Shared slot machinery; subclasses set ``self.ops`` (op names), ``self.space`` ("standard" or "wide")
    and implement ``_draw`` returning ops/f/sign/active of shape (n, slots)."""

    kind = "pixel"

    def __init__(self, ops, space, interpolation, fill, fill_mode, p, generator, same_on_batch):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        for name in ops:
            if name not in R.OPS:
                raise ValueError(f"unknown op {name!r}; valid: {sorted(R.OPS)}")
        self.ops = tuple(ops)
        self.space = space
        self.interpolation = geo._check_choice(interpolation, "interpolation", geo.INTERPOLATIONS)
        self.fill_mode = geo._check_choice(fill_mode, "fill_mode", geo.FILL_MODES)
        self.fill = geo._check_fill(fill)
        specs = [R.OPS[n] for n in self.ops]
        self._kinds = {s.kind for s in specs}
        # the wide space gives translations in pixels, the others as fractions of the width / height
        self._table_rows = (
            [float(_KIND_CODE[s.kind]) for s in specs],
            [getattr(s, space) for s in specs],
            [1.0 if s.signed else 0.0 for s in specs],
            [float(_UNIT_CODE["px" if space == "wide" and s.unit != "value" else s.unit]) for s in specs],
        )
        self._posterize_base = 4.0 if space == "augmix" else 8.0
        self._tables: dict = {}

    def _warp_args(self):
        return {"interpolation": self.interpolation, "fill": self.fill, "fill_mode": self.fill_mode}

    def _table(self, device) -> torch.Tensor:
        """(4, num_ops) float32 on ``device``: kind code, top of range, signed, unit (cached per device)."""
        key = str(device)
        t = self._tables.get(key)
        if t is None:
            t = _checks.to_device([v for row in self._table_rows for v in row], torch.float32, device)
            t = t.view(4, len(self.ops))
            self._tables[key] = t
        return t

    def op_kinds(self, params: dict) -> torch.Tensor:
        """Kind codes (B, slots) of the drawn ops (index into ``registry.KINDS``), identity where inactive."""
        table = self._table(params["ops"].device)
        kinds = table[0][params["ops"]].to(torch.int64)
        active = params["active"] & params["apply"][:, None]
        return torch.where(active, kinds, _KIND_CODE["identity"])

    def _transform(self, img, params, targets):
        with F.host_scope(img):  # host path: the pool's threads, not torch's, on the pixels
            return self._run_slots(img, params, self.op_kinds(params), range(params["ops"].shape[1]),
                                   targets)

    def _run_slots(self, img, params, kinds, slots, targets):
        """Run ``slots`` in order; returns (img, targets), never the input tensor itself."""
        table = self._table(img.device)
        owned = False  # the input is never written; after the first stage the batch is our own buffer
        slots = list(slots)
        # Host path: a sample whose ops in two consecutive slots are both pointwise runs both as ONE table
        # chain in the first slot (pointwise_chain composes the tables exactly, histogram and gray mean taken
        # after the first op) and is identity in the second: one pixel pass, one take and copy-back fewer.
        fuse = (F.host_path(img) and bool(self._kinds & set(R.POINTWISE)) and not spatial(targets)
                and len(slots) > 1)
        if fuse:
            kinds = kinds.clone()
        for i, s in enumerate(slots):
            args = self._slot_args(params, table, s, img.shape[-2:])
            nxt = None
            if fuse and i + 1 < len(slots):
                s2 = slots[i + 1]
                both = _is_pointwise(kinds[:, s]) & _is_pointwise(kinds[:, s2])
                if bool(both.any()):  # host path only: reading the mask is free
                    nxt = (torch.where(both, kinds[:, s2], _KIND_CODE["identity"]), *self._slot_args(
                        params, table, s2, img.shape[-2:]
                    ))
                    kinds[:, s2] = torch.where(both, _KIND_CODE["identity"], kinds[:, s2])
            img, targets, owned = self._slot(img, kinds[:, s], *args, targets, owned, nxt)
        if not owned:
            img = img.clone(memory_format=torch.preserve_format)
        return img, targets

    @staticmethod
    def _slot_args(params, table, s, size):
        """(top, f, linear) of slot ``s``, each (B,): top of the op's range, magnitude fraction, and the
        signed magnitude in the op's unit (pixels for translations)."""
        op = params["ops"][:, s]
        top, signed, unit = table[1][op], table[2][op], table[3][op]
        h, w = size
        scale = torch.where(unit == 2, float(w), torch.where(unit == 3, float(h), 1.0))
        f = params["f"][:, s]
        sign = torch.where(signed > 0, params["sign"][:, s], 1.0)
        return top, f, top * f * sign * scale

    # -------------------------------------------------------------------------------------------- slot
    def _slot(self, img, kind, top, f, linear, targets, owned, nxt=None):
        """One slot on the batch. ``nxt``: ``(kind, top, f, linear)`` of the next slot's pointwise ops to
        chain after this slot's (host-path fusion; its kind is identity except on samples pointwise in
        both). Returns ``(img, targets, owned)``."""
        is_ = {k: kind == _KIND_CODE[k] for k in self._kinds}
        if self._kinds & set(R.GEOMETRIC):
            geo_mask = _any_of(is_, R.GEOMETRIC, kind)

            def warp(x, idx):
                m = self._matrix(is_, linear, x.shape[-2:], idx)
                return F.warp_affine(x, m, None, self.interpolation, self.fill_mode, self.fill)

            if spatial(targets):
                m = self._matrix(is_, linear, img.shape[-2:], None)
                img, targets = geo.warp_all(img, m, tuple(img.shape[-2:]), self.interpolation, self.fill_mode,
                                            self.fill, 0, targets)
                owned = True
            else:
                img, owned = F.on_samples(img, geo_mask, warp, owned)
        if self._kinds & set(R.POINTWISE):
            mx = _checks.max_value(img.dtype)
            # One table pass for every pointwise op. On the host path it reads only the samples that chose a
            # pointwise op, and pointwise_chain's histogram (equalize, autocontrast) and gray-mean
            # (contrast) passes only the samples whose step needs them.
            for group in (R.POINTWISE,):
                present = {k: v for k, v in is_.items() if k in group}
                if not present:
                    continue

                def pointwise(x, idx, present=present):
                    sel = (lambda t: t) if idx is None else (lambda t: t[idx])
                    steps = self._steps(
                        {k: sel(v) for k, v in present.items()}, sel(linear), sel(top), sel(f), mx,
                        idx is not None,
                    )
                    if nxt is not None:
                        k2, top2, f2, lin2 = (sel(t) for t in nxt)
                        present2 = {k: k2 == _KIND_CODE[k] for k in present}
                        steps += self._steps(present2, lin2, top2, f2, mx, idx is not None)
                    return F.pointwise_chain(x, steps)

                img, owned = F.on_samples(img, _any_of(present, group, kind), pointwise, owned)
        if "saturation" in self._kinds and img.shape[1] == 3:

            def saturate(x, idx):
                sel = (lambda t: t) if idx is None else (lambda t: t[idx])
                return F.adjust_saturation(x, torch.where(sel(is_["saturation"]), 1.0 + sel(linear), 1.0))

            img, owned = F.on_samples(img, is_["saturation"], saturate, owned)
        if "sharpness" in self._kinds:

            def sharpen(x, idx):
                sel = (lambda t: t) if idx is None else (lambda t: t[idx])
                return F.adjust_sharpness(x, torch.where(sel(is_["sharpness"]), 1.0 + sel(linear), 1.0))

            img, owned = F.on_samples(img, is_["sharpness"], sharpen, owned)
        return img, targets, owned

    def _matrix(self, is_, linear, size, idx):
        sel = (lambda t: t) if idx is None else (lambda t: t[idx])
        lin = sel(linear)
        zero = torch.zeros_like(lin)

        def pick(k):
            return torch.where(sel(is_[k]), lin, zero) if k in is_ else zero

        # torchvision's _apply_op: ShearX/Y are F.affine(shear=degrees(atan(m)), center=[0, 0]) (the
        # top-left pixel CORNER, (-1/2, -1/2) here); Rotate is F.rotate (counter-clockwise, about the
        # image centre); TranslateX/Y shift by int(m) pixels. One op per sample, so one builder call.
        h, w = size
        is_shear = sel(_any_of(is_, ("shear_x", "shear_y"), linear))
        corner = torch.full_like(lin, -0.5)
        center = torch.stack(
            (torch.where(is_shear, corner, (w - 1) / 2.0), torch.where(is_shear, corner, (h - 1) / 2.0)), -1
        )
        shear = torch.rad2deg(torch.atan(torch.stack((pick("shear_x"), pick("shear_y")), -1)))
        translate = torch.stack((pick("translate_x"), pick("translate_y")), -1).trunc()
        return F.affine_matrix(lin.shape[0], pick("rotate"), translate, 1.0, shear, center, lin.device)

    def _steps(self, is_, linear, top, f, mx, host=False):
        # One op per sample and slot, so the order of the steps does not matter: contrast goes first,
        # where its gray-mean pass reads the image itself (no table to apply before averaging). Its mask
        # (not only factor 1) tells pointwise_chain which samples need that pass.
        steps = []
        if "contrast" in is_:
            steps.append(("contrast", torch.where(is_["contrast"], 1.0 + linear, 1.0), is_["contrast"]))
        if "brightness" in is_:
            # host path: the mask lets pointwise_chain skip a step no sample takes (factor 1 elsewhere)
            steps.append(("brightness", torch.where(is_["brightness"], 1.0 + linear, 1.0),
                          is_["brightness"] if host else None))
        if "posterize" in is_:
            bits = (self._posterize_base - torch.round(top * f)).clamp_min(1.0)
            steps.append(("posterize", torch.where(is_["posterize"], bits, 8.0),
                          is_["posterize"] if host else None))
        if "solarize" in is_:
            steps.append(("solarize", (mx * (1.0 - f)).clamp(0.0, mx), is_["solarize"]))
        for k in ("autocontrast", "equalize", "invert"):
            if k in is_:
                steps.append((k, None, is_[k]))
        return steps


_POINTWISE_CODES = tuple(_KIND_CODE[k] for k in R.POINTWISE)


def _is_pointwise(kind: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(kind, dtype=torch.bool)
    for code in _POINTWISE_CODES:
        out |= kind == code
    return out


def _any_of(is_: dict, kinds, like: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(like, dtype=torch.bool)
    for k in kinds:
        if k in is_:
            out = out | is_[k]
    return out


def _magnitude_fraction(s: Sampler, magnitude: float, bins: int, std: float, mmax: float, slots: int):
    """timm's magnitude noise on the bin index: N(m, std) (std = inf: U(0, m)), clipped to [0, mmax],
    as a fraction of the last bin."""
    if std == 0:
        m = torch.full((s.n, slots), float(magnitude), device=s.device)
    elif math.isinf(std):
        m = s.uniform(0.0, float(magnitude), slots)
    else:
        m = magnitude + std * s.normal(slots)
    return m.clamp(0.0, mmax) / (bins - 1)


class RandAugment(_Policy):
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
    ):
        super().__init__(
            R.RANDAUGMENT_OPS, "standard", interpolation, fill, fill_mode, p, generator, same_on_batch
        )
        self.num_ops = check_int(num_ops, "num_ops", 0, 64)
        self.num_magnitude_bins = check_int(num_magnitude_bins, "num_magnitude_bins", 2)
        self.magnitude = check_number(magnitude, "magnitude", 0, self.num_magnitude_bins - 1)
        self.magnitude_std = check_number(magnitude_std, "magnitude_std", 0.0)
        mm = self.num_magnitude_bins - 1 if magnitude_max is None else magnitude_max
        self.magnitude_max = check_number(mm, "magnitude_max", 0, self.num_magnitude_bins - 1)
        self._mmax_given = magnitude_max
        self.op_prob = check_number(op_prob, "op_prob", 0.0, 1.0)

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
        k = self.num_ops
        return {
            "ops": s.randint(0, len(self.ops), k),
            "f": _magnitude_fraction(
                s, self.magnitude, self.num_magnitude_bins, self.magnitude_std, self.magnitude_max, k
            ),
            "sign": torch.where(s.bernoulli(0.5, k), 1.0, -1.0),
            "active": s.bernoulli(self.op_prob, k),
        }


class TrivialAugmentWide(_Policy):
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
    ):
        super().__init__(
            R.TRIVIALAUGMENT_OPS, "wide", interpolation, fill, fill_mode, p, generator, same_on_batch
        )
        self.num_magnitude_bins = check_int(num_magnitude_bins, "num_magnitude_bins", 2)

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


class AutoAugment(_Policy):
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
    ):
        if not isinstance(policy, str) or policy.lower() not in R.AUTOAUGMENT_POLICIES:
            raise ValueError(f"policy must be one of {tuple(R.AUTOAUGMENT_POLICIES)}, got {policy!r}")
        self.policy = policy.lower()
        subs = R.AUTOAUGMENT_POLICIES[self.policy]
        names = sorted({op for sub in subs for op, _, _ in sub}, key=list(R.OPS).index)
        super().__init__(names, "standard", interpolation, fill, fill_mode, p, generator, same_on_batch)
        index = {n: i for i, n in enumerate(self.ops)}
        self._sub_rows = (
            [float(index[op]) for sub in subs for op, _, _ in sub],
            [float(prob) for sub in subs for _, prob, _ in sub],
            [float(m or 0) / (R.AUTOAUGMENT_BINS - 1) for sub in subs for _, _, m in sub],
        )
        self._subs: dict = {}

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


class AugMix(_Policy):
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
        super().__init__(ops, "augmix", interpolation, fill, fill_mode, p, generator, same_on_batch)
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
