"""A compiled plan: the structure of a pipeline that runs in a handful of launches on the device.

A plan covers ``[geometric layers] -> [policy] -> [mixer] -> [normalize, cast, layout]`` on a uint8 batch:
Compose (or a single layer) of geometric layers (RandomResizedCrop, RandomCrop, the flips, RandomAffine,
RandomRotation) that fuse into one warp, then at most one policy (RandAugment, TrivialAugmentWide,
AutoAugment, TimmRandAugment), then a mixer (CutMix, MixUp, MixUpCutMix with the "roll" or "flip"
partner) and the hook's epilogue. Anything else runs the layers eagerly (``compile_plan`` returns
``None`` and says why in ``last_reason``).

Randomness: ONE ``(B, ncols)`` block of uniforms from the layers' generator; every layer draws from its
own columns in the order of its eager ``draw`` (``layers.base.Sampler`` with a block), so the parameters
derived on the device (``pipeline_params``) are the ones the eager layers derive from the same block.

Per-sample rows ``P`` (float32, ``width`` columns; integers are exact in float32):

- ``GEO`` (6): the inverse (output -> source) matrix of the geometric run, when there is one;
- per policy slot ``k`` (``slot(k)``, 9 each): ``KIND`` (registry.KINDS code, identity where the op is
  inactive), ``ARG`` (the op's argument), ``INTERP`` (0 nearest, 1 bilinear, 2 bicubic), ``INV`` (6: the
  inverse matrix of a geometric op, else the identity);
- ``MIX`` (8): ``MODE`` (0 none, 1 CutMix, 2 MixUp), ``PARTNER``, ``X0 Y0 X1 Y1`` (the pasted box, whole
  pixels), ``LAM`` (MixUp's weight of the sample itself), ``OWN`` (the label weight of the sample itself).

Passes (one launch each, after the draw and the parameter launch): the geometric run (if any) writes the
warped batch; each slot reads the previous batch and writes its own; the last pass also mixes, normalizes,
casts and lays out. A pass writes the histograms the NEXT slot's samples need (equalize, autocontrast,
contrast); a slot whose input has no producing pass (a policy first) gets a stats-only pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gpuaug.layers import geometric as geo
from gpuaug.layers import mix as mx
from gpuaug.layers.base import RandomLayer, Sampler, spatial
from gpuaug.layers.container import Compose, _geo_run
from gpuaug.policies.slots import INTERPOLATIONS
from gpuaug.policies.timm import TimmRandAugment
from gpuaug.policies.torchvision import AutoAugment, RandAugment, TrivialAugmentWide

GEO_CODES = {geo.RandomResizedCrop: 1, geo.RandomHorizontalFlip: 2, geo.RandomVerticalFlip: 3,
             geo.RandomRotation: 4, geo.RandomAffine: 5, geo.RandomCrop: 6}
POLICY_CODES = {RandAugment: 1, TrivialAugmentWide: 2, AutoAugment: 3, TimmRandAugment: 4}
MIX_CODES = {mx.CutMix: 1, mx.MixUp: 2, mx.MixUpCutMix: 3}
FILL_MODES = geo.FILL_MODES

# column offsets inside a slot's and the mix's part of a row
KIND, ARG, INTERP, INV = 0, 1, 2, 3
SLOT_WIDTH = 9
MODE, PARTNER, X0, Y0, X1, Y1, LAM, OWN = range(8)
MIX_WIDTH = 8


class Unsupported(Exception):
    """The pipeline has a part a plan does not cover: run it eagerly."""


@dataclass
class Stage:
    """One layer of the plan: its code, its columns of the block, the image size it sees and makes."""

    layer: RandomLayer
    code: int
    col: int
    ncols: int
    in_size: tuple[int, int]
    out_size: tuple[int, int]


@dataclass(frozen=True)
class Epilogue:
    """What the last pass writes: ``(x - mean) / std`` (mean/std on the [0, 1] scale) as ``dtype``."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    dtype: torch.dtype
    channels_last: bool


