"""The machinery every policy shares: ops chosen PER SAMPLE, run slot by slot, no host sync, no Python loop
over samples.

A policy draws, for each of its slots, an op index, a magnitude fraction ``f``, a sign, an "active" flag
and (for a choice of interpolations, as timm's) an interpolation index per sample (``params``: ``ops``,
``f``, ``sign``, ``active``, ``interp``; each (B, slots)). The op's argument comes from the registry's
formula (``registry.Op``), vectorized in :meth:`Policy.slot_args`. A slot then runs on the whole batch in
vectorized stages, each only on the samples whose op is of that kind (``functional.on_samples``: on the
host path the other samples are not computed; off it they run with the stage's identity):

1. geometric: one (B, 3, 3) matrix per sample, one warp per interpolation;
2. pointwise: one 256-entry table per sample and channel on uint8 (``pointwise_chain``, every step masked to
   the samples that drew it, so floating samples that did not draw an op are left exactly as they are);
3. saturation ("Color") and sharpness blends.

A stage that no op of the policy uses is skipped.
"""

from __future__ import annotations

import math

import torch

from gpuaug import _checks
from gpuaug import functional as F
from gpuaug.layers import geometric as geo
from gpuaug.layers.base import RandomLayer, Sampler, check_number, spatial
from gpuaug.policies import registry as R

KIND_CODE = {k: i for i, k in enumerate(R.KINDS)}
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
_ROUNDING = {"none": 0, "round": 1, "trunc": 2}
_SIZE = {"none": 0, "width": 1, "height": 2}
#: rows of a policy's op table, one column per op (``Policy.table``)
TABLE_ROWS = ("kind", "scale", "offset", "signed", "dir", "rounding", "size", "levels", "minimum", "maximum")


def check_interpolation(value, name: str = "interpolation") -> tuple[str, ...]:
    """A name, or a sequence of names drawn from per op and sample (timm's bilinear/bicubic)."""
    names = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, (list, tuple)) else None
    if not names or not all(isinstance(n, str) and n in INTERPOLATIONS for n in names):
        raise ValueError(f"{name} must be one of {INTERPOLATIONS} or a sequence of them, got {value!r}")
    return names


