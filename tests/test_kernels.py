"""The Triton kernels (gpuaug.kernels) against outside oracles and against the torch path.

Oracles: scipy.ndimage.map_coordinates for warp (its modes are the docs/contract.md's fill modes), numpy
bincount / fancy indexing / slicing for histogram, LUT, erase and paste; and the torch-path primitive of the
same name (gpuaug._torch.*) on the same inputs. Runs on a GPU, or on the CPU through Triton's interpreter:

    TRITON_INTERPRET=1 GPUAUG_BACKEND=triton pytest tests/test_kernels.py -q

Interpreted Triton is slow: images stay tiny (13x17 .. 97x101) and the cases few.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

INTERPRET = os.environ.get("TRITON_INTERPRET", "0").strip() not in ("", "0")
if not (INTERPRET or torch.cuda.is_available()):
    pytest.skip(
        "the Triton kernels need a CUDA device, or TRITON_INTERPRET=1 in the environment before triton is "
        "imported (CPU tensors then run through Triton's interpreter)",
        allow_module_level=True,
    )
pytest.importorskip("triton", reason="triton is not installed")

import gpuaug.kernels._common as common  # noqa: E402
from gpuaug.kernels import color as kcolor  # noqa: E402
from gpuaug.kernels import erase as kerase  # noqa: E402
from gpuaug.kernels import histogram as khist  # noqa: E402
from gpuaug.kernels import lut as klut  # noqa: E402
from gpuaug.kernels import normalize as knorm  # noqa: E402
from gpuaug.kernels import warp as kwarp  # noqa: E402
from helpers import max_abs_diff, photo_batch, pil_map  # noqa: E402
from PIL import ImageEnhance, ImageOps  # noqa: E402
from scipy import ndimage  # noqa: E402

from gpuaug import backend  # noqa: E402
from gpuaug._torch import color as tcolor  # noqa: E402
from gpuaug._torch import erase as terase  # noqa: E402
from gpuaug._torch import histogram as thist  # noqa: E402
from gpuaug._torch import lut as tlut  # noqa: E402
from gpuaug._torch import normalize as tnorm  # noqa: E402

DEVICE = torch.device("cpu" if INTERPRET else "cuda")
MODES = ("constant", "edge", "reflect", "mirror", "wrap")
SCIPY_MODE = {"constant": "grid-constant", "edge": "nearest", "reflect": "reflect", "mirror": "mirror",
              "wrap": "grid-wrap"}
LAYOUTS = ("contiguous", "channels_last", "strided")
FLOAT_ATOL = {torch.float32: 2e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


def layout(x: torch.Tensor, kind: str) -> torch.Tensor:
    """The same values in another memory layout: plain, channels_last, or a non-contiguous view."""
    if kind == "contiguous":
        return x.contiguous()
    if kind == "channels_last":
        return x.contiguous(memory_format=torch.channels_last)
    b, c, h, w = x.shape
    big = torch.zeros((b, c + 1, h + 3, 2 * w + 1), dtype=x.dtype, device=x.device)
    view = big[:, 1:, 2 : h + 2, 1 : 2 * w + 1 : 2]  # offset, row gap, column step 2
    view.copy_(x)
    assert not view.is_contiguous() and not view.is_contiguous(memory_format=torch.channels_last)
    return view


def photos(b=2, size=(13, 17), gray=False) -> torch.Tensor:
    return photo_batch(b, size, gray=gray).to(DEVICE)


def random_inverse(b: int, shift: float = 6.0, gen_seed: int = 1) -> torch.Tensor:
    """Per-sample (B, 2, 3) output->source maps: rotation/shear/scale around identity plus a shift, so the
    samples leave the image on every side (all fill modes are exercised) and no coordinate is a tie."""
    g = torch.Generator().manual_seed(gen_seed)
    a = torch.eye(2).expand(b, 2, 2) + 0.45 * torch.randn(b, 2, 2, generator=g)
    t = shift * torch.randn(b, 2, 1, generator=g) + 0.123
    return torch.cat([a, t], 2).to(DEVICE)


def scipy_warp(img: torch.Tensor, inv: torch.Tensor, size, order: int, mode: str, fill: torch.Tensor):
    """float64 reference: scipy map_coordinates at inv @ (x, y, 1), per sample and channel."""
    ho, wo = size
    yy, xx = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
    x = img.double().cpu().numpy()
    out = np.empty((*img.shape[:2], ho, wo))
    for b in range(img.shape[0]):
        a = inv[b].double().cpu().numpy()
        sx = a[0, 0] * xx + a[0, 1] * yy + a[0, 2]
        sy = a[1, 0] * xx + a[1, 1] * yy + a[1, 2]
        for c in range(img.shape[1]):
            out[b, c] = ndimage.map_coordinates(x[b, c], [sy, sx], order=order, mode=SCIPY_MODE[mode],
                                                cval=float(fill[b, c]), prefilter=False)
    return torch.from_numpy(out)


def assert_close_image(out: torch.Tensor, ref: torch.Tensor, dtype: torch.dtype, u8_tol: int = 1):
    """uint8: within ``u8_tol`` of the rounded float64 reference; floats: the dtype's rounding."""
    out = out.cpu()
    if dtype == torch.uint8:
        diff = (out.double() - ref.round().clamp(0, 255)).abs().max().item()
        assert diff <= u8_tol, f"uint8 max diff {diff}"
    else:
        torch.testing.assert_close(out.double(), ref.double(), atol=FLOAT_ATOL[dtype], rtol=0)


