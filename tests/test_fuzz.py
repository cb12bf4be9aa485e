"""A hypothesis fuzz of every public functional op, layer, container and policy (issue #11).

Inputs: batches B 0-6 (and single images), C 1-5, H and W 1-67, dtypes uint8 / float32 / float16 / bfloat16
/ float64 (the CPU's reference dtype), layouts contiguous / channels_last / strided; parameters normal,
at the edges (0, 1, the ends of their ranges, one value for the whole batch or one per sample, Python
numbers or tensors of several dtypes) and bad (NaN, infinities, out of range, wrong type, complex or bool
tensors, wrong shapes, None).

What must hold:
- no crash: bad input is a ``TypeError`` / ``ValueError`` whose message names the argument, good input
  raises nothing;
- nothing silently wrong: the output has the expected shape, dtype, device and memory format, is finite
  and in the value range, the input (image and parameter tensors) is not modified, and cheap cases equal a
  simple reference (flips, invert, uint8 posterize / solarize / brightness, erase, paste, integer
  translations, identity warps, normalize, grayscale; every layer with ``p=0`` and in eval mode is the
  identity).

Deterministic (``derandomize``): the same cases in every run (``GPUAUG_FUZZ_RANDOM=1``: fresh ones each
run). ``GPUAUG_FUZZ_EXAMPLES`` raises the number of cases per target (default 100: about 6,000 cases in
30 s on 2 cores) for a longer local hunt.
"""

from __future__ import annotations

import collections
import os
import re

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from fuzz_specs import BAD_EXC, FUNCTIONAL, LAYERS, Case, Img  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import gpuaug  # noqa: E402
import gpuaug.functional as F  # noqa: E402
from gpuaug import backend  # noqa: E402

if backend.get_backend() == "triton":
    pytest.skip("value checks are skipped on the CUDA code path (backend 'triton'): the fuzz expects the "
                "host path's", allow_module_level=True)

