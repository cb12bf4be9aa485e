"""Layer, container, mixing-layer and policy specs of tests/test_fuzz.py: constructor arguments (normal,
edge, or one bad argument: an error at construction naming it), a mode (train; ``p=0``, the identity;
eval, the identity for random layers), targets for the geometric layers, and the expected outcome."""

from __future__ import annotations

import torch
from fuzz_specs import INF, NAN, Case, Img, Spec, channels_error, close
from hypothesis import strategies as st

import gpuaug

LAYERS: dict[str, Spec] = {}
INTERP = ["nearest", "bilinear", "bicubic"]
MODES = ["constant", "edge", "reflect", "mirror", "wrap"]


RANGE_BAD = [(NAN, ValueError), (INF, ValueError), ((1.0, NAN), ValueError), ((2.0, 1.0), ValueError),
             ("x", TypeError), (None, TypeError)]
FACTOR_BAD = [(NAN, ValueError), (-1.0, ValueError), ((0.5, INF), ValueError), ("x", TypeError)]
P_BAD = [(NAN, ValueError), (1.5, ValueError), (-0.1, ValueError), ("0.5", TypeError), (None, TypeError)]


def _args(draw, table: dict) -> tuple[dict, tuple | None]:
    """Draw every argument of ``table`` (name -> (good strategy, bad list)); in one case of five, one of
    them is bad."""
    names = [n for n, (_, bads) in table.items() if bads]
    spoil = draw(st.sampled_from(names)) if names and draw(st.integers(0, 4)) == 0 else None
    kw, bad = {}, None
    for name, (good, bads) in table.items():
        if name == spoil:
            kw[name], exc = draw(st.sampled_from(bads))
            bad = (exc, name)
        else:
            kw[name] = draw(good)
    return kw, bad


def layer(name, make, args, *, crop=None, deterministic=False, call_bad=None, batch_only=False,
          max_side=67, has_p=True, targets=True, mix=False):
    """Register a layer spec. ``crop(kw) -> (h, w)``: the output size; ``call_bad(kw, img)``: an error the
    call raises for these arguments (e.g. a threshold outside a float image's range)."""
    def build(draw, img: Img):
        kw, bad = _args(draw, args(img) if callable(args) else args)
        if bad is not None:
            return Case(lambda: make(**kw), bad)
        mode = draw(st.sampled_from(["train", "train", "eval"] + (["p0"] if has_p else [])))
        if mode == "p0":
            kw["p"] = 0.0
        lay = make(**kw)
        lay.train(mode != "eval")
        err = channels_error(img)
        if err is None and (mode != "eval" or deterministic) and call_bad is not None:
            err = call_bad(kw, img)
        h, w = crop(kw) if crop is not None and mode != "eval" else (img.h, img.w)
        if crop is not None and mode != "eval" and "padding" in kw:
            err = err or _crop_fits(kw, img)
        out_dtype = torch.float32 if deterministic and img.dtype == torch.uint8 else img.dtype
        given, tref = {}, None
        if mix:
            given, tref, lbad = _labels(draw, img, kw)
            err = err or lbad
        elif targets and (crop is not None or draw(st.integers(0, 3)) == 0):
            given, tref = _targets(draw, img, (h, w))

        def ref(out):
            y = out[0] if isinstance(out, tuple) else out
            if (mode == "eval" and not deterministic) or (mode == "p0" and crop is None):
                close(y, img.x, 1e-5)  # (floats: blends with factor 1 and hue 0 round)
            if tref is not None:
                tref(out, mode)
        return Case(lambda: lay(img.x, **given), err, shape=img.out_shape(h=h, w=w), dtype=out_dtype,
                    value_range=(-INF, INF) if deterministic else None, ref=ref)

    LAYERS[name] = Spec(build, batch_only=batch_only or mix, max_side=max_side)


