"""Batch-mixing layers: CutMix, MixUp and the timm-style switch between them, with soft labels.

Each takes ``(img, labels)``: ``labels`` int (B,) class ids with ``num_classes`` given, or soft (B,
num_classes) floating; returns ``(img, soft_labels)`` float32 (B, num_classes). The partner of sample b
is ``partner[b]``: the batch rolled by one (``partner="roll"``, b -> b+1 mod B), flipped as timm does
(``"flip"``, b -> B-1-b), or a random permutation from the generator (``"perm"``). Every draw is per
sample (timm's ``mode="elem"``): its own lambda, box and, for the switch, its own choice. A sample not
selected keeps its image and its (smoothed) label.

CutMix's label weight of the partner is the exact pasted area fraction after clipping (timm's
``correct_lam``): the box is whole pixels and the weight is (box area) / (H * W).

Masks (``masks=``, segmentation): CutMix pastes the partner's mask region exactly where it pastes its
pixels (``functional.paste_masks``; labels are then optional). A blend of two label maps is none: MixUp,
or a MixUpCutMix that may choose MixUp for a sample, given masks is a ``ValueError`` (decided from the
settings, not the per-sample draws, which stay on the device).
"""

from __future__ import annotations

import torch

from gpuaug import functional as F
from gpuaug._checks import readable
from gpuaug.layers.base import TARGETS, RandomLayer, Sampler, check_int, check_number

PARTNERS = ("roll", "flip", "perm")


def soft_labels(labels: torch.Tensor, num_classes: int | None, batch: int, smoothing: float) -> torch.Tensor:
    """Labels as float32 (B, num_classes), smoothed: on = 1 - s + s/K, off = s/K (timm).

    Class ids outside ``[0, num_classes)`` are a ``ValueError`` naming ``labels`` where the tensor is
    readable (``gpuaug._checks.readable``: CPU tensors on the host path). Elsewhere (CUDA; backend
    "triton"; under torch.compile) they are not read, which would synchronise: the row of such a sample
    is NaN (no device-side assert), so the loss turns NaN instead of training on a wrong label."""
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if labels.dim() == 1 and not labels.is_floating_point() and labels.dtype != torch.bool:
        if num_classes is None:
            raise ValueError("num_classes must be given with integer class labels")
        if labels.shape[0] != batch:
            raise ValueError(
                f"labels must have one entry per sample ({batch}), got shape {tuple(labels.shape)}"
            )
        if readable(labels) and labels.numel() and bool(((labels < 0) | (labels >= num_classes)).any()):
            raise ValueError(f"labels must be class ids in [0, {num_classes - 1}] (num_classes = "
                             f"{num_classes}), got values in [{int(labels.min())}, {int(labels.max())}]")
        ids = labels.long()
        classes = torch.arange(num_classes, device=labels.device)
        y = (ids[:, None] == classes).to(torch.float32)  # one_hot without its host sync / device assert
        y = torch.where(((ids >= 0) & (ids < num_classes))[:, None], y, float("nan"))
    elif labels.dim() == 2 and labels.is_floating_point():
        if labels.shape[0] != batch or (num_classes is not None and labels.shape[1] != num_classes):
            raise ValueError(
                f"labels must be (B, num_classes) = ({batch}, {num_classes}), got shape {tuple(labels.shape)}"
            )
        y = labels.to(torch.float32)
    else:
        raise ValueError(
            f"labels must be int (B,) class ids or float (B, num_classes), got "
            f"{labels.dtype} {tuple(labels.shape)}"
        )
    if smoothing > 0:
        y = y * (1.0 - smoothing) + smoothing / y.shape[1]
    return y


