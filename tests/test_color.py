"""Pixel ops of gpuaug.functional against PIL (ImageOps / ImageEnhance / convert) on real photos."""

from __future__ import annotations

import colorsys
import functools

import numpy as np
import pytest
import torch
from helpers import max_abs_diff, photo_batch, pil_map, to_pil, to_tensor
from PIL import ImageEnhance, ImageOps

import gpuaug.functional as F
from gpuaug import backend
from gpuaug._checks import empty_output
from gpuaug._torch import _common
from gpuaug._torch import erase as erase_mod

SIZE = (29, 41)
B = 5


@pytest.fixture(scope="module")
def rgb():
    return photo_batch(B, SIZE)


@pytest.fixture(scope="module")
def gray():
    return photo_batch(B, SIZE, gray=True)


def pil_each(fn, batch, params):
    """Per-image PIL oracle with one parameter per image."""
    return torch.stack([to_tensor(fn(to_pil(im), p)) for im, p in zip(batch, params)])


def _solarize_add_pil(im, a, threshold=128):
    table = [min(255, max(0, i + a)) if i < threshold else i for i in range(256)]
    return im.point(table * len(im.getbands()))


# name -> (our op(batch, params tensor), PIL op(im, p), per-sample params, tolerance, works on C = 1)
OPS = {
    "posterize": (F.posterize, ImageOps.posterize, [1, 2, 4, 7, 8], 0, True),
    "solarize": (F.solarize, ImageOps.solarize, [0, 64, 128, 200, 255], 0, True),
    "solarize_add": (F.solarize_add, _solarize_add_pil, [0, 30, 110, -40, 255], 0, True),
    "invert": (lambda x, p: F.invert(x), lambda im, p: ImageOps.invert(im), [0] * B, 0, True),
    "equalize": (lambda x, p: F.equalize(x), lambda im, p: ImageOps.equalize(im), [0] * B, 0, True),
    "autocontrast": (lambda x, p: F.autocontrast(x), lambda im, p: ImageOps.autocontrast(im),
                     [0] * B, 1, True),
    "brightness": (F.adjust_brightness, lambda im, f: ImageEnhance.Brightness(im).enhance(f),
                   [0.0, 0.3, 1.0, 1.55, 2.7], 1, True),
    "contrast": (F.adjust_contrast, lambda im, f: ImageEnhance.Contrast(im).enhance(f),
                 [0.0, 0.35, 1.0, 1.45, 3.1], 1, True),
    "saturation": (F.adjust_saturation, lambda im, f: ImageEnhance.Color(im).enhance(f),
                   [0.0, 0.4, 1.0, 1.6, 2.9], 2, False),
    "sharpness": (F.adjust_sharpness, lambda im, f: ImageEnhance.Sharpness(im).enhance(f),
                  [0.0, 0.5, 1.0, 1.7, 3.3], 1, True),
    "grayscale": (lambda x, p: F.rgb_to_grayscale(x), lambda im, p: im.convert("L"), [0] * B, 1, False),
}


@pytest.mark.parametrize("name", list(OPS))
def test_rgb_matches_pil_per_sample(name, rgb):
    ours, pil, params, tol, _ = OPS[name]
    out = ours(rgb, torch.tensor(params, dtype=torch.float32))
    ref = pil_each(pil, rgb, params)
    assert out.dtype == torch.uint8 and out.shape == ref.shape
    assert max_abs_diff(out, ref) <= tol
    # the exact-by-contract ops are exact; the others agree with PIL on nearly every pixel anyway
    assert (out == ref).float().mean() > 0.99


@pytest.mark.parametrize("name", [n for n, v in OPS.items() if v[4]])
def test_gray_matches_pil(name, gray):
    ours, pil, params, tol, _ = OPS[name]
    out = ours(gray, torch.tensor(params, dtype=torch.float32))
    assert max_abs_diff(out, pil_each(pil, gray, params)) <= tol


