"""The resize kernel (gpuaug.kernels.resize) against the torch path (check_primitive: F.interpolate's
antialiased bilinear, PIL's filter) on downscales, upscales and mixed factors, every layout and dtype."""

from __future__ import annotations

import pytest
import torch
from kernel_checks import LAYOUTS, as_dtype, check_primitive, layout, photos

# isort: split
from gpuaug.kernels import resize as kresize


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.bfloat16])
@pytest.mark.parametrize("size", [(7, 5), (20, 31), (13, 40)])  # down both, up both, down one / up other
def test_resize(kind, dtype, size):
    img = layout(as_dtype(photos(2, (13, 17)), dtype), kind)
    # uint8: one level where the kernel's and F.interpolate's float sums fall on either side of .5
    tol = {"int_tol": 1} if dtype == torch.uint8 else {"atol": 2e-5 if dtype == torch.float32 else None}
    out = check_primitive("resize", img, list(size), **tol)
    assert out.shape == (2, 3, *size)


def test_resize_identity_size_copies_exactly():
    img = photos(2, (13, 17))
    assert torch.equal(kresize.resize(img, [13, 17]), img)


def test_resize_gray_and_bad_input():
    img = photos(2, (13, 17), gray=True)
    check_primitive("resize", img, [6, 9], int_tol=1)
    with pytest.raises(ValueError, match="img"):
        kresize.resize(img[0], [6, 9])
