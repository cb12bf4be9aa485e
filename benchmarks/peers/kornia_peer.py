"""kornia: ``kornia.enhance`` / ``kornia.geometry`` functionals with per-sample tensors; its layers for the
random ops. kornia works on float images in [0, 1]: a uint8 case costs it a conversion each way (timed).

Semantics notes (checked once per case before timing, see ``cases.compare``):
- kornia ``warp_affine`` takes the same forward matrix as gpuaug; ``align_corners=False`` puts pixel
  centres at integer coordinates with ``padding_mode="reflection"`` = half-sample ``reflect`` (verified
  against scipy ``reflect``); with the default ``align_corners=True`` its reflection is whole-sample
  ``mirror``, which would compare something else.
- kornia ``adjust_brightness`` ADDS its factor and ``adjust_contrast`` multiplies; the PIL/torchvision
  meanings are ``adjust_brightness_accumulative``, ``adjust_contrast_with_mean_subtraction`` and
  ``adjust_saturation_with_gray_subtraction``; ``adjust_hue`` takes radians (gpuaug: turns).
- kornia ``solarize`` inverts ``x >= threshold`` as PIL does, threshold in [0, 1]; it compares in the
  image's dtype, so a float16 image is given to it as float32 (gpuaug compares in float32).
  ``posterize`` and ``equalize`` index with ``(x * 255).long()`` (truncation): exact for float32 inputs
  k/255, but about half of the float16 levels land one below; gpuaug quantizes floats with round(x * 255),
  so kornia gets ``round(x * 255) / 255`` in float32 there (that pass is timed as kornia's).
- kornia has erase only as the random ``RandomErasing`` layer: invariants checked, not equality.
- cutmix, randaugment, pipeline: ``RandomCutMixV2`` (its label triples turned into soft labels, timed),
  ``kornia.augmentation.auto.RandAugment(n=2, m=9)``, ``AugmentationSequential(RandomAffine,
  RandomHorizontalFlip, ColorJitter, Normalize)``: invariants checked.
"""

from __future__ import annotations

import importlib
import math

import torch

from benchmarks.cases import IMAGENET_MEAN, IMAGENET_STD, Case
from benchmarks.peers import Impl, Peer, from_unit, semantics_differ, tensor_impl, to_unit

NAME = "kornia"


def _levels(x: torch.Tensor) -> torch.Tensor:
    """float32 in [0, 1] on exact 8-bit levels k/255: gpuaug's posterize/equalize act on the value
    quantized to 256 levels (round), kornia's truncate ``x * 255``, which is one level low for about half
    of the float16 levels."""
    if x.dtype == torch.uint8:
        return x.float() / 255
    return (x.float() * 255).round_().clamp_(0, 255) / 255


def warp(case: Case, device) -> Impl:
    import kornia

    def run(x, p):
        xf = x.float() if x.dtype == torch.uint8 else x
        y = kornia.geometry.transform.warp_affine(
            xf,
            p["matrix"].to(xf.dtype),
            (case.size, case.size),
            mode="bilinear",
            padding_mode="reflection",
            align_corners=False,
        )
        return y.round_().clamp_(0, 255).to(torch.uint8) if x.dtype == torch.uint8 else y

    return tensor_impl(NAME, run)


def color_jitter(case: Case, device) -> Impl:
    from kornia import enhance as E

    def run(x, p):
        y = to_unit(x)
        y = E.adjust_brightness_accumulative(y, p["brightness"].to(y.dtype))
        y = E.adjust_contrast_with_mean_subtraction(y, p["contrast"].to(y.dtype))
        y = E.adjust_saturation_with_gray_subtraction(y, p["saturation"].to(y.dtype))
        y = E.adjust_hue(y, (p["hue"] * 2 * math.pi).to(y.dtype))
        return from_unit(y, case.torch_dtype)

    return tensor_impl(NAME, run)


def posterize(case: Case, device) -> Impl:
    from kornia import enhance as E

    dt = case.torch_dtype
    return tensor_impl(NAME, lambda x, p: from_unit(E.posterize(_levels(x), p["bits"]), dt))