# ------------------------------------------------------------------------------------------------ warp


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("mode", MODES)
def test_warp_matches_scipy(interpolation, mode):
    img = torch.rand(2, 3, 13, 17, device=DEVICE)
    inv = random_inverse(2)
    fill = torch.rand(2, 3, device=DEVICE)
    out = kwarp.warp(img, inv, [11, 19], interpolation, mode, fill)
    assert out.shape == (2, 3, 11, 19) and out.dtype == torch.float32
    ref = scipy_warp(img, inv, (11, 19), int(interpolation == "bilinear"), mode, fill)
    assert_close_image(out, ref, torch.float32)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("interpolation,mode", [("bilinear", "constant"), ("nearest", "reflect"),
                                                ("bilinear", "mirror")])
def test_warp_dtypes_and_layouts(dtype, kind, interpolation, mode):
    u8 = photos(2, (13, 17))
    img = u8 if dtype == torch.uint8 else (u8.float() / 255).to(dtype)
    mx = 255.0 if dtype == torch.uint8 else 1.0
    fill = torch.tensor([[0.2, 0.5, 0.9], [1.0, 0.0, 0.333]], device=DEVICE) * mx  # per sample, per channel
    inv = random_inverse(2, gen_seed=3)
    x = layout(img, kind)
    out = kwarp.warp(x, inv, [15, 12], interpolation, mode, fill)
    assert out.dtype == dtype and out.shape == (2, 3, 15, 12)
    if kind == "channels_last":
        assert out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous()
    else:
        assert out.is_contiguous()
    ref = scipy_warp(img, inv, (15, 12), int(interpolation == "bilinear"), mode, fill)
    assert_close_image(out, ref, dtype)
    assert torch.equal(x.cpu(), layout(img, kind).cpu()), "input modified"


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("mode", MODES)
def test_warp_identity_is_exact(interpolation, mode):
    img = photos(2, (13, 17))
    inv = torch.tensor([[1.0, 0, 0], [0, 1, 0]], device=DEVICE).expand(2, 2, 3)
    out = kwarp.warp(img, inv, [13, 17], interpolation, mode, torch.full((2, 3), 7.0, device=DEVICE))
    assert torch.equal(out, img)


def test_warp_integer_shift_fill_modes_uint8():
    """A shift by whole pixels is exact in every mode: compare with numpy's pad modes on a real photo."""
    img = photos(1, (9, 11))
    inv = torch.tensor([[[1.0, 0, -4], [0, 1, 3]]], device=DEVICE)  # out(x, y) = src(x - 4, y + 3)
    a = img[0].cpu().numpy()
    pads = {"edge": "edge", "reflect": "symmetric", "mirror": "reflect", "wrap": "wrap"}
    for mode, np_mode in pads.items():
        p = np.pad(a, ((0, 0), (20, 20), (20, 20)), mode=np_mode)
        ref = p[:, 23 : 23 + 9, 16 : 16 + 11]
        for interpolation in ("nearest", "bilinear"):
            out = kwarp.warp(img, inv, [9, 11], interpolation, mode, None)
            assert np.array_equal(out[0].cpu().numpy(), ref), (mode, interpolation)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_warp_matches_torch_path(dtype):
    twarp = pytest.importorskip("gpuaug._torch.warp", reason="torch-path warp not written yet")
    u8 = photos(2, (13, 17))
    img = u8 if dtype == torch.uint8 else u8.float() / 255
    mx = 255.0 if dtype == torch.uint8 else 1.0
    fill = torch.tensor([[0.2, 0.5, 0.9], [1.0, 0.0, 0.333]], device=DEVICE) * mx
    inv = random_inverse(2, gen_seed=5)
    for interpolation in ("nearest", "bilinear"):
        for mode in MODES:
            for kind in ("contiguous", "channels_last"):
                x = layout(img, kind)
                out = kwarp.warp(x, inv, (12, 15), interpolation, mode, fill)
                ref = twarp.warp(x, inv, (12, 15), interpolation, mode, fill)
                assert out.stride() == ref.stride()
                if dtype == torch.uint8:
                    assert (out.int() - ref.int()).abs().max() <= 1, (interpolation, mode, kind)
                else:
                    torch.testing.assert_close(out, ref, atol=2e-5, rtol=0)


@pytest.mark.parametrize("dtype,out_dtype", [(torch.uint8, torch.float32), (torch.uint8, torch.bfloat16),
                                             (torch.float16, torch.float32)])
