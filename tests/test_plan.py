"""Compiled plans (gpuaug.plan, functional.run_plan): the same batch as the eager layers on the same draws.

The oracle is the eager path (itself checked against PIL, scipy and timm): every layer derives its
parameters from the plan's block of uniforms (``spec.draw``) and replays them (``layer.apply``), then the
mixer and the normalization run as the hook runs them. On the torch path the plan must equal that bit for
bit; the kernels (tests/test_kernels_pipeline.py) must equal the torch path."""

from __future__ import annotations

import pytest
import torch
from helpers import photo_batch

import gpuaug
import gpuaug.functional as F
from gpuaug import backend
from gpuaug.plan import Epilogue, Unsupported, compile_plan
from gpuaug.policies import registry as R

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def gen(seed):
    return torch.Generator().manual_seed(seed)


PIPELINES = {
    "readme": lambda g, s: (gpuaug.Compose([gpuaug.RandomResizedCrop(s, generator=g),
                                            gpuaug.RandomHorizontalFlip(generator=g),
                                            gpuaug.from_string("rand-m9-n2-mstd0.5", generator=g)]),
                            gpuaug.MixUpCutMix(num_classes=10, generator=g)),
    "ra-cutmix": lambda g, s: (gpuaug.RandAugment(2, 9, generator=g),
                               gpuaug.CutMix(num_classes=10, generator=g)),
    "trivial-mixup": lambda g, s: (gpuaug.TrivialAugmentWide(generator=g, fill=[30, 60, 90]),
                                   gpuaug.MixUp(num_classes=10, partner="flip", generator=g)),
    "autoaugment": lambda g, s: (gpuaug.Compose([gpuaug.RandomRotation(20, generator=g),
                                                 gpuaug.AutoAugment("imagenet", generator=g)]), None),
    "geometry": lambda g, s: (gpuaug.Compose([
        gpuaug.RandomAffine(15, (0.1, 0.1), (0.8, 1.2), 5, generator=g, interpolation="bilinear",
                            fill_mode="reflect"),
        gpuaug.RandomVerticalFlip(generator=g)]), None),
    "policy-inc": lambda g, s: (gpuaug.from_string("rand-m7-n3-inc1-mstd0.5", generator=g), None),
}


def eager(spec, augment, mix, x, labels, block):
    """The eager layers on the plan's draws, then the hook's normalization."""
    drawn = spec.draw(block)
    y = x
    if isinstance(augment, gpuaug.Compose):
        params = {"apply": torch.ones(x.shape[0], dtype=torch.bool),
                  "children": [*drawn["geo"], *([drawn["policy"]] if drawn["policy"] is not None else [])]}
        y = augment.apply(y, params)
    elif augment is not None:
        y = augment.apply(y, drawn["policy"] if drawn["policy"] is not None else drawn["geo"][0])
    soft = None
    if mix is not None:
        y, soft = mix.apply(y, drawn["mix"], labels)
    if spec.epilogue is not None:
        ep = spec.epilogue
        y = F.normalize(y, list(ep.mean), list(ep.std), dtype=ep.dtype,
                        memory_format=torch.channels_last if ep.channels_last else torch.contiguous_format)
    return y, soft


@pytest.mark.parametrize("name", list(PIPELINES))
@pytest.mark.parametrize("epilogue", [True, False])
def test_plan_equals_eager_layers_on_the_torch_path(name, epilogue):
    x = photo_batch(6, (37, 45))
    labels = torch.tensor([0, 3, 9, 2, 2, 7])
    augment, mix = PIPELINES[name](gen(1), 29)
    ep = Epilogue(MEAN, STD, torch.bfloat16, True) if epilogue else None
    spec = compile_plan(augment, mix, ep, x, labels if mix is not None else None, {})
    block = torch.rand((x.shape[0], spec.ncols), generator=gen(7))
    with backend.backend("torch"):
        out, soft = F.run_plan(spec, x, labels if mix is not None else None, block)
        ref, ref_soft = eager(spec, augment, mix, x, labels, block)
    assert out.dtype == ref.dtype and out.shape == ref.shape and out.stride() == ref.stride()
    assert torch.equal(out, ref), (name, float((out.float() - ref.float()).abs().max()))
    if mix is not None:
        assert torch.equal(soft, ref_soft)
    # not vacuous: the pipeline changed most samples (against the input, resized the same way)
    plain = torch.nn.functional.interpolate(x.float(), size=out.shape[-2:]) / 255
    if ep is not None:
        plain = (plain - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    else:
        out = out.float() / 255
    changed = ((out.float() - plain).abs().flatten(1).mean(1) > 0.02).sum()
    assert int(changed) >= 3


def test_plan_kind_codes_are_the_registry():
    from gpuaug._torch import pipeline as P

    for name in ("identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness",
                 "saturation", "contrast", "sharpness", "posterize", "solarize", "solarize_add",
                 "autocontrast", "equalize", "invert"):
        assert getattr(P, name.upper()) == R.KINDS.index(name)


@pytest.mark.parametrize("make, why", [
    (lambda g: (gpuaug.Compose([gpuaug.ColorJitter(0.2)]), None), "ColorJitter"),
    (lambda g: (gpuaug.AugMix(), None), "AugMix"),
    (lambda g: (gpuaug.RandAugment(same_on_batch=True), None), "same_on_batch"),
    (lambda g: (gpuaug.Compose([gpuaug.RandAugment(generator=g), gpuaug.RandomRotation(3)]), None), "only"),
    (lambda g: (None, gpuaug.CutMix(num_classes=3, partner="perm")), "partner"),
    (lambda g: (gpuaug.Compose([gpuaug.RandomRotation(3, generator=g), gpuaug.RandAugment()]), None),
     "generators"),
])
def test_unsupported_pipelines_say_why(make, why):
    x = photo_batch(2, (16, 16))
    augment, mix = make(gen(0))
    with pytest.raises(Unsupported, match=why):
        compile_plan(augment, mix, None, x, torch.tensor([0, 1]), {})
