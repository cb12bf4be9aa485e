"""The batch hook: ``x, y = hook(x_uint8, y)`` augments, mixes, normalizes, casts and lays out one batch
where the model runs; :func:`build_hook` makes the standard ImageNet-style one."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from gpuaug import functional as F
from gpuaug.functional import targets as T
from gpuaug.layers.base import TARGETS
from gpuaug.loader import batch as B
from gpuaug.loader.collate import as_uint8_batch
from gpuaug.plan import Epilogue, Plans, runs_plans

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "BatchHook", "build_hook", "parse_policy"]


def _same_device(have: torch.device, want: torch.device) -> bool:
    """``want`` may omit the CUDA index ("cuda" means the current device)."""
    if have.type != want.type:
        return False
    if want.type == "cuda" and want.index is None:
        return have.index == torch.cuda.current_device()
    return have.index == want.index or want.type == "cpu"


# ----------------------------------------------------------------------------------------------------------
# The batch hook
# ----------------------------------------------------------------------------------------------------------
class BatchHook(nn.Module):
    """``x, y = hook(x_uint8, y)``: augment, mix labels, normalize, cast and lay out one batch.

    Args:
        augment: a module/callable ``(B, C, H, W) uint8 -> (B, C, H', W')`` (any gpuaug layer, policy or
            ``Compose``); ``None`` for none.
        mix: a module/callable ``(img, labels) -> (img, soft_labels)`` (``gpuaug.CutMix``, ``gpuaug.MixUp``,
            or a random choice of both); ``None`` for none.
        mean, std: per-channel statistics in [0, 1] units; the output is ``(x / 255 - mean) / std``.
            ``None`` leaves ``x / 255``. A floating result of ``augment``/``mix`` is taken as [0, 1] and
            normalized the same way; if your pipeline already normalizes (ends with ``Normalize``), pass
            ``mean=None, std=None`` and it is only cast.
        dtype: output dtype (``float32``, ``bfloat16`` or ``float16``).
        channels_last: return ``torch.channels_last`` images.
        device: where to run; ``None`` runs where the batch already is.
        num_classes: with int labels and no ``mix``, return one-hot float labels of this width
            (``None`` keeps the int labels). Only class labels: masks stay as they are.
        box_format, normalized: how the batches' boxes are given and returned (``"xyxy"``, ``"xywh"``,
            ``"cxcywh"``; pixels, or fractions of the width and height), as in every layer.
        eval_transform: a module/callable run on uint8 batches in eval mode only (``build_hook``'s:
            ``Resize`` then ``CenterCrop`` to the training size); ``None`` for none.

    Targets (masks, boxes, box_labels, keypoints; by keyword, or in a dict batch) move with the images
    through ``augment`` and ``mix`` (CutMix pastes masks; MixUp refuses them); such a batch runs the layers
    one by one (no compiled plan).


    ``hook.eval()`` skips augmentation and mixing (validation batches are only converted, after
    ``eval_transform``).
    On CUDA nothing here synchronizes with the host: copies are ``non_blocking`` and the constants live on
    the device.

    Off the CPU host path (CUDA, or backend ``triton``) a training batch runs as a compiled plan
    (``gpuaug.plan``): geometric layers, then one policy, then the mixer and this conversion in a handful of
    launches, compiled on the first batch of each shape and layer settings. Other pipelines (float input,
    other layers) run the layers one by one; ``hook.plan_reason`` says why (``None``: the last batch ran a
    plan). A plan draws its parameters from one block of uniforms of the layers' generator: reproducible
    from that generator, but not the same draws as the layers called one by one.
    """

    def __init__(
        self,
        augment: Callable | None = None,
        mix: Callable | None = None,
        *,
        mean: Sequence[float] | None = IMAGENET_MEAN,
        std: Sequence[float] | None = IMAGENET_STD,
        dtype: torch.dtype = torch.float32,
        channels_last: bool = True,
        device: torch.device | str | None = None,
        num_classes: int | None = None,
        box_format: str = "xyxy",
        normalized: bool = False,
        eval_transform: Callable | None = None,
    ) -> None:
        super().__init__()
        if dtype not in (torch.float32, torch.bfloat16, torch.float16):
            raise TypeError(f"dtype must be float32, bfloat16 or float16, got {dtype}")
        if (mean is None) != (std is None):
            raise ValueError("mean and std must be given together (or both None)")
        if std is not None and any(float(s) <= 0 for s in std):
            raise ValueError(f"std must be positive, got {tuple(std)}")
        if mean is not None and len(mean) != len(std):
            raise ValueError(f"mean and std must have the same length, got {len(mean)} and {len(std)}")
        self.augment = augment
        self.mix = mix
        self.dtype = dtype
        self.channels_last = channels_last
        self.device = None if device is None else torch.device(device)
        self.num_classes = num_classes
        T.check_box_format(box_format, normalized)
        self.box_format, self.normalized = box_format, normalized
        self.eval_transform = eval_transform
        # device-resident constants: normalizing reads them without a host-to-device copy
        self.register_buffer("_mean", torch.tensor(mean if mean is not None else (0.0,), dtype=torch.float32),
                             persistent=False)
        self.register_buffer("_std", torch.tensor(std if std is not None else (1.0,), dtype=torch.float32),
                             persistent=False)
        self._epilogue = Epilogue(tuple(float(v) for v in mean) if mean is not None else (0.0,),
                                  tuple(float(v) for v in std) if std is not None else (1.0,), dtype,
                                  channels_last)
        self._plans = Plans()

    @property
    def plan_reason(self) -> str | None:
        """Why the last training batch ran the layers one by one; ``None`` if it ran a compiled plan."""
        return self._plans.reason

    def forward(self, x, y=None, *, masks=None, boxes=None, box_labels=None, keypoints=None,
                layout: str = "auto"):
        """One batch through the hook.

        ``hook(batch)``: any loader batch (images; ``(images, labels)``; a dict, see ``gpuaug.loader.batch``)
        comes back in its own structure, every target augmented with the images, other dict keys untouched.
        ``hook(x, y, masks=..., boxes=..., box_labels=..., keypoints=...)``: ``x`` alone when no target is
        given, else a tuple: ``x``, then the targets given in the order labels, masks, boxes, box_labels,
        keypoints (the layers' convention; ``hook(x, y)`` gives ``(x, y)``).
        """
        given = dict(zip(TARGETS, (y, masks, boxes, box_labels, keypoints)))
        given = {k: v for k, v in given.items() if v is not None}
        if not given:
            images, targets, rebuild = B.split(x)
            return rebuild(*self.run(images, targets, layout))
        x, targets = self.run(x, given, layout)
        return (x, *(targets[k] for k in TARGETS if k in targets))

    def run(self, x, targets: dict, layout: str = "auto"):
        """Images ``x`` and a dict of targets (by the layers' names) -> ``(x, targets)``."""
        x = as_uint8_batch(x, layout)
        device = self.device or x.device
        if not _same_device(x.device, device):
            x = x.to(device, non_blocking=True)

        def move(t):
            return t if _same_device(t.device, device) else t.to(device, non_blocking=True)

        targets = {k: B.map_tensors(move, B.as_target(k, v)) for k, v in targets.items()}
        B.check(x, targets)
        if not _same_device(self._mean.device, device):
            # only the first batch; the layers need no move, they draw on the image's device
            self._mean, self._std = self._mean.to(device), self._std.to(device)
        y = targets.get("labels")
        mixing = self.training and self.mix is not None
        if mixing and y is None and "masks" not in targets:
            raise ValueError("mix (CutMix/MixUp) needs labels: call hook(x, y)")
        if not self.training and self.eval_transform is not None:
            x = self.eval_transform(x)  # validation batches at the training size (never a plan: eval only)
        plain = targets.keys() <= {"labels"}  # (the hook's plan carries labels; augment's, boxes too)
        spec = self._plan(x, y) if plain else None
        if not plain and self.training:
            self._plans.reason = (f"the batch has {', '.join(targets)}: the hook's plan carries labels only "
                                  "(augment may still run as a plan)")
        if spec is not None:
            x, soft = F.run_plan(spec, x, y)
            return x, ({} if y is None else {"labels": soft if soft is not None else self._labels(y)})
        if self.training and (self.augment is not None or mixing):
            x, targets = self._augment(x, targets)
        if y is not None and not mixing:
            targets["labels"] = self._labels(y)
        return self._convert(x), targets

    def _augment(self, x: torch.Tensor, targets: dict):
        """``augment`` (on the image and its spatial targets), then ``mix`` (labels too); boxes go through
        both as xyxy pixels and come back in ``box_format`` / ``normalized``."""
        fmt = (self.box_format, self.normalized)
        out = dict(targets)
        if "boxes" in out:
            out["boxes"] = T.boxes_to_pixels(out["boxes"], *fmt, x.shape[-2:])
        if self.augment is not None:
            x, moved = B.call_with(self.augment, x, {k: v for k, v in out.items() if k != "labels"})
            out.update(moved)
        if self.mix is not None:
            x, out = B.call_with(self.mix, x, out)
        if "boxes" in out:
            out["boxes"] = T.boxes_from_pixels(out["boxes"], *fmt, x.shape[-2:])
        return x, out

    def _labels(self, y: torch.Tensor) -> torch.Tensor:
        """Labels without mixing: one-hot float32 with ``num_classes``, else as they are."""
        if self.num_classes is not None and not y.is_floating_point():
            return nn.functional.one_hot(y.long(), self.num_classes).to(torch.float32)
        return y

    def _plan(self, x: torch.Tensor, y: torch.Tensor | None):
        """The compiled plan of this training batch, or ``None`` (eval, nothing to do, the CPU host path,
        or no plan for it: ``plan_reason``)."""
        if not self.training or (self.augment is None and self.mix is None) or not runs_plans(x):
            return None
        if self._mean.shape[0] not in (1, x.shape[1]):
            return None  # (the eager conversion raises the error)
        return self._plans.get(self.augment, self.mix, self._epilogue, x, y)

    def _convert(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 (0..255) or floating ([0, 1]: MixUp blends, a converting pipeline) -> ``(x - mean) / std``
        in ``dtype`` and the hook's memory format: one pass, reading the batch once and writing it once."""
        if not (x.dtype == torch.uint8 or x.is_floating_point()):
            raise TypeError(f"augmentation returned dtype {x.dtype}; expected uint8 or floating")
        if self._mean.shape[0] not in (1, x.shape[1]):
            raise ValueError(f"mean/std have {self._mean.shape[0]} values but the images have {x.shape[1]} "
                             "channels")
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        return F.normalize(x, self._mean, self._std, dtype=self.dtype, memory_format=fmt)


# ----------------------------------------------------------------------------------------------------------
# The standard training pipeline
# ----------------------------------------------------------------------------------------------------------
def parse_policy(policy: str, mean=None):
    """A policy string as a gpuaug policy layer, or ``None`` for ``"none"``.

    timm's strings with timm's meanings (``gpuaug.policies.from_string``): ``rand-m9-n2[-mstd0.5]``,
    ``augmix-m3``; and ``trivial``, ``autoaugment-imagenet`` (``auto``), ``none``. With ``mean`` (the
    normalization mean, [0, 1]), timm's policies fill with it in uint8 levels, as timm's
    ``create_transform`` passes ``img_mean``.
    """
    from gpuaug.policies import from_string

    p = policy.strip().lower()
    if p in ("none", ""):
        return None
    if p in ("auto", "autoaug"):
        p = "autoaugment-imagenet"
    kwargs = {}
    if mean is not None and p.startswith(("rand", "augmix")):
        kwargs["fill"] = [float(min(255, round(255 * v))) for v in mean]
    try:
        return from_string(p, **kwargs)
    except ValueError as e:
        why = str(e)
        for named in (f"spec {p!r}: ", f"spec {policy!r}: ", f"policy {p!r}: ", f"policy {policy!r}: "):
            why = why.removeprefix(named)
        raise ValueError(f"policy {policy!r}: {why} (examples: rand-m9-n2-mstd0.5, trivial, "
                         "autoaugment-imagenet, none)") from None


def build_hook(policy: str = "rand-m9-n2", size: int = 224, num_classes: int = 1000, *, mix: bool = True,
               dtype: torch.dtype = torch.float32, device=None, crop: bool = True,
               pipeline=None, crop_pct: float | None = 0.875) -> BatchHook:
    """The standard ImageNet-style training pipeline as a :class:`BatchHook`.

    RandomResizedCrop(size) + RandomHorizontalFlip + the policy on uint8, then CutMix or MixUp (chosen per
    sample, timm's recipe) on the labels, then normalize (ImageNet mean/std), cast and ``channels_last``.
    ``crop=False`` drops crop and flip, ``policy="none"`` the policy, ``mix=False`` the mixing.
    ``pipeline`` (a config or a .yaml/.json path, see ``gpuaug.config``) replaces crop, flip and policy.
    In eval mode (``hook.eval()``) batches are resized (shorter side ``floor(size / crop_pct)``, bilinear with
    antialiasing) and center-cropped to ``size``, timm's eval transform, so validation runs at the training
    size; ``crop_pct=None`` (or ``crop=False``, or a ``pipeline``) leaves eval batches at their own size.
    """
    from gpuaug import layers as L

    if pipeline is not None:
        from gpuaug.config import from_config

        augment = from_config(pipeline)
    else:
        steps = [L.RandomResizedCrop(size), L.RandomHorizontalFlip()] if crop else []
        policy_layer = parse_policy(policy, mean=IMAGENET_MEAN)
        if policy_layer is not None:
            steps.append(policy_layer)
        augment = L.Compose(steps) if len(steps) > 1 else (steps[0] if steps else None)
    mixer = _mixer(L, num_classes) if mix else None
    eval_transform = None
    if crop_pct is not None and crop and pipeline is None:
        if not 0 < crop_pct <= 1:
            raise ValueError(f"crop_pct must be in (0, 1], got {crop_pct!r}")
        eval_transform = L.Compose([L.Resize(math.floor(size / crop_pct)), L.CenterCrop(size)])
    return BatchHook(augment, mixer, mean=IMAGENET_MEAN, std=IMAGENET_STD, dtype=dtype, device=device,
                     num_classes=num_classes, eval_transform=eval_transform)


def _mixer(layers, num_classes: int):
    """timm's ImageNet recipe: per sample, CutMix (alpha 1.0) or MixUp (alpha 0.8), label smoothing 0.1."""
    return layers.MixUpCutMix(mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5, label_smoothing=0.1,
                              num_classes=num_classes)
