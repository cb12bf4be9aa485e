"""The training-loop hook, the loader wrapper and the worker-collate host fallback (gpuaug.loader)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from gpuaug.loader import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    AugmentingCollate,
    BatchHook,
    DeviceLoader,
    as_uint8_batch,
    build_hook,
    capture_hook,
    collate_uint8,
)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
try:
    import gpuaug.layers
    import gpuaug.policies  # noqa: F401

    HAS_LAYERS = True
except ImportError:
    HAS_LAYERS = False
needs_layers = pytest.mark.skipif(not HAS_LAYERS, reason="gpuaug layers/policies not importable")


def _photos(b: int = 6, h: int = 29, w: int = 37) -> np.ndarray:
    """``(B, H, W, 3)`` uint8 crops of real photos (the bundled samples)."""
    from gpuaug.samples import sample_photos

    photos = [np.asarray(im) for _, im in sample_photos()]
    return np.stack([photos[i % len(photos)][5 * i: 5 * i + h, 3 * i: 3 * i + w] for i in range(b)])


def _reference(x_bhwc: np.ndarray) -> np.ndarray:
    """The documented conversion, in float64 numpy: (x / 255 - mean) / std, as (B, C, H, W)."""
    x = x_bhwc.astype(np.float64) / 255.0
    x = (x - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    return x.transpose(0, 3, 1, 2)


class PhotoSet(Dataset):
    def __init__(self, n: int = 16, h: int = 29, w: int = 37) -> None:
        self.x = _photos(n, h, w)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], i % 3


class Draw(nn.Module):
    """A stand-in random layer: replaces every image by one random gray level from ``generator``."""

    def __init__(self, generator=None) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, x):
        v = torch.randint(0, 256, (x.shape[0], 1, 1, 1), generator=self.generator, dtype=torch.uint8)
        return v.expand(x.shape).clone()


# ---------------------------------------------------------------------------------------------- batches
def test_as_uint8_batch_layouts():
    hwc = _photos(4)
    want = torch.from_numpy(hwc).permute(0, 3, 1, 2)
    for x in (list(hwc), [Image.fromarray(a) for a in hwc], torch.from_numpy(hwc),
              [torch.from_numpy(a).permute(2, 0, 1) for a in hwc], want.contiguous()):
        got = as_uint8_batch(x)
        assert got.shape == (4, 3, 29, 37) and got.dtype == torch.uint8
        assert torch.equal(got, want)
    assert as_uint8_batch(list(hwc)).is_contiguous(memory_format=torch.channels_last)
    gray = as_uint8_batch([a[:, :, 0] for a in hwc])
    assert gray.shape == (4, 1, 29, 37) and torch.equal(gray[:, 0], want[:, 0])


def test_as_uint8_batch_errors():
    with pytest.raises(TypeError, match="uint8"):
        as_uint8_batch(torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match="one size"):
        as_uint8_batch([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8)])
    with pytest.raises(ValueError, match="layout"):
        as_uint8_batch(torch.zeros(2, 5, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="layout"):
        as_uint8_batch(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), layout="NCHW")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("channels_last", [True, False])
def test_hook_converts(dtype, channels_last):
    hwc = _photos(5)
    hook = BatchHook(dtype=dtype, channels_last=channels_last)
    x, y = hook(torch.from_numpy(hwc).permute(0, 3, 1, 2).contiguous(), torch.arange(5))
    assert x.shape == (5, 3, 29, 37) and x.dtype == dtype and x.device.type == "cpu"
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    assert x.is_contiguous(memory_format=fmt)
    tol = {torch.float32: 1e-5, torch.bfloat16: 0.02, torch.float16: 2e-3}[dtype]
    np.testing.assert_allclose(x.float().numpy(), _reference(hwc), atol=tol * 3, rtol=tol)
    assert torch.equal(y, torch.arange(5))


def test_hook_without_mean_std_scales_to_unit():
    hwc = _photos(3)
    x = BatchHook(mean=None, std=None)(list(hwc))
    np.testing.assert_allclose(x.numpy(), hwc.transpose(0, 3, 1, 2) / 255.0, atol=1e-6)


def test_hook_one_hot_and_eval_skips_augmentation():
    hwc = _photos(4)
    hook = BatchHook(Draw(torch.Generator().manual_seed(1)), num_classes=5)
    x, y = hook(list(hwc), [0, 4, 2, 2])
    assert torch.equal(y, torch.eye(5)[[0, 4, 2, 2]])
    # Draw makes every image flat: training mode augments
    assert (x.amax((1, 2, 3)) - x.amin((1, 2, 3)) < 3).all()
    hook.eval()
    x = hook(list(hwc))
    np.testing.assert_allclose(x.numpy(), _reference(hwc), atol=1e-5)


def test_hook_float_result_is_taken_as_unit_range():
    hwc = _photos(3)
    unit = torch.from_numpy(hwc).permute(0, 3, 1, 2).to(torch.float32) / 255.0  # channels_last float
    keep = unit.clone()
    x = BatchHook(lambda t: unit)(list(hwc))
    np.testing.assert_allclose(x.numpy(), _reference(hwc), atol=1e-5)
    assert torch.equal(unit, keep)  # the pipeline's result is not overwritten in place
    x8 = torch.from_numpy(hwc).permute(0, 3, 1, 2)
    keep8 = x8.clone()
    BatchHook(dtype=torch.bfloat16)(x8)
    assert torch.equal(x8, keep8)


def test_hook_gray_and_channel_mismatch():
    hwc = _photos(3)[..., :1]
    x = BatchHook(mean=(0.5,), std=(0.25,))(list(hwc))
    assert x.shape == (3, 1, 29, 37)
    np.testing.assert_allclose(x.numpy(), (hwc.transpose(0, 3, 1, 2) / 255.0 - 0.5) / 0.25, atol=1e-5)
    with pytest.raises(ValueError, match="channels"):
        BatchHook()(list(hwc))


def test_hook_argument_errors():
    with pytest.raises(TypeError, match="dtype"):
        BatchHook(dtype=torch.float64)
    with pytest.raises(ValueError, match="std"):
        BatchHook(mean=(0.5,), std=None)
    with pytest.raises(ValueError, match="std"):
        BatchHook(mean=(0.5, 0.5, 0.5), std=(0.2, 0.0, 0.2))
    with pytest.raises(ValueError, match="labels"):
        BatchHook(mix=lambda x, y: (x, y))(torch.zeros(2, 3, 4, 4, dtype=torch.uint8))


@needs_layers
def test_hook_with_policy_mixes_labels():
    torch.manual_seed(3)
    hook = build_hook("rand-m9-n2", size=24, num_classes=3, dtype=torch.bfloat16)
    x, y = hook(list(_photos(8)), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1]))
    assert x.shape == (8, 3, 24, 24) and x.dtype == torch.bfloat16
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert y.shape == (8, 3) and y.dtype == torch.float32
    torch.testing.assert_close(y.sum(1), torch.ones(8))
    # timm's recipe: label smoothing 0.1, then each sample mixes its class with one partner's class
    mixed = (y - 0.1 / 3) / 0.9
    assert (mixed > -1e-5).all()
    assert ((mixed > 1e-4).sum(1) <= 2).all()
    assert ((mixed > 1e-4).sum(1) == 2).any()


# ----------------------------------------------------------------------------------------------- loaders
def test_device_loader_cpu():
    dl = DataLoader(PhotoSet(10), batch_size=4, collate_fn=collate_uint8)
    feed = DeviceLoader(dl, BatchHook(dtype=torch.bfloat16), device="cpu")
    batches = list(feed)
    assert len(feed) == 3 and len(batches) == 3
    x, y = batches[0]
    assert x.shape == (4, 3, 29, 37) and x.dtype == torch.bfloat16 and x.device.type == "cpu"
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(y, torch.tensor([0, 1, 2, 0]))
    assert batches[-1][0].shape[0] == 2
    np.testing.assert_allclose(torch.cat([b[0] for b in batches]).float().numpy(), _reference(PhotoSet(10).x),
                               atol=0.05, rtol=0.02)


def test_device_loader_default_collate_bhwc():
    # default_collate turns HWC numpy arrays into a (B, H, W, C) tensor: recognised as such
    dl = DataLoader(PhotoSet(4), batch_size=4)
    x, y = next(iter(DeviceLoader(dl, device="cpu")))
    assert x.shape == (4, 3, 29, 37)
    np.testing.assert_allclose(x.numpy(), _reference(PhotoSet(4).x), atol=1e-5)


def test_device_loader_batch_forms():
    hwc = _photos(2)
    want = _reference(hwc)
    forms = [list(hwc), (torch.from_numpy(hwc), torch.tensor([1, 2])), {"image": list(hwc), "label": [1, 2]},
             {"pixel_values": list(hwc), "labels": [1, 2], "id": ["a", "b"]}, [torch.from_numpy(hwc)]]
    outs = list(DeviceLoader(forms, device="cpu"))
    xs = [outs[0], outs[1][0], outs[2]["image"], outs[3]["pixel_values"], outs[4][0]]
    for x in xs:
        np.testing.assert_allclose(x.numpy(), want, atol=1e-5)
    assert isinstance(outs[1], tuple) and isinstance(outs[4], list) and len(outs[4]) == 1
    assert outs[2]["label"].tolist() == [1, 2] and outs[3]["id"] == ["a", "b"]
    # a segmentation map is not a label: a tuple batch holds (images, labels) only
    with pytest.raises(ValueError, match="labels.*'mask'"):
        next(iter(DeviceLoader([(list(hwc), torch.zeros(2, 29, 37, dtype=torch.uint8))], device="cpu")))


def _worker_batches(collate, seed):
    dl = DataLoader(PhotoSet(16), batch_size=4, num_workers=2, collate_fn=collate,
                    generator=torch.Generator().manual_seed(seed))
    return [x for x, _ in dl]


@pytest.mark.parametrize("own_generator", [True, False])
def test_collate_in_workers_draws_differently_and_reproducibly(own_generator):
    gen = torch.Generator().manual_seed(0) if own_generator else None
    collate = AugmentingCollate(Draw(gen), mean=None, std=None)
    first = _worker_batches(collate, seed=7)
    assert len(first) == 4 and all(x.shape == (4, 3, 29, 37) and x.dtype == torch.float32 for x in first)
    def levels_of(batches):
        return [tuple((x[:, 0, 0, 0] * 255).round().int().tolist()) for x in batches]

    levels = levels_of(first)
    # batches 0 and 1 come from workers 0 and 1, which start from the same collate object
    assert levels[0] != levels[1]
    assert len(set(levels)) == 4
    assert levels == levels_of(_worker_batches(collate, 7))
    assert levels != levels_of(_worker_batches(collate, 8))


@needs_layers
def test_collate_in_workers_with_policy():
    collate = AugmentingCollate(build_hook("rand-m9-n2", size=24, num_classes=3))
    dl = DataLoader(PhotoSet(8), batch_size=4, num_workers=2, collate_fn=collate)
    batches = list(dl)
    assert len(batches) == 2
    for x, y in batches:
        assert x.shape == (4, 3, 24, 24) and x.dtype == torch.float32
        assert x.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(y.sum(1), torch.ones(4))
    assert not torch.equal(batches[0][0], batches[1][0])


# ------------------------------------------------------------------------------------------------- CUDA
@needs_cuda
def test_device_loader_cuda_matches_cpu_and_never_syncs():
    dl = DataLoader(PhotoSet(12), batch_size=4, collate_fn=collate_uint8, pin_memory=True)
    want = [x for x, _ in DeviceLoader(dl, BatchHook(), device="cpu")]
    feed = DeviceLoader(dl, BatchHook(dtype=torch.float32), device="cuda")
    it = iter(feed)
    got = [next(it)[0]]  # the first batch may initialise CUDA state
    torch.cuda.set_sync_debug_mode("error")
    try:
        got += [x for x, _ in it]
    finally:
        torch.cuda.set_sync_debug_mode(0)
    for g, w in zip(got, want):
        assert g.is_cuda and g.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(g.cpu(), w, atol=1e-5, rtol=1e-5)


@needs_cuda
@needs_layers
def test_hook_cuda_policy_no_sync():
    hook = build_hook("rand-m9-n2", size=24, num_classes=3, dtype=torch.bfloat16, device="cuda")
    x = torch.from_numpy(_photos(8)).permute(0, 3, 1, 2).cuda()
    y = torch.arange(8, device="cuda") % 3
    hook(x, y)
    torch.cuda.set_sync_debug_mode("error")
    try:
        out, soft = hook(x, y)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert out.is_cuda and out.dtype == torch.bfloat16 and soft.shape == (8, 3)


@needs_cuda
@needs_layers
def test_capture_hook_replays_with_new_draws():
    hook = build_hook("rand-m9-n2", size=24, num_classes=3, device="cuda")
    x = torch.from_numpy(_photos(8)).permute(0, 3, 1, 2).contiguous().cuda()
    y = torch.arange(8, device="cuda") % 3
    replay = capture_hook(hook, x, y)
    a = [t.clone() for t in replay(x, y)]
    b = [t.clone() for t in replay(x, y)]
    assert a[0].shape == (8, 3, 24, 24) and torch.isfinite(a[0]).all()
    torch.testing.assert_close(a[1].sum(1), torch.ones(8, device="cuda"))
    assert not torch.equal(a[0], b[0])  # the graph draws new parameters on every replay


def test_capture_hook_needs_cuda_input():
    with pytest.raises(ValueError, match="CUDA"):
        capture_hook(BatchHook(), torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
