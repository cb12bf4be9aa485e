"""The LUT kernels (gpuaug.kernels.lut: apply_lut, equalize_lut) against numpy fancy indexing, PIL's
ImageOps.equalize, and the torch path (check_primitive)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kernel_checks import DEVICE, LAYOUTS, check_primitive, layout, photos

# isort: split
from gpuaug.kernels import histogram as khist
from gpuaug.kernels import lut as klut
from helpers import pil_map
from PIL import ImageOps


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
    out = check_primitive("apply_lut", img, lut)
    assert out.dtype == torch.uint8 and out.shape == img.shape
    assert np.array_equal(out.cpu().numpy(), numpy_lut(img, lut))


def test_apply_lut_expanded_table_and_errors():
    img = photos(2, (7, 9))
    lut = torch.randint(0, 256, (256,), dtype=torch.uint8, device=DEVICE).expand(2, 3, 256)  # stride 0
    out = check_primitive("apply_lut", img, lut)
    assert np.array_equal(out.cpu().numpy(), numpy_lut(img, lut))
    with pytest.raises(TypeError, match="uint8"):
        klut.apply_lut(img.float(), lut)
    with pytest.raises(ValueError, match="lut"):
        klut.apply_lut(img, lut[:, :, :255])


def test_equalize_three_launches_equals_pil():
    """histogram -> equalize_lut -> apply_lut (all kernels) against PIL ImageOps.equalize, torch's table."""
    img = photos(4, (23, 29))
    img[0] = 9  # one value: identity table
    img[1, 0, :5] = 250  # two values in one channel
    hist = khist.histogram(img)
    table = check_primitive("equalize_lut", hist)  # = gpuaug._torch.lut.equalize_lut(hist)
    out = klut.apply_lut(img, table)
    assert torch.equal(out.cpu(), pil_map(ImageOps.equalize, img.cpu()))
    assert klut.equalize_lut(hist[:0]).shape == (0, 3, 256)