def test_number_parameter_equals_pil(rgb):
    assert max_abs_diff(F.posterize(rgb, 3), pil_map(lambda im: ImageOps.posterize(im, 3), rgb)) == 0
    assert max_abs_diff(F.solarize(rgb, 97), pil_map(lambda im: ImageOps.solarize(im, 97), rgb)) == 0
    out = F.adjust_contrast(rgb, 0.6)
    assert max_abs_diff(out, pil_map(lambda im: ImageEnhance.Contrast(im).enhance(0.6), rgb)) <= 1


def test_grayscale_three_channels(rgb):
    out = F.rgb_to_grayscale(rgb, num_output_channels=3)
    assert out.shape == rgb.shape
    assert max_abs_diff(out, pil_map(lambda im: im.convert("L").convert("RGB"), rgb)) <= 1


def test_equalize_flat_and_two_level_images():
    # one value -> identity; two values -> PIL's step rule (step may be 0); a constant image stays
    a = torch.full((1, 1, 9, 11), 77, dtype=torch.uint8)
    b = a.clone()
    b[..., :3, :] = 200
    c = torch.randint(0, 256, (1, 1, 16, 17), dtype=torch.uint8)
    for x in (a, b, c):
        assert max_abs_diff(F.equalize(x), pil_map(ImageOps.equalize, x)) == 0
        assert max_abs_diff(F.autocontrast(x), pil_map(ImageOps.autocontrast, x)) <= 1


def test_equalize_autocontrast_random_spreads():
    # few distinct values, tiny images, big flat areas: the corner cases of PIL's step and scale rules
    g = torch.Generator().manual_seed(1)
    for i in range(40):
        lo = int(torch.randint(0, 250, (1,), generator=g))
        hi = lo + int(torch.randint(1, 256 - lo, (1,), generator=g))
        size = (int(torch.randint(1, 12, (1,), generator=g)), int(torch.randint(1, 12, (1,), generator=g)))
        x = torch.randint(lo, hi + 1, (2, 3 if i % 2 else 1, *size), generator=g, dtype=torch.uint8)
        assert max_abs_diff(F.equalize(x), pil_map(ImageOps.equalize, x)) == 0
        assert max_abs_diff(F.autocontrast(x), pil_map(ImageOps.autocontrast, x)) == 0


def _hue_oracle(x: torch.Tensor, delta: float) -> torch.Tensor:
    a = x.permute(1, 2, 0).numpy().astype(np.float64) / 255
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            h, s, v = colorsys.rgb_to_hsv(*a[i, j])
            out[i, j] = colorsys.hsv_to_rgb((h + delta) % 1.0, s, v)
    return torch.from_numpy(np.round(out * 255).astype(np.uint8)).permute(2, 0, 1)


def test_adjust_hue_matches_colorsys():
    x = photo_batch(5, (9, 13))
    deltas = [-0.5, -0.21, 0.0, 0.13, 0.5]
    out = F.adjust_hue(x, torch.tensor(deltas))
    ref = torch.stack([_hue_oracle(im, d) for im, d in zip(x, deltas)])
    assert max_abs_diff(out, ref) <= 2
    assert max_abs_diff(out[2], x[2]) <= 1  # delta 0 is (nearly) the identity
    # float path: same rotation on [0, 1]
    outf = F.adjust_hue(x.float() / 255, torch.tensor(deltas))
    assert (outf * 255 - ref.float()).abs().max() <= 2


# --------------------------------------------------------------------------------------------------------
# floating images follow the uint8 path

# uint8 truncates (1) and PIL rounds its intermediate gray / mean / smoothed image, an error the blend
# amplifies by |1 - f| * 0.5 (f up to 3.3 here)
FLOAT_TOL = {"contrast": 2.2, "saturation": 2.2, "brightness": 1.01, "sharpness": 2.2, "grayscale": 1.0,
             "autocontrast": 1.01, "solarize_add": 0.0, "solarize": 0.0, "invert": 0.0, "posterize": 0.0,
             "equalize": 0.0}