def test_warp_normalize(dtype, out_dtype):
    u8 = photos(2, (13, 17))
    img = (u8 if dtype == torch.uint8 else (u8.float() / 255).to(dtype)).contiguous(
        memory_format=torch.channels_last)
    mx = 255.0 if dtype == torch.uint8 else 1.0
    mean = torch.tensor([0.485, 0.456, 0.406], device=DEVICE)
    std = torch.tensor([0.229, 0.224, 0.225], device=DEVICE)
    fill = torch.full((2, 3), 0.5 * mx, device=DEVICE)
    inv = random_inverse(2, gen_seed=7)
    out = kwarp.warp_normalize(img, inv, [10, 14], "bilinear", "constant", fill, mean, std, out_dtype)
    assert out.dtype == out_dtype and out.is_contiguous(memory_format=torch.channels_last)
    ref = scipy_warp(img, inv, (10, 14), 1, "constant", fill)
    if dtype == torch.uint8:
        ref = ref.round().clamp(0, 255)  # documented: the uint8 sample is rounded before normalizing
    ref = (ref / mx - mean.cpu().double().view(1, 3, 1, 1)) / std.cpu().double().view(1, 3, 1, 1)
    atol = {torch.float32: 1e-4, torch.bfloat16: 4e-2}[out_dtype]
    if dtype == torch.float16:
        atol = 1e-2  # the float16 source itself
    # uint8: the rounded sample may sit one level off the float64 reference's rounding (a near-tie)
    level = 1 / (255 * 0.224) if dtype == torch.uint8 else 0
    torch.testing.assert_close(out.cpu().double(), ref, atol=atol + level, rtol=0)
    # and equal to normalize(warp(img)) computed by torch from the kernel's own warp
    w = kwarp.warp(img, inv, [10, 14], "bilinear", "constant", fill).float()
    two_step = ((w / mx - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)).to(out_dtype)
    torch.testing.assert_close(out.float(), two_step.float(), atol=atol / 4, rtol=0)


def test_warp_output_size_and_empty():
    img = photos(2, (13, 17))
    inv = random_inverse(2)
    assert kwarp.warp(img, inv, [0, 5], "bilinear", "edge", None).shape == (2, 3, 0, 5)
    empty = img[:0]
    assert kwarp.warp(empty, inv[:0], [4, 5], "bilinear", "edge", None).shape == (0, 3, 4, 5)
    one = kwarp.warp(img[:, :1], inv, [31, 3], "nearest", "wrap", None)  # C = 1, odd sizes
    ref = scipy_warp(img[:, :1], inv, (31, 3), 0, "wrap", torch.zeros(2, 1))
    assert_close_image(one, ref, torch.uint8, u8_tol=0)


def test_warp_rejects_bad_arguments():
    img = photos(1, (5, 6))
    inv = random_inverse(1)
    with pytest.raises(ValueError, match="fill_mode"):
        kwarp.warp(img, inv, [5, 6], "bilinear", "symmetric", None)
    with pytest.raises(ValueError, match="interpolation"):
        kwarp.warp(img, inv, [5, 6], "bicubic", "edge", None)
    with pytest.raises(ValueError, match="inv"):
        kwarp.warp(img, inv[0], [5, 6], "bilinear", "edge", None)


# ------------------------------------------------------------------------------------ lut, histogram


def numpy_lut(img: torch.Tensor, lut: torch.Tensor) -> np.ndarray:
    x = img.cpu().numpy()
    t = lut.cpu().numpy()
    t = np.broadcast_to(t, (x.shape[0], x.shape[1], 256))
    b, c = np.meshgrid(np.arange(x.shape[0]), np.arange(x.shape[1]), indexing="ij")
    return t[b[..., None, None], c[..., None, None], x]


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("channels,lut_channels", [(3, 3), (3, 1), (1, 1)])
def test_apply_lut(kind, channels, lut_channels):
    img = layout(photos(3, (13, 17), gray=channels == 1), kind)
    lut = torch.randint(0, 256, (3, lut_channels, 256), dtype=torch.uint8, device=DEVICE)
    out = klut.apply_lut(img, lut)
    assert out.dtype == torch.uint8 and out.shape == img.shape
    assert np.array_equal(out.cpu().numpy(), numpy_lut(img, lut))
    ref = tlut.apply_lut(img, lut)
    assert torch.equal(out, ref) and out.stride() == ref.stride()


def test_apply_lut_expanded_table_and_errors():
    img = photos(2, (7, 9))
    lut = torch.randint(0, 256, (256,), dtype=torch.uint8, device=DEVICE).expand(2, 3, 256)  # stride 0
    assert np.array_equal(klut.apply_lut(img, lut).cpu().numpy(), numpy_lut(img, lut))
    with pytest.raises(TypeError, match="uint8"):
        klut.apply_lut(img.float(), lut)
    with pytest.raises(ValueError, match="lut"):
        klut.apply_lut(img, lut[:, :, :255])


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("size", [(13, 17), (97, 101)])  # 97x101 > one interpreter block: atomics add up
def test_histogram(kind, size):
    img = layout(photos(2, size), kind)
    out = khist.histogram(img)
    assert out.dtype == torch.int32 and out.shape == (2, 3, 256)
    x = img.cpu().numpy()
    ref = np.stack([[np.bincount(x[b, c].ravel(), minlength=256) for c in range(3)] for b in range(2)])
    assert np.array_equal(out.cpu().numpy(), ref)
    assert torch.equal(out, thist.histogram(img))