@dataclass
class Spec:
    shape: tuple[int, int, int, int]
    generator: torch.Generator | None
    geo: list[Stage] = field(default_factory=list)
    geo_interpolation: str = "nearest"
    geo_fill_mode: str = "constant"
    geo_fill: object = 0
    policy: Stage | None = None
    mix: Stage | None = None
    num_classes: int | None = None
    epilogue: Epilogue | None = None
    ncols: int = 0
    cache: dict = field(default_factory=dict)  # device constants built on the first run

    @property
    def slots(self) -> int:
        return 0 if self.policy is None else self.policy.layer.num_slots

    def slot(self, k: int) -> int:
        """First column of slot ``k``'s part of a row."""
        return (6 if self.geo else 0) + SLOT_WIDTH * k

    @property
    def mix_col(self) -> int:
        return self.slot(self.slots)

    @property
    def width(self) -> int:
        return self.mix_col + (MIX_WIDTH if self.mix is not None else 0)

    def draw(self, block: torch.Tensor) -> dict:
        """The eager parameters every layer of the plan derives from the uniforms ``block`` (B, ncols):
        ``{"geo": [params of each geometric layer], "policy": params, "mix": params}`` (``None`` for a part
        the plan does not have). What ``return_params`` gives and the reference of the device derivation."""
        b, c = self.shape[:2]
        s = Sampler(None, b, block.device, block=block)
        out = {"geo": [st.layer.draw(s, (b, c, *st.in_size)) for st in self.geo], "policy": None, "mix": None}
        if self.policy is not None:
            out["policy"] = self.policy.layer.draw(s, (b, c, *self.size))
        if self.mix is not None:
            p = self.mix.layer.draw(s, (b, c, *self.size))
            p["partner"] = self.mix.layer._partner(b, block.device)
            out["mix"] = p
        assert s.cursor == self.ncols, (s.cursor, self.ncols)
        return out

    def constants(self, device: torch.device) -> tuple[torch.Tensor, ...]:
        """``(geo_fill, policy_fill, scale, shift)``, float32 ``(C,)`` each on ``device``, built on the plan's
        first run there (one host-to-device copy, not one per batch): the fills of the geometric run and of
        the policy's warps in uint8 levels, and the epilogue's ``x * scale + shift`` = ``(x / 255 - mean) /
        std`` as ``functional.normalize`` computes it (``None`` without an epilogue)."""
        key = ("constants", str(device))
        if key not in self.cache:
            c = self.shape[1]

            def per_channel(v):
                t = torch.as_tensor(v, dtype=torch.float32).reshape(-1)
                return (t.expand(c) if t.numel() == 1 else t).contiguous().to(device)

            geo_fill = per_channel(self.geo_fill)
            pol_fill = per_channel(self.policy.layer._fill_for(torch.uint8)) if self.policy else geo_fill
            scale = shift = None
            if self.epilogue is not None:
                mean = torch.tensor(self.epilogue.mean, dtype=torch.float32).expand(c)
                std = torch.tensor(self.epilogue.std, dtype=torch.float32).expand(c)
                scale = (1.0 / (255.0 * std)).contiguous().to(device)
                shift = (-mean / std).contiguous().to(device)
            self.cache[key] = (geo_fill, pol_fill, scale, shift)
        return self.cache[key]

    def uniforms(self, device: torch.device) -> torch.Tensor:
        """A batch's block of uniforms (B, ncols) from the layers' generator."""
        return torch.rand((self.shape[0], self.ncols), generator=self.generator, device=device)

    @property
    def size(self) -> tuple[int, int]:
        """The image size after the geometric run (what the slots and the mixer see)."""
        return self.geo[-1].out_size if self.geo else tuple(self.shape[-2:])


def _columns(layer: RandomLayer, shape) -> int:
    """How many columns of the block ``layer.draw`` consumes (a dry run on one row of zeros)."""
    s = Sampler(None, 1, torch.device("cpu"), block=torch.zeros(1, 1 << 14))
    layer.draw(s, (1, *shape[1:]))
    return s.cursor