@pytest.mark.parametrize("name", list(OPS))
def test_float_tracks_uint8(name, rgb):
    ours, _, params, _, _ = OPS[name]
    p = torch.tensor(params, dtype=torch.float32)
    if name in ("solarize", "solarize_add"):
        pf = p / 255
    else:
        pf = p
    out8 = ours(rgb, p).float()
    outf = ours(rgb.float() / 255, pf)
    assert outf.dtype == torch.float32
    assert (outf * 255 - out8).abs().max() <= FLOAT_TOL[name] + 1e-3


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", list(OPS))
def test_half_precision_runs(name, dtype, rgb):
    ours, _, params, _, _ = OPS[name]
    p = torch.tensor(params, dtype=torch.float32)
    p = p / 255 if name in ("solarize", "solarize_add") else p
    x = (rgb.float() / 255).to(dtype)
    ref = ours(x.float(), p)  # the same (rounded) values in float32
    out = ours(x, p)
    assert out.dtype == dtype
    # the result differs by the output's rounding only (half a unit in the last place at 1.0)
    assert (out.float() - ref).abs().max() <= (0.004 if dtype == torch.bfloat16 else 0.0005)


# --------------------------------------------------------------------------------------------------------
# layouts, shapes, no mutation

def _run(name, x):
    """OPS[name] with its per-sample parameters (the first for a single image), scaled for float images."""
    params = torch.tensor(OPS[name][2], dtype=torch.float32)
    params = params[: x.shape[0]] if x.dim() == 4 else params[0]
    if name in ("solarize", "solarize_add") and x.dtype != torch.uint8:
        params = params / 255
    return OPS[name][0](x, params)


ALL = {
    **{n: functools.partial(_run, n) for n in OPS},
    "hue": lambda x: F.adjust_hue(x, 0.2),
    "normalize": lambda x: F.normalize(x, [0.4, 0.5, 0.6], [0.2, 0.3, 0.25]),
    "erase": lambda x: F.erase(x, [[2, 3, 10, 12], [20, 1, 50, 5]],
                               value=[v * (255 if x.dtype == torch.uint8 else 1) for v in (0.04, 0.8, 0.12)]),
    "paste": lambda x: F.paste(x, torch.arange(x.shape[0]).flip(0) if x.dim() == 4 else torch.tensor(0),
                               [3, 4, 20, 17]),
}


@pytest.mark.parametrize("name", list(ALL))
def test_channels_last_kept(name, rgb):
    fn = ALL[name]
    x = rgb.contiguous(memory_format=torch.channels_last)
    out = fn(x)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out, fn(rgb))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("name", list(ALL))
def test_float_input_not_modified(name, dtype, rgb):
    x = rgb.to(dtype) / 255
    before = x.clone()
    ALL[name](x)
    assert torch.equal(x, before)


@pytest.mark.parametrize("name", list(ALL))
def test_non_contiguous_and_no_mutation(name):
    big = photo_batch(B, (31, 45))
    x = big[:, :, 1:30, 2:43]  # (B, 3, 29, 41), strided view
    before = x.clone()
    out = ALL[name](x)
    assert torch.equal(x, before)
    assert torch.equal(out, ALL[name](x.contiguous()))
    assert out.is_contiguous()  # a strided input gives a plain contiguous output


@pytest.mark.parametrize("name", list(ALL))
def test_single_image_and_empty_batch(name, rgb):
    fn = ALL[name]
    single = fn(rgb[0])
    assert single.shape[1:] == fn(rgb[:1]).shape[2:]
    assert torch.equal(single, fn(rgb[:1])[0])
    empty = fn(rgb[:0])
    assert empty.shape[0] == 0 and empty.shape[2:] == rgb.shape[2:]


