"""Compose, RandomApply, RandomChoice: pipelines that fuse.

Every container flattens to a list of (leaf layer, params) pairs. RandomApply and RandomChoice do not
branch: they AND their per-sample choice into the children's ``apply`` gates (a child that is not chosen
for a sample gets identity parameters there). The flat list then runs in order with two fusions:

- consecutive geometric layers (same interpolation, fill mode and fill) multiply their (B, 3, 3)
  matrices, each built for the size its input has (resized crops change it), and warp ONCE;
- consecutive pointwise layers on uint8 images build one 256-entry table per sample and channel
  (``gpuaug.functional.pointwise_chain``) and touch the pixels once.

Everything else keeps its order. Containers take and return what every layer does (``RandomLayer.forward``):
the image, then the targets given, in the order labels, masks, boxes, box_labels, keypoints; a mixing layer
inside turns ``labels`` into soft labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gpuaug import _checks
from gpuaug.layers import geometric as geo
from gpuaug.layers.base import RandomLayer, Sampler, check_number, gate


def out_shape(layer: RandomLayer, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The (B, C, H, W) a layer produces from ``shape`` (the same for every draw)."""
    if layer.kind == "geometric":
        return (*shape[:2], *layer.output_size(tuple(shape[-2:])))
    if layer.kind == "container":
        return layer.out_shape(shape)
    return shape


def _check_layers(transforms, name: str = "transforms") -> list:
    if isinstance(transforms, RandomLayer):
        transforms = [transforms]
    if not isinstance(transforms, Sequence) or isinstance(transforms, str):
        raise TypeError(f"{name} must be a sequence of gpuaug layers, got {type(transforms).__name__}")
    for i, t in enumerate(transforms):
        if not isinstance(t, RandomLayer):
            raise TypeError(f"{name}[{i}] must be a gpuaug layer, got {type(t).__name__}")
    return list(transforms)


def _fill_key(layer):
    fill = layer.fill.tolist() if isinstance(layer.fill, torch.Tensor) else layer.fill
    return (layer.fill_mode, repr(fill), layer.mask_fill)


def _fuses(layer) -> bool:
    """A geometric layer whose op is its matrix (a resize with antialiasing is not: it runs on its own)."""
    return layer.kind == "geometric" and layer.fusable


def _geo_run(items, i):
    """End of the run of fusable geometric layers starting at ``i``, and the layers whose interpolation and
    fill settings the one warp uses: a layer joins when every setting it depends on agrees."""
    interp = fill = None
    j = i
    while j < len(items) and _fuses(items[j][0]):
        layer = items[j][0]
        if layer.uses_interpolation:
            if interp is not None and layer.interpolation != interp.interpolation:
                break
            interp = interp or layer
        if layer.uses_fill:
            if fill is not None and _fill_key(layer) != _fill_key(fill):
                break
            fill = fill or layer
        j += 1
    return j, interp, fill


def run(items, img: torch.Tensor, targets: dict) -> tuple[torch.Tensor, dict]:
    """Run a flat list of (leaf, params) on a (B, C, H, W) batch and its targets, with geometric and LUT
    fusion; returns ``(img, targets)``."""
    i = 0
    while i < len(items):
        layer, params = items[i]
        if _fuses(layer):
            j, interp, fill = _geo_run(items, i)
            m = None
            size = tuple(img.shape[-2:])
            for lj, pj in items[i:j]:
                mj = lj.matrix(pj, size)
                m = mj if m is None else mj @ m  # later ops act on the output of earlier ones
                size = lj.output_size(size)
            # a run of flips alone moves whole pixels inside the image: exact with nearest, no fill
            fill = fill or layer
            interpolation = interp.interpolation if interp else "nearest"
            img, targets = geo.warp_all(img, m, size, interpolation, fill.fill_mode, fill.fill,
                                        fill.mask_fill, targets)
            i = j
        elif layer.kind == "pointwise" and img.dtype == torch.uint8:
            j, steps = i, []
            while j < len(items) and items[j][0].kind == "pointwise":
                steps.extend(items[j][0].lut_steps(items[j][1], img))
                j += 1
            img = layer.run_steps(img, steps)
            i = j
        else:
            img, targets = layer._transform(img, params, targets)
            i += 1
    return img, targets


class _Container(RandomLayer):
    kind = "container"

    def __init__(self, transforms, p=1.0, generator=None, same_on_batch=False):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        self.transforms = torch.nn.ModuleList(_check_layers(transforms))

    def out_shape(self, shape):
        for t in self.transforms:
            shape = out_shape(t, shape)
        return shape

    def _sample_children(self, shape, device):
        out = []
        for t in self.transforms:
            out.append(t.sample(shape, device))
            shape = out_shape(t, shape)
        return out

    def flatten(self, params) -> list:
        """(leaf, params) pairs in order, with this container's gate applied."""
        items = []
        for t, p in zip(self.transforms, gate(params["children"], params["apply"])):
            items.extend(t.flatten(p) if t.kind == "container" else [(t, p)])
        return items

    def _transform(self, img, params, targets):
        return run(self.flatten(params), img, targets)


