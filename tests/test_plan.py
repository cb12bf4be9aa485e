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
        params = {"apply": torch.ones(x.shape[0], dtype=torch.bool, device=x.device),
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
    (lambda g: (gpuaug.Compose([gpuaug.RandAugment(generator=g), gpuaug.RandomRotation(3)]), None),
     "RandomRotation"),
    (lambda g: (None, gpuaug.CutMix(num_classes=3, partner="perm")), "partner"),
    (lambda g: (gpuaug.Compose([gpuaug.RandomRotation(3, generator=g), gpuaug.RandAugment()]), None),
     "generators"),
])
def test_unsupported_pipelines_say_why(make, why):
    x = photo_batch(2, (16, 16))
    augment, mix = make(gen(0))
    with pytest.raises(Unsupported, match=why):
        compile_plan(augment, mix, None, x, torch.tensor([0, 1]), {})


def test_plans_compile_once_and_again_after_a_setting_changes():
    from gpuaug.plan import Plans

    x, labels = photo_batch(4, (32, 32)), torch.tensor([1, 2, 3, 4])
    augment, mix = PIPELINES["readme"](gen(1), 24)
    plans = Plans()
    spec = plans.get(augment, mix, None, x, labels)
    assert spec is not None and plans.reason is None
    with backend.backend("torch"):
        F.run_plan(spec, x, labels)
        augment(x)  # eager forwards assign no setting
    assert plans.get(augment, mix, None, x, labels) is spec
    assert plans.get(augment, mix, None, x[:3], labels[:3]) is not spec  # another shape
    augment[2].magnitude = 5.0  # a schedule
    new = plans.get(augment, mix, None, x, labels)
    assert new is not None and new is not spec


# ------------------------------------------------------------------------ plans in forward and in the hook
# Off the CPU host path (CUDA, or backend "triton": the interpreter run) layers and the hook run plans, whose
# parameters are derived on the device (float32 trigonometry: matrices within ~1e-6 of the eager ones, so a
# nearest-neighbour position on an exact tie may land on the other pixel). Tolerance: per sample, at most 1%
# of the pixels more than one uint8 level off.
DEV = torch.device("cuda" if torch.cuda.is_available() else "cpu")
off_host = pytest.mark.skipif(backend.host_path(torch.zeros(1, device=DEV)),
                              reason="plans run off the CPU host path: on a GPU, or the interpreter run "
                                     "(scripts/test.sh)")


def _close_per_sample(out, ref, levels=1.0):
    d = (out.float() - ref.float()).abs()
    frac = (d > levels).flatten(1).float().mean(1)
    assert float(frac.max()) <= 0.01, frac


@off_host
@pytest.mark.parametrize("name", ["readme", "autoaugment", "geometry", "policy-inc"])
def test_forward_runs_the_plan_and_last_params_replay_it(name):
    x = photo_batch(6, (37, 45)).to(DEV)
    augment, _ = PIPELINES[name](torch.Generator(DEV).manual_seed(1), 29)
    y = augment(x)
    assert augment._plans.reason is None  # it ran a plan
    _close_per_sample(y, augment.apply(x, augment.last_params))
    y2, params = augment(x, return_params=True)
    _close_per_sample(y2, augment.apply(x, params))
    assert not torch.equal(y, y2)  # a new draw per call


@off_host
@pytest.mark.parametrize("name", ["readme", "ra-cutmix", "trivial-mixup"])
def test_hook_runs_the_plan_equal_to_the_layers_on_its_draws(name):
    """The hook's batch equals the eager layers + mixer + normalization on the plan's own draws (replayed
    from the generator state before the call)."""
    x = photo_batch(6, (37, 45)).to(DEV)
    labels = torch.tensor([0, 3, 9, 2, 2, 7], device=DEV)
    g = torch.Generator(DEV).manual_seed(5)
    augment, mix = PIPELINES[name](g, 29)
    hook = gpuaug.BatchHook(augment, mix, mean=MEAN, std=STD, dtype=torch.bfloat16, channels_last=True)
    state = g.get_state()
    out, soft = hook(x, labels)
    assert hook.plan_reason is None
    g.set_state(state)
    spec = hook._plans.get(augment, mix, hook._epilogue, x, labels)
    ref, ref_soft = eager(spec, augment, mix, x, labels, spec.uniforms(x.device))
    assert out.dtype == torch.bfloat16 and out.is_contiguous(memory_format=torch.channels_last)
    # compared in uint8 levels: (v - mean) / std back to v
    std = torch.tensor(STD).view(1, 3, 1, 1) * 255
    mean = torch.tensor(MEAN).view(1, 3, 1, 1) * 255
    _close_per_sample(out.float().cpu() * std + mean, ref.float().cpu() * std + mean, levels=1.5)
    torch.testing.assert_close(soft, ref_soft, atol=1e-6, rtol=1e-6)


