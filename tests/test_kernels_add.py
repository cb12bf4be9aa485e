"""The additive kernels (gpuaug.kernels.add: channel_shift, gaussian_noise) against the torch path
(check_primitive: the same counter-based noise on both backends) and exact arithmetic."""

from __future__ import annotations

import pytest
import torch
from kernel_checks import DEVICE, LAYOUTS, as_dtype, check_primitive, layout, photos

# isort: split
from gpuaug.kernels import add as kadd


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.bfloat16])
def test_channel_shift(kind, dtype):
    img = layout(as_dtype(photos(2, (13, 17)), dtype), kind)
    mx = 255.0 if dtype == torch.uint8 else 1.0
    shift = torch.tensor([[10.5, -20.0, 30.0], [-5.0, 0.0, 100.0]], device=DEVICE) * (mx / 255)
    low = torch.tensor([[0.0], [40.0]], device=DEVICE) * (mx / 255)
    high = torch.tensor([[mx], [200.0 * mx / 255]], device=DEVICE)
    # bitwise but for bfloat16 (the interpreter truncates float32 -> bfloat16 casts, a GPU rounds)
    exact = {} if dtype == torch.bfloat16 else {"atol": 0, "rtol": 0}
    out = check_primitive("channel_shift", img, shift, low, high, **exact)
    # exact arithmetic in float64, the kernel's rounding (half to even) on uint8
    ref = (img.cpu().double() + shift.cpu().double()[:, :, None, None])
    ref = torch.minimum(torch.maximum(ref, low.cpu().double()[:, :, None, None]),
                        high.cpu().double()[:, :, None, None])
    if dtype == torch.uint8:
        assert torch.equal(out.cpu(), ref.round().to(torch.uint8))
    else:
        torch.testing.assert_close(out.cpu().double(), ref.to(dtype).double(), atol=0, rtol=2**-7)


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16])
@pytest.mark.parametrize("clip", [True, False])
def test_gaussian_noise(kind, dtype, clip):
    img = layout(as_dtype(photos(2, (13, 17)), dtype), kind)
    mean = torch.tensor([0.0, 0.05], device=DEVICE)
    sigma = torch.tensor([0.1, 0.2], device=DEVICE)
    seed = torch.tensor([7, 2**31 - 2], device=DEVICE)
    # both backends draw the same integers; log / cos may round differently in the last bit
    tol = {"int_tol": 1} if dtype == torch.uint8 else {"atol": 1e-5 if dtype == torch.float32 else None}
    out = check_primitive("gaussian_noise", img, mean, sigma, seed, clip, **tol)
    assert torch.equal(out, kadd.gaussian_noise(img, mean, sigma, seed, clip))  # same seed, same noise
    if clip or dtype == torch.uint8:
        assert out.min() >= 0 and out.max() <= (255 if dtype == torch.uint8 else 1)
    else:
        assert out.min() < 0 or out.max() > 1  # sigma 0.2 on a photo leaves the range somewhere


def test_noise_zero_sigma_is_the_identity_and_seeds_differ():
    img = photos(2, (13, 17))
    zero = torch.zeros(2, device=DEVICE)
    assert torch.equal(kadd.gaussian_noise(img, zero, zero, torch.tensor([1, 2], device=DEVICE), True), img)
    f = img.float() / 255
    a = kadd.gaussian_noise(f, zero, zero + 0.1, torch.tensor([1, 2], device=DEVICE), False)
    b = kadd.gaussian_noise(f, zero, zero + 0.1, torch.tensor([3, 2], device=DEVICE), False)
    assert not torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