def _leaves(augment) -> list[RandomLayer]:
    if augment is None:
        return []
    if type(augment) is Compose:
        out = []
        for t in augment.transforms:
            if t.kind == "container":
                raise Unsupported(f"{type(t).__name__} inside Compose")
            out.append(t)
        return out
    if isinstance(augment, RandomLayer) and augment.kind != "container":
        return [augment]
    raise Unsupported(f"augment is a {type(augment).__name__}")


def compile_plan(augment, mix, epilogue: Epilogue | None, x: torch.Tensor, labels, targets: dict) -> Spec:
    """The plan of ``augment`` then ``mix`` then ``epilogue`` for the batch ``x`` (raises ``Unsupported``)."""
    if x.dtype != torch.uint8 or x.dim() != 4:
        raise Unsupported("plans run uint8 (B, C, H, W) batches")
    if "masks" in targets:
        raise Unsupported("masks (they run with the layers one by one)")
    if mix is not None and spatial(targets):
        raise Unsupported("a mixer with boxes or keypoints")
    layers = _leaves(augment)
    geo_layers, policy = [], None
    for i, t in enumerate(layers):
        if policy is None and t.kind == "geometric":
            geo_layers.append(t)
        elif policy is None and type(t) in POLICY_CODES:
            policy = t
        else:
            raise Unsupported(f"{type(t).__name__} (layer {i}): a plan covers geometric layers, then one of "
                              f"{', '.join(c.__name__ for c in POLICY_CODES)}")
    if mix is not None and type(mix) not in MIX_CODES:
        raise Unsupported(f"mix {type(mix).__name__}")
    if mix is not None and (mix.partner not in ("roll", "flip")):
        raise Unsupported(f"partner {mix.partner!r}")
    if mix is not None and not (isinstance(labels, torch.Tensor) and labels.dim() == 1
                                and not labels.is_floating_point()):
        raise Unsupported("mixing needs integer class labels (B,)")
    every = [*layers, *([mix] if mix is not None else [])]
    gens = {id(t.generator) for t in every}
    if len(gens) > 1:
        raise Unsupported("layers with different generators")
    if any(t.same_on_batch for t in every):
        raise Unsupported("same_on_batch")
    for t in geo_layers:
        if type(t) not in GEO_CODES:
            raise Unsupported(f"{type(t).__name__}")
    gen = every[0].generator if every else None
    if gen is not None and gen.device.type != x.device.type:
        raise Unsupported("the generator is on another device")  # (the eager layers say so)
    spec = Spec(tuple(x.shape), gen, epilogue=epilogue)
    if geo_layers:
        j, interp, fill = _geo_run([(t, None) for t in geo_layers], 0)
        if j != len(geo_layers):
            raise Unsupported("geometric layers with different interpolation or fill settings")
        fill = fill or geo_layers[0]
        spec.geo_interpolation = interp.interpolation if interp else "nearest"
        spec.geo_fill_mode, spec.geo_fill = fill.fill_mode, fill.fill
        if spec.geo_interpolation not in INTERPOLATIONS:
            raise Unsupported(spec.geo_interpolation)
    col, size, c = 0, tuple(x.shape[-2:]), x.shape[1]
    for t in geo_layers:
        out = t.output_size(size)
        n = _columns(t, (1, c, *size))
        spec.geo.append(Stage(t, GEO_CODES[type(t)], col, n, size, out))
        col, size = col + n, out
    if policy is not None:
        n = _columns(policy, (1, c, *size))
        spec.policy = Stage(policy, POLICY_CODES[type(policy)], col, n, size, size)
        col += n
    if mix is not None:
        n = _columns(mix, (1, c, *size))
        spec.mix = Stage(mix, MIX_CODES[type(mix)], col, n, size, size)
        spec.num_classes = mix.num_classes
        if spec.num_classes is None:
            raise Unsupported("mixing integer labels needs num_classes")
        col += n
    spec.ncols = col
    return spec


__all__ = ["Epilogue", "Spec", "Stage", "Unsupported", "compile_plan"]
