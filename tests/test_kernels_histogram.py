"""The histogram kernel (gpuaug.kernels.histogram) against numpy bincount and the torch path
(check_primitive), in both of its algorithms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kernel_checks import LAYOUTS, check_primitive, layout, photos

# isort: split
from gpuaug.kernels import histogram as khist


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("size", [(13, 17), (97, 101)])  # 97x101 > one interpreter block: atomics add up
def test_histogram(kind, size):
    img = layout(photos(2, size), kind)
    out = check_primitive("histogram", img)
    assert out.dtype == torch.int32 and out.shape == (2, 3, 256)
    x = img.cpu().numpy()
    ref = np.stack([[np.bincount(x[b, c].ravel(), minlength=256) for c in range(3)] for b in range(2)])
    assert np.array_equal(out.cpu().numpy(), ref)


def test_histogram_gray_and_empty():
    img = photos(3, (5, 3), gray=True)
    out = check_primitive("histogram", img)
    assert out.shape == (3, 1, 256) and (out.sum(-1) == 15).all()
    assert khist.histogram(img[:0]).shape == (0, 1, 256)


@pytest.mark.parametrize("kind", LAYOUTS)
def test_histogram_per_pixel_atomics_variant(monkeypatch, kind):
    img = layout(photos(2, (13, 17)), kind)
    monkeypatch.setattr(khist, "ALGORITHM", "atomics")
    check_primitive("histogram", img)
