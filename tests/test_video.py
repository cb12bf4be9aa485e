"""Video clips (B, T, C, H, W) through layers, containers, policies and mixers (docs/contract.md "More ops"):
parameters are drawn per clip and every frame of a clip gets the same ones, in one call over the B * T frames.

Oracle: the layer's own replay. Frame t of the video output equals ``layer.apply`` of the per-clip draw
(``return_params``) on the (B, C, H, W) batch of frames t, for every t: the same parameters on every frame of
a clip; and the draws differ between clips.
"""

from __future__ import annotations

import os

import pytest
import torch
from helpers import photo_batch

import gpuaug
from gpuaug import backend

B, T = 3, 4


def video(size=(20, 24)) -> torch.Tensor:
    """B clips of T different real frames (photo crops), (B, T, C, H, W) uint8."""
    frames = photo_batch(B * T, size)
    return frames.view(B, T, *frames.shape[1:])


LAYERS = [
    lambda g: gpuaug.RandomRotation(30, generator=g),
    lambda g: gpuaug.RandomResizedCrop(16, generator=g),
    lambda g: gpuaug.ColorJitter(0.4, 0.4, 0.4, 0.1, generator=g),
    lambda g: gpuaug.RandomErasing(p=1.0, value="random", generator=g),
    lambda g: gpuaug.Compose([gpuaug.RandomAffine(20, scale=(0.8, 1.2), generator=g),
                              gpuaug.RandomHorizontalFlip(generator=g), gpuaug.GaussianBlur(5, generator=g),
                              gpuaug.RandomPosterize(4, p=0.5, generator=g)]),
    lambda g: gpuaug.RandomApply([gpuaug.RandomSolarize(128, generator=g)], p=0.5, generator=g),
    lambda g: gpuaug.RandAugment(num_ops=2, magnitude=9, generator=g),
    lambda g: gpuaug.TrivialAugmentWide(generator=g),
    lambda g: gpuaug.KerasAugment(rotation_range=30, zoom_range=0.2, channel_shift_range=40,
                                  horizontal_flip=True, generator=g),
    lambda g: gpuaug.GaussianNoise(sigma=0.1, generator=g),
]


def _flat(params) -> list[torch.Tensor]:
    if isinstance(params, dict):
        return [t for v in params.values() for t in _flat(v)]
    if isinstance(params, list):
        return [t for v in params for t in _flat(v)]
    return [params] if isinstance(params, torch.Tensor) else []


@pytest.mark.parametrize("make", LAYERS)
def test_every_frame_of_a_clip_gets_the_clips_parameters(make):
    v = video()
    layer = make(torch.Generator().manual_seed(7))
    out, params = layer(v, return_params=True)
    assert out.shape[:2] == (B, T) and out.dtype == v.dtype
    for t in range(T):
        assert torch.equal(out[:, t], layer.apply(v[:, t], params)), f"frame {t}"
    # per clip: every drawn tensor has one row per clip, and some of them differ between the clips
    rows = [p for p in _flat(params) if p.dim() >= 1]
    assert rows and all(p.shape[0] == B for p in rows)
    assert any(not torch.equal(p[0], p[i]) for p in rows for i in range(1, B))


def test_identical_frames_stay_identical_and_clips_differ():
    v = photo_batch(1, (20, 24))[:, None].repeat(B, T, 1, 1, 1)  # the same frame everywhere
    out = gpuaug.RandAugment(num_ops=2, magnitude=15, generator=torch.Generator().manual_seed(1))(v)
    assert all(torch.equal(out[:, 0], out[:, t]) for t in range(T))
    out = gpuaug.RandomRotation(40, generator=torch.Generator().manual_seed(1))(v)
    assert not torch.equal(out[0, 0], out[1, 0])


@pytest.mark.parametrize("mixer", [gpuaug.CutMix(num_classes=5), gpuaug.MixUp(num_classes=5),
                                   gpuaug.MixUpCutMix(num_classes=5, partner="roll")])
