"""The Gaussian blur kernel (gpuaug.kernels.blur: both passes in one kernel) against the torch path
(check_primitive) and scipy's ``gaussian_filter(mode="mirror")`` with the same radius."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from kernel_checks import DEVICE, LAYOUTS, as_dtype, check_primitive, layout, photos

# isort: split
from gpuaug.kernels import blur as kblur

SIGMA = [[0.8, 1.6], [2.5, 0.0]]  # per sample (sigma_x, sigma_y); 0: that axis untouched


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float16, torch.float32])
def test_blur(kind, dtype):
    img = layout(as_dtype(photos(2, (13, 17)), dtype), kind)
    sigma = torch.tensor(SIGMA, device=DEVICE)
    tol = {"int_tol": 1} if dtype == torch.uint8 else {"atol": 2e-5 if dtype == torch.float32 else None}
    check_primitive("gaussian_blur", img, sigma, [5, 7], **tol)


@pytest.mark.parametrize("ks", [(3, 3), (9, 5), (1, 3), (41, 45)])  # 41 > the width: folded twice
def test_blur_against_scipy(ks):
    img = photos(2, (13, 17))
    sigma = torch.tensor(SIGMA, device=DEVICE)
    out = kblur.gaussian_blur(img, sigma, list(ks)).cpu()
    for b in range(2):
        sx, sy = SIGMA[b]
        ref = img[b].cpu().double().numpy()
        # scipy: sigma 0 leaves an axis alone; radius (k - 1) / 2 is torchvision's kernel size
        ref = ndi.gaussian_filter(ref, (0, sy, sx), mode="mirror", radius=(0, ks[1] // 2, ks[0] // 2))
        assert np.abs(out[b].double().numpy() - ref).max() <= 0.5 + 1e-6  # round to nearest


def test_blur_zero_sigma_is_the_identity():
    img = photos(2, (13, 17))
    assert torch.equal(kblur.gaussian_blur(img, torch.zeros(2, 2, device=DEVICE), [9, 9]), img)
    with pytest.raises(ValueError, match="kernel_size"):
        kblur.gaussian_blur(img, torch.ones(2, 2, device=DEVICE), [4, 3])