def solarize(case: Case, device) -> Impl:
    from kornia import enhance as E

    def run(x, p):
        y = to_unit(x, True)  # compare in float32, as gpuaug does (a float16 threshold rounds)
        thr = p["threshold"] / (255 if x.dtype == torch.uint8 else 1)
        return from_unit(E.solarize(y, thr), case.torch_dtype)

    return tensor_impl(NAME, run)


def equalize(case: Case, device) -> Impl:
    from kornia import enhance as E

    dt = case.torch_dtype
    return tensor_impl(NAME, lambda x, p: from_unit(E.equalize(_levels(x)), dt))


def erase(case: Case, device) -> Impl:
    import kornia.augmentation as KA

    dt = case.torch_dtype
    layer = KA.RandomErasing(scale=(0.04, 0.25), ratio=(0.4, 2.5), value=0.0, p=1.0)
    return tensor_impl(
        NAME,
        lambda x, p: from_unit(layer(to_unit(x)), dt),
        check="invariants",
        note="RandomErasing layer (kornia has no erase with given boxes)",
    )


def cutmix(case: Case, device) -> Impl:
    import kornia.augmentation as KA

    layer = KA.RandomCutMixV2(p=1.0, use_correct_lambda=True, data_keys=["input", "class"])

    def run(x, p):
        y, mix = layer(to_unit(x), p["labels"])
        # kornia returns (label, partner label, lambda) rows; the soft labels gpuaug returns:
        m = mix[0]
        soft = torch.zeros(x.shape[0], 1000, device=x.device)
        soft.scatter_add_(1, m[:, :1].long(), 1 - m[:, 2:])
        soft.scatter_add_(1, m[:, 1:2].long(), m[:, 2:])
        return from_unit(y, case.torch_dtype), soft

    return tensor_impl(NAME, run, check="invariants")


def randaugment(case: Case, device) -> Impl:
    import kornia.augmentation as KA

    dt = case.torch_dtype
    layer = KA.auto.RandAugment(n=2, m=9)
    return tensor_impl(NAME, lambda x, p: from_unit(layer(to_unit(x)), dt), check="invariants")


def pipeline(case: Case, device) -> Impl:
    import kornia.augmentation as KA

    seq = KA.AugmentationSequential(
        KA.RandomAffine(degrees=30, scale=(0.8, 1.2), p=1.0, align_corners=False),
        KA.RandomHorizontalFlip(p=0.5),
        KA.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, p=1.0),
        KA.Normalize(mean=torch.tensor(IMAGENET_MEAN), std=torch.tensor(IMAGENET_STD), p=1.0),
    )
    return tensor_impl(NAME, lambda x, p: seq(to_unit(x, True)), check="invariants")


def gaussian_blur(case: Case, device) -> Impl:
    """kornia's ``gaussian_blur2d`` takes per-sample sigma (B, 2); its taps exp(-d^2 / 2 sigma^2) normalised
    and its ``reflect`` border (torch's padding: whole-sample, gpuaug's ``mirror``) are gpuaug's."""
    import kornia

    def run(x, p):
        s = p["sigma"].float()
        y = kornia.filters.gaussian_blur2d(to_unit(x, f32=True), (9, 9), torch.stack([s, s], 1),
                                           border_type="reflect")
        return from_unit(y, x.dtype)

    return tensor_impl(NAME, run)


ADAPTERS = {
    "warp": warp,
    "color_jitter": color_jitter,
    "posterize": posterize,
    "solarize": solarize,
    "equalize": equalize,
    "erase": erase,
    "cutmix": cutmix,
    "randaugment": randaugment,
    "pipeline": pipeline,
    # kornia's antialias blurs with a Gaussian before a bilinear resize: not PIL's triangle filter
    "resize": semantics_differ("kornia's antialias is a Gaussian pre-blur, not PIL's filter"),
    "gaussian_blur": gaussian_blur,
}


class Kornia(Peer):
    name = NAME
    adapters = ADAPTERS

    def available(self, device) -> str | None:
        try:
            importlib.import_module("kornia")
        except ImportError:
            return "kornia is not installed (pip install 'gpuaug[bench]')"
        return None