# one sample per chunk; two, with a ragged last chunk; None: one shot, the code path CUDA tensors take
@pytest.mark.parametrize("chunk", [2000, 8000, None])
@pytest.mark.parametrize("name", list(ALL))
def test_cpu_chunking_is_invisible(name, chunk, rgb, monkeypatch):
    xf = rgb.float() / 255
    ref, reff = ALL[name](rgb), ALL[name](xf)
    if chunk is None:
        monkeypatch.setattr(_common, "one_shot", lambda img: True)
    else:
        monkeypatch.setattr(_common, "CHUNK", chunk)
    assert torch.equal(ALL[name](rgb), ref)
    assert torch.equal(ALL[name](rgb.contiguous(memory_format=torch.channels_last)), ref)
    assert torch.equal(ALL[name](xf), reff)


def test_float_channels_last_and_half(rgb):
    x = (rgb.float() / 255).contiguous(memory_format=torch.channels_last)
    for fn in ALL.values():
        out = fn(x)
        assert out.is_contiguous(memory_format=torch.channels_last)


# --------------------------------------------------------------------------------------------------------
# normalize, erase, paste against numpy


def test_normalize_numpy(rgb):
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    out = F.normalize(rgb, mean, std)
    ref = (rgb.numpy() / 255.0 - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    assert out.dtype == torch.float32
    assert np.abs(out.numpy() - ref).max() < 1e-5
    half = F.normalize(rgb.half() / 255, 0.5, 0.25)
    assert half.dtype == torch.float16
    assert (half.float() - (rgb / 255 - 0.5) / 0.25).abs().max() < 1e-2
    per_sample = F.normalize(rgb, torch.rand(B, 3), torch.full((B, 3), 0.5))
    assert per_sample.shape == rgb.shape


def test_erase_numpy():
    x = photo_batch(3, SIZE)
    boxes = torch.tensor([[[2, 3, 10, 12], [35, 20, 60, 40]],  # second box partly outside
                          [[5, 5, 5, 9], [-4, -3, 3, 2]],  # empty box, box over the corner
                          [[0, 0, 41, 29], [1, 1, 2, 2]]])
    value = torch.tensor([[10, 20, 30], [255, 0, 7], [1, 2, 3]])
    out = F.erase(x, boxes, value)
    ref = x.numpy().copy()
    for b in range(3):
        for x0, y0, x1, y1 in boxes[b].tolist():
            ref[b, :, max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = value[b].numpy()[:, None, None]
    assert np.array_equal(out.numpy(), ref)
    # one box for all, a number value, float images
    out1 = F.erase(x.float() / 255, [4, 6, 9, 20], 0.5)
    ref1 = x.float().numpy() / 255
    ref1[:, :, 6:20, 4:9] = 0.5
    assert np.allclose(out1.numpy(), ref1)


def test_paste_numpy():
    x = photo_batch(4, SIZE)
    partner = torch.tensor([2, 0, 3, 3])
    box = torch.tensor([[3, 4, 20, 17], [30, 20, 60, 40], [0, 0, 0, 5], [0, 0, 41, 29]])
    out = F.paste(x, partner, box)
    ref = x.numpy().copy()
    for b in range(4):
        x0, y0, x1, y1 = box[b].tolist()
        ref[b, :, y0:y1, x0:x1] = x.numpy()[partner[b], :, y0:y1, x0:x1]
    assert np.array_equal(out.numpy(), ref)


# --------------------------------------------------------------------------------------------------------
# errors

# the values of parameter tensors are read only on the host path, not on the CUDA code path (which backend
# "triton" runs on CPU tensors): docs/contract.md "Bad arguments"
HOST_ONLY = pytest.mark.skipif(backend.get_backend() == "triton",
                               reason="tensor values are not read on the CUDA code path")


def test_pil_edge_arguments(rgb):
    """posterize(0) is black (PIL before 10 and TF; recent Pillow refuses 0 bits) and solarize(256) the
    identity, as PIL: timm's magnitudes reach both."""
    assert not F.posterize(rgb, 0).any()
    assert torch.equal(F.posterize(rgb, 1), pil_map(lambda im: ImageOps.posterize(im, 1), rgb))
    assert torch.equal(F.solarize(rgb, 256), pil_map(lambda im: ImageOps.solarize(im, 256), rgb))
    assert torch.equal(F.solarize(rgb, 256), rgb)
    xf = rgb.float() / 255
    assert torch.equal(F.solarize(xf, 256 / 255), xf)


@pytest.mark.parametrize(
    "call, exc, word",
    [
        (lambda x: F.posterize(x, -1), ValueError, "bits"),
        (lambda x: F.posterize(x, 9), ValueError, "bits"),
        (lambda x: F.posterize(x, 2.5), ValueError, "bits"),
        pytest.param(lambda x: F.posterize(x, torch.tensor([1, 9, 3, 3, 3])), ValueError, "bits",
                     marks=HOST_ONLY),
        (lambda x: F.solarize(x, 256.5), ValueError, "threshold"),
        (lambda x: F.solarize(x.float() / 255, 1.5), ValueError, "threshold"),
        (lambda x: F.solarize_add(x, 300), ValueError, "addition"),
        (lambda x: F.adjust_brightness(x, -0.1), ValueError, "factor"),
        pytest.param(lambda x: F.adjust_contrast(x, torch.tensor([1.0, -1, 1, 1, 1])), ValueError, "factor",
                     marks=HOST_ONLY),
        (lambda x: F.adjust_saturation(x, -1), ValueError, "factor"),
        (lambda x: F.adjust_sharpness(x, -2), ValueError, "factor"),
        (lambda x: F.adjust_hue(x, 0.6), ValueError, "delta"),
        (lambda x: F.adjust_hue(x, -0.51), ValueError, "delta"),
        (lambda x: F.adjust_brightness(x, torch.ones(3)), ValueError, "factor"),
        (lambda x: F.adjust_hue(x, torch.zeros(2)), ValueError, "delta"),
        (lambda x: F.adjust_saturation(x[:, :1], 0.5), ValueError, "C = 1"),
        (lambda x: F.adjust_hue(x[:, :1], 0.1), ValueError, "C = 1"),
        (lambda x: F.rgb_to_grayscale(x[:, :1]), ValueError, "C = 1"),
        (lambda x: F.rgb_to_grayscale(x, 2), ValueError, "num_output_channels"),
        (lambda x: F.invert(x.int()), TypeError, "int32"),
        (lambda x: F.equalize(x.bool()), TypeError, "bool"),
        (lambda x: F.adjust_contrast(x[:, :2], 1.0), ValueError, "channels"),
        (lambda x: F.normalize(x, 0.5, 0), ValueError, "std"),
        (lambda x: F.normalize(x, 0.5, [0.2, 0.0, 0.1]), ValueError, "std"),
        (lambda x: F.normalize(x, [0.5, 0.5], 1), ValueError, "mean"),
        (lambda x: F.erase(x, torch.zeros(5, 2, 3)), ValueError, "boxes"),
        (lambda x: F.erase(x, [1, 2, 3, 4], value=300), ValueError, "value"),
        (lambda x: F.erase(x, torch.zeros(2, 1, 4)), ValueError, "boxes"),
        (lambda x: F.paste(x, torch.zeros(5), [0, 0, 1, 1]), TypeError, "partner"),
        pytest.param(lambda x: F.paste(x, torch.tensor([0, 1, 2, 3, 5]), [0, 0, 1, 1]), ValueError, "partner",
                     marks=HOST_ONLY),
        (lambda x: F.paste(x, torch.zeros(5, dtype=torch.int64), [0, 0, 1]), ValueError, "box"),
    ],
)
def test_errors_name_the_argument(call, exc, word, rgb):
    with pytest.raises(exc, match=word):
        call(rgb)


# values inside tensor parameters: checked where reading them costs nothing (a CPU tensor on the host path);
# on CUDA, and under backend "triton" which runs the CUDA code path, they are not read (docs/contract.md)
TENSOR_VALUES = [
    (lambda x: F.posterize(x, torch.tensor([1, 9, 3, 3, 3])), "bits"),
    (lambda x: F.adjust_contrast(x, torch.tensor([1.0, -1, 1, 1, 1])), "factor"),
    (lambda x: F.paste(x, torch.tensor([0, 1, 2, 3, 5]), [0, 0, 1, 1]), "partner"),
]


@pytest.mark.parametrize("call, word", TENSOR_VALUES)
def test_tensor_values_are_checked_on_the_host_path(call, word, rgb):
    from gpuaug import backend

    if not backend.host_path(rgb):
        pytest.skip("off the host path (CUDA, backend triton) tensor values are not read: no host sync")
    with pytest.raises(ValueError, match=word):
        call(rgb)


def test_pil_oracle_is_sensitive(rgb):
    # guard against a vacuous comparison: the ops really change the photos
    for name in ("posterize", "equalize", "contrast", "sharpness", "saturation"):
        ours, _, params, _, _ = OPS[name]
        out = ours(rgb, torch.tensor(params, dtype=torch.float32))
        assert max_abs_diff(out, rgb) > 10


# --------------------------------------------------------------------------------------------------------
# erase / erase_noise / paste: the CPU box-by-box path (big images, few boxes) and the one-shot mask path
# (CUDA's, also the CPU's for many small boxes) against PIL's paste, and against each other

# ``box``: the box loop on any image (the threshold of boxes per image lowered); ``mask``: the one-shot path
# (what CUDA tensors and compile take)
PATHS = {"box": (erase_mod, "_ELEMENTS_PER_BOX", 1), "mask": (_common, "one_shot", lambda img: True)}
LAYOUTS = ["contiguous", "channels_last", "strided"]

# float boxes: x0 <= x < x1 <=> ceil(x0) <= x < ceil(x1); overhanging, negative, empty, inverted, NaN
BOXES_F = [
    [[2, 3, 9, 20], [0, 0, 0, 5], [15, 11, 70, 70]],
    [[-3, -2, 4, 4], [10, 10, 5, 12], [1.5, 2.5, 6.2, 7.0]],
    [[float("nan"), 0, 9, 9], [30, 20, 44, 31.01], [-9, -9, -1, 40]],
]


def _layout(x: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "channels_last":
        return x.contiguous(memory_format=torch.channels_last)
    if kind == "strided":
        return torch.cat([x, x], 3)[..., 3: 3 + x.shape[3]]
    return x


def _pil_box(box, w: int, h: int):
    """(x0, y0, x1, y1) -> the integer pixel box PIL's paste fills (ceil, clipped), None when empty."""
    if any(v != v for v in box):
        return None
    x0, y0, x1, y1 = (min(max(int(np.ceil(v)), 0), lim) for v, lim in zip(box, (w, h, w, h)))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("path", list(PATHS))
def test_erase_paths_equal_pil_paste(path, kind, monkeypatch):
    monkeypatch.setattr(*PATHS[path])
    x = _layout(photo_batch(3, (37, 53)), kind)
    before = x.clone()
    value = torch.tensor([[10, 200, 30], [255, 0, 7], [1, 2, 254]])
    out = F.erase(x, torch.tensor(BOXES_F), value)
    ref = []
    for im, bxs, v in zip(x, BOXES_F, value.tolist()):
        im = to_pil(im)
        for box in bxs:
            if (pb := _pil_box(box, 53, 37)) is not None:
                im.paste(tuple(v), pb)
        ref.append(to_tensor(im))
    assert torch.equal(out, torch.stack(ref))
    assert torch.equal(x, before)
    assert out.stride() == empty_output(x).stride()
    assert max_abs_diff(out, x) > 100  # the boxes were really filled


@pytest.mark.parametrize("kind", LAYOUTS)
def test_erase_box_path_equals_mask_path(kind, monkeypatch):
    # uint8 ties round half to even; float values cast to the image dtype; the same numbers on both paths
    g = torch.Generator().manual_seed(3)
    u8 = _layout(photo_batch(4, (37, 53)), kind)
    boxes = torch.rand(4, 3, 4, generator=g) * torch.tensor([70.0, 50, 70, 50]) - 8
    for dtype in (torch.uint8, torch.float32, torch.float16, torch.bfloat16):
        x = u8 if dtype == torch.uint8 else (u8.float() / 255).to(dtype)
        scale = 255.0 if dtype == torch.uint8 else 1.0
        value = torch.tensor([[0.5, 126.5, 255.0], [3.49, 250.5, 0.0]]).repeat(2, 1) * (scale / 255)
        seed = torch.tensor([5, 6, 7, 2**31 - 2])
        with monkeypatch.context() as m:
            m.setattr(*PATHS["box"])
            box = (erase_mod.erase(x, boxes, value), erase_mod.erase_noise(x, boxes, seed))
        mask = (erase_mod.erase_masked(x, boxes, value), erase_mod.erase_noise_masked(x, boxes, seed))
        for a, b in zip(box, mask):
            assert torch.equal(a, b) and a.stride() == b.stride() == empty_output(x).stride()
        assert not torch.equal(box[1], x)


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("path", list(PATHS))
def test_paste_paths_equal_pil(path, kind, monkeypatch):
    monkeypatch.setattr(*PATHS[path])
    x = _layout(photo_batch(4, (37, 53)), kind)
    before = x.clone()
    partner = torch.tensor([2, 1, 3, 0])  # sample 1 pastes from itself
    box = torch.tensor([[3, 4, 20, 17], [0, 0, 53, 37], [30.5, 20, 80, 60], [-5, 9, 10, 8]])
    out = F.paste(x, partner, box)
    ims = [to_pil(im) for im in x]
    ref = []
    for im, p, bx in zip(ims, partner.tolist(), box.tolist()):
        im = im.copy()
        if (pb := _pil_box(bx, 53, 37)) is not None:
            im.paste(ims[p].crop(pb), pb[:2])
        ref.append(to_tensor(im))
    assert torch.equal(out, torch.stack(ref))
    assert torch.equal(x, before)
    assert out.stride() == empty_output(x).stride()
    assert max_abs_diff(out, x) > 100


def test_erase_noise_box_path_fills_only_the_boxes(monkeypatch):
    monkeypatch.setattr(*PATHS["box"])
    x = photo_batch(3, (37, 53))
    out = erase_mod.erase_noise(x, torch.tensor(BOXES_F), torch.tensor([1, 2, 3]))
    inside = torch.zeros(3, 1, 37, 53, dtype=torch.bool)
    for b, bxs in enumerate(BOXES_F):
        for box in bxs:
            if (pb := _pil_box(box, 53, 37)) is not None:
                inside[b, :, pb[1]:pb[3], pb[0]:pb[2]] = True
    inside = inside.expand_as(x)
    assert torch.equal(out[~inside], x[~inside])
    noise = out[inside].float()
    assert noise.numel() > 2000 and 100 < noise.mean() < 155 and noise.std() > 60  # uniform on 0..255


def test_erase_compiles_with_dynamic_shapes():
    # torch.compile(dynamic=True) traces the batch size symbolically: the per-sample box check must not
    # reject a symbolic B (with one box per sample, B = 4, it did: "boxes must have one entry per
    # sample"). Inductor on the torch path, about 10 s here; a second batch size reuses the graph.
    torch._dynamo.reset()
    fn = torch.compile(F.erase, dynamic=True)
    for b, size in ((4, (17, 23)), (6, (19, 29))):
        x = photo_batch(b, size)
        boxes = torch.tensor([[[2.0, 3.5, 10.0, 40.0]]]).repeat(b, 1, 1)  # (B, 1, 4), rows 4..18
        value = torch.tensor([[9.0, 99.0, 199.0]]).repeat(b, 1)
        ref = x.clone()
        ref[:, :, 4:, 2:10] = torch.tensor([9, 99, 199], dtype=torch.uint8)[:, None, None]
        assert torch.equal(fn(x, boxes, value), ref)
