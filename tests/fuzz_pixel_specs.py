"""Specs of tests/test_fuzz.py for the pixel ops: the pointwise ops and their chain, the colour ops,
grayscale, normalize, erase, erase_noise, paste and on_samples."""

from __future__ import annotations

import math

import torch
from fuzz_specs import (
    INF,
    NAN,
    Case,
    Img,
    box,
    channels_error,
    choose,
    close,
    fill_value,
    first_bad,
    functional,
    identity_ref,
    number,
    param,
    per_sample_values,
)
from hypothesis import strategies as st

import gpuaug.functional as F

RGB = (3, 3, 3, 3, 1, 2, 4)  # the RGB-only ops: mostly C = 3, some refused channel counts


def _chain_op(fn, pname=None, lo=0.0, hi=None, integer=False, ref=None, rgb=False, identity=None,
              bounded="both"):
    """A pixel op ``fn(img, p)`` with parameter ``pname`` in [lo, hi] (hi None: the image's max)."""
    def build(draw, img):
        if pname is None:
            return Case(lambda: fn(img.x), channels_error(img, (3,) if rgb else (1, 3)),
                        ref=ref and (lambda out: ref(img, None, out)))
        top = img.mx if hi is None else hi
        v, pbad = param(draw, img, pname, lo, top, integer=integer, bounded=bounded)
        if pbad is None and identity is not None and draw(st.integers(0, 3)) == 0:
            v = identity
        cerr = channels_error(img, (3,) if rgb else (1, 3))
        r = None
        if pbad is None and cerr is None:
            if ref is not None:
                r = lambda out: ref(img, v, out)  # noqa: E731
            elif identity is not None and not isinstance(v, torch.Tensor) and v == identity:
                r = identity_ref(img, 1e-5)
        return Case(lambda: fn(img.x, v), first_bad(cerr, pbad), ref=r,
                    tensors=[v] if isinstance(v, torch.Tensor) else [])
    return build


def _u8_only(fn):
    def ref(img, v, out):
        if img.dtype == torch.uint8 and img.b:
            x = img.batch()
            p = None if v is None else per_sample_values(v, img.b).view(-1, 1, 1, 1)
            close(out.unsqueeze(0) if img.single else out, fn(x, p))
    return ref


functional("posterize")(_chain_op(F.posterize, "bits", 1, 8, integer=True, ref=_u8_only(
    lambda x, p: x & ((255 >> (8 - p.long())) << (8 - p.long())).to(torch.uint8))))
functional("solarize")(_chain_op(F.solarize, "threshold", ref=_u8_only(
    lambda x, t: torch.where(x.float() >= t, 255 - x, x))))
functional("invert")(_chain_op(F.invert, ref=lambda img, v, out: close(
    out, (img.mx - img.x.double()).to(img.dtype))))
functional("equalize")(_chain_op(F.equalize))
functional("autocontrast")(_chain_op(F.autocontrast))
functional("adjust_brightness")(_chain_op(
    F.adjust_brightness, "factor", 0, 3, identity=1.0, bounded="lo",
    ref=_u8_only(lambda x, f: (x.float() * f).clamp(0, 255).to(torch.uint8))))
functional("adjust_contrast")(_chain_op(F.adjust_contrast, "factor", 0, 3, identity=1.0, bounded="lo"))
functional("adjust_saturation", channels=RGB)(_chain_op(F.adjust_saturation, "factor", 0, 3, rgb=True,
                                                        identity=1.0, bounded="lo"))
functional("adjust_sharpness")(_chain_op(F.adjust_sharpness, "factor", 0, 3, identity=1.0, bounded="lo"))
functional("adjust_hue", channels=RGB)(_chain_op(F.adjust_hue, "delta", -0.5, 0.5, rgb=True, identity=0.0))


@functional("solarize_add")
def _(draw, img):
    # (integers for the reference; a fractional addition is valid: the sum rounds)
    a, abad = param(draw, img, "addition", -img.mx, img.mx, integer=img.dtype == torch.uint8,
                    fraction_bad=False)
    t = draw(st.sampled_from([None, img.mx / 2, 0.0]))
    ref = None
    if abad is None and img.dtype == torch.uint8 and img.b:
        def ref(out):
            thr = 128.0 if t is None else t
            x = img.batch().float()
            add = per_sample_values(a, img.b).view(-1, 1, 1, 1)
            want = torch.where(x < thr, (x + add).clamp(0, 255), x).to(torch.uint8)
            close(out.unsqueeze(0) if img.single else out, want)
    return Case(lambda: F.solarize_add(img.x, a, t), first_bad(channels_error(img), abad), ref=ref)


