"""Specs of tests/test_fuzz.py for the geometric ops: warp_affine, affine and its wrappers, flips,
resized_crop, the target warps and the matrix builders."""

from __future__ import annotations

import torch
from fuzz_specs import (
    INF,
    NAN,
    Case,
    box,
    channels_error,
    close,
    fill_value,
    first_bad,
    functional,
    identity_ref,
    number,
    param,
    warp_names,
)
from hypothesis import strategies as st

import gpuaug.functional as F


@functional("warp_affine")
def _(draw, img):
    interp, mode, bad = warp_names(draw)
    fill, bf = fill_value(draw, img)
    form = draw(st.sampled_from(["identity", "random", "batch", "nan", "int", "shape"]))
    b = img.b
    if form in ("identity", "int"):
        rows = draw(st.sampled_from([2, 3]))
        m = torch.eye(3, dtype=torch.int64 if form == "int" else torch.float32)[:rows]
    elif form == "shape":
        m = torch.eye(4)
    else:
        m = torch.eye(3, dtype=torch.float64).repeat(b if form == "batch" else 1, 1, 1)
        m[:, :2] += torch.tensor([[draw(st.floats(-0.5, 0.5)) for _ in range(3)] for _ in range(2)],
                                 dtype=torch.float64) * torch.tensor([1, 1, 20.0])
        if form == "nan":
            m[..., 0, 2] = NAN
    mbad = {"nan": (ValueError, "matrix"), "int": (TypeError, "matrix"),
            "shape": (ValueError, "matrix")}.get(form)
    size = draw(st.sampled_from([None, 5, (3, 70), (1, 1), 0, (2.5, 3)]))
    sbad = (ValueError, "size") if size == 0 else (TypeError, "size") if size == (2.5, 3) else None
    h, w = (img.h, img.w) if size is None else (size, size) if isinstance(size, int) else size
    ref = identity_ref(img) if form == "identity" and size is None else None
    return Case(lambda: F.warp_affine(img.x, m, size, interp, mode, fill), first_bad(
        channels_error(img), bad, mbad, sbad, bf), shape=img.out_shape(h=h, w=w), ref=ref, tensors=[m])


def _affine_params(draw, img, names, scale_checked=True):
    """Some of angle, translate, scale, shear, center (at most one bad), in the order they are checked."""
    out, bad, ts = {}, None, []
    specs = {"angle": (-400, 400, False), "translate": (-80, 80, True), "scale": (0.05, 5, False),
             "shear": (-80, 80, True), "center": (-5, 70, True)}
    for n in [n for n in specs if n in names]:
        lo, hi, pair = specs[n]
        checked = "lo" if n == "scale" and scale_checked else ""
        v, b = param(draw, img, n, lo, hi, pair=pair, bounded=checked, none_ok=n == "center", out=ts,
                     bad=bad is None)
        out[n] = v
        bad = bad or b
    return out, bad, ts


@functional("affine")
def _(draw, img):
    interp, mode, bad = warp_names(draw)
    p, pbad, ts = _affine_params(draw, img, draw(st.sets(st.sampled_from(
        ["angle", "translate", "scale", "shear", "center"]))))
    fill, bf = fill_value(draw, img)
    return Case(lambda: F.affine(img.x, **p, interpolation=interp, fill_mode=mode, fill=fill),
                first_bad(channels_error(img), bad, pbad, bf), tensors=ts)


def _wrapper(fn, pname, lo, hi, identity, pair=False, bounded=""):
    def build(draw, img):
        interp, mode, bad = warp_names(draw)
        v, pbad = param(draw, img, pname, lo, hi, pair=pair, bounded=bounded)
        if pbad is None and draw(st.integers(0, 3)) == 0:
            v = identity
        same = pbad is None and not isinstance(v, torch.Tensor) and v == identity
        ref = identity_ref(img) if same else None
        return Case(lambda: fn(img.x, v, interpolation=interp, fill_mode=mode),
                    first_bad(channels_error(img), pbad, bad), ref=ref,
                    tensors=[v] if isinstance(v, torch.Tensor) else [])
    return build