def test_histogram_gray_and_empty():
    img = photos(3, (5, 3), gray=True)
    out = khist.histogram(img)
    assert out.shape == (3, 1, 256) and (out.sum(-1) == 15).all()
    assert torch.equal(out, thist.histogram(img))
    assert khist.histogram(img[:0]).shape == (0, 1, 256)


def test_equalize_three_launches_equals_pil():
    """histogram -> equalize_lut -> apply_lut (all kernels) against PIL ImageOps.equalize, torch's table."""
    from gpuaug._torch.lut import equalize_lut as torch_equalize_lut

    img = photos(4, (23, 29))
    img[0] = 9  # one value: identity table
    img[1, 0, :5] = 250  # two values in one channel
    hist = khist.histogram(img)
    table = klut.equalize_lut(hist)
    assert torch.equal(table, torch_equalize_lut(hist))
    out = klut.apply_lut(img, table)
    assert torch.equal(out.cpu(), pil_map(ImageOps.equalize, img.cpu()))
    assert klut.equalize_lut(hist[:0]).shape == (0, 3, 256)


def test_histogram_per_pixel_atomics_variant(monkeypatch):
    img = layout(photos(2, (13, 17)), "channels_last")
    monkeypatch.setattr(khist, "ALGORITHM", "atomics")
    assert torch.equal(khist.histogram(img), thist.histogram(img))


# --------------------------------------------------------------------------- grayscale, saturation, sharpness
# (dtype ulp: Triton's interpreter truncates float32 -> float16/bfloat16 casts; a GPU rounds to nearest)
def common_format(t):
    return "cl" if (not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last)) else "other"


ULP = {torch.float32: 1e-6, torch.float16: 1e-3, torch.bfloat16: 8e-3}


def _as(u8: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return u8 if dtype == torch.uint8 else (u8.float() / 255).to(dtype)


def _ref(fn, img, *args):
    """The torch-path primitive on a copy (a reference must not be able to touch the kernel's input)."""
    return fn(img.clone(), *args)


def _same(out, ref, dtype, like=None):
    assert out.dtype == ref.dtype and out.shape == ref.shape
    if like is not None:  # output in the input's memory format (channels_last stays channels_last)
        fmt = torch.channels_last if common_format(like) == "cl" else torch.contiguous_format
        assert out.is_contiguous(memory_format=fmt)
    if dtype == torch.uint8:
        assert torch.equal(out, ref), f"max diff {max_abs_diff(out, ref)}"
    else:
        rel = {torch.float32: 0.0, torch.float16: 2**-10, torch.bfloat16: 2**-7}[dtype]  # one ulp
        torch.testing.assert_close(out.float(), ref.float(), atol=ULP[dtype], rtol=rel)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.bfloat16])
@pytest.mark.parametrize("kind", LAYOUTS)
def test_grayscale_and_gray_mean(dtype, kind):
    img = layout(_as(photos(2, (13, 17)), dtype), kind)
    _same(kcolor.grayscale(img), _ref(tcolor.grayscale, img), dtype, like=img)
    mean, ref = kcolor.gray_mean(img), _ref(tcolor.gray_mean, img)
    if dtype == torch.uint8:
        assert torch.equal(mean, ref)
    else:
        torch.testing.assert_close(mean, ref, atol=ULP[dtype], rtol=0)


def test_gray_mean_with_lut_gray_and_many_tiles():
    img = photos(2, (97, 101))  # > one interpreter block: several partial sums per sample
    for lut in (torch.randint(0, 256, (2, 3, 256), dtype=torch.uint8, device=DEVICE),
                torch.randint(0, 256, (2, 1, 256), dtype=torch.uint8, device=DEVICE)):
        assert torch.equal(kcolor.gray_mean(img, lut), tcolor.gray_mean(img, lut))
    gray = photos(3, (13, 17), gray=True)
    assert torch.equal(kcolor.gray_mean(gray), tcolor.gray_mean(gray))
    assert torch.equal(kcolor.gray_mean(gray[:0]), torch.zeros(0, device=DEVICE))


def test_grayscale_saturation_sharpness_vs_pil():
    """Outside oracle: PIL convert("L"), ImageEnhance.Color / Sharpness (tolerances: docs/contract.md)."""
    img = photos(3, (23, 29))
    assert max_abs_diff(kcolor.grayscale(img).cpu(), pil_map(lambda im: im.convert("L"), img.cpu())) <= 1
    for i, f in enumerate((0.0, 0.4, 1.8)):
        one = img[i : i + 1]
        fac = torch.full((1,), f, device=DEVICE)
        sat = pil_map(lambda im, f=f: ImageEnhance.Color(im).enhance(f), one.cpu())
        assert max_abs_diff(kcolor.adjust_saturation(one, fac).cpu(), sat) <= 2
        sharp = pil_map(lambda im, f=f: ImageEnhance.Sharpness(im).enhance(f), one.cpu())
        assert max_abs_diff(kcolor.adjust_sharpness(one, fac).cpu(), sharp) <= 1


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16])
@pytest.mark.parametrize("kind", LAYOUTS)
def test_saturation_and_sharpness_match_torch_path(dtype, kind):
    img = layout(_as(photos(4, (13, 17)), dtype), kind)
    factor = torch.tensor([0.0, 0.5, 1.0, 1.9], device=DEVICE)  # per sample
    before = img.clone()
    _same(kcolor.adjust_saturation(img, factor), _ref(tcolor.adjust_saturation, img, factor), dtype, like=img)
    _same(kcolor.adjust_sharpness(img, factor), _ref(tcolor.adjust_sharpness, img, factor), dtype, like=img)
    assert torch.equal(img, before), "input modified"