EXAMPLES = int(os.environ.get("GPUAUG_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("GPUAUG_FUZZ_RANDOM"),
                database=None,
                suppress_health_check=list(HealthCheck), print_blob=True)

DTYPES = (torch.uint8, torch.float32, torch.float16, torch.bfloat16, torch.float64)
LAYOUTS = ("contiguous", "channels_last", "strided")


# ------------------------------------------------------------------------------------------------ images


@st.composite
def images(draw, channels=None, batch_only: bool = False, max_side: int = 67) -> Img:
    b = draw(st.integers(0, 6))
    if channels:
        c = draw(st.sampled_from(channels))
    else:  # C 1..5, mostly the valid 1 and 3
        invalid = draw(st.integers(0, 7)) == 0
        c = draw(st.sampled_from([2, 4, 5] if invalid else [1, 3, 3]))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    dtype = draw(st.sampled_from(DTYPES))
    layout = draw(st.sampled_from(LAYOUTS))
    single = not batch_only and draw(st.integers(0, 9)) == 0
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    if dtype == torch.uint8:
        x = torch.randint(0, 256, (b, c, h, w), generator=g, dtype=torch.uint8)
    else:
        x = torch.rand((b, c, h, w), generator=g, dtype=torch.float64)
        x[..., :1, :1] = 0.0  # the ends of the range
        x[..., -1:, -1:] = 1.0
        x = x.to(dtype)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    elif layout == "strided":
        big = torch.zeros((b, c, h, 2 * w + 1), dtype=dtype)
        big[..., 1::2] = x
        x = big[..., 1::2]
    if single:
        x = x[0] if b else x.new_zeros((c, h, w))
    return Img(x, b if not single else 1, c, h, w, dtype, layout, single)


# ------------------------------------------------------------------------------------------------ checks


def _names(msg: str, name: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", msg) is not None


STATS: collections.Counter = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _stats():
    """``GPUAUG_FUZZ_STATS=FILE``: append the number of cases per target and outcome to FILE."""
    yield
    path = os.environ.get("GPUAUG_FUZZ_STATS")
    if path:
        with open(path, "a") as f:
            for (target, outcome), n in sorted(STATS.items()):
                f.write(f"{target}\t{outcome}\t{n}\n")


def run_case(img: Img, case: Case, target: str = ""):
    """Run one case: the expected error (naming its argument) or a result that passes every check."""
    STATS[(target, "error" if case.bad is not None else "ok")] += 1
    before = img.x.clone()
    kept = [(t, t.clone()) for t in case.tensors]
    if case.bad is not None:
        wanted = case.bad if isinstance(case.bad, list) else [case.bad]
        with pytest.raises((TypeError, ValueError)) as info:
            case.call()
        e = info.value
        assert any(isinstance(e, exc) and _names(str(e), name) for exc, name in wanted), \
            f"{type(e).__name__}: {e}; wanted one of {[(x.__name__, n) for x, n in wanted]}"
    else:
        out = case.call()
        check_output(img, case, out)
    assert torch.equal(img.x, before), "the input image was modified"
    for t, copy in kept:
        assert torch.equal(t, copy) or (t.is_floating_point() and torch.equal(t.isnan(), copy.isnan())), \
            "a parameter tensor was modified"


def check_output(img: Img, case: Case, out) -> None:
    y = out[0] if isinstance(out, tuple) else out
    assert isinstance(y, torch.Tensor)
    want = case.shape if case.shape is not None else tuple(img.x.shape)
    assert tuple(y.shape) == tuple(want), (tuple(y.shape), want)
    assert y.dtype == (case.dtype or img.dtype), (y.dtype, case.dtype or img.dtype)
    assert y.device == img.x.device
    same = y.data_ptr() == img.x.data_ptr() and y.numel() > 0  # the input itself (eval mode's identity)
    if same:
        pass
    elif y.dim() == 4 and img.layout == "channels_last" and not img.x.is_contiguous() and case.keeps_format:
        assert y.is_contiguous(memory_format=torch.channels_last), "channels_last in, not out"
    elif case.keeps_format and y.numel():
        # dense: contiguous or channels_last; a single image cut from a channels_last batch ((C, H, W)
        # with HWC strides) may keep that layout
        hwc = y.dim() == 3 and y.permute(1, 2, 0).is_contiguous() and img.x.permute(1, 2, 0).is_contiguous()
        assert y.is_contiguous() or y.is_contiguous(memory_format=torch.channels_last) or hwc, y.stride()
    if y.is_floating_point():
        assert torch.isfinite(y).all(), "non-finite output"
        lo, hi = case.value_range if case.value_range is not None else (0.0, 1.0)
        if y.numel():
            ends = float(y.min()), float(y.max())
            assert ends[0] >= lo - 1e-6 and ends[1] <= hi + 1e-6, ends
    if case.ref is not None:
        case.ref(out)


# ------------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
@FUZZ
@given(data=st.data())
def test_functional(name, data):
    spec = FUNCTIONAL[name]
    img = data.draw(images(channels=spec.channels, batch_only=spec.batch_only), label="img")
    case = spec.build(data.draw, img)
    run_case(img, case, name)


@pytest.mark.parametrize("name", sorted(LAYERS))
@FUZZ
@given(data=st.data())
def test_layer(name, data):
    spec = LAYERS[name]
    img = data.draw(images(channels=spec.channels, batch_only=spec.batch_only, max_side=spec.max_side),
                    label="img")
    case = spec.build(data.draw, img)
    run_case(img, case, name)


@FUZZ
@given(text=st.text(max_size=24) | st.sampled_from(["rand", "rand-m9", "rand-m9-n2-mstd0.5", "rand-n",
                                                     "rand-m-1", "rand-mnan", "rand-minf-n2", "augmix-m3-w0",
                                                     "trivial", "autoaugment-x", "rand-m9-n2-mstd-1", ""]))
def test_policy_strings(text):
    # any string: a policy or a ValueError naming what is wrong, never another exception
    try:
        policy = gpuaug.from_string(text)
    except ValueError as e:
        assert str(e)
        return
    x = torch.randint(0, 256, (3, 3, 11, 9), dtype=torch.uint8)
    assert policy(x).shape == x.shape


@FUZZ
@given(batch=st.integers(-3, 7) | st.floats(allow_nan=True) | st.none() | st.booleans(),
       side=st.integers(-2, 9))
def test_matrix_builders_batch_and_size(batch, side):
    for fn in (F.hflip_matrix, F.vflip_matrix):
        ok = isinstance(batch, int) and not isinstance(batch, bool) and batch >= 0 and side >= 1
        if ok:
            m = fn(batch, side)
            assert m.shape == (batch, 3, 3) and m.dtype == torch.float32
            # an involution: flipping twice is the identity
            assert torch.allclose(m @ m, torch.eye(3).expand(batch, 3, 3))
        else:
            with pytest.raises((TypeError, ValueError), match="batch|width|height"):
                fn(batch, side)


def test_bad_exception_table_is_consistent():
    # every bad kind the specs draw maps to the exception the contract gives it
    assert BAD_EXC["nan"] is ValueError and BAD_EXC["complex"] is TypeError and BAD_EXC["none"] is TypeError
