"""The color kernels (gpuaug.kernels.color: grayscale, gray_mean, adjust_saturation, adjust_sharpness,
adjust_hue) against PIL (convert("L"), ImageEnhance.Color / Sharpness), colorsys, and the torch path
(check_primitive: uint8 bitwise, floats within one ulp of the dtype unless said otherwise)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kernel_checks import DEVICE, LAYOUTS, ULP, as_dtype, check_primitive, layout, photos

# isort: split
from gpuaug.kernels import color as kcolor
from helpers import max_abs_diff, pil_map
from PIL import ImageEnhance


def gray_mean_tol(dtype: torch.dtype) -> dict:
    """gray_mean's tolerance (a float32 mean): exact from uint8 images (PIL's rounded integer), else one ulp
    of the image dtype."""
    return {"atol": 0, "rtol": 0} if dtype == torch.uint8 else {"atol": ULP[dtype], "rtol": 0}


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.bfloat16])
@pytest.mark.parametrize("kind", LAYOUTS)
def test_grayscale_and_gray_mean(dtype, kind):
    img = layout(as_dtype(photos(2, (13, 17)), dtype), kind)
    check_primitive("grayscale", img)
    check_primitive("gray_mean", img, **gray_mean_tol(dtype))


def test_gray_mean_with_lut_gray_and_many_tiles():
    img = photos(2, (97, 101))  # > one interpreter block: several partial sums per sample
    for lut in (torch.randint(0, 256, (2, 3, 256), dtype=torch.uint8, device=DEVICE),
                torch.randint(0, 256, (2, 1, 256), dtype=torch.uint8, device=DEVICE)):
        check_primitive("gray_mean", img, lut, atol=0, rtol=0)
    gray = photos(3, (13, 17), gray=True)
    check_primitive("gray_mean", gray, atol=0, rtol=0)
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
    img = layout(as_dtype(photos(4, (13, 17)), dtype), kind)
    factor = torch.tensor([0.0, 0.5, 1.0, 1.9], device=DEVICE)  # per sample
    check_primitive("adjust_saturation", img, factor)
    check_primitive("adjust_sharpness", img, factor)


def test_sharpness_small_images_and_gray():
    factor = torch.tensor([0.3, 2.0], device=DEVICE)
    for size in ((2, 5), (3, 3), (1, 1)):  # under 3x3 nothing is smoothed; 3x3 has one inner pixel
        check_primitive("adjust_sharpness", photos(2, size), factor)
    gray = photos(2, (13, 17), gray=True)
    check_primitive("adjust_sharpness", gray, factor)
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
    out = check_primitive("adjust_hue", img, delta, int_tol=1)  # float32 ties of x.5 may round either way
    assert max_abs_diff(out.cpu(), colorsys_hue(u8, delta.cpu())) <= 2  # docs/contract.md: within 2 of HSV
    assert out.is_contiguous(memory_format=torch.channels_last) == (kind == "channels_last")
    for dtype in (torch.float32, torch.bfloat16):
        check_primitive("adjust_hue", layout(as_dtype(u8, dtype), kind), delta, atol=ULP[dtype] * 2, rtol=0)
    with pytest.raises(ValueError, match="C = 3"):
        kcolor.adjust_hue(img[:, :1], delta)