@functional("rgb_to_grayscale", channels=RGB)
def _(draw, img):
    n, nbad = choose(draw, "num_output_channels", [1, 3], 2)

    def ref(out):
        if img.dtype != torch.uint8:
            x = img.x.float()
            g = (0.299 * x[..., 0:1, :, :] + 0.587 * x[..., 1:2, :, :] + 0.114 * x[..., 2:3, :, :])
            close(out, g.expand(*g.shape[:-3], n, *g.shape[-2:]).to(img.dtype), 1e-2 if img.dtype in (
                torch.float16, torch.bfloat16) else 1e-6)
    return Case(lambda: F.rgb_to_grayscale(img.x, n), first_bad(channels_error(img, (3,)), nbad),
                shape=img.out_shape(c=n), ref=ref)


@functional("normalize")
def _(draw, img):
    c = img.c
    mean = draw(st.sampled_from([0.5, [0.4] * c, torch.rand(c), torch.rand(img.b, c), [NAN] * c, "m"]))
    std = draw(st.sampled_from([0.25, [0.2] * c, torch.rand(c) + 0.1, 0.0, [0.2] * (c + 1), INF]))
    dtype = draw(st.sampled_from([None, torch.float32, torch.bfloat16, torch.int32]))
    fmt = draw(st.sampled_from([None, torch.channels_last, torch.contiguous_format, "cl"]))
    mean_bad = None
    if isinstance(mean, str):
        mean_bad = (TypeError, "mean")
    elif isinstance(mean, list) and math.isnan(mean[0]):
        mean_bad = (ValueError, "mean")
    std_bad = None
    if isinstance(std, float) and std in (0.0, INF) or isinstance(std, list) and len(std) not in (1, c):
        std_bad = (ValueError, "std")
    # the order of the checks: dtype, memory_format, the image, mean, std
    bad = first_bad((TypeError, "dtype") if dtype == torch.int32 else None,
                    (ValueError, "memory_format") if fmt == "cl" else None,
                    channels_error(img), mean_bad, std_bad)
    out_dtype = dtype or (torch.float32 if img.dtype == torch.uint8 else img.dtype)

    def ref(out):
        m = torch.as_tensor(mean, dtype=torch.float64)
        m = m.reshape(-1, c if m.numel() > 1 else 1)
        s = torch.as_tensor(std, dtype=torch.float64).reshape(1, -1)
        x = img.batch().double() / img.mx
        want = (x - m[..., None, None]) / s[..., None, None]
        got = out.unsqueeze(0) if img.single else out
        tol = 2e-2 if out_dtype in (torch.float16, torch.bfloat16) else 1e-4
        big = want.abs().max().item() if want.numel() else 0.0
        assert torch.allclose(got.double(), want, atol=tol * (1 + big), rtol=0)
        if fmt == torch.channels_last and got.dim() == 4 and not img.single:
            assert got.is_contiguous(memory_format=torch.channels_last)
    return Case(lambda: F.normalize(img.x, mean, std, dtype=dtype, memory_format=fmt), bad, dtype=out_dtype,
                value_range=(-INF, INF), ref=ref, keeps_format=fmt is None)


def _box_ref(img: Img, boxes: torch.Tensor, fill_fn, out, paste_from=None):
    """Pixels whose centre lies in a box (ceil(x0) <= x < ceil(x1), clipped) take ``fill_fn(n, y, x)``."""
    x = img.batch()
    want = x.clone()
    for n in range(img.b):
        for x0, y0, x1, y1 in boxes[n].tolist():
            if any(v != v for v in (x0, y0, x1, y1)):
                continue
            xa, xb = (min(max(math.ceil(v), 0), img.w) for v in (x0, x1))
            ya, yb = (min(max(math.ceil(v), 0), img.h) for v in (y0, y1))
            if xb > xa and yb > ya:
                want[n, :, ya:yb, xa:xb] = fill_fn(n, slice(ya, yb), slice(xa, xb))
    close(out.unsqueeze(0) if img.single else out, want)


def _boxes(draw, img, k_max=3, integer=False):
    k = draw(st.integers(0, k_max))
    form = draw(st.sampled_from(["bk4", "k4", "4"]))
    rows = [[box(draw, img, integer) for _ in range(k)] for _ in range(img.b)]
    if form == "bk4" or img.b == 0:
        return torch.tensor(rows, dtype=torch.float32).reshape(img.b, k, 4)
    if form == "k4":
        return torch.tensor(rows[0], dtype=torch.float32).reshape(k, 4)
    return torch.tensor(box(draw, img, integer))


