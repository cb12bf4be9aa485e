"""The warp kernels (gpuaug.kernels.warp) against scipy.ndimage.map_coordinates (its modes are
docs/contract.md's fill modes), numpy's pad modes, and the torch path (check_primitive)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import cubic_warp_reference
from kernel_checks import DEVICE, LAYOUTS, as_dtype, check_primitive, layout, photos, random_inverse

# isort: split
from gpuaug.kernels import warp as kwarp
from scipy import ndimage

MODES = ("constant", "edge", "reflect", "mirror", "wrap")
SCIPY_MODE = {"constant": "grid-constant", "edge": "nearest", "reflect": "reflect", "mirror": "mirror",
              "wrap": "grid-wrap"}
FLOAT_ATOL = {torch.float32: 2e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


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


@pytest.mark.parametrize("mode", MODES)
def test_bicubic_matches_reference(mode):
    """The cubic convolution with a = -1 over taps extended by the fill mode (tests.helpers' numpy
    reference), clipped to [0, 1]."""
    img = torch.rand(2, 3, 13, 17, device=DEVICE)
    inv = random_inverse(2)
    fill = torch.rand(2, 3, device=DEVICE)
    out = kwarp.warp(img, inv, [11, 19], "bicubic", mode, fill)
    for b in range(2):
        ref = np.clip(cubic_warp_reference(img[b].double().cpu().numpy(), inv[b].double().cpu().numpy(),
                                           (11, 19), mode, fill[b].double().cpu().numpy()), 0, 1)
        np.testing.assert_allclose(out[b].double().cpu().numpy(), ref, atol=FLOAT_ATOL[torch.float32], rtol=0)


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
    img = as_dtype(photos(2, (13, 17)), dtype)
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
    img = as_dtype(photos(2, (13, 17)), dtype)
    mx = 255.0 if dtype == torch.uint8 else 1.0
    fill = torch.tensor([[0.2, 0.5, 0.9], [1.0, 0.0, 0.333]], device=DEVICE) * mx
    inv = random_inverse(2, gen_seed=5)
    for interpolation in ("nearest", "bilinear", "bicubic"):
        for mode in MODES:
            for kind in ("contiguous", "channels_last"):
                # uint8: within 1 (a float32 sample on a .5 tie may round either way); float32: 2e-5
                check_primitive("warp", layout(img, kind), inv, (12, 15), interpolation, mode, fill,
                                int_tol=1, atol=2e-5, rtol=0)


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
        kwarp.warp(img, inv, [5, 6], "lanczos", "edge", None)
    with pytest.raises(ValueError, match="inv"):
        kwarp.warp(img, inv[0], [5, 6], "bilinear", "edge", None)
