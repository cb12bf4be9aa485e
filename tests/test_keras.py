"""KerasAugment (docs/contract.md "KerasAugment") against Keras' own definitions.

Oracles: Keras' ``apply_affine_transform`` / ``transform_matrix_offset_center`` / ``flip_axis`` /
``apply_channel_shift`` (keras_preprocessing.image.affine_transformations, copied below with the one
documented difference: the image centre) run through ``scipy.ndimage.affine_transform`` channel by channel,
with our fill modes' scipy names; Keras' documented ranges for the draws (``ImageDataGenerator`` docstring
and ``get_random_transform``); PIL ``ImageEnhance.Brightness`` for the brightness factor.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from helpers import photo_batch, pil_map

import gpuaug
import gpuaug.functional as F

SCIPY = {"nearest": "nearest", "reflect": "reflect", "wrap": "grid-wrap", "constant": "grid-constant"}


def keras_affine(x, theta, tx, ty, shear, zx, zy, fill_mode, cval, order=1):
    """Keras' apply_affine_transform on a (C, H, W) float64 array (row_axis 1, col_axis 2), centre
    ((H - 1) / 2, (W - 1) / 2) instead of Keras' (H / 2 + 0.5, W / 2 + 0.5) (see KerasAugment's docstring)."""
    m = np.eye(3)
    t = np.deg2rad(theta)
    m = m @ np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    m = m @ np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    s = np.deg2rad(shear)
    m = m @ np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
    m = m @ np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    h, w = x.shape[1:]
    o_x, o_y = (h - 1) / 2, (w - 1) / 2
    m = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]]) @ m @ np.array([[1, 0, -o_x], [0, 1, -o_y],
                                                                        [0, 0, 1]])
    mode = SCIPY[fill_mode]
    return np.stack([ndi.affine_transform(c, m[:2, :2], m[:2, 2], order=order, mode=mode, cval=cval)
                     for c in x])


def keras_apply(x, p, fill_mode, cval, order=1):
    """ImageDataGenerator.apply_transform: affine, channel shift, flips, brightness (no brightness here)."""
    out = keras_affine(x, p["theta"], p["tx"], p["ty"], p["shear"], p["zx"], p["zy"], fill_mode, cval, order)
    if p.get("channel_shift") is not None:  # apply_channel_shift
        lo, hi = np.min(out), np.max(out)
        out = np.stack([np.clip(c + p["channel_shift"], lo, hi) for c in out])
    if p["flip_h"]:
        out = out[:, :, ::-1]
    if p["flip_v"]:
        out = out[:, ::-1, :]
    return out


def drawn(params, b):
    p = {k: float(params[k][b]) for k in ("theta", "tx", "ty", "shear")}
    p["zx"], p["zy"] = (float(v) for v in params["zoom"][b])
    p["flip_h"], p["flip_v"] = (bool(v) for v in params["flip"][b])
    if "channel_shift" in params:
        p["channel_shift"] = float(params["channel_shift"][b])
    return p


@pytest.mark.parametrize("fill_mode", ["nearest", "reflect", "wrap", "constant"])
def test_geometry_is_keras_apply_transform(fill_mode):
    x = photo_batch(4, (21, 27)).float() / 255
    layer = gpuaug.KerasAugment(rotation_range=40, width_shift_range=0.2, height_shift_range=4,
                                shear_range=20, zoom_range=(0.7, 1.3), horizontal_flip=True,
                                vertical_flip=True, fill_mode=fill_mode, cval=51.0,
                                generator=torch.Generator().manual_seed(5))
    out, params = layer(x, return_params=True)
    for b in range(4):
        ref = keras_apply(x[b].double().numpy(), drawn(params, b), fill_mode, 51.0 / 255)  # cval in levels
        assert np.abs(out[b].double().numpy() - ref).max() < 1e-4, drawn(params, b)


def test_uint8_channel_shift_and_nearest_order():
    x = photo_batch(3, (21, 27))
    layer = gpuaug.KerasAugment(rotation_range=15, zoom_range=0.1, channel_shift_range=60,
                                fill_mode="reflect", interpolation_order=0,
                                generator=torch.Generator().manual_seed(1))
    out, params = layer(x, return_params=True)
    for b in range(3):
        p = drawn(params, b)
        ref = keras_apply(x[b].double().numpy(), p, "reflect", 0.0, order=0)
        # nearest: the same source pixel but where scipy and we land on either side of a rounding tie
        d = np.abs(out[b].double().numpy() - np.round(ref))
        assert (d > 1).mean() < 0.01 and p["channel_shift"] != 0


def test_brightness_is_pils_enhance():
    x = photo_batch(3, (21, 27))
    layer = gpuaug.KerasAugment(brightness_range=[0.5, 1.5], generator=torch.Generator().manual_seed(2))
    out, params = layer(x, return_params=True)
    from PIL import ImageEnhance

    for b in range(3):
        f = float(params["brightness"][b])
        ref = pil_map(lambda im, f=f: ImageEnhance.Brightness(im).enhance(f), x[b:b + 1])
        assert (out[b:b + 1].int() - ref.int()).abs().max() <= 1


def test_draws_follow_keras_documented_ranges():
    """ImageDataGenerator: rotation uniform in +-r degrees; shift: float < 1 a fraction of the size, float
    >= 1 pixels, int n integer pixels in (-n, n), list its values with a random sign; zoom z -> [1-z, 1+z],
    one draw per axis; flips with probability 1/2; channel shift in +-r; brightness in [lo, hi]."""
    n, h, w = 4000, 10, 20
    layer = gpuaug.KerasAugment(rotation_range=30, width_shift_range=0.2, height_shift_range=3,
                                shear_range=10, zoom_range=0.25, channel_shift_range=20, horizontal_flip=True,
                                brightness_range=(0.6, 1.1), generator=torch.Generator().manual_seed(0))
    p = layer.sample((n, 3, h, w), "cpu")
    assert -30 <= p["theta"].min() < -29 and 29 < p["theta"].max() <= 30
    assert -0.2 * w <= p["ty"].min() < -0.19 * w and 0.19 * w < p["ty"].max() <= 0.2 * w
    assert set(p["tx"].unique().tolist()) == {-2.0, -1.0, 0.0, 1.0, 2.0}  # int 3: 0..2 with a sign
    assert -10 <= p["shear"].min() < -9.9 and 9.9 < p["shear"].max() <= 10
    z = p["zoom"]
    assert 0.75 <= z.min() < 0.76 and 1.24 < z.max() <= 1.25
    assert abs(torch.corrcoef(z.T)[0, 1]) < 0.05  # zx and zy drawn independently
    assert abs(p["flip"][:, 0].float().mean() - 0.5) < 0.03 and not p["flip"][:, 1].any()
    assert -20 <= p["channel_shift"].min() < -19.9 and 19.9 < p["channel_shift"].max() <= 20
    assert 0.6 <= p["brightness"].min() < 0.61 and 1.09 < p["brightness"].max() <= 1.1
    q = gpuaug.KerasAugment(width_shift_range=5.0, height_shift_range=[0.1, 0.3],
                            generator=torch.Generator().manual_seed(1)).sample((n, 3, h, w), "cpu")
    assert -5 <= q["ty"].min() < -4.9 and 4.9 < q["ty"].max() <= 5 and q["ty"].frac().abs().max() > 0
    assert set(q["tx"].unique().tolist()) == {-3.0, -1.0, 1.0, 3.0}  # fractions (< 1) of H = 10


def test_targets_move_with_the_one_matrix():
    x = photo_batch(2, (21, 27))
    kps = torch.tensor([[[3.0, 4.0], [20.0, 11.0]]]).repeat(2, 1, 1)
    layer = gpuaug.KerasAugment(rotation_range=30, zoom_range=0.2, horizontal_flip=True,
                                generator=torch.Generator().manual_seed(4))
    out, moved, params = layer(x, keypoints=kps, return_params=True)
    m = layer.matrix(params, (21, 27))
    torch.testing.assert_close(moved, kps @ m[:, :2, :2].transpose(1, 2) + m[:, None, :2, 2])


def test_keras_argument_errors_and_config():
    with pytest.raises(ValueError, match="fill_mode"):
        gpuaug.KerasAugment(fill_mode="edge")  # Keras' names: nearest, not edge
    with pytest.raises(ValueError, match="zoom_range"):
        gpuaug.KerasAugment(zoom_range=(0.5, 1.0, 2.0))
    with pytest.raises(ValueError, match="brightness_range"):
        gpuaug.KerasAugment(brightness_range=0.5)
    with pytest.raises(ValueError, match="interpolation_order"):
        gpuaug.KerasAugment(interpolation_order=3)
    layer = gpuaug.KerasAugment(rotation_range=10, width_shift_range=[0.1, 0.2], height_shift_range=2,
                                zoom_range=[0.9, 1.2], fill_mode="wrap", brightness_range=(0.8, 1.2))
    assert repr(gpuaug.from_config(layer.to_config())) == repr(layer)
    x = photo_batch(2, (21, 27))
    assert torch.equal(gpuaug.KerasAugment(rotation_range=30, p=0.0)(x), x)
    assert torch.equal(F.hflip(x), gpuaug.KerasAugment(horizontal_flip=True, generator=torch.Generator()
                                                      .manual_seed(0)).apply(x, {
        "apply": torch.ones(2, dtype=torch.bool), "theta": torch.zeros(2), "tx": torch.zeros(2),
        "ty": torch.zeros(2), "shear": torch.zeros(2), "zoom": torch.ones(2, 2),
        "flip": torch.tensor([[True, False], [True, False]])}))