def blend(a: torch.Tensor, b: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """lam * a + (1 - lam) * b per sample (lam (B,)); uint8 rounds to nearest."""
    w = lam.to(torch.float32)[:, None, None, None]
    if a.dtype == torch.uint8:
        out = (a.to(torch.float32) * w + b.to(torch.float32) * (1.0 - w)).round_().clamp_(0, 255)
        return out.to(torch.uint8)
    return (a * w.to(a.dtype) + b * (1.0 - w).to(a.dtype)).to(a.dtype)


def cutmix_boxes(s: Sampler, lam: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """timm's rand_bbox per sample: a (cut_h, cut_w) = (H, W) * sqrt(1 - lam) box around a uniform
    random centre, clipped to the image; returns float32 (n, 4) whole-pixel x0, y0, x1, y1."""
    rat = torch.sqrt((1.0 - lam).clamp_min(0.0))
    cut_h, cut_w = torch.floor(h * rat), torch.floor(w * rat)
    cy = torch.floor(s.uniform(0.0, 1.0) * h).clamp_max(h - 1)
    cx = torch.floor(s.uniform(0.0, 1.0) * w).clamp_max(w - 1)
    hh, hw = torch.floor(cut_h / 2), torch.floor(cut_w / 2)
    y0, y1 = (cy - hh).clamp(0, h), (cy + hh).clamp(0, h)
    x0, x1 = (cx - hw).clamp(0, w), (cx + hw).clamp(0, w)
    return torch.stack([x0, y0, x1, y1], -1)


class _Mix(RandomLayer):
    kind = "mix"

    def __init__(
        self,
        num_classes=None,
        partner="roll",
        label_smoothing=0.0,
        p=1.0,
        generator=None,
        same_on_batch=False,
    ):
        super().__init__(p=p, generator=generator, same_on_batch=same_on_batch)
        self.num_classes = None if num_classes is None else check_int(num_classes, "num_classes", 1)
        if not isinstance(partner, str) or partner not in PARTNERS:
            raise ValueError(f"partner must be one of {PARTNERS}, got {partner!r}")
        self.partner = partner
        self.label_smoothing = check_number(label_smoothing, "label_smoothing", 0.0, 1.0)

    def _common_args(self):
        return {
            "num_classes": self.num_classes,
            "partner": self.partner,
            "label_smoothing": self.label_smoothing,
        }

    def _partner(self, batch: int, device) -> torch.Tensor:
        idx = torch.arange(batch, device=device)
        if self.partner == "roll":
            return (idx + 1) % max(batch, 1)
        if self.partner == "flip":
            return batch - 1 - idx
        if self.generator is not None:
            return torch.randperm(batch, generator=self.generator, device=device)
        return torch.randperm(batch, device=device)

    def sample(self, shape, device="cpu"):
        params = super().sample(shape, device)
        params["partner"] = self._partner(int(shape[0]), torch.device(device))
        return params

    def _mix(self, img, params) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(mixed image, weight of the sample's own label (B,), the pasted box (B, 4) or None)."""
        raise NotImplementedError

    def _masks_ok(self) -> bool:
        """Whether no sample can be blended (MixUp): then masks are pasted with the image (CutMix)."""
        return False

    def _transform(self, img, params, targets):
        labels = _check_targets(self, targets)
        out_t = dict(targets)
        if labels is not None:
            y = soft_labels(labels, self.num_classes, labels.shape[0], self.label_smoothing)
            out_t["labels"] = y
        if img.shape[0] == 0:
            return img.clone(), out_t
        out, lam, box = self._mix(img, params)
        if "masks" in targets:
            out_t["masks"] = F.paste_masks(targets["masks"], params["partner"], box)
        if labels is not None:
            # labels are per clip on a video of T frames a clip (T = 1 for images): the clip's first frame
            # carries its weight, and the partner frame index // T is the partner clip
            t = img.shape[0] // max(labels.shape[0], 1)
            lam = lam[::t].to(y.device)[:, None]
            partner = params["partner"][::t].to(y.device) // t
            out_t["labels"] = lam * y + (1.0 - lam) * y[partner]
        return out, out_t

    def _eval(self, img, targets):
        """Eval mode: the image (and masks) as they are, the labels as (smoothed) soft labels."""
        labels = _check_targets(self, targets)
        if labels is None:
            return img, targets
        return img, {**targets, "labels": soft_labels(labels, self.num_classes, labels.shape[0],
                                                      self.label_smoothing)}

    def forward(self, img, labels=None, *, return_params: bool = False, **targets):
        """``(img, labels) -> (img, soft_labels)``: the signature of every layer; eval mode gives
        ``(img, smoothed one-hot labels)``."""
        if isinstance(img, torch.Tensor) and img.dim() == 3:
            raise ValueError("img must be a batch (B, C, H, W) for mixing layers")
        return super().forward(img, labels, return_params=return_params, **targets)


def _check_targets(layer, targets: dict) -> torch.Tensor | None:
    """The labels (None with masks only); masks only where every mixed sample is pasted (CutMix)."""
    name = type(layer).__name__
    others = [k for k in TARGETS if k in targets and k not in ("labels", "masks")]
    if others:
        raise ValueError(f"{name} does not transform {', '.join(others)}")
    if "masks" in targets and not layer._masks_ok():
        raise ValueError(f"masks: {name} may blend two images (MixUp), and a blend of two segmentation maps "
                         "is no segmentation map; use CutMix (or MixUpCutMix(mixup_alpha=0)) with masks")
    if "labels" not in targets and "masks" not in targets:
        raise ValueError(f"{name} needs labels: call it with (img, labels) (or masks=... for CutMix)")
    return targets.get("labels")


class CutMix(_Mix):
    """CutMix per sample: lambda ~ Beta(alpha, alpha), a box of area (1 - lambda) H W from the partner
    is pasted (timm's rand_bbox); the label weight is the exact clipped area fraction."""

    def __init__(
        self,
        alpha=1.0,
        num_classes=None,
        partner="roll",
        label_smoothing=0.0,
        p=1.0,
        generator=None,
        same_on_batch=False,
    ):
        super().__init__(num_classes, partner, label_smoothing, p, generator, same_on_batch)
        self.alpha = check_number(alpha, "alpha", 0.0)
        if self.alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha!r}")

    def _args(self):
        return {"alpha": self.alpha, **self._common_args()}

    def _draw(self, s, shape):
        h, w = shape[-2:]
        lam = s.beta(self.alpha)
        return {"box": cutmix_boxes(s, lam, h, w)}

    def _masks_ok(self):
        return True

    def _mix(self, img, params):
        h, w = img.shape[-2:]
        box = torch.where(params["apply"][:, None], params["box"], 0.0)
        area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
        return F.paste(img, params["partner"], box.to(torch.int64)), 1.0 - area / float(h * w), box


class MixUp(_Mix):
    """MixUp per sample: lambda ~ Beta(alpha, alpha); img = lambda img + (1 - lambda) partner."""

    def __init__(
        self,
        alpha=1.0,
        num_classes=None,
        partner="roll",
        label_smoothing=0.0,
        p=1.0,
        generator=None,
        same_on_batch=False,
    ):
        super().__init__(num_classes, partner, label_smoothing, p, generator, same_on_batch)
        self.alpha = check_number(alpha, "alpha", 0.0)
        if self.alpha <= 0:
            raise ValueError(f"alpha must be positive, got {alpha!r}")

    def _args(self):
        return {"alpha": self.alpha, **self._common_args()}

    def _draw(self, s, shape):
        return {"lam": s.beta(self.alpha)}

    def _mix(self, img, params):
        lam = torch.where(params["apply"], params["lam"], 1.0)
        return blend(img, img[params["partner"]], lam), lam, None


class MixUpCutMix(_Mix):
    """timm's ``Mixup`` switch, per sample: with probability ``p`` a sample is mixed, by CutMix with
    probability ``switch_prob`` (when both alphas are > 0), else by MixUp; labels smoothed by
    ``label_smoothing`` (timm's default 0.1). An alpha of 0 disables that branch."""

    def __init__(
        self,
        mixup_alpha=0.8,
        cutmix_alpha=1.0,
        switch_prob=0.5,
        label_smoothing=0.1,
        num_classes=None,
        partner="flip",
        p=1.0,
        generator=None,
        same_on_batch=False,
    ):
        super().__init__(num_classes, partner, label_smoothing, p, generator, same_on_batch)
        self.mixup_alpha = check_number(mixup_alpha, "mixup_alpha", 0.0)
        self.cutmix_alpha = check_number(cutmix_alpha, "cutmix_alpha", 0.0)
        if self.mixup_alpha == 0 and self.cutmix_alpha == 0:
            raise ValueError("mixup_alpha and cutmix_alpha cannot both be 0")
        self.switch_prob = check_number(switch_prob, "switch_prob", 0.0, 1.0)

    def _args(self):
        return {
            "mixup_alpha": self.mixup_alpha,
            "cutmix_alpha": self.cutmix_alpha,
            "switch_prob": self.switch_prob,
            **self._common_args(),
        }

    def _draw(self, s, shape):
        h, w = shape[-2:]
        if self.mixup_alpha > 0 and self.cutmix_alpha > 0:
            use_cut = s.bernoulli(self.switch_prob)
        else:
            use_cut = s.bernoulli(1.0 if self.cutmix_alpha > 0 else 0.0)
        lam_mix = s.beta(self.mixup_alpha) if self.mixup_alpha > 0 else torch.ones(s.n, device=s.device)
        lam_cut = s.beta(self.cutmix_alpha) if self.cutmix_alpha > 0 else torch.ones(s.n, device=s.device)
        return {"cutmix": use_cut, "lam": lam_mix, "box": cutmix_boxes(s, lam_cut, h, w)}

    def _mix(self, img, params):
        h, w = img.shape[-2:]
        a = params["apply"]
        cut = a & params["cutmix"]
        mix = a & ~params["cutmix"]
        box = torch.where(cut[:, None], params["box"], 0.0)
        area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
        partner = params["partner"]
        pasted = F.paste(img, partner, box.to(torch.int64))
        lam = torch.where(mix, params["lam"], 1.0)
        # MixUp samples have an empty box (pasted == img there) and CutMix samples lam = 1, so blending
        # the pasted batch with the ORIGINAL partners gives each sample exactly one of the two ops.
        out = blend(pasted, img[partner], lam)
        return out, torch.where(cut, 1.0 - area / float(h * w), lam), box

    def _masks_ok(self):
        # no sample can draw MixUp (the per-sample switch is on the device: decided from the settings)
        return self.mixup_alpha == 0 or (self.cutmix_alpha > 0 and self.switch_prob >= 1.0)


__all__ = ["CutMix", "MixUp", "MixUpCutMix"]