functional("rotate")(_wrapper(F.rotate, "angle", -400, 400, 0.0))
functional("shear_x")(_wrapper(F.shear_x, "angle", -80, 80, 0.0))
functional("shear_y")(_wrapper(F.shear_y, "angle", -80, 80, 0.0))
functional("scale")(_wrapper(F.scale, "factor", 0.05, 5, 1.0, bounded="lo"))


@functional("translate")
def _(draw, img):
    v, pbad = param(draw, img, "translate", -80, 80, pair=True, bounded="")
    ref = None
    if pbad is None and draw(st.booleans()):  # whole pixels, nearest, a fill: plain slicing
        dx, dy = draw(st.integers(-70, 70)), draw(st.integers(-70, 70))
        v = (dx, dy)
        fill = number(draw, 0, img.mx, integer=True)

        def ref(out, dx=dx, dy=dy, fill=fill):
            want = torch.full_like(img.batch(), fill)
            h, w = img.h, img.w
            ys = slice(min(h, max(0, dy)), max(0, min(h, h + dy)))
            xs = slice(min(w, max(0, dx)), max(0, min(w, w + dx)))
            src = img.batch()[..., min(h, max(0, -dy)): max(0, min(h, h - dy)),
                              min(w, max(0, -dx)): max(0, min(w, w - dx))]
            if src.numel():
                want[..., ys, xs] = src
            close(out.unsqueeze(0) if img.single else out, want)
        return Case(lambda: F.translate(img.x, v, interpolation="nearest", fill=fill),
                    channels_error(img), ref=ref)
    interp, mode, bad = warp_names(draw)
    if pbad is None and bad is None and draw(st.booleans()):
        # a fractional shift to the left past the image: every output pixel samples right of it (source =
        # output - shift), through the interpolating path's border: "constant" gives the fill, "edge" the
        # last column
        far = (-(img.w + 2.5 + draw(st.integers(0, 50))), 0.0)
        mode = draw(st.sampled_from(["constant", "edge"]))
        fill = draw(st.sampled_from([img.mx, 128.0 if img.dtype == torch.uint8 else 0.5]))  # not 0

        def ref(out):
            x = img.batch()
            want = torch.full_like(x, fill) if mode == "constant" else x[..., -1:].expand(x.shape).clone()
            close(out.unsqueeze(0) if img.single else out, want, 1e-5)
        return Case(lambda: F.translate(img.x, far, interp, mode, fill), channels_error(img), ref=ref)
    return Case(lambda: F.translate(img.x, v, interp, mode), first_bad(channels_error(img), pbad, bad))


@functional("hflip")
def _(draw, img):
    return Case(lambda: F.hflip(img.x), channels_error(img), ref=lambda out: close(out, img.x.flip(-1)))


@functional("vflip")
def _(draw, img):
    return Case(lambda: F.vflip(img.x), channels_error(img), ref=lambda out: close(out, img.x.flip(-2)))


@functional("resized_crop")
def _(draw, img):
    interp, mode, bad = warp_names(draw)
    form = draw(st.sampled_from(["full", "one", "batch", "empty", "nan", "shape"]))
    size = draw(st.sampled_from([(img.h, img.w), 7, (1, 66)]))
    h, w = (size, size) if isinstance(size, int) else size
    boxes = {"full": (0, 0, img.w, img.h), "one": tuple(box(draw, img)), "empty": (3, 0, 3, 4),
             "nan": (0, 0, NAN, 4), "shape": torch.zeros(img.b + 2, 4),
             "batch": torch.tensor([box(draw, img) for _ in range(img.b)]).reshape(img.b, 4)}[form]
    bbad = (ValueError, "boxes") if form in ("empty", "nan", "shape") else None
    ref = identity_ref(img) if form == "full" and (h, w) == (img.h, img.w) else None
    return Case(lambda: F.resized_crop(img.x, boxes, size, interp, mode), first_bad(
        channels_error(img), bad, bbad), shape=img.out_shape(h=h, w=w), ref=ref)


