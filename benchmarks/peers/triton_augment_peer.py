"""triton-augment (CUDA tensors only): ``TritonFusedAugment``, its fused crop/affine/flip/colour/normalize
kernel, for the pipeline.

Semantics notes (checked once per case before timing, see ``cases.compare``):
- it has no hue op and no reflect fill: color_jitter and warp are not timed ("semantics differ"); only
  the pipeline is comparable (random: invariants checked).
"""

from __future__ import annotations

import importlib
import os

import torch

from benchmarks.cases import IMAGENET_MEAN, IMAGENET_STD, Case
from benchmarks.peers import Impl, Peer, semantics_differ, tensor_impl, to_unit

NAME = "triton-augment"


def pipeline(case: Case, device) -> Impl:
    import triton_augment as ta

    layer = ta.TritonFusedAugment(
        horizontal_flip_p=0.5,
        degrees=30,
        scale=(0.8, 1.2),
        interpolation=ta.InterpolationMode.BILINEAR,
        brightness=0.4,
        contrast=0.4,
        saturation=0.4,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
    )
    return tensor_impl(
        NAME, lambda x, p: layer(to_unit(x, True)), check="invariants", note="TritonFusedAugment"
    )


ADAPTERS = {
    "warp": semantics_differ("no reflect fill mode"),
    "color_jitter": semantics_differ("no hue op"),
    "pipeline": pipeline,
}


class TritonAugment(Peer):
    name = NAME
    adapters = ADAPTERS

    def available(self, device) -> str | None:
        os.environ.setdefault("TRITON_AUGMENT_SUPPRESS_FIRST_RUN_MESSAGE", "1")
        try:
            importlib.import_module("triton_augment")
        except Exception as e:  # noqa: BLE001 - any import failure means: not available
            return f"triton-augment is not installed (pip install triton-augment): {type(e).__name__}"
        if torch.device(device).type != "cuda":
            return "triton-augment runs on CUDA tensors only"
        return None

    def missing(self, op: str) -> str:
        return f"triton-augment has no {op}"
