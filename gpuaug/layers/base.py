"""The base of every augmentation layer: argument checks, per-sample sampling, gating, replay, config.

A layer works in three separate steps (docs/contract.md "Random layers"):

1. ``sample(shape, device)`` draws the raw per-sample parameters, a dict of ``(B, ...)`` tensors on the
   image's device, from the layer's ``generator`` (or the global one). ``params["apply"]`` is the
   per-sample gate ``rand < p``. With ``same_on_batch`` one set is drawn and expanded to the batch.
2. ``_transform(img, params, targets)`` is deterministic: it turns the raw parameters into identity
   parameters where ``apply`` is false (identity matrix, factor 1, identity table), runs the op once on the
   batch and returns ``(img, targets)``. ``apply(img, params, ...)`` replays a draw on another batch.
3. ``forward`` = ``sample`` + ``_transform`` in training mode; ``eval()`` is the identity (deterministic
   layers such as ``Normalize`` still apply). ``layer.last_params`` keeps the last draw.

Every layer, container, mixer and policy has ONE call signature (docs/contract.md, "Targets")::

    forward(img, labels=None, *, masks=None, boxes=None, box_labels=None, keypoints=None,
            box_format="xyxy", normalized=False, return_params=False)

``targets`` inside the layers is a dict holding the given targets (of :data:`TARGETS`) as batches.

Nothing here reads a device tensor on the host: the gate and parameters stay on the device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

import torch
from torch import nn

from gpuaug import _checks
from gpuaug.layers.clips import frame_target, per_frame
from gpuaug.layers.sampling import _SETTINGS, Sampler, dirichlet, settings_version  # noqa: F401 (re-exported)
from gpuaug.layers.targets import BoxIO

# ----------------------------------------------------------------------------------------------- checks


def check_prob(value, name: str = "p") -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(value).__name__}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def check_generator(generator) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


def check_bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def check_number(value, name: str, lo: float = -math.inf, hi: float = math.inf, finite: bool = True) -> float:
    """A real number in ``[lo, hi]``; finite unless ``finite=False`` (NaN is always refused)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if finite and not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if not lo <= float(value) <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    return float(value)


def check_int(value, name: str, lo: int = -(2**62), hi: int = 2**62) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    return value


def to_range(
    value,
    name: str,
    center: float | None = None,
    lo: float = -math.inf,
    hi: float = math.inf,
) -> tuple[float, float]:
    """torchvision's range arguments: ``x`` means ``(center - x, center + x)`` (``(-x, x)`` without a
    centre), a pair ``(a, b)`` is taken as is. Both ends must be finite, lie in ``[lo, hi]`` and
    ``a <= b``."""
    if isinstance(value, Real) and not isinstance(value, bool):
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be finite, got {value!r}")
        if value < 0:
            raise ValueError(f"{name} must be non-negative when a single number, got {value!r}")
        c = 0.0 if center is None else center
        pair = (c - float(value), c + float(value))
    elif (
        _checks.is_sequence(value)
        and len(value) == 2
        and all(isinstance(v, Real) and not isinstance(v, bool) for v in value)
    ):
        pair = (float(value[0]), float(value[1]))
        if not all(math.isfinite(v) for v in pair):
            raise ValueError(f"{name} must be finite, got {value!r}")
    else:
        raise TypeError(f"{name} must be a number or a pair of numbers, got {value!r}")
    if pair[0] > pair[1]:
        raise ValueError(f"{name} must be (min, max) with min <= max, got {value!r}")
    if pair[0] < lo or pair[1] > hi:
        raise ValueError(f"{name} must lie in [{lo}, {hi}], got {value!r}")
    return pair


