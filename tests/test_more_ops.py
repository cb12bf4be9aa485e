"""More ops (docs/contract.md "More ops"): resize, center_crop, gaussian_blur, gaussian_noise,
channel_shift and their layers, against outside oracles, on whichever backend runs the file (the torch path
by default; scripts/test.sh runs it again through the Triton kernels in the interpreter).

Oracles: PIL ``Image.resize`` (BILINEAR with its antialiasing filter; NEAREST), torchvision's published size
and crop formulas worked by hand, slicing, scipy ``gaussian_filter(mode="mirror")`` with the same radius,
exact arithmetic (channel shift), the moments of the noise. Images are real photos at small odd sizes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from helpers import max_abs_diff, photo_batch, to_pil, to_tensor
from PIL import Image

import gpuaug
import gpuaug.functional as F


def pil_resize(x: torch.Tensor, size, resample) -> torch.Tensor:
    return torch.stack([to_tensor(to_pil(im).resize((size[1], size[0]), resample)) for im in x])


# ------------------------------------------------------------------------------------------------ resize


@pytest.mark.parametrize("size,expect", [(20, (20, 28)), ((11, 40), (11, 40)), ([16], (16, 22)),
                                         (61, (61, 87))])
def test_resize_matches_pil_bilinear(size, expect):
    x = photo_batch(2, (37, 53))
    out = F.resize(x, size)
    assert out.shape == (2, 3, *expect)
    ref = pil_resize(x, expect, Image.BILINEAR)
    d = (out.int() - ref.int()).abs()
    assert d.max() <= 2 and d.float().mean() < 0.5  # PIL rounds its horizontal pass to uint8 first


def test_resize_floating_and_layouts():
    x = photo_batch(2, (37, 53))
    ref = F.resize(x, (13, 19)).float() / 255
    f = (x.float() / 255).contiguous(memory_format=torch.channels_last)
    out = F.resize(f, (13, 19))
    assert out.dtype == torch.float32 and out.is_contiguous(memory_format=torch.channels_last)
    assert (out - ref).abs().max() <= 0.5 / 255 + 1e-6  # the uint8 result is this one rounded
    single = F.resize(x[1], 17)
    assert single.shape == (3, 17, 24) and torch.equal(single, F.resize(x, 17)[1])
    assert F.resize(x[:0], 9).shape == (0, 3, 9, 12)


def test_resize_nearest_is_pil_nearest():
    x = photo_batch(2, (37, 53))
    for size in ((11, 17), (50, 70)):
        assert torch.equal(F.resize(x, size, "nearest"), pil_resize(x, size, Image.NEAREST))


def test_resize_without_antialias_samples_two_by_two():
    """antialias=False: plain bilinear (F.interpolate's align_corners=False mapping, edge replicated)."""
    x = photo_batch(2, (37, 53))
    ref = torch.nn.functional.interpolate(x.float(), size=(9, 13), mode="bilinear", align_corners=False)
    assert max_abs_diff(F.resize(x, (9, 13), antialias=False), ref.round().to(torch.uint8)) <= 1


def test_resize_size_is_torchvisions():
    """torchvision's _compute_resized_output_size: the shorter side to s, the longer int(s * long / short),
    then max_size caps the longer side (worked by hand)."""
    assert F.resize_size((37, 53), 20) == (20, int(20 * 53 / 37)) == (20, 28)
    assert F.resize_size((53, 37), 20) == (28, 20)
    assert F.resize_size((30, 30), 7) == (7, 7)
    assert F.resize_size((37, 53), 20, max_size=25) == (int(25 * 20 / 28), 25) == (17, 25)
    with pytest.raises(ValueError, match="max_size"):
        F.resize_size((37, 53), (20, 20), max_size=30)
    with pytest.raises(ValueError, match="size"):
        F.resize(photo_batch(1), 0)
    with pytest.raises(ValueError, match="interpolation"):
        F.resize(photo_batch(1), 9, "bicubic")


# ------------------------------------------------------------------------------------------- center crop


@pytest.mark.parametrize("size", [(20, 31), (21, 30), 9, (37, 53), (40, 50), (45, 60)])
def test_center_crop_is_torchvisions_slice(size):
    x = photo_batch(2, (37, 53)).contiguous(memory_format=torch.channels_last)
    out = F.center_crop(x, size)
    ch, cw = (size, size) if isinstance(size, int) else size
    # torchvision: zero-pad by ((c - n) // 2, (c - n + 1) // 2) where the crop is larger, then crop at
    # int(round((n' - c) / 2))
    pt, pl = max(ch - 37, 0) // 2, max(cw - 53, 0) // 2
    padded = torch.nn.functional.pad(x, (pl, max(cw - 53, 0) - pl, pt, max(ch - 37, 0) - pt))
    top = int(round((padded.shape[2] - ch) / 2.0))
    left = int(round((padded.shape[3] - cw) / 2.0))
    assert torch.equal(out, padded[:, :, top:top + ch, left:left + cw])
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert out.data_ptr() != x.data_ptr()  # a copy, never a view of the input


# ------------------------------------------------------------------------------------------------- blur


@pytest.mark.parametrize("ks,sigma", [(5, [0.7, 1.9]), ((7, 3), [2.0, 0.4]), (21, [3.0, 5.0])])
def test_gaussian_blur_matches_scipy(ks, sigma):
    x = photo_batch(2, (19, 23))
    kx, ky = (ks, ks) if isinstance(ks, int) else ks
    out = F.gaussian_blur(x, ks, torch.tensor(sigma))
    for b in range(2):
        ref = ndi.gaussian_filter(x[b].double().numpy(), (0, sigma[b], sigma[b]), mode="mirror",
                                  radius=(0, ky // 2, kx // 2))
        assert np.abs(out[b].double().numpy() - ref).max() <= 0.5 + 1e-6  # rounded to nearest: within 1


def test_gaussian_blur_sigma_forms():
    x = photo_batch(2, (19, 23))
    pair = F.gaussian_blur(x, 5, (0.8, 1.7))  # (sigma_x, sigma_y)
    per_axis = F.gaussian_blur(x, 5, torch.tensor([[0.8, 1.7], [0.8, 1.7]]))
    assert torch.equal(pair, per_axis)
    ref = ndi.gaussian_filter(x[0].double().numpy(), (0, 1.7, 0.8), mode="mirror", radius=(0, 2, 2))
    assert np.abs(pair[0].double().numpy() - ref).max() <= 0.5 + 1e-6
    # None: torchvision's sigma from the kernel size, 0.3 ((k - 1) / 2 - 1) + 0.8
    assert torch.equal(F.gaussian_blur(x, 7), F.gaussian_blur(x, 7, 0.3 * (3 - 1) + 0.8))
    f = F.gaussian_blur(x.float() / 255, 5, 1.0)
    assert (f * 255 - F.gaussian_blur(x, 5, 1.0).float()).abs().max() <= 0.5 + 1e-3


def test_gaussian_blur_argument_errors():
    x = photo_batch(2, (19, 23))
    with pytest.raises(ValueError, match="kernel_size"):
        F.gaussian_blur(x, 4)
    with pytest.raises(TypeError, match="kernel_size"):
        F.gaussian_blur(x, 2.5)
    with pytest.raises(ValueError, match="sigma"):
        F.gaussian_blur(x, 5, -1.0)
    with pytest.raises(ValueError, match="sigma"):
        F.gaussian_blur(x, 5, torch.ones(3))


# ------------------------------------------------------------------------------------------------ noise


def test_gaussian_noise_statistics_float():
    x = photo_batch(2, (48, 64)).float() / 255
    out = F.gaussian_noise(x, torch.tensor([0.1, 0.05]), torch.tensor([11, 12]), torch.tensor([0.0, 0.2]),
                           clip=False)
    d = (out - x).double()
    for b, (mu, sd) in enumerate([(0.0, 0.1), (0.2, 0.05)]):
        n = d[b].numel()  # 9216: the mean is within 4 standard errors, the std within 3 %
        assert abs(d[b].mean() - mu) < 4 * sd / math.sqrt(n)
        assert abs(d[b].std() / sd - 1) < 0.03
        z = (d[b] - mu) / sd
        assert abs((z.abs() < 1).double().mean() - 0.6827) < 0.02  # a normal, not a uniform
    clipped = F.gaussian_noise(x, 0.3, 5)
    assert clipped.min() == 0 and clipped.max() == 1
    assert torch.equal(F.gaussian_noise(x, 0.1, 3), F.gaussian_noise(x, 0.1, 3))  # same seed, same noise
    other = F.gaussian_noise(x, 0.1, 4) - x
    corr = torch.corrcoef(torch.stack([(F.gaussian_noise(x, 0.1, 3) - x).flatten(), other.flatten()]))[0, 1]
    assert abs(corr) < 0.05


def test_gaussian_noise_uint8_levels():
    x = torch.full((1, 3, 48, 64), 128, dtype=torch.uint8)
    out = F.gaussian_noise(x, 0.1, 9, mean=0.02)
    d = out.double() - 128
    assert abs(d.mean() - 0.02 * 255) < 4 * 25.5 / math.sqrt(d.numel())
    assert abs(d.std() / 25.5 - 1) < 0.03
    assert torch.equal(F.gaussian_noise(x, 0.0, 9), x)
    with pytest.raises(ValueError, match="sigma"):
        F.gaussian_noise(x, -0.1, 1)
    with pytest.raises(TypeError, match="seed"):
        F.gaussian_noise(x, 0.1, 1.5)


# ---------------------------------------------------------------------------------------- channel shift


def test_channel_shift_exact():
    x = photo_batch(2, (19, 23))
    shift = torch.tensor([[30.0, -40.0, 0.5], [-1.5, 200.0, -255.0]])
    out = F.channel_shift(x, shift)
    ref = (x.double() + shift.double()[:, :, None, None]).clamp(0, 255).round()  # ties to even, as torch
    assert torch.equal(out, ref.to(torch.uint8))
    assert torch.equal(F.channel_shift(x, [30.0, -40.0, 0.5]), F.channel_shift(x, shift[:1].expand(2, 3)))
    one = F.channel_shift(x, torch.tensor([[7.0], [-9.0]]))  # (B, 1): one shift per sample
    want = (x.int() + torch.tensor([7, -9])[:, None, None, None]).clamp(0, 255).to(torch.uint8)
    assert torch.equal(one, want)
    f = x.float() / 255
    torch.testing.assert_close(F.channel_shift(f, 0.25), (f + 0.25).clamp(0, 1), atol=0, rtol=0)
    with pytest.raises(ValueError, match="shift"):
        F.channel_shift(x, torch.zeros(2, 2))


def test_channel_shift_clamps_to_the_image_range_as_keras():
    """Keras' apply_channel_shift: clip(x + intensity, min(x), max(x)) over the whole image."""
    x = photo_batch(2, (19, 23))
    out = F.channel_shift(x, torch.tensor([[40.0], [-60.0]]), bounds="image")
    for b, s in enumerate((40, -60)):
        a = x[b].double().numpy()
        ref = np.clip(a + s, a.min(), a.max())
        assert np.array_equal(out[b].numpy(), ref.astype(np.uint8))


# ------------------------------------------------------------------------------------------------ layers


def test_resize_and_center_crop_layers_apply_in_eval_mode_too():
    x = photo_batch(3, (37, 53))
    pipe = gpuaug.Compose([gpuaug.RandomHorizontalFlip(p=0.0), gpuaug.Resize(24), gpuaug.CenterCrop(20)])
    want = F.center_crop(F.resize(x, 24), 20)
    assert torch.equal(pipe(x), want)
    pipe.eval()
    assert torch.equal(pipe(x), want)
    r = gpuaug.Resize((11, 15), interpolation="nearest").eval()
    assert torch.equal(r(x), F.resize(x, (11, 15), "nearest"))


def test_resize_and_center_crop_move_targets():
    x = photo_batch(2, (37, 53))
    boxes = torch.tensor([[[5.0, 7.0, 25.0, 30.0]]]).repeat(2, 1, 1)
    kps = torch.tensor([[[10.0, 20.0]]]).repeat(2, 1, 1)
    masks = torch.zeros(2, 37, 53, dtype=torch.int64)
    masks[:, 10:20, 20:40] = 3
    img, m, bx, kp = gpuaug.Resize((74, 106))(x, masks=masks, boxes=boxes, keypoints=kps)  # x 2
    assert img.shape[-2:] == m.shape[-2:] == (74, 106)
    torch.testing.assert_close(bx, boxes * 2)
    torch.testing.assert_close(kp, kps * 2 + 0.5)  # pixel centres: (x + 1/2) * 2 - 1/2
    assert torch.equal(m, masks.repeat_interleave(2, 1).repeat_interleave(2, 2))
    img, m, bx = gpuaug.CenterCrop((21, 31))(x, masks=masks, boxes=boxes)
    top, left = round((37 - 21) / 2), round((53 - 31) / 2)
    assert torch.equal(m, masks[:, top:top + 21, left:left + 31])
    want = torch.tensor([[[0.0, 0.0, 25.0 - left, min(30.0 - top, 21.0)]]]).repeat(2, 1, 1)  # clipped
    torch.testing.assert_close(bx, want)


def test_blur_noise_shift_layers_replay_their_draws():
    x = photo_batch(4, (19, 23))
    g = torch.Generator().manual_seed(3)
    blur = gpuaug.GaussianBlur(5, sigma=(0.5, 2.0), p=0.5, generator=g)
    out, params = blur(x, return_params=True)
    s = params["sigma"]
    assert ((s >= 0.5) & (s <= 2.0)).all()
    want = F.gaussian_blur(x, 5, torch.where(params["apply"], s, 0.0))
    assert torch.equal(out, want)
    assert torch.equal(out[~params["apply"]], x[~params["apply"]])
    noise = gpuaug.GaussianNoise(sigma=0.2, generator=g)
    out, params = noise(x, return_params=True)
    assert torch.equal(out, F.gaussian_noise(x, 0.2, params["seed"]))
    assert torch.equal(noise.apply(x, noise.last_params), out)
    shift = gpuaug.RandomChannelShift(0.2, generator=g)
    out, params = shift(x, return_params=True)
    assert params["shift"].shape == (4, 3) and params["shift"].abs().max() <= 0.2
    assert torch.equal(out, F.channel_shift(x, params["shift"] * 255))
    same = gpuaug.RandomChannelShift((0.05, 0.1), per_channel=False, generator=g)
    _, params = same(x, return_params=True)
    assert params["shift"].shape == (4, 1) and (params["shift"] >= 0.05).all()


@pytest.mark.parametrize("layer", [
    gpuaug.Resize(24, max_size=30), gpuaug.Resize((10, 12), interpolation="nearest", antialias=False),
    gpuaug.CenterCrop((9, 11)), gpuaug.GaussianBlur((3, 5), sigma=1.5, p=0.5),
    gpuaug.GaussianNoise(0.01, 0.05, clip=False), gpuaug.RandomChannelShift((-0.1, 0.2), per_channel=False),
])
def test_new_layers_config_round_trip(layer):
    again = gpuaug.from_config(layer.to_config(), generator=torch.Generator().manual_seed(0))
    assert repr(again) == repr(layer) and type(again) is type(layer)


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="sigma"):
        gpuaug.GaussianBlur(5, sigma=(0.0, 1.0))
    with pytest.raises(ValueError, match="kernel_size"):
        gpuaug.GaussianBlur(6)
    with pytest.raises(ValueError, match="interpolation"):
        gpuaug.Resize(10, interpolation="bicubic")
    with pytest.raises(ValueError, match="max_size"):
        gpuaug.Resize((10, 12), max_size=20)
    with pytest.raises(ValueError, match="sigma"):
        gpuaug.GaussianNoise(sigma=-1.0)


def test_build_hook_eval_gives_the_training_size():
    """timm's eval transform: resize the shorter side to floor(size / 0.875), center crop to size."""
    hook = gpuaug.build_hook("rand-m9-n2", size=32, num_classes=10, mix=False)
    x = photo_batch(4, (48, 60))
    y = torch.tensor([1, 2, 3, 4])
    train, _ = hook(x, y)
    hook.eval()
    val, labels = hook(x, y)
    assert train.shape == val.shape == (4, 3, 32, 32)
    ref = F.center_crop(F.resize(x, 36), 32).float() / 255
    mean = torch.tensor(gpuaug.loader.IMAGENET_MEAN)[:, None, None]
    std = torch.tensor(gpuaug.loader.IMAGENET_STD)[:, None, None]
    torch.testing.assert_close(val, (ref - mean) / std, atol=1e-5, rtol=0)
    assert labels.shape == (4, 10)
    assert gpuaug.build_hook(size=32, crop_pct=None).eval_transform is None