def test_sharpness_small_images_and_gray():
    for size in ((2, 5), (3, 3), (1, 1)):  # under 3x3 nothing is smoothed; 3x3 has one inner pixel
        img = photos(2, size)
        factor = torch.tensor([0.3, 2.0], device=DEVICE)
        _same(kcolor.adjust_sharpness(img, factor), _ref(tcolor.adjust_sharpness, img, factor), torch.uint8)
    gray = photos(2, (13, 17), gray=True)
    factor = torch.tensor([0.3, 2.0], device=DEVICE)
    _same(kcolor.adjust_sharpness(gray, factor), _ref(tcolor.adjust_sharpness, gray, factor), torch.uint8)
    with pytest.raises(ValueError, match="C = 3"):
        kcolor.adjust_saturation(gray, factor)


def colorsys_hue(img: torch.Tensor, delta) -> torch.Tensor:
    """Outside oracle for adjust_hue: colorsys RGB -> HSV, h + delta (mod 1), HSV -> RGB, pixel by pixel."""
    import colorsys

    x = img.cpu().double().numpy() / 255.0
    out = np.empty_like(x)
    for b in range(x.shape[0]):
        for i in range(x.shape[2]):
            for j in range(x.shape[3]):
                h, s_, v = colorsys.rgb_to_hsv(*x[b, :, i, j])
                out[b, :, i, j] = colorsys.hsv_to_rgb((h + float(delta[b])) % 1.0, s_, v)
    return torch.from_numpy(np.clip(np.round(out * 255), 0, 255)).to(torch.uint8)


@pytest.mark.parametrize("kind", LAYOUTS)
def test_adjust_hue(kind):
    u8 = photos(4, (13, 17))
    u8[0, :, :3] = 77  # gray pixels keep their value
    delta = torch.tensor([-0.5, -0.13, 0.25, 0.5], device=DEVICE)
    img = layout(u8, kind)
    out = kcolor.adjust_hue(img, delta)
    assert max_abs_diff(out.cpu(), colorsys_hue(u8, delta.cpu())) <= 2  # docs/contract.md: within 2 of HSV
    ref = _ref(tcolor.adjust_hue, img, delta)
    assert max_abs_diff(out, ref) <= 1  # float32 ties of x.5 may round either way (GPU division)
    assert out.is_contiguous(memory_format=torch.channels_last) == (kind == "channels_last")
    for dtype in (torch.float32, torch.bfloat16):
        f = layout(_as(u8, dtype), kind)
        ref = _ref(tcolor.adjust_hue, f, delta).float()
        torch.testing.assert_close(kcolor.adjust_hue(f, delta).float(), ref, atol=ULP[dtype] * 2, rtol=0)
    with pytest.raises(ValueError, match="C = 3"):
        kcolor.adjust_hue(img[:, :1], delta)


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("dtype,out_dtype", [(torch.uint8, torch.float32), (torch.uint8, torch.bfloat16),
                                             (torch.float16, torch.float16), (torch.float32, torch.float32)])
def test_normalize(kind, dtype, out_dtype):
    u8 = photos(2, (13, 17))
    img = layout(_as(u8, dtype), kind)
    mx = 255.0 if dtype == torch.uint8 else 1.0
    mean = torch.tensor([[0.485, 0.456, 0.406], [0.5, 0.5, 0.5]], device=DEVICE)  # per sample and channel
    std = torch.tensor([[0.229, 0.224, 0.225], [0.25, 0.5, 1.0]], device=DEVICE)
    scale, shift = 1.0 / (mx * std), -mean / std
    out = knorm.normalize(img, scale, shift, out_dtype)
    assert out.dtype == out_dtype
    assert out.is_contiguous(memory_format=torch.channels_last) == (kind == "channels_last")
    # outside oracle: (x / max - mean) / std in float64
    m64, s64 = mean.cpu().double()[:, :, None, None], std.cpu().double()[:, :, None, None]
    ref = (img.cpu().double() / mx - m64) / s64
    atol = {torch.float32: 2e-6, torch.float16: 4e-3, torch.bfloat16: 3e-2}[out_dtype]
    torch.testing.assert_close(out.cpu().double(), ref, atol=atol, rtol=0)
    _same(out, _ref(tnorm.normalize, img, scale, shift, out_dtype), out_dtype, like=img)
    for fmt in (torch.channels_last, torch.contiguous_format):  # the loader's layout change in the same pass
        moved = knorm.normalize(img, scale, shift, out_dtype, fmt)
        assert moved.is_contiguous(memory_format=fmt) and torch.equal(moved, out)
    with pytest.raises(TypeError, match="dtype"):
        knorm.normalize(img, scale, shift, torch.uint8)


