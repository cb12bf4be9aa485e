"""The normalize kernel (gpuaug.kernels.normalize) against (x / max - mean) / std in float64 and the torch
path (check_primitive), with and without the memory-format change the loader asks for."""

from __future__ import annotations

import pytest
import torch
from kernel_checks import DEVICE, LAYOUTS, as_dtype, check_primitive, layout, photos

# isort: split
from gpuaug.kernels import normalize as knorm


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("dtype,out_dtype", [(torch.uint8, torch.float32), (torch.uint8, torch.bfloat16),
                                             (torch.float16, torch.float16), (torch.float32, torch.float32)])
def test_normalize(kind, dtype, out_dtype):
    img = layout(as_dtype(photos(2, (13, 17)), dtype), kind)
    mx = 255.0 if dtype == torch.uint8 else 1.0
    mean = torch.tensor([[0.485, 0.456, 0.406], [0.5, 0.5, 0.5]], device=DEVICE)  # per sample and channel
    std = torch.tensor([[0.229, 0.224, 0.225], [0.25, 0.5, 1.0]], device=DEVICE)
    scale, shift = 1.0 / (mx * std), -mean / std
    out = check_primitive("normalize", img, scale, shift, out_dtype, out_dtype=out_dtype)
    assert out.is_contiguous(memory_format=torch.channels_last) == (kind == "channels_last")
    # outside oracle: (x / max - mean) / std in float64
    m64, s64 = mean.cpu().double()[:, :, None, None], std.cpu().double()[:, :, None, None]
    ref = (img.cpu().double() / mx - m64) / s64
    atol = {torch.float32: 2e-6, torch.float16: 4e-3, torch.bfloat16: 3e-2}[out_dtype]
    torch.testing.assert_close(out.cpu().double(), ref, atol=atol, rtol=0)
    for fmt in (torch.channels_last, torch.contiguous_format):  # the loader's layout change in the same pass
        moved = check_primitive("normalize", img, scale, shift, out_dtype, fmt, out_dtype=out_dtype,
                                memory_format=fmt)
        assert moved.is_contiguous(memory_format=fmt) and torch.equal(moved, out)
    with pytest.raises(TypeError, match="dtype"):
        knorm.normalize(img, scale, shift, torch.uint8)
