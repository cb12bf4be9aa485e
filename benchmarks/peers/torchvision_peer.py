"""torchvision v2: ``torchvision.transforms.v2.functional`` on uint8 tensors; its layers for the random ops.

Semantics notes (checked once per case before timing, see ``cases.compare``):
- The functionals take one factor per call: per-sample bits, thresholds, jitter factors and erase boxes
  need one call per sample (timed as torchvision's).
- torchvision's affine has no reflect fill: warp is not timed ("semantics differ").
- Its v2 layers draw ONE set of parameters per call (the whole batch shares it); cutmix, randaugment and
  the pipeline are random on every side: invariants checked.
- float16 cases are not compared: skipped as a whole, whatever the op.
No CPU wheel for this torch here: where it is not installed the peer is skipped with the reason.
"""

from __future__ import annotations

import importlib

import torch

from benchmarks.cases import IMAGENET_MEAN, IMAGENET_STD, Case
from benchmarks.peers import Impl, Peer, Skip, semantics_differ, tensor_impl

NAME = "torchvision"


def posterize(case: Case, device) -> Impl:
    import torchvision.transforms.v2.functional as TF

    def run(x, p):
        return torch.stack([TF.posterize(x[i : i + 1], int(b))[0] for i, b in enumerate(p["bits"].tolist())])

    return tensor_impl(NAME, run, note="one call per distinct sample (no per-sample bits)")


def solarize(case: Case, device) -> Impl:
    import torchvision.transforms.v2.functional as TF

    def run(x, p):
        return torch.stack([TF.solarize(x[i : i + 1], t)[0] for i, t in enumerate(p["threshold"].tolist())])

    return tensor_impl(NAME, run, note="one call per sample (no per-sample threshold)")


def equalize(case: Case, device) -> Impl:
    import torchvision.transforms.v2.functional as TF

    return tensor_impl(NAME, lambda x, p: TF.equalize(x))


def color_jitter(case: Case, device) -> Impl:
    import torchvision.transforms.v2.functional as TF

    def run(x, p):
        out = []
        for i in range(x.shape[0]):
            y = TF.adjust_brightness(x[i : i + 1], float(p["brightness"][i]))
            y = TF.adjust_contrast(y, float(p["contrast"][i]))
            y = TF.adjust_saturation(y, float(p["saturation"][i]))
            out.append(TF.adjust_hue(y, float(p["hue"][i])))
        return torch.cat(out).to(case.torch_dtype)

    return tensor_impl(NAME, run, note="per-sample factors: one call per sample")


def erase(case: Case, device) -> Impl:
    import torchvision.transforms.v2.functional as TF

    def run(x, p):
        out = x.clone()
        for i, (box, val) in enumerate(zip(p["boxes"].tolist(), p["value"].tolist())):
            x0, y0, x1, y1 = (int(v) for v in box[0])
            v = torch.tensor(val, device=x.device).view(3, 1, 1).to(x.dtype)
            out[i] = TF.erase(x[i], y0, x0, y1 - y0, x1 - x0, v)
        return out

    return tensor_impl(NAME, run, note="one call per sample (no batched boxes)")


def cutmix(case: Case, device) -> Impl:
    import torchvision.transforms.v2 as T

    layer = T.CutMix(num_classes=1000)
    return tensor_impl(NAME, lambda x, p: layer(x, p["labels"]), check="invariants")


def randaugment(case: Case, device) -> Impl:
    import torchvision.transforms.v2 as T

    layer = T.RandAugment(num_ops=2, magnitude=9)
    return tensor_impl(NAME, lambda x, p: layer(x), check="invariants")


def pipeline(case: Case, device) -> Impl:
    import torchvision.transforms.v2 as T

    layer = T.Compose(
        [
            T.RandomAffine(30, scale=(0.8, 1.2), interpolation=T.InterpolationMode.BILINEAR),
            T.RandomHorizontalFlip(),
            T.ColorJitter(0.4, 0.4, 0.4),
            T.ToDtype(torch.float32, scale=True),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )
    return tensor_impl(NAME, lambda x, p: layer(x), check="invariants")


def resize(case: Case, device) -> Impl:
    import torchvision.transforms.v2.functional as TF

    from benchmarks.cases import resize_side

    return tensor_impl(NAME, lambda x, p: TF.resize(x, [resize_side(case.size)], antialias=True))


def gaussian_blur(case: Case, device) -> Impl:
    import torchvision.transforms.v2.functional as TF

    def run(x, p):
        return torch.cat([TF.gaussian_blur(x[i : i + 1], [9, 9], [s, s])
                          for i, s in enumerate(p["sigma"].tolist())])

    return tensor_impl(NAME, run, note="one call per sample (no per-sample sigma)")


ADAPTERS = {
    "warp": semantics_differ("torchvision's affine has no reflect fill"),
    "color_jitter": color_jitter,
    "posterize": posterize,
    "solarize": solarize,
    "equalize": equalize,
    "erase": erase,
    "cutmix": cutmix,
    "randaugment": randaugment,
    "pipeline": pipeline,
    "resize": resize,
    "gaussian_blur": gaussian_blur,
}


class TorchvisionV2(Peer):
    name = NAME
    adapters = ADAPTERS

    def available(self, device) -> str | None:
        try:
            importlib.import_module("torchvision.transforms.v2")
        except Exception as e:  # noqa: BLE001
            return f"torchvision is not installed (no CPU wheel for this torch here): {type(e).__name__}"
        return None

    def accepts(self, case: Case) -> None:
        if case.dtype == "float16":
            raise Skip("torchvision v2 pixel ops on float16: not compared")

    def missing(self, op: str) -> str:
        return f"no torchvision v2 adapter for {op}"