def check_size(value, name: str = "size") -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (
        not _checks.is_sequence(value)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise TypeError(f"{name} must be an int or a pair of ints (H, W), got {value!r}")
    if value[0] <= 0 or value[1] <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return int(value[0]), int(value[1])


# --------------------------------------------------------------------------------------------- sampling


def expand_params(params: dict, batch: int) -> dict:
    """Expand every ``(1, ...)`` tensor of a same-on-batch draw to ``(batch, ...)``."""
    out = {}
    for k, v in params.items():
        if isinstance(v, torch.Tensor) and v.dim() >= 1 and v.shape[0] == 1 and batch != 1:
            out[k] = v.expand(batch, *v.shape[1:])
        else:
            out[k] = v
    return out


def gate(params, mask: torch.Tensor):
    """AND an extra per-sample mask into (possibly nested) params: how RandomApply / RandomChoice gate
    their children without touching their code."""
    if isinstance(params, list):
        return [gate(p, mask) for p in params]
    out = dict(params)
    if "apply" in out:
        out["apply"] = out["apply"] & mask
    if "children" in out:
        out["children"] = gate(out["children"], mask)
    return out


# ---------------------------------------------------------------------------------------------- config


def _plain(value):
    """A config value as plain Python (lists, numbers, strings) so it prints and dumps to YAML."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value


def format_config(cfg: dict, indent: int = 0) -> str:
    """``Name(arg=value, ...)``; containers list their transforms one per line."""
    cfg = dict(cfg)
    name = cfg.pop("name")
    inner = cfg.pop("transforms", None)
    args = ", ".join(f"{k}={v!r}" for k, v in cfg.items())
    if inner is None:
        return f"{name}({args})"
    pad = " " * (indent + 4)
    lines = [f"{pad}{format_config(t, indent + 4)}," for t in inner]
    tail = f", {args}" if args else ""
    return f"{name}([\n" + "\n".join(lines) + f"\n{' ' * indent}]{tail})"


# ------------------------------------------------------------------------------------------------ layer


#: the targets a layer takes by keyword, in the order they are returned
TARGETS = ("labels", "masks", "boxes", "box_labels", "keypoints")


def spatial(targets: dict) -> bool:
    """True if ``targets`` holds anything that moves with the pixels (masks, boxes, keypoints)."""
    return any(k in targets for k in ("masks", "boxes", "keypoints"))


class RandomLayer(nn.Module):
    """Base of every layer. Subclasses set ``kind`` and implement ``_draw`` and ``_transform``.

    ``kind``: ``"geometric"`` (a per-sample matrix; also implements ``matrix`` and ``output_size``),
    ``"pointwise"`` (a per-sample 256-entry table on uint8; also implements ``lut_steps``), ``"pixel"``
    (any other image op), ``"mix"`` (CutMix/MixUp: mixes samples and their labels), ``"container"``.
    """

    kind = "pixel"
    #: deterministic layers (Normalize) still run in eval mode
    deterministic = False
    #: off the CPU host path, a uint8 batch without targets runs as a compiled plan (``gpuaug.plan``):
    #: ``Compose`` and the policies, whose eager form is many small launches
    plannable = False

    def __init__(self, p: float = 1.0, generator: torch.Generator | None = None, same_on_batch: bool = False):
        super().__init__()
        self.p = check_prob(p)
        self.generator = check_generator(generator)
        self.same_on_batch = check_bool(same_on_batch, "same_on_batch")
        self.last_params: dict | None = None
        self._plans = None  # gpuaug.plan.Plans, made on the first planned batch

    def __setattr__(self, name: str, value) -> None:
        super().__setattr__(name, value)
        if not name.startswith("_") and name not in ("training", "last_params"):
            _SETTINGS[0] += 1  # a setting changed (a magnitude schedule): compiled plans are stale

    @property
    def last_params(self) -> dict | None:
        """The parameters of the last training call (what ``apply`` replays)."""
        if callable(self._last_params):  # a plan's draws, turned into parameters when asked for
            self._last_params = self._last_params()
        return self._last_params

    @last_params.setter
    def last_params(self, value) -> None:
        self._last_params = value

    # -- config ---------------------------------------------------------------------------------------
    def _args(self) -> dict:
        """Constructor arguments (without ``generator``) in the order they print."""
        return {}

    def to_config(self) -> dict:
        args = dict(self._args())
        if not self.deterministic and self.kind != "container":
            args.setdefault("p", self.p)
            if self.same_on_batch:
                args["same_on_batch"] = True
        return {"name": type(self).__name__, **_plain(args)}

    def __repr__(self) -> str:
        return format_config(self.to_config())

    # -- sampling -------------------------------------------------------------------------------------
    def _draw(self, s: Sampler, shape: tuple[int, ...]) -> dict:
        """Raw parameters for ``s.n`` samples of an input of ``shape`` (B, C, H, W)."""
        return {}

    def draw(self, s: Sampler, shape: tuple[int, ...]) -> dict:
        """The gate ``apply`` then ``_draw``, from the sampler ``s`` (in this order: a compiled plan derives
        the same parameters from the same columns of its block)."""
        params = {"apply": s.bernoulli(self.p)}
        params.update(self._draw(s, shape))
        return params

    def sample(self, shape: Sequence[int], device: torch.device | str = "cpu") -> dict:
        """Draw the per-sample parameters for a batch of ``shape`` = (B, C, H, W) on ``device``."""
        shape = tuple(int(v) for v in shape)
        batch = shape[0]
        device = torch.device(device)
        params = self.draw(Sampler(self.generator, 1 if self.same_on_batch else batch, device), shape)
        return expand_params(params, batch) if self.same_on_batch else params

    # -- applying -------------------------------------------------------------------------------------
    def _transform(self, img: torch.Tensor, params: dict, targets: dict) -> tuple[torch.Tensor, dict]:
        """Deterministic op on a (B, C, H, W) batch and its targets; returns ``(img, targets)``."""
        raise NotImplementedError

    def _eval(self, img: torch.Tensor, targets: dict) -> tuple[torch.Tensor, dict]:
        """What eval mode does: nothing, except in deterministic layers (and containers holding them)."""
        if self.deterministic:
            return self._transform(img, self.sample(img.shape, img.device), targets)
        return img, targets

    def apply(self, img: torch.Tensor, params: dict, labels=None, *, masks=None, boxes=None,
              box_labels=None, keypoints=None, box_format="xyxy", normalized=False):
        """Replay ``params`` (from ``sample``, ``last_params`` or ``return_params=True``) on ``img`` and the
        targets given; same return convention as ``forward``, in eval mode too."""
        call = _Call(img, labels, masks, boxes, box_labels, keypoints, type(self).__name__, box_format,
                     normalized)
        out = self._transform(call.batch, per_frame(params, call.clips), call.targets)
        return call.finish(*out, None, False)

    def forward(self, img: torch.Tensor, labels=None, *, masks=None, boxes=None, box_labels=None,
                keypoints=None, box_format="xyxy", normalized=False, return_params: bool = False):
        """Augment ``img`` ((B, C, H, W) or (C, H, W)) and the targets given (docs/contract.md).

        ``labels`` ((B,) class ids or (B, K) soft labels) may be positional; the others are keywords:
        ``masks`` (B, H, W) or (B, M, H, W), ``boxes`` (B, K, 4) or a list of B (K_i, 4) in ``box_format``
        (xyxy, xywh, cxcywh; ``normalized``: fractions of W, H), ``box_labels`` (B, K) or a list,
        ``keypoints`` (B, K, 2).
        Returns the image alone, or a tuple: the image, then the targets given in the order labels,
        masks, boxes, box_labels, keypoints; ``return_params=True`` appends the params (None in eval mode).
        """
        call = _Call(img, labels, masks, boxes, box_labels, keypoints, type(self).__name__, box_format,
                     normalized)
        # (a video's draws are per clip, a plan's per frame: videos run eagerly)
        planned = self._run_plan(call.batch, call.targets) if self.training and not call.clips else None
        if planned is not None:
            out, self.last_params = planned
            params = self.last_params if return_params else None
        elif self.training:
            params = self.sample(call.shape, call.batch.device)
            self.last_params = params
            out = self._transform(call.batch, per_frame(params, call.clips), call.targets)
        else:
            params = None
            out = self._eval(call.batch, call.targets)
        return call.finish(*out, params, return_params)


    def _run_plan(self, img: torch.Tensor, targets: dict):
        """``((out, targets), params thunk)`` of this batch as a compiled plan, or ``None`` (not
        ``plannable``, masks, not uint8, the CPU host path, or no plan for it: ``self._plans.reason``).
        Boxes and keypoints ride in the plan (its matrices); labels and box_labels pass through."""
        from gpuaug import functional as F
        from gpuaug.plan import Plans, params_of, runs_plans

        if not self.plannable or "masks" in targets or img.dtype != torch.uint8 or not runs_plans(img):
            return None
        self._plans = self._plans or Plans()
        spec = self._plans.get(self, None, None, img, None)
        if spec is None:
            return None
        block = spec.uniforms(img.device)
        moved = {k: v for k, v in targets.items() if k in ("boxes", "keypoints")}
        out, _, moved = F.run_plan(spec, img, None, block, targets=moved)
        return (out, {**targets, **moved}), lambda: params_of(spec, block, self)


class _Call:
    """One call's image and targets as batches (validated), and the way back to the caller's shapes. A
    video ``(B, T, C, H, W)`` runs as its frames, with parameters drawn per clip (``gpuaug.layers.clips``)."""

    def __init__(self, img, labels, masks, boxes, box_labels, keypoints, who: str, box_format="xyxy",
                 normalized=False):
        self.batch, self.restore, self.clips = (_checks.as_clips(img) if getattr(img, "ndim", 0) == 5
                                                else (*_checks.as_batch(img), None))
        self.shape = (self.clips[0], *self.batch.shape[1:]) if self.clips else tuple(self.batch.shape)
        self.single = img.dim() == 3
        self.boxes = BoxIO(box_format, normalized)  # (lists, formats, SanitizeBoxes: layers/targets.py)
        boxes, box_labels = self.boxes.enter(boxes, box_labels, self.batch, self.single)
        given = {"labels": labels, "masks": masks, "boxes": boxes, "box_labels": box_labels,
                 "keypoints": keypoints}
        self.given = [k for k in TARGETS if given[k] is not None]
        if labels is not None:
            _check_labels(labels, who)
        self.targets = {k: _as_batch_target(k, given[k], self.single, self.clips) for k in self.given}
        _check_targets(self.batch, self.targets, self.clips)

    def finish(self, img: torch.Tensor, targets: dict, params, return_params: bool):
        targets = self.boxes.leave(targets, img)
        out = [self.restore(img)]
        for k in self.given:
            t = targets[k]
            if self.clips and k != "labels" and isinstance(t, torch.Tensor):
                t = t.unflatten(0, self.clips)
            out.append(t[0] if self.single and isinstance(t, torch.Tensor) else t)
        if return_params:
            out.append(params)
        return out[0] if len(out) == 1 else tuple(out)


def _check_labels(labels, who: str) -> None:
    """labels: (B,) integer class ids or (B, K) floating soft labels; anything else (a mask given
    positionally, a dict) is an error that says how to pass it."""
    ok = isinstance(labels, torch.Tensor) and (
        (labels.dim() <= 1 and not labels.is_floating_point() and not labels.is_complex()
         and labels.dtype != torch.bool)
        or (labels.dim() == 2 and labels.is_floating_point()))
    if not ok:
        what = (f"a tensor of shape {tuple(labels.shape)} and dtype {labels.dtype}"
                if isinstance(labels, torch.Tensor) else f"a {type(labels).__name__}")
        raise ValueError(
            f"{who}: the second positional argument is labels ((B,) integer class ids or (B, K) floating "
            f"soft labels), got {what}; pass masks, boxes, box_labels and keypoints by keyword "
            "(e.g. masks=...)")


def _as_batch_target(name: str, t, single: bool, clips=None):
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if clips and name != "labels":
        return frame_target(name, t, clips)
    return t.unsqueeze(0) if single else t


_TARGET_DIMS = {"labels": (1, 2), "masks": (3, 4), "boxes": (3,), "box_labels": (2,), "keypoints": (3,)}


def _check_targets(batch: torch.Tensor, targets: dict, clips=None) -> None:
    """Every target has the image's batch size (a video's labels: B clips); masks its H and W; boxes, ..."""
    frames, _, h, w = batch.shape
    for name, t in targets.items():
        b = clips[0] if clips and name == "labels" else frames
        if t.dim() not in _TARGET_DIMS[name]:
            raise ValueError(f"{name} must have {' or '.join(map(str, _TARGET_DIMS[name]))} dimensions "
                             f"(batched), got shape {tuple(t.shape)}")
        if t.shape[0] != b:
            raise ValueError(f"{name} must have one entry per sample ({b}), got shape {tuple(t.shape)}")
        if name == "masks" and tuple(t.shape[-2:]) != (h, w):
            raise ValueError(f"masks must have the image's height and width {(h, w)}, got shape "
                             f"{tuple(t.shape)}")
        if name in ("boxes", "keypoints") and t.shape[-1] != (4 if name == "boxes" else 2):
            raise ValueError(f"{name} must be (B, K, {4 if name == 'boxes' else 2}), got shape "
                             f"{tuple(t.shape)}")
    bl, bx = targets.get("box_labels"), targets.get("boxes")
    if bl is not None and bx is not None and bl.shape[:2] != bx.shape[:2]:
        raise ValueError(f"box_labels must be (B, K) with the K of boxes, got {tuple(bl.shape)} for boxes "
                         f"{tuple(bx.shape)}")