@functional("erase")
def _(draw, img):
    boxes = _boxes(draw, img)
    value, vbad = fill_value(draw, img, "value")
    if vbad is None and img.dtype == torch.uint8:
        value = [float(round(v)) for v in value] if isinstance(value, list) else value
    bx = boxes.reshape(-1, 4).expand(img.b, -1, 4) if boxes.dim() < 3 else boxes

    def ref(out):
        v = torch.as_tensor(value, dtype=torch.float64)
        v = v.reshape(-1, v.shape[-1] if v.dim() else 1).expand(img.b, img.c)
        _box_ref(img, bx, lambda n, ys, xs: v[n].to(img.dtype)[:, None, None], out)
    return Case(lambda: F.erase(img.x, boxes, value), first_bad(channels_error(img), vbad),
                ref=ref if vbad is None else None, tensors=[boxes])


@functional("erase_noise")
def _(draw, img):
    boxes = _boxes(draw, img)
    seed = draw(st.sampled_from([0, 7, 2**40, torch.arange(img.b), 1.5, torch.ones(img.b)]))
    floating = seed.is_floating_point() if isinstance(seed, torch.Tensor) else isinstance(seed, float)
    sbad = (TypeError, "seed") if floating else None
    bx = boxes.reshape(-1, 4).expand(img.b, -1, 4) if boxes.dim() < 3 else boxes

    def ref(out):  # outside the boxes: the input
        got = out.unsqueeze(0) if img.single else out
        _box_ref(img, bx, lambda n, ys, xs: got[n, :, ys, xs], out)
    return Case(lambda: F.erase_noise(img.x, boxes, seed), first_bad(channels_error(img), sbad), ref=ref)


@functional("paste", batch_only=True)
def _(draw, img):
    b = img.b
    form = draw(st.sampled_from(["roll", "roll", "float", "range", "shape"]))
    partner = {"roll": (torch.arange(b) + 1) % max(b, 1), "float": torch.zeros(b),
               "range": torch.full((b,), b), "shape": torch.zeros(b + 2, dtype=torch.int64)}[form]
    pbad = {"float": (TypeError, "partner"), "range": (ValueError, "partner"),
            "shape": (ValueError, "partner")}.get(form)
    if form == "range" and b == 0:
        pbad = None
    boxes = torch.tensor([box(draw, img, integer=True) for _ in range(b)]).reshape(b, 4)

    def ref(out):
        _box_ref(img, boxes[:, None], lambda n, ys, xs: img.x[partner[n], :, ys, xs], out)
    return Case(lambda: F.paste(img.x, partner, boxes), first_bad(channels_error(img), pbad),
                ref=ref if pbad is None else None)


@functional("pointwise_chain")
def _(draw, img):
    """A chain equals its ops one by one (the contract), with per-step apply masks."""
    ops = {"posterize": (1, 8, True), "solarize": (0, img.mx, False), "brightness": (0, 2, False),
           "contrast": (0, 2, False), "invert": None, "equalize": None, "autocontrast": None}
    single = {"posterize": F.posterize, "solarize": F.solarize, "brightness": F.adjust_brightness,
              "contrast": F.adjust_contrast, "invert": F.invert, "equalize": F.equalize,
              "autocontrast": F.autocontrast}
    steps = []
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(sorted(ops)))
        p = None if ops[op] is None else number(draw, *ops[op][:2], integer=ops[op][2])
        mask = draw(st.none() | st.lists(st.booleans(), min_size=img.b, max_size=img.b))
        mask = None if mask is None else torch.tensor(mask, dtype=torch.bool).reshape(img.b)
        steps.append((op, p, mask))
    bad = None
    if steps and draw(st.integers(0, 4)) == 0:
        steps.append(("invert", None, torch.ones(img.b + 2, dtype=torch.bool)))
        bad = (ValueError, "mask")

    def ref(out):
        y = img.x
        for op, p, mask in steps:
            z = single[op](y) if p is None else single[op](y, p)
            if mask is not None:
                m = mask.view(-1, 1, 1, 1) if not img.single else mask.view(1, 1, 1)
                z = torch.where(m, z, y)
            y = z
        close(out, y, 0)
    return Case(lambda: F.pointwise_chain(img.x, steps), first_bad(channels_error(img), bad), ref=ref)


@functional("on_samples", batch_only=True)
def _(draw, img):
    mask = torch.tensor(draw(st.lists(st.booleans(), min_size=img.b, max_size=img.b)), dtype=torch.bool)
    mask = mask.reshape(img.b)

    def fn(x, idx):
        return F.pointwise_chain(x, [("invert", None, mask if idx is None else None)])

    def ref(out):
        close(out[0], torch.where(mask.view(-1, 1, 1, 1), (img.mx - img.x.double()).to(img.dtype), img.x))
    if img.c not in (1, 3):
        return Case(lambda: F.invert(img.x), (ValueError, "img"))
    # (not selected anywhere: the input itself comes back, in its own layout)
    return Case(lambda: F.on_samples(img.x, mask, fn), ref=ref, keeps_format=False)