def _crop_fits(kw, img):
    pad = kw["padding"]
    pad = (0,) * 4 if pad is None else (pad,) * 4 if isinstance(pad, int) else tuple(pad) * (4 // len(pad))
    h, w = img.h + pad[1] + pad[3], img.w + pad[0] + pad[2]
    sh, sw = (kw["size"],) * 2 if isinstance(kw["size"], int) else kw["size"]
    if kw.get("pad_if_needed"):
        return None
    return (ValueError, "size") if sh > h or sw > w else None


def _targets(draw, img: Img, size):
    """Masks / boxes / keypoints / labels for a geometric layer, and the check of what comes back."""
    b, h, w = img.b, img.h, img.w
    k = draw(st.integers(0, 3))
    given = {}
    if draw(st.booleans()):
        given["masks"] = torch.randint(0, 4, (b, h, w) if not img.single else (h, w))
    if draw(st.booleans()):  # inside the image: pixel layers return them as they are
        wh = torch.tensor([w, h], dtype=torch.float32)
        a, c = torch.rand(b, k, 2) * wh, torch.rand(b, k, 2) * wh
        given["boxes"] = torch.cat([torch.minimum(a, c), torch.maximum(a, c)], -1)
        if img.single:
            given["boxes"] = given["boxes"][0]
    if draw(st.booleans()):
        given["keypoints"] = torch.rand(b, k, 2) * 10 if not img.single else torch.rand(k, 2) * 10
    if not img.single and draw(st.booleans()):
        given["labels"] = torch.randint(0, 5, (b,))
    order = [n for n in ("labels", "masks", "boxes", "box_labels", "keypoints") if n in given]

    def tref(out, mode):
        if not order:
            return
        assert isinstance(out, tuple) and len(out) == 1 + len(order)
        for name, t in zip(order, out[1:]):
            src = given[name]
            assert t.dtype == src.dtype
            if name == "masks":
                assert t.shape[-2:] == size and t.shape[:-2] == src.shape[:-2]
                assert set(t.unique().tolist()) <= {0, 1, 2, 3}
            elif name == "boxes":
                assert t.shape == src.shape
                assert (t[..., 0::2] >= 0).all() and (t[..., 0::2] <= size[1]).all()
                assert (t[..., 1::2] >= 0).all() and (t[..., 1::2] <= size[0]).all()
            else:
                assert t.shape == src.shape and torch.isfinite(t.float()).all()
            if mode == "eval":
                assert torch.equal(t, src)
    return given, tref


def _labels(draw, img: Img, kw):
    """Labels for a mixing layer (int class ids or soft labels), the check of the soft labels, and the
    error expected (class ids out of range: labels; class ids without num_classes: num_classes)."""
    b, k = img.b, kw.get("num_classes") or 4
    form = draw(st.sampled_from(["ids", "ids", "soft", "range"]))
    if form == "range" and b == 0:
        form = "ids"
    if form == "soft":
        labels = torch.softmax(torch.randn(b, k), -1)
    else:
        labels = torch.randint(0, k, (b,))
        if kw.get("num_classes") is None:
            return {"labels": labels}, None, (ValueError, "num_classes")
        if form == "range":
            labels[-1] = draw(st.sampled_from([k, -1, 10 * k]))
            return {"labels": labels}, None, (ValueError, "labels")

    def tref(out, mode):
        y, soft = out
        assert soft.shape == (b, k) and soft.dtype == torch.float32
        if b:
            assert torch.allclose(soft.sum(-1), torch.ones(b), atol=1e-5)
            assert soft.min() >= 0 and soft.max() <= 1 + 1e-6
    return {"labels": labels}, tref, None


def _range(lo, hi):
    pairs = st.tuples(st.floats(lo, hi), st.floats(lo, hi)).map(sorted).map(tuple)
    return st.one_of(st.floats(lo, hi), pairs)


def _p():
    return (st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0, 1), P_BAD)