# ------------------------------------------------------------------------------------- erase, paste

BOXES = [
    [[2, 3, 9, 20], [0, 0, 0, 5], [15, 11, 40, 40]],  # overhanging, empty (x0 == x1), bottom-right
    [[-3, -2, 4, 4], [10, 10, 5, 12], [1.5, 2.5, 6.2, 7.0]],  # negative start, inverted, fractional
]


def slice_erase_ref(img: torch.Tensor, boxes, value: torch.Tensor) -> torch.Tensor:
    """Reference by slicing: pixel x is in [x0, x1) <=> ceil(x0) <= x < ceil(x1); uint8 values rounded
    half-to-even, float values cast to the image dtype."""
    x = img.cpu().clone()
    h, w = x.shape[-2:]
    v = value.cpu().double()
    if x.dtype == torch.uint8:
        v = v.round().clamp(0, 255)
    v = v.to(x.dtype)
    for b, bb in enumerate(boxes):
        for x0, y0, x1, y1 in bb:
            cx = slice(max(math.ceil(x0), 0), max(min(math.ceil(x1), w), 0))
            cy = slice(max(math.ceil(y0), 0), max(min(math.ceil(y1), h), 0))
            x[b, :, cy, cx] = v[b][:, None, None]
    return x


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.bfloat16])
def test_erase(kind, dtype):
    u8 = photos(2, (13, 17))
    img = layout(u8 if dtype == torch.uint8 else (u8.float() / 255).to(dtype), kind)
    boxes = torch.tensor(BOXES, device=DEVICE)
    mx = 255.0 if dtype == torch.uint8 else 1.0
    value = torch.tensor([[0.5, 126.5, 255.0], [3.49, 250.5, 0.0]], device=DEVICE) * (mx / 255)  # ties
    out = kerase.erase(img, boxes, value)
    assert out.dtype == dtype and out.stride() == terase.erase(img, boxes, value).stride()
    assert torch.equal(out.cpu(), slice_erase_ref(img, BOXES, value))
    assert torch.equal(out, terase.erase(img, boxes, value))
    int_boxes = torch.tensor([[[2, 3, 9, 20]], [[-3, -2, 4, 4]]], device=DEVICE)  # int64 boxes, K = 1
    assert torch.equal(kerase.erase(img, int_boxes, value), terase.erase(img, int_boxes, value))
    no_boxes = torch.zeros(2, 0, 4, device=DEVICE)
    assert torch.equal(kerase.erase(img, no_boxes, value), img)


def test_erase_noise():
    img = photos(2, (13, 17))
    boxes = torch.tensor(BOXES, device=DEVICE)
    seed = torch.tensor([11, 12], device=DEVICE)
    out = kerase.erase_noise(img, boxes, seed)
    mask = (slice_erase_ref(torch.zeros_like(img), BOXES, torch.ones(2, 3)) == 1).to(DEVICE)
    assert torch.equal(out[~mask], img[~mask])  # outside the boxes: untouched
    assert torch.equal(out, kerase.erase_noise(img, boxes, seed))  # same seed, same noise
    other = kerase.erase_noise(img, boxes, seed + 100)
    assert (other[mask] != out[mask]).float().mean() > 0.9
    noise = out[mask].float()
    assert noise.numel() > 200 and 100 < noise.mean() < 155 and noise.std() > 60  # uniform on 0..255
    f = kerase.erase_noise(img.float() / 255, boxes, seed)
    assert 0 <= f.min() and f.max() <= 1 and f[mask].std() > 0.2


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float16])
def test_paste(kind, dtype):
    u8 = photos(3, (13, 17))
    img = layout(u8 if dtype == torch.uint8 else (u8.float() / 255).to(dtype), kind)
    partner = torch.tensor([2, 1, 0], device=DEVICE)  # sample 1 pastes from itself
    box = torch.tensor([[1, 2, 5, 7], [0, 0, 100, 100], [3.5, -3, 30, 8.2]], device=DEVICE)
    out = kerase.paste(img, partner, box)
    ref = img.cpu().clone()
    for b, (x0, y0, x1, y1) in enumerate(box.cpu().tolist()):
        cx = slice(max(math.ceil(x0), 0), max(min(math.ceil(x1), 17), 0))
        cy = slice(max(math.ceil(y0), 0), max(min(math.ceil(y1), 13), 0))
        ref[b, :, cy, cx] = img.cpu()[int(partner[b]), :, cy, cx]
    assert torch.equal(out.cpu(), ref)
    torch_ref = terase.paste(img, partner, box)
    assert torch.equal(out, torch_ref) and out.stride() == torch_ref.stride()