class Compose(_Container):
    """Run ``transforms`` in order, fusing consecutive geometric layers into one warp and consecutive
    uint8 pointwise layers into one lookup table (see the module docstring)."""

    plannable = True

    def __init__(self, transforms):
        super().__init__(transforms)

    def to_config(self):
        return {"name": "Compose", "transforms": [t.to_config() for t in self.transforms]}

    def sample(self, shape, device="cpu"):
        shape = tuple(int(v) for v in shape)
        device = torch.device(device)
        apply = torch.ones(shape[0], dtype=torch.bool, device=device)
        return {"apply": apply, "children": self._sample_children(shape, device)}

    def _eval(self, img, targets):
        """Eval mode: the deterministic leaves (Normalize) still run, in order."""
        items = [(leaf, leaf.sample(img.shape, img.device)) for leaf in self._eval_leaves()]
        return run(items, img, targets)

    def _eval_leaves(self) -> list:
        """Deterministic leaves, also inside nested Compose (a RandomApply / RandomChoice is off in eval)."""
        items = []
        for t in self.transforms:
            if isinstance(t, Compose):
                items.extend(t._eval_leaves())
            elif t.deterministic:
                items.append(t)
        return items

    def __len__(self):
        return len(self.transforms)

    def __getitem__(self, i):
        return self.transforms[i]


class RandomApply(_Container):
    """Apply all of ``transforms`` (in order) to a sample with probability ``p``, per sample."""

    def __init__(self, transforms, p=0.5, generator=None, same_on_batch=False):
        super().__init__(transforms, p=p, generator=generator, same_on_batch=same_on_batch)

    def to_config(self):
        cfg = {"name": "RandomApply", "transforms": [t.to_config() for t in self.transforms], "p": self.p}
        if self.same_on_batch:
            cfg["same_on_batch"] = True
        return cfg

    def sample(self, shape, device="cpu"):
        params = super().sample(shape, device)
        params["children"] = self._sample_children(tuple(int(v) for v in shape), torch.device(device))
        return params


class RandomChoice(_Container):
    """Apply ONE of ``transforms`` per sample, chosen with probabilities ``p`` (default uniform).

    Every transform must give the same output size. Not chosen = identity parameters for that sample.
    """

    def __init__(self, transforms, p=None, generator=None, same_on_batch=False):
        super().__init__(transforms, p=1.0, generator=generator, same_on_batch=same_on_batch)
        n = len(self.transforms)
        if n == 0:
            raise ValueError("transforms must not be empty")
        if p is None:
            weights = [1.0 / n] * n
        else:
            if not isinstance(p, Sequence) or isinstance(p, str) or len(p) != n:
                raise ValueError(f"p must be a sequence of {n} weights (one per transform), got {p!r}")
            p = [check_number(v, "p", 0.0) for v in p]  # numbers, finite, non-negative
            if sum(p) <= 0:
                raise ValueError(f"p must be non-negative weights with a positive sum, got {p!r}")
            total = sum(float(v) for v in p)
            weights = [float(v) / total for v in p]
        self.weights = weights
        self._given_p = None if p is None else [float(v) for v in p]

    def to_config(self):
        cfg = {"name": "RandomChoice", "transforms": [t.to_config() for t in self.transforms]}
        if self._given_p is not None:
            cfg["p"] = self._given_p
        if self.same_on_batch:
            cfg["same_on_batch"] = True
        return cfg

    def out_shape(self, shape):
        outs = {out_shape(t, shape) for t in self.transforms}
        if len(outs) != 1:
            raise ValueError(
                f"RandomChoice transforms must all give the same output size, got {sorted(outs)}"
            )
        return outs.pop()

    def sample(self, shape, device="cpu"):
        shape = tuple(int(v) for v in shape)
        device = torch.device(device)
        self.out_shape(shape)
        batch = shape[0]
        s = Sampler(self.generator, 1 if self.same_on_batch else batch, device)
        cdf = _checks.to_device(list(_cumsum(self.weights)), torch.float32, device)
        u = s.uniform(0.0, 1.0)
        choice = torch.searchsorted(cdf, u.contiguous(), right=True).clamp_max(len(self.transforms) - 1)
        choice = choice.expand(batch) if self.same_on_batch else choice
        apply = torch.ones(batch, dtype=torch.bool, device=device)
        return {"apply": apply, "choice": choice, "children": self._sample_children(shape, device)}

    def flatten(self, params):
        items = []
        for k, (t, p) in enumerate(zip(self.transforms, params["children"])):
            p = gate(p, params["apply"] & (params["choice"] == k))
            items.extend(t.flatten(p) if t.kind == "container" else [(t, p)])
        return items


def _cumsum(weights):
    acc, out = 0.0, []
    for w in weights[:-1]:
        acc += w
        out.append(acc)
    return out


__all__ = ["Compose", "RandomApply", "RandomChoice", "run", "out_shape"]
