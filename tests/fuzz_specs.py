"""What tests/test_fuzz.py draws: parameters (normal, edge, bad) and, per public functional op, a case
builder with its expected outcome (the error naming the argument, or the output's shape, dtype, range and,
for cheap cases, a reference computed independently here)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from hypothesis import strategies as st

import gpuaug.functional as F

NAN, INF = float("nan"), float("inf")
#: bad kind -> the exception the contract gives it
BAD_EXC = {"nan": ValueError, "inf": ValueError, "below": ValueError, "above": ValueError,
           "shape": ValueError, "fraction": ValueError,
           "none": TypeError, "str": TypeError, "complex": TypeError, "bool": TypeError}


@dataclass
class Img:
    x: torch.Tensor
    b: int  # the batch (1 for a single image)
    c: int
    h: int
    w: int
    dtype: torch.dtype
    layout: str
    single: bool

    @property
    def mx(self) -> float:
        return 255.0 if self.dtype == torch.uint8 else 1.0

    def batch(self) -> torch.Tensor:
        return self.x.unsqueeze(0) if self.single else self.x

    def out_shape(self, c=None, h=None, w=None) -> tuple:
        s = (c or self.c, h or self.h, w or self.w)
        return s if self.single else (self.b, *s)


@dataclass
class Case:
    call: object
    bad: tuple | list | None = None  # (exception, argument name), or a list of them: any one may come
    shape: tuple | None = None  # default: the input's
    dtype: torch.dtype | None = None  # default: the input's
    value_range: tuple | None = None  # floating outputs; default [0, 1]
    ref: object = None  # ref(out) asserts equality with a reference
    tensors: list = field(default_factory=list)  # parameter tensors that must not be modified
    keeps_format: bool = True


def channels_error(img: Img, allowed=(1, 3)):
    return None if img.c in allowed else (ValueError, "img")


# ------------------------------------------------------------------------------------------- parameters


def number(draw, lo: float, hi: float, integer: bool = False) -> float:
    if integer:
        return draw(st.integers(int(math.ceil(lo)), int(math.floor(hi))))
    return draw(st.sampled_from([lo, hi]) | st.floats(lo, hi, allow_nan=False))


def param(draw, img: Img, name: str, lo: float, hi: float, *, integer=False, pair=False, bad=True,
          bounded="both", none_ok=False, out: list | None = None, fraction_bad=None):
    """A per-sample parameter: ``(value, bad)`` with ``bad`` None or (exception, name). Normal forms: a
    number (pair: a tuple), a (B,) / (B, 2) tensor, a () / (1,) / (2,) tensor; bad forms (a quarter of
    the draws when ``bad``): the kinds of :data:`BAD_EXC`. ``bounded``: which of ``lo`` / ``hi`` the op
    enforces ("both", "lo", "" for neither); ``none_ok``: None is a valid value (a default);
    ``integer``: draw integers, and (unless ``fraction_bad=False``) a fraction is an error."""
    tail = (2,) if pair else ()
    b = img.b
    kind = draw(st.sampled_from(["ok"] * 3 + ["bad"])) if bad else "ok"
    if kind == "ok":
        form = draw(st.sampled_from(["number", "batch", "one"]))
        dtype = torch.int64 if integer and draw(st.booleans()) else draw(st.sampled_from([torch.float32,
                                                                                         torch.float64]))
        if form == "number":
            v = number(draw, lo, hi, integer)
            if pair:
                v = (v, number(draw, lo, hi, integer))
        else:
            shape = ((b,) if form == "batch" else draw(st.sampled_from([(), (1,)]))) + tail
            if pair and form == "one":
                shape = draw(st.sampled_from([(2,), (1, 2)]))
            n = math.prod(shape)
            v = torch.tensor([number(draw, lo, hi, integer) for _ in range(n)], dtype=dtype).reshape(shape)
            (out if out is not None else []).append(v)
        return v, None
    kinds = ["nan", "inf", "str", "complex", "bool", "shape"] + ([] if none_ok else ["none"])
    if bounded in ("both", "lo"):
        kinds.append("below")
    if bounded == "both":
        kinds.append("above")
    if integer and fraction_bad is not False:
        kinds.append("fraction")
    k = draw(st.sampled_from(kinds))
    if k in ("nan", "inf"):
        v = NAN if k == "nan" else draw(st.sampled_from([INF, -INF]))
        if draw(st.booleans()):  # in a tensor, after valid values
            t = torch.full((max(b, 1),) + tail, float(lo) if lo > -INF else 0.0)
            t.view(-1)[-1] = v
            v = t
        elif pair:
            v = (v, 0.0)
    elif k == "below":
        v = lo - draw(st.sampled_from([0.5, 1.0, 100.0]))
    elif k == "above":
        v = hi + draw(st.sampled_from([0.5, 1.0, 100.0]))
    elif k == "fraction":
        v = draw(st.sampled_from([lo + 0.5, torch.full((max(b, 1),), lo + 0.5)]))
    elif k == "none":
        v = None
    elif k == "str":
        v = draw(st.sampled_from(["1", "nan", "", b"1", bytearray(b"12")]))
    elif k == "complex":
        v = torch.ones((b,) + tail, dtype=torch.complex64)
    elif k == "bool":
        v = draw(st.sampled_from([True, torch.ones((b,) + tail, dtype=torch.bool)]))
    else:  # shape: broadcasts to neither (B,) nor (B, 2)
        v = draw(st.sampled_from([torch.zeros((b + 2,) + tail), torch.zeros((b, 3, 3))]))
    return v, (BAD_EXC[k], name)


def fill_value(draw, img: Img, name: str = "fill"):
    """``fill`` / ``value``: a number, a per-channel list, a (C,) or (B, C) tensor in the image's range."""
    kind = draw(st.sampled_from(["ok"] * 4 + ["above", "nan", "length", "str"]))
    mx, c = img.mx, img.c
    if kind == "ok":
        form = draw(st.sampled_from(["number", "list", "tensor", "batch"]))
        vals = [number(draw, 0.0, mx, integer=img.dtype == torch.uint8) for _ in range(c)]
        if form == "number":
            return vals[0], None
        if form == "list":
            return vals, None
        if form == "tensor":
            return torch.tensor(vals), None
        return torch.tensor(vals).expand(img.b, c).clone(), None
    if kind == "above":
        return mx + 1.0, (ValueError, name)
    if kind == "nan":
        return draw(st.sampled_from([NAN, [NAN] * c])), (ValueError, name)
    if kind == "length":
        return [0.0] * (2 if c != 2 else 4), (ValueError, name)
    return "black", (TypeError, name)