def test_erase_paste_empty_batch():
    img = photos(1, (5, 6))[:0]
    assert kerase.erase(img, torch.zeros(0, 1, 4), torch.zeros(0, 3)).shape == (0, 3, 5, 6)
    assert kerase.paste(img, torch.zeros(0, dtype=torch.int64), torch.zeros(0, 4)).shape == (0, 3, 5, 6)


# --------------------------------------------------------------------------- indexing, registration


def test_needs_int64():
    huge_sample = torch.empty((2, 3, 30000, 30000), dtype=torch.uint8, device="meta")
    many_small = torch.empty((200000, 3, 100, 100), dtype=torch.uint8, device="meta")  # 6e9 elements
    assert common.needs_int64(huge_sample)
    assert not common.needs_int64(many_small)  # the sample base is int64 in every kernel anyway


def test_int64_code_path(monkeypatch):
    """Force the int64 in-sample indexing on small images: same results as the int32 path."""
    img = layout(photos(2, (13, 17)), "strided")
    inv = random_inverse(2)
    fill = torch.full((2, 3), 9.0, device=DEVICE)
    lut = torch.randint(0, 256, (2, 3, 256), dtype=torch.uint8, device=DEVICE)
    boxes = torch.tensor(BOXES, device=DEVICE)
    partner = torch.tensor([1, 0], device=DEVICE)
    calls = {
        "warp": lambda: kwarp.warp(img, inv, [11, 19], "bilinear", "reflect", fill),
        "warp_n": lambda: kwarp.warp(img, inv, [11, 19], "nearest", "mirror", fill),
        "lut": lambda: klut.apply_lut(img, lut),
        "hist": lambda: khist.histogram(img),
        "erase": lambda: kerase.erase(img, boxes, fill),
        "paste": lambda: kerase.paste(img, partner, boxes[:, 2]),
        "gray": lambda: kcolor.grayscale(img),
        "saturation": lambda: kcolor.adjust_saturation(img, torch.tensor([0.3, 1.5], device=DEVICE)),
        "sharpness": lambda: kcolor.adjust_sharpness(img, torch.tensor([0.3, 1.5], device=DEVICE)),
        "hue": lambda: kcolor.adjust_hue(img, torch.tensor([0.3, -0.5], device=DEVICE)),
        "normalize": lambda: knorm.normalize(img, fill / 1000, -fill / 100, torch.float32),
    }
    before = {k: f() for k, f in calls.items()}
    forced = []  # every launcher takes its INT64 flag from common.layout -> common.needs_int64
    monkeypatch.setattr(common, "needs_int64", lambda *t: forced.append(t) or True)
    for k, f in calls.items():
        n = len(forced)
        assert torch.equal(f(), before[k]), k
        assert len(forced) > n, f"{k} did not take the int64 path"


def test_batches_over_the_grid_limit_are_chunked(monkeypatch):
    """B > 65535 launches in chunks of samples; shrink the limit to 2 and compare with one launch."""
    img = photos(5, (9, 11))
    inv = random_inverse(5)
    fill = torch.rand(5, 3, device=DEVICE) * 255
    lut = torch.randint(0, 256, (5, 1, 256), dtype=torch.uint8, device=DEVICE)
    boxes = torch.tensor([[[1, 1, 6, 5]], [[0, 2, 3, 9]], [[4, 4, 5, 5]], [[-1, -1, 20, 3]], [[2, 2, 2, 2]]],
                         device=DEVICE)
    partner = torch.tensor([4, 3, 2, 1, 0], device=DEVICE)  # partners in other chunks
    factor = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0], device=DEVICE)
    calls = {
        "warp": lambda: kwarp.warp(img, inv, [7, 8], "bilinear", "wrap", fill),
        "lut": lambda: klut.apply_lut(img, lut),
        "hist": lambda: khist.histogram(img),
        "erase": lambda: kerase.erase(img, boxes, fill),
        "paste": lambda: kerase.paste(img, partner, boxes[:, 0]),
        "gray_mean": lambda: kcolor.gray_mean(img, lut),
        "sharpness": lambda: kcolor.adjust_sharpness(img, factor),
        "normalize": lambda: knorm.normalize(img, fill / 1000, -fill / 100, torch.bfloat16),
    }
    whole = {k: f() for k, f in calls.items()}
    monkeypatch.setattr(common, "MAX_GRID_B", 2)
    assert list(common.batch_chunks(5)) == [(0, 2), (2, 4), (4, 5)]
    for k, f in calls.items():
        assert torch.equal(f(), whole[k]), k