def _warp(img):
    return {"interpolation": (st.sampled_from(INTERP), [("lanczos", ValueError), (1, TypeError)]),
            "fill_mode": (st.sampled_from(MODES), [("zeros", ValueError)]),
            "fill": (st.sampled_from([0, img.mx, [0.0] * 3, [img.mx / 2]]),
                     [(NAN, ValueError), ("x", TypeError), ([0, 0], ValueError)])}


def _fill_fits(kw, img):
    """A per-channel fill must have 1 or C values (checked at the call, where C is known)."""
    fill = kw.get("fill")
    return (ValueError, "fill") if isinstance(fill, list) and len(fill) not in (1, img.c) else None


def _size():
    return st.sampled_from([1, 7, (5, 9), (70, 3)])


def _out(kw):
    s = kw["size"]
    return (s, s) if isinstance(s, int) else s


layer("RandomAffine", gpuaug.RandomAffine, lambda img: {
    "degrees": (_range(-180, 180).filter(lambda v: not isinstance(v, float) or v >= 0), RANGE_BAD),
    "translate": (st.none() | st.tuples(st.floats(0, 1), st.floats(0, 1)), [((NAN, 0.1), ValueError),
                                                                             ((2.0, 0.0), ValueError)]),
    "scale": (st.none() | st.tuples(st.floats(0.1, 1), st.floats(1, 3)), [((0.0, 1.0), ValueError),
                                                                          ((1.0, INF), ValueError)]),
    "shear": (st.none() | st.floats(0, 40) | st.tuples(*[st.floats(-20, -1), st.floats(1, 20)] * 2),
              [(NAN, ValueError), ((0, 1, NAN, 2), ValueError)]),
    "center": (st.none() | st.tuples(st.floats(-5, 70), st.floats(-5, 70)), [((NAN, 1.0), ValueError),
                                                                                ((1.0,), TypeError)]),
    **_warp(img), "p": _p()}, call_bad=_fill_fits)
layer("RandomRotation", gpuaug.RandomRotation, lambda img: {
    "degrees": (_range(0, 360), RANGE_BAD), **_warp(img), "p": _p()}, call_bad=_fill_fits)
layer("RandomHorizontalFlip", gpuaug.RandomHorizontalFlip, {"p": _p()})
layer("RandomVerticalFlip", gpuaug.RandomVerticalFlip, {"p": _p()})
layer("RandomResizedCrop", gpuaug.RandomResizedCrop, lambda img: {
    "size": (_size(), [(0, ValueError), (2.5, TypeError)]),
    "scale": (st.tuples(st.floats(0.01, 0.5), st.floats(0.5, 1.0)), [((0.0, 0.0), ValueError),
                                                                      ((0.5, NAN), ValueError)]),
    "ratio": (st.tuples(st.floats(0.2, 1), st.floats(1, 5)),
              [((0.0, 1.0), ValueError), ((1, INF), ValueError)]),
    "interpolation": (st.sampled_from(INTERP), [("area", ValueError)]), "p": _p()}, crop=_out)
layer("RandomCrop", gpuaug.RandomCrop, lambda img: {
    "size": (st.sampled_from([1, 4, (3, 8), (40, 40)]), [(-1, ValueError)]),
    "padding": (st.sampled_from([None, 0, 3, (1, 2), (0, 1, 2, 3)]),
                [(-1, ValueError), ((1, 2, 3), TypeError)]),
    "pad_if_needed": (st.booleans(), [(1, TypeError)]),
    "fill_mode": (st.sampled_from(MODES), [("zeros", ValueError)]), "p": _p()}, crop=_out)
layer("ColorJitter", gpuaug.ColorJitter, {
    "brightness": (st.floats(0, 1) | st.tuples(st.floats(0, 1), st.floats(1, 2)), FACTOR_BAD),
    "contrast": (st.floats(0, 1), FACTOR_BAD),
    "saturation": (st.floats(0, 1), FACTOR_BAD),
    "hue": (st.floats(0, 0.5) | st.tuples(st.floats(-0.5, 0), st.floats(0, 0.5)), [(0.6, ValueError),
                                                                                   (NAN, ValueError)]),
    "p": _p()})