@functional("warp_masks", batch_only=True)
def _(draw, img):
    dtype = draw(st.sampled_from([torch.int64, torch.uint8, torch.bool, torch.float32, torch.complex64]))
    k = draw(st.sampled_from([None, 1, 2]))
    shape = (img.b, img.h, img.w) if k is None else (img.b, k, img.h, img.w)
    masks = torch.randint(0, 5, shape).to(dtype)
    mf, mbad = draw(st.sampled_from([(0, None), (255, None), (NAN, (ValueError, "mask_fill")),
                                     (None, (TypeError, "mask_fill"))]))
    ident = draw(st.booleans())
    m = torch.eye(3) if ident else F.affine_matrix(img.b, 33.0, (1.0, 2.0), 1.3,
                                                    center=(img.w / 2, img.h / 2))
    bad = first_bad((TypeError, "masks") if dtype == torch.complex64 else None, mbad)
    vals = (0.0, 255.0)

    def ref(out):
        assert out.dtype == dtype and out.shape == shape
        if ident:
            assert torch.equal(out, masks)
        elif out.numel() and dtype != torch.bool:
            assert set(out.unique().tolist()) <= set(range(5)) | {mf}
    return Case(lambda: F.warp_masks(masks, m, (img.h, img.w), "constant", mf), bad, shape=shape, dtype=dtype,
                value_range=vals, ref=ref, keeps_format=False)


@functional("warp_boxes_keypoints", batch_only=True)
def _(draw, img):
    k = draw(st.integers(0, 3))
    boxes = torch.tensor([[box(draw, img) for _ in range(k)] for _ in range(img.b)]).reshape(img.b, k, 4)
    kp = boxes[..., :2].clone()
    ident = draw(st.booleans())
    m = torch.eye(3) if ident else F.affine_matrix(img.b, 20.0, (3.0, -1.0), 0.7)
    size = draw(st.sampled_from([(img.h, img.w), (5, 70)]))

    def call():
        return F.warp_boxes(boxes, m, size), F.warp_keypoints(kp, m)

    def ref(out):
        ob, ok = out
        assert ob.shape == boxes.shape and ok.shape == kp.shape
        h, w = size
        assert (ob[..., 0::2] >= 0).all() and (ob[..., 0::2] <= w).all()
        assert (ob[..., 1::2] >= 0).all() and (ob[..., 1::2] <= h).all()
        if ident:
            assert torch.equal(ok, kp)
            lim = torch.tensor([w, h, w, h], dtype=torch.float32)
            assert torch.allclose(ob.float(), torch.minimum(boxes.float().clamp_min(0), lim), atol=1e-4)
    # (integer boxes come back rounded, as integers)
    return Case(call, shape=boxes.shape, dtype=boxes.dtype, value_range=(0, max(70, img.w, img.h)), ref=ref,
                keeps_format=False)


@functional("matrix_builders", batch_only=True)
def _(draw, img):
    # (affine_matrix takes any scale: a singular or mirrored matrix is a matrix)
    p, bad, ts = _affine_params(draw, img, draw(st.sets(st.sampled_from(
        ["angle", "translate", "scale", "shear", "center"]))), scale_checked=False)
    crop_box = tuple(box(draw, img))
    b = img.b

    def call():
        return F.affine_matrix(b, **p), F.resized_crop_matrix(b, crop_box, (4, 5)), F.hflip_matrix(b, img.w)

    def ref(out):
        a, r, f = out
        assert a.shape == r.shape == f.shape == (b, 3, 3) and a.dtype == torch.float32
        assert torch.equal(a[:, 2], torch.tensor([0.0, 0, 1]).expand(b, 3))
        if not p:
            assert torch.equal(a, torch.eye(3).expand(b, 3, 3))
    return Case(call, bad, shape=(b, 3, 3), dtype=torch.float32, value_range=(-INF, INF), ref=ref,
                tensors=ts, keeps_format=False)