def test_ops_registered_and_traceable():
    """torch.library ops: schema, fake tensors (torch.compile's shape propagation) and AOT tracing agree."""
    img = photos(2, (6, 7))
    fill = torch.rand(2, 3, device=DEVICE) * 255
    cases = [
        (torch.ops.gpuaug.warp.default, (img, random_inverse(2), [5, 4], "bilinear", "edge", fill)),
        (torch.ops.gpuaug.apply_lut.default,
         (img, torch.randint(0, 256, (2, 1, 256), dtype=torch.uint8, device=DEVICE))),
        (torch.ops.gpuaug.histogram.default, (img,)),
        (torch.ops.gpuaug.equalize_lut.default, (khist.histogram(img),)),
        (torch.ops.gpuaug.erase.default, (img, torch.tensor(BOXES, device=DEVICE), fill)),
        (torch.ops.gpuaug.paste.default, (img, torch.tensor([1, 1], device=DEVICE),
                                          torch.tensor([[1, 1, 3, 4], [0, 2, 9, 9]], device=DEVICE))),
        (torch.ops.gpuaug.grayscale.default, (img,)),
        (torch.ops.gpuaug.gray_mean.default, (img, None)),
        (torch.ops.gpuaug.adjust_sharpness.default, (img, torch.tensor([0.5, 2.0], device=DEVICE))),
        (torch.ops.gpuaug.normalize.default, (img, fill, -fill, torch.float16, True)),
    ]
    img2 = photos(2, (6, 7))
    assert torch.equal(khist.histogram.launch(img2), khist.histogram(img2))  # the plain launcher too
    for op, args in cases:
        torch.library.opcheck(op, args,
                              test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_dynamic"))


def test_backend_dispatches_to_kernels():
    x = torch.zeros(1, 3, 4, 4, device=DEVICE)
    with backend.backend("triton"):
        assert backend.op("warp", x) is kwarp.warp
        assert backend.op("apply_lut", x) is klut.apply_lut
        assert backend.op("histogram", x) is khist.histogram
        assert backend.op("erase", x) is kerase.erase
        assert backend.op("paste", x) is kerase.paste
        for name in ("grayscale", "gray_mean", "adjust_saturation", "adjust_sharpness", "adjust_hue"):
            assert backend.op(name, x) is getattr(kcolor, name)
        assert backend.op("normalize", x) is knorm.normalize
    with backend.backend("torch"):
        assert backend.op("histogram", x) is thist.histogram


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (sync debug mode: CUDA only)")
def test_no_host_sync_on_cuda():
    import gpuaug.functional as F

    img = photos(4, (37, 53)).cuda()
    inv = random_inverse(4).cuda()
    fill = torch.rand(4, 3, device="cuda") * 255
    lut = torch.randint(0, 256, (4, 3, 256), dtype=torch.uint8, device="cuda")
    factor = torch.tensor([0.0, 0.5, 1.2, 2.0], device="cuda")
    boxes = torch.tensor([[[1, 2, 9, 9]]] * 4, device="cuda", dtype=torch.float32)
    zeros, ones = torch.zeros(3, device="cuda"), torch.ones(3, device="cuda")
    calls = [
        lambda: kwarp.warp(img, inv, [20, 30], "bilinear", "reflect", fill),
        lambda: kwarp.warp_normalize(img, inv, [20, 30], "bilinear", "constant", fill, zeros, ones,
                                     torch.float16),
        lambda: klut.apply_lut(img, lut),
        lambda: khist.histogram(img),
        lambda: klut.apply_lut(img, klut.equalize_lut(khist.histogram(img))),
        lambda: kerase.erase(img, boxes, fill),
        lambda: kerase.erase_noise(img, boxes, torch.tensor([1, 2, 3, 4], device="cuda")),
        lambda: kerase.paste(img, torch.tensor([3, 2, 1, 0], device="cuda"), boxes[:, 0]),
        lambda: kcolor.grayscale(img),
        lambda: kcolor.gray_mean(img, lut),
        lambda: kcolor.adjust_saturation(img, factor),
        lambda: kcolor.adjust_sharpness(img, factor),
        lambda: kcolor.adjust_hue(img, factor - 1.0),
        lambda: knorm.normalize(img, fill, -fill, torch.float32),
    ]
    # The functional API on top (whatever of it exists), through the kernels.
    functional = [("warp_affine", (img, torch.eye(3, device="cuda")[:2].expand(4, 2, 3)), {}),
                  ("rotate", (img, torch.full((4,), 30.0, device="cuda")), {}),
                  ("posterize", (img, 3), {}), ("solarize", (img, 128), {}), ("equalize", (img,), {}),
                  ("autocontrast", (img,), {}), ("erase", (img, boxes), {}),
                  ("adjust_contrast", (img, 1.3), {}), ("adjust_saturation", (img, 0.5), {}),
                  ("adjust_sharpness", (img, 1.5), {}), ("rgb_to_grayscale", (img,), {}),
                  ("adjust_hue", (img, 0.2), {}), ("normalize", (img, [0.4, 0.5, 0.6], [0.2, 0.3, 0.25]), {})]
    for call in calls:
        call()  # compile / warm up outside the check
    skipped = []
    for name, args, kwargs in functional:  # the functional API on top, where it exists and takes these args
        fn = getattr(F, name, None)
        try:
            fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - not this test's subject; named in the warning below
            skipped.append(f"{name}: {type(e).__name__}: {e}")
            continue
        calls.append(lambda fn=fn, a=args, k=kwargs: fn(*a, **k))
    if skipped:
        import warnings

        warnings.warn("functional calls not checked for syncs: " + "; ".join(skipped), stacklevel=1)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        with backend.backend("auto"):
            for call in calls:
                call()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    torch.cuda.synchronize()
