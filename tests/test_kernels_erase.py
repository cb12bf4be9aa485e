"""The erase kernels (gpuaug.kernels.erase: erase, erase_noise, paste) against slicing references and the
torch path (check_primitive; bitwise for every dtype: these kernels only copy values)."""

from __future__ import annotations

import math

import pytest
import torch
from kernel_checks import BOXES, DEVICE, LAYOUTS, as_dtype, check_primitive, layout, photos

# isort: split
from gpuaug.kernels import erase as kerase

EXACT = {"atol": 0, "rtol": 0}  # float images too: erase and paste write values, they compute nothing


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
    img = layout(as_dtype(photos(2, (13, 17)), dtype), kind)
    boxes = torch.tensor(BOXES, device=DEVICE)
    mx = 255.0 if dtype == torch.uint8 else 1.0
    value = torch.tensor([[0.5, 126.5, 255.0], [3.49, 250.5, 0.0]], device=DEVICE) * (mx / 255)  # ties
    out = check_primitive("erase", img, boxes, value, **EXACT)
    assert torch.equal(out.cpu(), slice_erase_ref(img, BOXES, value))
    int_boxes = torch.tensor([[[2, 3, 9, 20]], [[-3, -2, 4, 4]]], device=DEVICE)  # int64 boxes, K = 1
    check_primitive("erase", img, int_boxes, value, **EXACT)
    no_boxes = torch.zeros(2, 0, 4, device=DEVICE)
    assert torch.equal(check_primitive("erase", img, no_boxes, value, **EXACT), img)


def test_erase_noise():
    """No torch-path comparison: the kernel draws its own stream (same seed, same noise on one backend)."""
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
    img = layout(as_dtype(photos(3, (13, 17)), dtype), kind)
    partner = torch.tensor([2, 1, 0], device=DEVICE)  # sample 1 pastes from itself
    box = torch.tensor([[1, 2, 5, 7], [0, 0, 100, 100], [3.5, -3, 30, 8.2]], device=DEVICE)
    out = check_primitive("paste", img, partner, box, **EXACT)
    ref = img.cpu().clone()
    for b, (x0, y0, x1, y1) in enumerate(box.cpu().tolist()):
        cx = slice(max(math.ceil(x0), 0), max(min(math.ceil(x1), 17), 0))
        cy = slice(max(math.ceil(y0), 0), max(min(math.ceil(y1), 13), 0))
        ref[b, :, cy, cx] = img.cpu()[int(partner[b]), :, cy, cx]
    assert torch.equal(out.cpu(), ref)


def test_erase_paste_empty_batch():
    img = photos(1, (5, 6))[:0]
    assert kerase.erase(img, torch.zeros(0, 1, 4), torch.zeros(0, 3)).shape == (0, 3, 5, 6)
    assert kerase.paste(img, torch.zeros(0, dtype=torch.int64), torch.zeros(0, 4)).shape == (0, 3, 5, 6)