class Policy(RandomLayer):
    """Shared slot machinery. Subclasses pass their op names and space (a dict of ``registry.Op``) and
    implement ``_draw`` returning ``ops``, ``f``, ``sign``, ``active`` (and ``interp`` for a choice of
    interpolations), each (n, slots)."""

    plannable = True

    kind = "pixel"
    #: ``fill`` is given in uint8 levels (timm's ``img_mean``), scaled to floating images' [0, 1]
    fill_in_levels = False

    def __init__(self, ops, space: dict, interpolation, fill, fill_mode, p, generator, same_on_batch,
                 mask_fill=0):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        #: what masks take where a geometric op moves them off the source (e.g. 255, an ignore index)
        self.mask_fill = check_number(mask_fill, "mask_fill")
        for name in ops:
            if name not in space:
                raise ValueError(f"unknown op {name!r}; valid: {sorted(space)}")
        self.ops = tuple(ops)
        self.space = space
        self.interpolations = check_interpolation(interpolation)
        self.fill_mode = geo._check_choice(fill_mode, "fill_mode", geo.FILL_MODES)
        self.fill = geo._check_fill(fill)
        specs = [space[n] for n in self.ops]
        self._kinds = {s.kind for s in specs}
        self._table_rows = [
            [float(KIND_CODE[s.kind]) for s in specs],
            [s.scale for s in specs],
            [s.offset for s in specs],
            [float(s.signed) for s in specs],
            [-1.0 if s.reverse else 1.0 for s in specs],
            [float(_ROUNDING[s.rounding]) for s in specs],
            [float(_SIZE[s.size]) for s in specs],
            [float(s.levels) for s in specs],
            [s.minimum for s in specs],
            [s.maximum for s in specs],
        ]
        self._tables: dict = {}

    @property
    def interpolation(self):
        return self.interpolations[0] if len(self.interpolations) == 1 else self.interpolations

    def _warp_args(self):
        extra = {"mask_fill": self.mask_fill} if self.mask_fill else {}  # (AugMix: none, it takes no masks)
        return {"interpolation": self.interpolation, "fill": self.fill, "fill_mode": self.fill_mode, **extra}

    def _fill_for(self, dtype: torch.dtype):
        if not self.fill_in_levels or dtype == torch.uint8 or isinstance(self.fill, torch.Tensor):
            return self.fill
        scale = _checks.max_value(dtype) / 255.0
        return [v * scale for v in self.fill] if isinstance(self.fill, list) else self.fill * scale

    def table(self, device) -> torch.Tensor:
        """(len(TABLE_ROWS), num_ops) float32 on ``device`` (cached per device): the ops as data."""
        key = str(device)
        t = self._tables.get(key)
        if t is None:
            t = _checks.to_device([v for row in self._table_rows for v in row], torch.float32, device)
            t = t.view(len(TABLE_ROWS), len(self.ops))
            self._tables[key] = t
        return t

    def _draw_rand(self, s: Sampler) -> dict:
        """RandAugment's draw (torchvision's and timm's, which differ in ``levels``/``upper`` and their op
        tables): ``num_ops`` ops uniformly, their magnitude fractions, signs, whether each runs."""
        k = self.num_ops
        return {
            "ops": s.randint(0, len(self.ops), k),
            "f": magnitude_fraction(s, self.magnitude, self.levels, self.magnitude_std, self.upper, k),
            "sign": torch.where(s.bernoulli(0.5, k), 1.0, -1.0),
            "active": s.bernoulli(self.op_prob, k),
            **self._draw_interp(s, k),
        }

    def _draw_interp(self, s: Sampler, slots: int) -> dict:
        """The per-op interpolation index when the policy draws among several (timm), else nothing."""
        if len(self.interpolations) == 1:
            return {}
        return {"interp": s.randint(0, len(self.interpolations), slots)}

    def op_kinds(self, params: dict) -> torch.Tensor:
        """Kind codes (B, slots) of the drawn ops (index into ``registry.KINDS``), identity where inactive."""
        kinds = self.table(params["ops"].device)[0][params["ops"]].to(torch.int64)
        active = params["active"] & params["apply"][:, None]
        return torch.where(active, kinds, KIND_CODE["identity"])

    def slot_args(self, params: dict, s: int, size, level: float) -> torch.Tensor:
        """The op argument (B,) of slot ``s`` for images of ``size`` (H, W) whose uint8 level is worth
        ``level`` (1 for uint8, 1/255 for floating images): the registry formula, vectorized."""
        table = self.table(params["ops"].device)
        row = dict(zip(TABLE_ROWS, table[:, params["ops"][:, s]]))
        h, w = size
        unit = torch.where(row["size"] == 1, float(w), torch.where(row["size"] == 2, float(h), 1.0))
        v = row["scale"] * params["f"][:, s] * unit
        v = torch.where(row["rounding"] == 1, v.round(), torch.where(row["rounding"] == 2, v.trunc(), v))
        sign = torch.where(row["signed"] > 0, params["sign"][:, s], 1.0)
        lv = torch.where(row["levels"] > 0, level, 1.0)
        arg = row["offset"] * lv + row["dir"] * sign * v * lv
        return torch.minimum(torch.maximum(arg, row["minimum"]), row["maximum"])

    def _transform(self, img, params, targets):
        with F.host_scope(img):  # host path: the pool's threads, not torch's, on the pixels
            return self._run_slots(img, params, self.op_kinds(params), range(params["ops"].shape[1]),
                                   targets)

    def _run_slots(self, img, params, kinds, slots, targets):
        """Run ``slots`` in order; returns (img, targets), never the input tensor itself."""
        owned = False  # the input is never written; after the first stage the batch is our own buffer
        slots = list(slots)
        level = _checks.max_value(img.dtype) / 255.0
        # Host path: a sample whose ops in two consecutive slots are both pointwise runs both as ONE table
        # chain in the first slot (pointwise_chain composes the tables exactly, histogram and gray mean
        # taken after the first op) and is identity in the second: one pixel pass, one take and copy-back
        # fewer.
        fuse = (F.host_path(img) and bool(self._kinds & set(R.POINTWISE)) and not spatial(targets)
                and len(slots) > 1)
        if fuse:
            kinds = kinds.clone()
        for i, s in enumerate(slots):
            arg = self.slot_args(params, s, img.shape[-2:], level)
            nxt = None
            if fuse and i + 1 < len(slots):
                s2 = slots[i + 1]
                both = _is_pointwise(kinds[:, s]) & _is_pointwise(kinds[:, s2])
                if bool(both.any()):  # host path only: reading the mask is free
                    nxt = (torch.where(both, kinds[:, s2], KIND_CODE["identity"]),
                           self.slot_args(params, s2, img.shape[-2:], level))
                    kinds[:, s2] = torch.where(both, KIND_CODE["identity"], kinds[:, s2])
            interp = params["interp"][:, s] if "interp" in params else None
            img, targets, owned = self._slot(img, kinds[:, s], arg, interp, targets, owned, nxt)
        if not owned:
            img = img.clone(memory_format=torch.preserve_format)
        return img, targets

    # -------------------------------------------------------------------------------------------- slot
    def _slot(self, img, kind, arg, interp, targets, owned, nxt=None):
        """One slot on the batch. ``interp``: the interpolation index per sample (None: the one
        interpolation). ``nxt``: ``(kind, arg)`` of the next slot's pointwise ops to chain after this slot's
        (host-path fusion; its kind is identity except on samples pointwise in both). Returns
        ``(img, targets, owned)``."""
        is_ = {k: kind == KIND_CODE[k] for k in self._kinds}
        if self._kinds & set(R.GEOMETRIC):
            geo_mask = _any_of(is_, R.GEOMETRIC, kind)
            fill = self._fill_for(img.dtype)
            for code, name in enumerate(self.interpolations):
                mask = geo_mask if interp is None else geo_mask & (interp == code)
                # the other samples (another interpolation, or not geometric) get the identity: argument 0
                group_arg = arg if interp is None else torch.where(mask, arg, 0.0)

                def warp(x, idx, name=name, group_arg=group_arg):
                    m = self._matrix(is_, group_arg, x.shape[-2:], idx)
                    return F.warp_affine(x, m, None, name, self.fill_mode, fill)

                if spatial(targets):
                    m = self._matrix(is_, group_arg, img.shape[-2:], None)
                    img, targets = geo.warp_all(img, m, tuple(img.shape[-2:]), name, self.fill_mode, fill,
                                                self.mask_fill, targets)
                    owned = True
                else:
                    img, owned = F.on_samples(img, mask, warp, owned)
        if self._kinds & set(R.POINTWISE):
            present = {k: v for k, v in is_.items() if k in R.POINTWISE}

            def pointwise(x, idx):
                sel = (lambda t: t) if idx is None else (lambda t: t[idx])
                steps = self._steps({k: sel(v) for k, v in present.items()}, sel(arg))
                if nxt is not None:
                    k2, arg2 = (sel(t) for t in nxt)
                    steps += self._steps({k: k2 == KIND_CODE[k] for k in present}, arg2)
                return F.pointwise_chain(x, steps)

            img, owned = F.on_samples(img, _any_of(present, R.POINTWISE, kind), pointwise, owned)
        if "saturation" in self._kinds and img.shape[1] == 3:

            def saturate(x, idx):
                sel = (lambda t: t) if idx is None else (lambda t: t[idx])
                return F.adjust_saturation(x, torch.where(sel(is_["saturation"]), sel(arg), 1.0))

            img, owned = F.on_samples(img, is_["saturation"], saturate, owned)
        if "sharpness" in self._kinds:

            def sharpen(x, idx):
                sel = (lambda t: t) if idx is None else (lambda t: t[idx])
                return F.adjust_sharpness(x, torch.where(sel(is_["sharpness"]), sel(arg), 1.0))

            img, owned = F.on_samples(img, is_["sharpness"], sharpen, owned)
        return img, targets, owned

    def _matrix(self, is_, arg, size, idx):
        sel = (lambda t: t) if idx is None else (lambda t: t[idx])
        a = sel(arg)
        zero = torch.zeros_like(a)

        def pick(k):
            return torch.where(sel(is_[k]), a, zero) if k in is_ else zero

        # Shear m: source x + m (y + 1/2), about the top-left pixel CORNER ((-1/2, -1/2) here): torchvision's
        # F.affine(shear=degrees(atan(m)), center=[0, 0]) and PIL's (1, m, 0, 0, 1, 0). Rotate: degrees
        # counter-clockwise about the image centre (F.rotate, PIL). Translate: a forward shift in pixels.
        # One op per sample, so one builder call.
        h, w = size
        is_shear = sel(_any_of(is_, ("shear_x", "shear_y"), arg))
        corner = torch.full_like(a, -0.5)
        center = torch.stack(
            (torch.where(is_shear, corner, (w - 1) / 2.0), torch.where(is_shear, corner, (h - 1) / 2.0)), -1
        )
        shear = torch.rad2deg(torch.atan(torch.stack((pick("shear_x"), pick("shear_y")), -1)))
        translate = torch.stack((pick("translate_x"), pick("translate_y")), -1)
        return F.affine_matrix(a.shape[0], pick("rotate"), translate, 1.0, shear, center, a.device)

    def _steps(self, is_, arg):
        """``pointwise_chain`` steps, each masked to the samples that drew it (floating samples that did
        not draw posterize are not quantized, uint8 tables are the identity there). One op per sample and
        slot, so the order does not matter: contrast goes first, where its gray-mean pass reads the image
        itself (no table to apply before averaging)."""
        one = torch.ones_like(arg)
        steps = []
        if "contrast" in is_:
            steps.append(("contrast", torch.where(is_["contrast"], arg, one), is_["contrast"]))
        if "brightness" in is_:
            steps.append(("brightness", torch.where(is_["brightness"], arg, one), is_["brightness"]))
        if "posterize" in is_:
            steps.append(("posterize", torch.where(is_["posterize"], arg, 8.0), is_["posterize"]))
        if "solarize" in is_:
            steps.append(("solarize", torch.where(is_["solarize"], arg, 0.0), is_["solarize"]))
        if "solarize_add" in is_:
            steps.append(("solarize_add", (torch.where(is_["solarize_add"], arg, 0.0),), is_["solarize_add"]))
        for k in ("autocontrast", "equalize", "invert"):
            if k in is_:
                steps.append((k, None, is_[k]))
        return steps


_POINTWISE_CODES = tuple(KIND_CODE[k] for k in R.POINTWISE)


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


def magnitude_fraction(s: Sampler, magnitude: float, levels: float, std: float, mmax: float, slots: int):
    """timm's magnitude noise: N(m, std) (std = inf: U(0, m)), clipped to [0, mmax], as a fraction of
    ``levels`` (torchvision: the last bin index; timm: 10)."""
    if std == 0:
        m = torch.full((s.n, slots), float(magnitude), device=s.device)
    elif math.isinf(std):
        m = s.uniform(0.0, float(magnitude), slots)
    else:
        m = magnitude + std * s.normal(slots)
    return m.clamp(0.0, mmax) / levels