def choose(draw, name: str, options: list, bad_value):
    """One of ``options``, or (one in eight) ``bad_value`` -> ValueError naming ``name``."""
    if draw(st.integers(0, 7)) == 0:
        return bad_value, (ValueError, name)
    return draw(st.sampled_from(options)), None


def first_bad(*bads):
    """The expected errors of a case: any one of them may come first (the order of the checks is not part
    of the contract); None when every argument is good."""
    found = []
    for b in bads:
        if isinstance(b, list):
            found.extend(b)
        elif b is not None:
            found.append(b)
    return found or None


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-6) -> None:
    if a.dtype == torch.uint8:
        assert torch.equal(a, b), (a.int() - b.int()).abs().max()
    else:
        diff = (a.double() - b.double()).abs()
        assert torch.allclose(a.double(), b.double(), atol=atol, rtol=0), diff.max()


def per_sample_values(v, b: int, dtype=torch.float32) -> torch.Tensor:
    """The reference's view of a valid per-sample parameter: (b,) in ``dtype``."""
    return torch.as_tensor(v, dtype=dtype).reshape(-1).expand(b)


# ------------------------------------------------------------------------------------------- functional


@dataclass
class Spec:
    build: object
    channels: tuple | None = None  # channel counts drawn (None: 1..5)
    batch_only: bool = False
    max_side: int = 67


FUNCTIONAL: dict[str, Spec] = {}


def functional(name, **kw):
    def deco(fn):
        FUNCTIONAL[name] = Spec(fn, **kw)
        return fn

    return deco


def _warp_names(draw):
    interp, b1 = choose(draw, "interpolation", list(F.INTERPOLATIONS), "bicubic")
    mode, b2 = choose(draw, "fill_mode", list(F.FILL_MODES), "zeros")
    return interp, mode, first_bad(b1, b2)


def _identity_ref(img: Img, atol=1e-6):
    return lambda out: close(out, img.x, atol)


@functional("warp_affine")
def _(draw, img):
    interp, mode, bad = _warp_names(draw)
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
    ref = _identity_ref(img) if form == "identity" and size is None else None
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
    interp, mode, bad = _warp_names(draw)
    p, pbad, ts = _affine_params(draw, img, draw(st.sets(st.sampled_from(
        ["angle", "translate", "scale", "shear", "center"]))))
    fill, bf = fill_value(draw, img)
    return Case(lambda: F.affine(img.x, **p, interpolation=interp, fill_mode=mode, fill=fill),
                first_bad(channels_error(img), bad, pbad, bf), tensors=ts)


