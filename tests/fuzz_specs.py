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
    number (pair: a tuple), a (B,) / (B, 2) tensor, a () / (1,) / (2,) tensor; bad forms (a third of
    the draws when ``bad``): the kinds of :data:`BAD_EXC` (NaN and infinities twice as often).
    ``bounded``: which of ``lo`` / ``hi`` the op enforces ("both", "lo", "" for neither); ``none_ok``:
    None is a valid value (a default);
    ``integer``: draw integers, and (unless ``fraction_bad=False``) a fraction is an error."""
    tail = (2,) if pair else ()
    b = img.b
    kind = draw(st.sampled_from(["ok"] * 2 + ["bad"])) if bad else "ok"
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
    kinds = ["nan", "nan", "inf", "inf", "str", "complex", "bool", "shape"] + ([] if none_ok else ["none"])
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
    """One of ``options``, or (one in twelve) ``bad_value`` -> ValueError naming ``name``."""
    if draw(st.integers(0, 11)) == 0:
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


def box(draw, img, integer=False):
    x0 = number(draw, -5, img.w - 1, integer)
    y0 = number(draw, -5, img.h - 1, integer)
    return [x0, y0, x0 + number(draw, 1, img.w + 5, integer), y0 + number(draw, 1, img.h + 5, integer)]


def warp_names(draw):
    interp, b1 = choose(draw, "interpolation", list(F.INTERPOLATIONS), "lanczos")
    mode, b2 = choose(draw, "fill_mode", list(F.FILL_MODES), "zeros")
    return interp, mode, first_bad(b1, b2)


def identity_ref(img: Img, atol=1e-6):
    return lambda out: close(out, img.x, atol)


# the specs register themselves in FUNCTIONAL and LAYERS
import fuzz_geometry_specs  # noqa: E402,F401
import fuzz_pixel_specs  # noqa: E402,F401
from fuzz_layer_specs import LAYERS  # noqa: E402,F401
