"""Policy strings mean what timm means: against timm's own ``timm/data/auto_augment.py`` (loaded as a file:
it needs only PIL and numpy, while timm's package imports torchvision, which has no CPU wheel here).

Checked: the level-to-argument maps of every op, the string grammar (what timm's parser builds), each op
on a real photo against timm's PIL function with the same argument, the sampling statistics
(op choice, op probability, magnitude noise), and the Increasing variants."""

from __future__ import annotations

import importlib.util
import math
import pathlib
import random

import numpy as np
import pytest
import torch
from helpers import max_abs_diff, photo_batch, to_pil, to_tensor
from PIL import Image

import gpuaug
from gpuaug.policies import TimmAugMix, TimmRandAugment, from_string
from gpuaug.policies import registry as R


def _timm_auto_augment():
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("timm is not installed (scripts/test.sh installs it with --no-deps)")
    path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "data" / "auto_augment.py"
    mod_spec = importlib.util.spec_from_file_location("timm_auto_augment", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def timm_aa():
    return _timm_auto_augment()


HPARAMS = {"translate_const": 250, "img_mean": (128, 128, 128)}


@pytest.mark.parametrize("name", sorted(R.TIMM))
def test_level_to_arg_matches_timm(timm_aa, name):
    op = R.TIMM[name]
    level_fn = timm_aa.LEVEL_TO_ARG[name]
    for m in np.linspace(0.0, 10.0, 41).tolist() + [9.37, 3.14159, 12.5]:
        if level_fn is None:
            assert op.kind in ("autocontrast", "equalize", "invert")
            continue
        got = set()
        for _ in range(40):  # _randomly_negate: both signs show up
            got.add(round(float(level_fn(m, HPARAMS)[0]), 9))
        if op.kind == "posterize":
            # the same image: PIL keeps nothing below 0 bits, timm's posterize returns the image from 8 on
            got = {min(max(v, 0.0), 8.0) for v in got}
        # (a 1 x 1 image: the Rel translations' fraction of the size is the pixel count)
        ours = {round(op.arg(m / 10, s), 9) for s in ((1.0, -1.0) if op.signed else (1.0,))}
        assert got == ours, (name, m, got, ours)


@pytest.mark.parametrize("spec", ["rand-m9-n2-mstd0.5", "rand-m7-n3-mstd101-p1.0", "rand-m9-mstd0.5-inc1",
                                  "rand-m12-mmax15-n1", "rand-m9-mmax0", "rand", "rand-n4-p0.2"])
def test_rand_strings_parse_as_timm(timm_aa, spec):
    theirs = timm_aa.rand_augment_transform(spec, dict(HPARAMS))
    ours = from_string(spec)
    assert isinstance(ours, TimmRandAugment)
    assert ours.num_ops == theirs.num_layers
    assert list(ours.ops) == [op.name for op in theirs.ops]
    op = theirs.ops[0]
    assert ours.magnitude == op.magnitude and ours.op_prob == op.prob
    assert ours.magnitude_std == op.magnitude_std
    # timm clips at ``magnitude_max or 10``: mmax0 means 10
    assert (ours.magnitude_max or 10) == (op.magnitude_max or 10)
    assert ours.interpolations == ("bilinear", "bicubic") and ours.fill == [128.0, 128.0, 128.0]


def test_augmix_strings_parse_as_timm(timm_aa):
    theirs = timm_aa.augment_and_mix_transform("augmix-m5-w4-d2-a0.5", dict(HPARAMS))
    ours = from_string("augmix-m5-w4-d2-a0.5")
    assert isinstance(ours, TimmAugMix)
    assert (ours.severity, ours.mixture_width, ours.chain_depth, ours.alpha) == (
        theirs.ops[0].magnitude, theirs.width, theirs.depth, theirs.alpha)
    assert list(ours.ops) == [op.name for op in theirs.ops]
    assert math.isinf(ours.magnitude_std) and math.isinf(theirs.ops[0].magnitude_std)
    assert from_string("augmix").chain_depth == -1
    for bad in ("rand-m9-tweights", "rand-w0", "augmix-b1", "rand-m9.5"):
        with pytest.raises(ValueError, match="policy"):
            from_string(bad)


def _one_op(policy: TimmRandAugment, name: str, f: float, sign: float, interp: str, b: int):
    """Params running op ``name`` at magnitude fraction ``f`` on every one of ``b`` samples."""
    i = policy.ops.index(name)
    return {
        "apply": torch.ones(b, dtype=torch.bool),
        "ops": torch.full((b, 1), i),
        "f": torch.full((b, 1), f),
        "sign": torch.full((b, 1), sign),
        "active": torch.ones((b, 1), dtype=torch.bool),
        "interp": torch.full((b, 1), policy.interpolations.index(interp)),
    }


PIXEL_OPS = ["AutoContrast", "Equalize", "Invert", "Posterize", "Solarize", "SolarizeAdd", "Color",
             "Contrast", "Brightness", "Sharpness", "PosterizeIncreasing", "SolarizeIncreasing",
             "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing"]
# the contract's tolerances against PIL (docs/contract.md): exact table ops, enhance blends within 1 or 2
TOL = {"Color": 2, "ColorIncreasing": 2, "AutoContrast": 1}
for _n in ("Contrast", "Brightness", "Sharpness"):
    TOL[_n] = TOL[f"{_n}Increasing"] = 1


@pytest.mark.parametrize("name", PIXEL_OPS)
@pytest.mark.parametrize("m", [0.0, 3.0, 9.0, 10.0])
def test_pixel_ops_equal_timm(timm_aa, name, m):
    x = photo_batch(3, (37, 53))
    policy = TimmRandAugment(num_ops=1, increasing="Increasing" in name)
    if name not in policy.ops:
        policy = TimmRandAugment(num_ops=1, increasing=not policy.increasing)
    for sign in (1.0, -1.0):
        params = _one_op(policy, name, m / 10, sign, "bilinear", 3)
        out = policy.apply(x, params)
        arg = R.TIMM[name].arg(m / 10, sign)
        args = () if timm_aa.LEVEL_TO_ARG[name] is None else (int(arg) if arg == int(arg) else arg,)
        fn = timm_aa.NAME_TO_OP[name]
        if R.TIMM[name].kind == "posterize" and arg == 0:
            # timm keeps 0 bits here; recent Pillow refuses posterize(0), older ones (and TF) give black
            ref = torch.zeros_like(x)
        else:
            ref = torch.stack([to_tensor(fn(to_pil(im), *args)) for im in x])
        assert max_abs_diff(out, ref) <= TOL.get(name, 0), (name, m, sign)


@pytest.mark.parametrize("name", ["Rotate", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel"])
@pytest.mark.parametrize("interp", ["bilinear", "bicubic"])
def test_geometric_ops_match_timm(timm_aa, name, interp):
    """Same geometry as timm's PIL transform. Where every tap is inside the source, the two agree to
    interpolation rounding (PIL truncates, gpuaug rounds: within 1); where the source is far outside both
    are the fill exactly; only the band of taps along a fill edge differs (PIL fills whole pixels, gpuaug
    blends toward the fill)."""
    from scipy import ndimage

    x = photo_batch(2, (41, 57))
    policy = TimmRandAugment(num_ops=1)
    resample = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[interp]
    for sign in (1.0, -1.0):
        params = _one_op(policy, name, 0.8, sign, interp, 2)
        out = policy.apply(x, params)
        arg = R.TIMM[name].arg(0.8, sign, width=57, height=41)
        if name.startswith("Translate"):  # our forward shift; timm's PIL data: the source offset, in sizes
            arg = -arg / (57 if "X" in name else 41)
        fn = timm_aa.NAME_TO_OP[name]
        ref = torch.stack([to_tensor(fn(to_pil(im), arg, fillcolor=(128, 128, 128), resample=resample))
                           for im in x])
        # where the output pixel's source lies (PIL nearest of an all-white image onto black)
        cover = np.asarray(fn(Image.new("L", (57, 41), 255), arg, fillcolor=0, resample=Image.NEAREST)) > 0
        reach = 3 if interp == "bicubic" else 2
        box = np.ones((2 * reach + 1,) * 2)
        inside = torch.from_numpy(ndimage.binary_erosion(cover, box, border_value=0))
        outside = torch.from_numpy(~ndimage.binary_dilation(cover, box))
        assert inside.sum() > 300 and outside.sum() > 30
        diff = (out.int() - ref.int()).abs()
        assert int(diff[:, :, inside].max()) <= 1, (name, sign)
        assert bool((out[:, :, outside] == 128).all()) and bool((ref[:, :, outside] == 128).all())


def test_sampling_statistics_match_timm():
    """rand-m9-n2-mstd0.5: ops uniform with replacement, each applied with probability 0.5, magnitude
    N(9, 0.5) clipped to [0, 10]; interpolation bilinear or bicubic half the time each."""
    policy = from_string("rand-m9-n2-mstd0.5", generator=torch.Generator().manual_seed(5))
    params = policy.sample((20000, 3, 8, 8))
    ops = params["ops"]
    counts = torch.bincount(ops.flatten(), minlength=15).float() / ops.numel()
    assert float((counts - 1 / 15).abs().max()) < 0.01
    assert abs(float(params["active"].float().mean()) - 0.5) < 0.01
    f = params["f"] * 10
    assert abs(float(f.mean()) - 9.0) < 0.02 and abs(float(f.std()) - 0.5) < 0.02 and float(f.max()) <= 10
    assert abs(float(params["interp"].float().mean()) - 0.5) < 0.01
    # mstd > 100: uniform in [0, m]
    f = from_string("rand-m8-mstd101").sample((20000, 3, 8, 8))["f"] * 10
    assert abs(float(f.mean()) - 4.0) < 0.05 and float(f.min()) >= 0 and float(f.max()) <= 8


def test_augmix_blend_is_timms_on_one_sample(timm_aa):
    """The chains and the final blend of timm's basic AugMix, with the draws forced to one op chain."""
    x = photo_batch(2, (33, 41))
    policy = TimmAugMix(severity=3, mixture_width=2, chain_depth=1)
    params = policy.sample(x.shape)
    names = [policy.ops[i] for i in params["ops"][0].tolist()]
    mags = (params["f"][0] * 10).tolist()
    signs = params["sign"][0].tolist()
    out = policy.apply(x, params)[0]
    im = to_pil(x[0])
    mixed = np.zeros((33, 41, 3), np.float32)
    for i, (name, mag, sign) in enumerate(zip(names, mags, signs)):
        arg = R.TIMM[name].arg(mag / 10, sign, width=41, height=33)
        if name.startswith("Translate"):
            arg = -arg / (41 if "X" in name else 33)
        args = () if timm_aa.LEVEL_TO_ARG[name] is None else (arg,)
        kw = {"fillcolor": (128, 128, 128), "resample": Image.BILINEAR} if name in (
            "Rotate", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel") else {}
        interp = policy.interpolations[int(params["interp"][0, i])]
        kw = {**kw, "resample": Image.BICUBIC} if kw and interp == "bicubic" else kw
        aug = timm_aa.NAME_TO_OP[name](im, *args, **kw)
        mixed += float(params["weights"][0, i]) * np.asarray(aug, dtype=np.float32)
    mixed = Image.fromarray(np.clip(mixed, 0, 255).astype(np.uint8))
    ref = to_tensor(Image.blend(im, mixed, float(params["m"][0])))
    # geometric chain members differ at the border (fill) and by interpolation rounding
    assert float(((out.int() - ref.int()).abs() <= 2).float().mean()) > 0.95


def test_timm_policies_run_on_every_dtype_and_are_reproducible():
    x = photo_batch(4, (24, 32))
    for spec in ("rand-m9-n2-mstd0.5", "rand-m9-inc1-mstd0.5", "augmix-m3-w3"):
        a = from_string(spec, generator=torch.Generator().manual_seed(1))
        b = from_string(spec, generator=torch.Generator().manual_seed(1))
        ya, yb = a(x), b(x)
        assert torch.equal(ya, yb) and ya.dtype == torch.uint8
        yf = a.apply(x.float() / 255, a.last_params)
        assert yf.dtype == torch.float32 and float(yf.min()) >= 0 and float(yf.max()) <= 1


def test_build_hook_uses_timm_meanings_and_the_dataset_mean_as_fill():
    hook = gpuaug.build_hook("rand-m9-n2-mstd0.5", size=32, num_classes=10)
    policy = [m for m in hook.modules() if isinstance(m, TimmRandAugment)][0]
    # timm's create_transform: img_mean = round(255 * mean) of the normalization mean
    assert policy.fill == [float(round(255 * v)) for v in (0.485, 0.456, 0.406)]


def test_seed_of_python_random_does_not_matter():
    random.seed(0)
    a = from_string("rand-m9", generator=torch.Generator().manual_seed(3)).sample((4, 3, 8, 8))
    random.seed(1)
    b = from_string("rand-m9", generator=torch.Generator().manual_seed(3)).sample((4, 3, 8, 8))
    assert all(torch.equal(a[k], b[k]) for k in a)