for _name, _arg_name in (("RandomBrightness", "brightness"), ("RandomContrast", "contrast"),
                         ("RandomSaturation", "saturation")):
    layer(_name, getattr(gpuaug, _name), {_arg_name: (st.floats(0, 1), FACTOR_BAD), "p": _p()})
layer("RandomHue", gpuaug.RandomHue, {"hue": (st.floats(0, 0.5), [(NAN, ValueError), (0.7, ValueError)]),
                                      "p": _p()})
layer("RandomGrayscale", gpuaug.RandomGrayscale, {"p": _p()})
layer("RandomSharpness", gpuaug.RandomSharpness, {
    "sharpness_factor": (st.floats(0, 4) | st.tuples(st.floats(0, 1), st.floats(1, 4)), FACTOR_BAD),
    "p": _p()})
layer("RandomPosterize", gpuaug.RandomPosterize, {
    "bits": (st.integers(1, 8) | st.tuples(st.integers(1, 4), st.integers(4, 8)),
             [(0, ValueError), (9, ValueError), (2.5, TypeError), ((5, 2), ValueError)]), "p": _p()})
layer("RandomSolarize", gpuaug.RandomSolarize, {
    "threshold": (st.floats(0, 1) | st.floats(0, 255),
                  [(NAN, ValueError), (300, ValueError), ("x", TypeError)]),
    "p": _p()}, call_bad=lambda kw, img: (ValueError, "threshold") if kw["threshold"] > img.mx else None)
for _name in ("RandomEqualize", "RandomAutocontrast", "RandomInvert"):
    layer(_name, getattr(gpuaug, _name), {"p": _p()})
layer("RandomErasing", gpuaug.RandomErasing, {
    "p": _p(),
    "scale": (st.tuples(st.floats(0, 0.3), st.floats(0.3, 1)),
              [((0.5, 2.0), ValueError), ((NAN, 1), ValueError)]),
    "ratio": (st.tuples(st.floats(0.1, 1), st.floats(1, 5)), [((0, 1), ValueError)]),
    "value": (st.sampled_from([0, 1, 200, "random", [0, 0.5, 1]]), [(NAN, ValueError), ("noise", ValueError),
                                                                   ([1, 2], ValueError)]),
    "count": (st.integers(1, 3) | st.just((0, 2)), [(0, ValueError), ((3, 1), ValueError)])},
    call_bad=lambda kw, img: (ValueError, "value") if not isinstance(kw["value"], str) and max(
        kw["value"] if isinstance(kw["value"], list) else [kw["value"]]) > img.mx or (
        isinstance(kw["value"], list) and img.c == 1) else None)
layer("Normalize", gpuaug.Normalize, {
    "mean": (st.sampled_from([0.5, (0.485, 0.456, 0.406)]), [(NAN, ValueError), ("x", TypeError)]),
    "std": (st.sampled_from([0.25, (0.229, 0.224, 0.225)]), [(0.0, ValueError), (INF, ValueError)])},
    deterministic=True, has_p=False,
    call_bad=lambda kw, img: (ValueError, "mean") if isinstance(kw["mean"], tuple) and img.c == 1 else (
        ValueError, "std") if isinstance(kw["std"], tuple) and img.c == 1 else None)

_MIX = {"num_classes": (st.sampled_from([None, 4]), [(0, ValueError), (2.5, TypeError)]),
        "label_smoothing": (st.floats(0, 0.5), [(NAN, ValueError), (1.5, ValueError)]),
        "partner": (st.sampled_from(["roll", "flip", "perm"]), [("random", ValueError)]), "p": _p()}
layer("CutMix", gpuaug.CutMix, {"alpha": (st.floats(0.1, 3), [(INF, ValueError), (0.0, ValueError)]), **_MIX},
      mix=True)