def test_mixers_mix_whole_clips(mixer):
    v = video()
    labels = torch.tensor([0, 3, 4])
    out, soft, params = mixer(v, labels, return_params=True)
    assert soft.shape == (B, 5)
    for t in range(T):  # the same box / weight on every frame, from the partner clip's same frame
        img, soft_t = mixer.apply(v[:, t], params, labels)
        assert torch.equal(out[:, t], img) and torch.equal(soft, soft_t)


def test_video_targets_are_per_frame_and_labels_per_clip():
    v = video()
    masks = torch.randint(0, 4, (B, T, 20, 24))
    kps = torch.rand(B, T, 5, 2) * 20
    labels = torch.tensor([1, 2, 0])
    layer = gpuaug.RandomRotation(30, generator=torch.Generator().manual_seed(3))
    out, lab, m, k, params = layer(v, labels, masks=masks, keypoints=kps, return_params=True)
    assert torch.equal(lab, labels) and m.shape == masks.shape and k.shape == kps.shape
    for t in range(T):
        _, m_t, k_t = layer.apply(v[:, t], params, masks=masks[:, t], keypoints=kps[:, t])
        assert torch.equal(m[:, t], m_t) and torch.equal(k[:, t], k_t)
    with pytest.raises(ValueError, match="labels"):
        layer(v, torch.zeros(B * T, dtype=torch.int64))  # one label per clip, not per frame
    with pytest.raises(ValueError, match="masks"):
        layer(v, masks=masks[:, :2])


def test_a_video_is_one_call_over_its_frames(monkeypatch):
    """One launch over B * T frames, not a loop over T: the warp primitive runs once."""
    calls = []
    real = backend.op

    def counting(name, t):
        calls.append((name, tuple(t.shape)))
        return real(name, t)

    monkeypatch.setattr(backend, "op", counting)
    gpuaug.RandomRotation(30)(video())
    assert [c for c in calls if c[0] == "warp"] == [("warp", (B * T, 3, 20, 24))]


def test_video_layouts_and_eval():
    v = video().permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)  # channels-last frames
    out = gpuaug.Compose([gpuaug.RandomRotation(10), gpuaug.Resize(10)])(v)
    assert out.shape == (B, T, 3, 10, 12) and out.stride()[2] == 1  # channels still innermost
    resize = gpuaug.Resize(10).eval()
    assert resize(v).shape == (B, T, 3, 10, 12)
    assert torch.equal(gpuaug.RandomRotation(30).eval()(v), v)
    assert gpuaug.RandomRotation(30)(v[:0]).shape == (0, T, 3, 20, 24)


INTERPRET = os.environ.get("TRITON_INTERPRET", "0").strip() not in ("", "0")
NEW_LAYERS = [
    lambda: gpuaug.Resize(16),
    lambda: gpuaug.Resize(16, antialias=False),
    lambda: gpuaug.Resize((10, 12), interpolation="nearest"),
    lambda: gpuaug.CenterCrop(12),
    lambda: gpuaug.GaussianBlur(5, p=0.5),
    lambda: gpuaug.GaussianNoise(),
    lambda: gpuaug.RandomChannelShift(0.1),
    lambda: gpuaug.KerasAugment(rotation_range=20, width_shift_range=[0.1, 0.2], height_shift_range=3,
                                zoom_range=0.2, channel_shift_range=30, horizontal_flip=True,
                                brightness_range=(0.8, 1.2)),
    lambda: gpuaug.Compose([gpuaug.GaussianBlur(3), gpuaug.RandomChannelShift(0.1), gpuaug.Resize(16)]),
]


@pytest.mark.skipif(not INTERPRET, reason="the CUDA code path runs on the CPU only through Triton's "
                                          "interpreter (scripts/test.sh's second run: TRITON_INTERPRET=1)")
@pytest.mark.parametrize("make", NEW_LAYERS)
def test_no_host_sync_nor_host_built_tensor_on_the_cuda_code_path(make):
    """The new layers, on videos and on image batches, through the CUDA code path (kernels stubbed)."""
    from gpuaug.profile import Profile

    layer = make()
    v = video()
    layer(v)  # first call: constants cached
    with Profile(stub=True) as p:
        layer(v)
        layer(v[:, 0])
    assert not p.report.syncs and p.report.host_built == 0, (dict(p.report.syncs), p.report.host_built)