@off_host
def test_hook_runs_eagerly_where_no_plan_covers_and_says_why():
    hook = gpuaug.BatchHook(gpuaug.Compose([gpuaug.ColorJitter(0.2), gpuaug.RandomHorizontalFlip()]))
    hook(photo_batch(2, (16, 16)).to(DEV))
    assert "ColorJitter" in hook.plan_reason


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
def test_hook_plan_is_captured_in_a_cuda_graph_and_replays_new_draws():
    x = photo_batch(8, (64, 64)).cuda()
    labels = torch.arange(8, device="cuda") % 10
    hook = gpuaug.build_hook("rand-m9-n2-mstd0.5", 48, num_classes=10, dtype=torch.bfloat16)
    replay = gpuaug.capture_hook(hook, x, labels)
    assert hook.plan_reason is None
    a = [t.clone() for t in replay(x, labels)]
    b = [t.clone() for t in replay(x, labels)]
    assert a[0].shape == (8, 3, 48, 48) and a[0].dtype == torch.bfloat16
    assert torch.isfinite(a[0].float()).all()
    torch.testing.assert_close(a[1].sum(1), torch.ones(8, device="cuda"))
    assert not torch.equal(a[0], b[0])  # each replay draws anew


@off_host
@pytest.mark.parametrize("name", ["readme", "geometry", "policy-inc"])
def test_boxes_and_keypoints_ride_in_the_plan(name):
    """Boxes (any format, lists) and keypoints move with the plan's matrices as the layers move them."""
    x = photo_batch(4, (37, 45)).to(DEV)
    augment, _ = PIPELINES[name](torch.Generator(DEV).manual_seed(2), 29)
    boxes = [torch.tensor([[0.5, 0.5, 0.4, 0.3]], device=DEV),
             torch.tensor([[0.3, 0.4, 0.2, 0.2], [0.7, 0.6, 0.3, 0.5]], device=DEV),
             torch.zeros(0, 4, device=DEV), torch.tensor([[0.5, 0.5, 0.9, 0.9]], device=DEV)]
    keypoints = torch.tensor([[[10.0, 12.0], [30.0, 20.0]]], device=DEV).expand(4, 2, 2)
    kw = dict(box_format="cxcywh", normalized=True)
    y, b, k = augment(x, boxes=boxes, keypoints=keypoints, **kw)
    assert augment._plans.reason is None  # it ran a plan
    ry, rb, rk = augment.apply(x, augment.last_params, boxes=boxes, keypoints=keypoints, **kw)
    _close_per_sample(y, ry)
    assert [t.shape for t in b] == [t.shape for t in boxes]
    for got, ref in zip(b, rb):
        torch.testing.assert_close(got, ref, atol=1e-4, rtol=0)  # fractions of the output size
    torch.testing.assert_close(k, rk, atol=2e-3, rtol=0)
    assert not torch.equal(k, keypoints)  # they moved


@off_host
def test_masks_keep_the_layers_one_by_one():
    x = photo_batch(2, (32, 32)).to(DEV)
    augment = gpuaug.Compose([gpuaug.RandomRotation(20), gpuaug.RandAugment()])
    augment(x, masks=torch.zeros(2, 32, 32, dtype=torch.int64, device=DEV))
    assert augment._plans is None  # eager: no plan was even looked up
    augment(x)
    assert augment._plans.reason is None  # the same pipeline without masks: a plan