def _wrapper(fn, pname, lo, hi, identity, pair=False, bounded=""):
    def build(draw, img):
        interp, mode, bad = _warp_names(draw)
        v, pbad = param(draw, img, pname, lo, hi, pair=pair, bounded=bounded)
        if pbad is None and draw(st.integers(0, 3)) == 0:
            v = identity
        same = pbad is None and not isinstance(v, torch.Tensor) and v == identity
        ref = _identity_ref(img) if same else None
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
    interp, mode, bad = _warp_names(draw)
    return Case(lambda: F.translate(img.x, v, interp, mode), first_bad(channels_error(img), pbad, bad))


@functional("hflip")
def _(draw, img):
    return Case(lambda: F.hflip(img.x), channels_error(img), ref=lambda out: close(out, img.x.flip(-1)))


@functional("vflip")
def _(draw, img):
    return Case(lambda: F.vflip(img.x), channels_error(img), ref=lambda out: close(out, img.x.flip(-2)))


def _box(draw, img, integer=False):
    x0 = number(draw, -5, img.w - 1, integer)
    y0 = number(draw, -5, img.h - 1, integer)
    return [x0, y0, x0 + number(draw, 1, img.w + 5, integer), y0 + number(draw, 1, img.h + 5, integer)]


@functional("resized_crop")
def _(draw, img):
    interp, mode, bad = _warp_names(draw)
    form = draw(st.sampled_from(["full", "one", "batch", "empty", "nan", "shape"]))
    size = draw(st.sampled_from([(img.h, img.w), 7, (1, 66)]))
    h, w = (size, size) if isinstance(size, int) else size
    boxes = {"full": (0, 0, img.w, img.h), "one": tuple(_box(draw, img)), "empty": (3, 0, 3, 4),
             "nan": (0, 0, NAN, 4), "shape": torch.zeros(img.b + 2, 4),
             "batch": torch.tensor([_box(draw, img) for _ in range(img.b)]).reshape(img.b, 4)}[form]
    bbad = (ValueError, "boxes") if form in ("empty", "nan", "shape") else None
    ref = _identity_ref(img) if form == "full" and (h, w) == (img.h, img.w) else None
    return Case(lambda: F.resized_crop(img.x, boxes, size, interp, mode), first_bad(
        channels_error(img), bad, bbad), shape=img.out_shape(h=h, w=w), ref=ref)


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
                r = _identity_ref(img, 1e-5)
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
functional("adjust_saturation")(_chain_op(F.adjust_saturation, "factor", 0, 3, rgb=True, identity=1.0,
                                          bounded="lo"))
functional("adjust_sharpness")(_chain_op(F.adjust_sharpness, "factor", 0, 3, identity=1.0, bounded="lo"))
functional("adjust_hue")(_chain_op(F.adjust_hue, "delta", -0.5, 0.5, rgb=True, identity=0.0))


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


@functional("rgb_to_grayscale")
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
    rows = [[_box(draw, img, integer) for _ in range(k)] for _ in range(img.b)]
    if form == "bk4" or img.b == 0:
        return torch.tensor(rows, dtype=torch.float32).reshape(img.b, k, 4)
    if form == "k4":
        return torch.tensor(rows[0], dtype=torch.float32).reshape(k, 4)
    return torch.tensor(_box(draw, img, integer))


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
    box = torch.tensor([_box(draw, img, integer=True) for _ in range(b)]).reshape(b, 4)

    def ref(out):
        _box_ref(img, box[:, None], lambda n, ys, xs: img.x[partner[n], :, ys, xs], out)
    return Case(lambda: F.paste(img.x, partner, box), first_bad(channels_error(img), pbad),
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
    boxes = torch.tensor([[_box(draw, img) for _ in range(k)] for _ in range(img.b)]).reshape(img.b, k, 4)
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
    box = tuple(_box(draw, img))
    b = img.b

    def call():
        return F.affine_matrix(b, **p), F.resized_crop_matrix(b, box, (4, 5)), F.hflip_matrix(b, img.w)

    def ref(out):
        a, r, f = out
        assert a.shape == r.shape == f.shape == (b, 3, 3) and a.dtype == torch.float32
        assert torch.equal(a[:, 2], torch.tensor([0.0, 0, 1]).expand(b, 3))
        if not p:
            assert torch.equal(a, torch.eye(3).expand(b, 3, 3))
    return Case(call, bad, shape=(b, 3, 3), dtype=torch.float32, value_range=(-INF, INF), ref=ref,
                tensors=ts, keeps_format=False)


from fuzz_layer_specs import LAYERS  # noqa: E402,F401  (the layer, container and policy specs)