layer("MixUp", gpuaug.MixUp, {"alpha": (st.floats(0.1, 3), [(NAN, ValueError), (-1, ValueError)]), **_MIX},
      mix=True)
layer("MixUpCutMix", gpuaug.MixUpCutMix, {
    "mixup_alpha": (st.floats(0, 2), [(INF, ValueError)]),
    "cutmix_alpha": (st.floats(0.1, 2), [(NAN, ValueError)]),
    "switch_prob": (st.floats(0, 1), [(2.0, ValueError)]), **_MIX}, mix=True)

_CHILDREN = [lambda: gpuaug.RandomHorizontalFlip(), lambda: gpuaug.RandomRotation(20),
             lambda: gpuaug.RandomBrightness(0.3), lambda: gpuaug.RandomEqualize(),
             lambda: gpuaug.RandomAffine(10, interpolation="bilinear"), lambda: gpuaug.RandomInvert(0.7),
             lambda: gpuaug.RandomGrayscale(0.5), lambda: gpuaug.ColorJitter(0.2, 0.2, 0.2, 0.05)]
_kids = st.lists(st.sampled_from(_CHILDREN), min_size=1, max_size=3).map(lambda fs: [f() for f in fs])
layer("Compose", gpuaug.Compose, {"transforms": (_kids, [("flip", TypeError), ([1], TypeError)])},
      has_p=False)
layer("RandomApply", gpuaug.RandomApply, {"transforms": (_kids, [(None, TypeError)]), "p": _p()})
layer("RandomChoice", lambda transforms, p: gpuaug.RandomChoice(transforms, p if p != "uniform" else None), {
    "transforms": (st.lists(st.sampled_from(_CHILDREN), min_size=3, max_size=3).map(
        lambda fs: [f() for f in fs]), []),
    "p": (st.sampled_from(["uniform", [1, 2, 3], [0, 0, 1]]),
          [([NAN, 1, 1], ValueError), ([0, 0, 0], ValueError), ([1, 1], ValueError),
           ([-1, 1, 1], ValueError)])},
      has_p=False)

_POLICY_WARP = {"interpolation": (st.sampled_from(INTERP), [("lanczos", ValueError)]),
                "fill_mode": (st.sampled_from(MODES), [("zeros", ValueError)]), "p": _p()}
layer("RandAugment", gpuaug.RandAugment, {
    "num_ops": (st.integers(0, 4), [(-1, ValueError), (1.5, TypeError)]),
    "magnitude": (st.integers(0, 30) | st.floats(0, 30), [(NAN, ValueError), (31, ValueError)]),
    "magnitude_std": (st.sampled_from([0.0, 0.5, INF]), [(NAN, ValueError), (-1, ValueError)]),
    "op_prob": (st.floats(0, 1), [(1.5, ValueError)]), **_POLICY_WARP}, max_side=40)
layer("TrivialAugmentWide", gpuaug.TrivialAugmentWide, {
    "num_magnitude_bins": (st.integers(2, 40), [(1, ValueError), (NAN, TypeError)]), **_POLICY_WARP},
      max_side=40)
layer("AutoAugment", gpuaug.AutoAugment, {
    "policy": (st.sampled_from(["imagenet", "cifar10", "svhn"]), [("coco", ValueError), (None, ValueError)]),
    **_POLICY_WARP}, max_side=40)
layer("AugMix", gpuaug.AugMix, {
    "severity": (st.integers(1, 10), [(0, ValueError), (11, ValueError)]),
    "mixture_width": (st.integers(1, 3), [(0, ValueError)]),
    "chain_depth": (st.sampled_from([-1, 1, 2]), [(0, ValueError)]),
    "alpha": (st.floats(0.1, 2), [(INF, ValueError), (0, ValueError)]),
    "all_ops": (st.booleans(), [(1, TypeError)]), "p": _p()}, max_side=40, targets=False)
