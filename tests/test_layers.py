"""Random layers: gating frequency, identity where not applied, replay, eval, targets, fusion, CutMix/MixUp.

Oracles: closed forms (flips, crops, 90-degree turns, pasted areas), PIL for the pixel ops, sequential
application for the fused Compose, binomial bounds for frequencies.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import max_abs_diff, photo_batch, pil_map, tv_inverse_affine
from PIL import Image, ImageEnhance, ImageOps

import gpuaug.backend as backend
from gpuaug.layers import (
    ColorJitter,
    Compose,
    CutMix,
    MixUp,
    MixUpCutMix,
    Normalize,
    RandomAffine,
    RandomApply,
    RandomAutocontrast,
    RandomBrightness,
    RandomChoice,
    RandomContrast,
    RandomCrop,
    RandomEqualize,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomHue,
    RandomInvert,
    RandomPosterize,
    RandomResizedCrop,
    RandomRotation,
    RandomSaturation,
    RandomSharpness,
    RandomSolarize,
    RandomVerticalFlip,
)
from gpuaug.layers.base import Sampler

H, W = 24, 32


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def batch():
    return photo_batch(4, (H, W))


def all_layers(p, g=None):
    """One instance of every random image layer with probability p."""
    kw = {"p": p, "generator": g}
    return [
        RandomAffine(
            20, translate=(0.1, 0.2), scale=(0.8, 1.2), shear=(-10, 10, -5, 5), interpolation="bilinear", **kw
        ),
        RandomRotation(30, **kw),
        RandomHorizontalFlip(**kw),
        RandomVerticalFlip(**kw),
        RandomCrop((H, W), padding=3, fill_mode="reflect", **kw),
        ColorJitter(0.4, 0.4, 0.4, 0.1, **kw),
        RandomBrightness(0.5, **kw),
        RandomContrast(0.5, **kw),
        RandomSaturation(0.5, **kw),
        RandomHue(0.2, **kw),
        RandomGrayscale(**kw),
        RandomSharpness(3.0, **kw),
        RandomPosterize(3, **kw),
        RandomSolarize(100, **kw),
        RandomEqualize(**kw),
        RandomAutocontrast(**kw),
        RandomInvert(**kw),
        RandomErasing(scale=(0.1, 0.3), count=(1, 3), **kw),
        RandomErasing(value="random", **kw),
    ]


# ------------------------------------------------------------------------------------------ gating / p


def test_frequency_matches_p():
    """p per sample: the count of applied samples is binomial(n, p); 6 sigma cannot flake at a fixed seed."""
    n, p = 20000, 0.3
    x = torch.zeros(n, 1, 2, 2, dtype=torch.uint8)
    layer = RandomInvert(p=p, generator=gen(1))
    y, params = layer(x, return_params=True)
    applied = y[:, 0, 0, 0] == 255
    assert torch.equal(applied, params["apply"])  # the image follows the gate, sample by sample
    k = int(applied.sum())
    assert abs(k - n * p) < 6 * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("layer", all_layers(0.5, gen(3)), ids=lambda l: type(l).__name__)
def test_not_selected_is_identity(layer, batch):
    """Samples whose gate is off come out unchanged (identity parameters), the others change."""
    x = batch.repeat(4, 1, 1, 1)
    y, params = layer(x, return_params=True)
    off = ~params["apply"]
    assert off.any() and params["apply"].any()
    assert torch.equal(y[off], x[off])
    changed = (y != x).flatten(1).any(1)
    assert changed[params["apply"]].float().mean() > 0.5


@pytest.mark.parametrize("layer", all_layers(1.0), ids=lambda l: type(l).__name__)
def test_shapes_dtypes_formats(layer, batch):
    for x in (batch, batch.float() / 255):
        if isinstance(layer, RandomSolarize) and x.dtype != torch.uint8:
            continue  # threshold 100 is out of the float range: tested in test_bad_arguments
        y = layer(x)
        assert y.shape == x.shape and y.dtype == x.dtype
    cl = batch.contiguous(memory_format=torch.channels_last)
    y = layer(cl)
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert layer(batch[0]).shape == batch[0].shape
    assert layer(batch[:0]).shape == batch[:0].shape


def test_same_on_batch(batch):
    layer = RandomAffine(30, translate=(0.2, 0.2), p=0.5, same_on_batch=True, generator=gen(2))
    x = batch[:1].repeat(6, 1, 1, 1)
    for _ in range(4):
        y, params = layer(x, return_params=True)
        assert (params["angle"] == params["angle"][0]).all()
        assert (params["apply"] == params["apply"][0]).all()
        assert (y == y[:1]).all()


# ------------------------------------------------------------------------------------- replay and eval


@pytest.mark.parametrize(
    "layer_fn",
    [lambda g, i=i: all_layers(0.7, g)[i] for i in range(19)]
    + [
        lambda g: RandomAffine(
            25, translate=(0.1, 0.1), scale=(0.7, 1.3), interpolation="bilinear", generator=g
        ),
        lambda g: ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.7, generator=g),
        lambda g: RandomErasing(p=0.7, value="random", count=(1, 2), generator=g),
        lambda g: RandomResizedCrop((20, 16), generator=g),
    ],
)
def test_seed_replay_bitwise(layer_fn, batch):
    a, b = layer_fn(gen(7)), layer_fn(gen(7))
    ya, yb = a(batch), b(batch)
    assert torch.equal(ya, yb)
    # read back and replay on the same tensor and on a copy
    assert torch.equal(a.apply(batch, a.last_params), ya)
    assert torch.equal(a.apply(batch.clone(), a.last_params), ya)


def test_eval_is_identity(batch):
    for layer in all_layers(1.0):
        layer.eval()
        assert torch.equal(layer(batch), batch)
    norm = Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3]).eval()
    expect = (batch.float() / 255 - torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1)) / torch.tensor(
        [0.2, 0.25, 0.3]
    ).view(1, 3, 1, 1)
    torch.testing.assert_close(norm(batch), expect)
    pipe = Compose([RandomHorizontalFlip(p=1.0), RandomInvert(p=1.0), Normalize(0.5, 0.25)]).eval()
    torch.testing.assert_close(pipe(batch), (batch.float() / 255 - 0.5) / 0.25)


def test_generator_device_must_match():
    with pytest.raises(ValueError, match="generator"):
        Sampler(torch.Generator(), 4, torch.device("cuda"))


# ------------------------------------------------------------------------------- pixel ops vs PIL


def test_brightness_contrast_posterize_vs_pil(batch):
    """The per-sample factors read back from the layer reproduce PIL's result image by image."""
    for layer, pil in [
        (RandomBrightness(0.6, generator=gen(4)), lambda im, f: ImageEnhance.Brightness(im).enhance(f)),
        (RandomContrast(0.6, generator=gen(5)), lambda im, f: ImageEnhance.Contrast(im).enhance(f)),
        (RandomSaturation(0.6, generator=gen(6)), lambda im, f: ImageEnhance.Color(im).enhance(f)),
        (
            RandomSharpness((0.0, 3.0), p=1.0, generator=gen(7)),
            lambda im, f: ImageEnhance.Sharpness(im).enhance(f),
        ),
    ]:
        y, params = layer(batch, return_params=True)
        for i in range(batch.shape[0]):
            f = float(params["factor"][i])
            expect = pil_map(lambda im, f=f, pil=pil: pil(im, f), batch[i : i + 1])
            assert max_abs_diff(y[i : i + 1], expect) <= 2, type(layer).__name__


def test_pointwise_layers_vs_pil(batch):
    y = RandomPosterize(3, p=1.0)(batch)
    assert torch.equal(y, pil_map(lambda im: ImageOps.posterize(im, 3), batch))
    y = RandomSolarize(100, p=1.0)(batch)
    assert torch.equal(y, pil_map(lambda im: ImageOps.solarize(im, 100), batch))
    y = RandomEqualize(p=1.0)(batch)
    assert torch.equal(y, pil_map(ImageOps.equalize, batch))
    y = RandomAutocontrast(p=1.0)(batch)
    assert max_abs_diff(y, pil_map(ImageOps.autocontrast, batch)) <= 1
    y = RandomGrayscale(p=1.0)(batch)
    gray = pil_map(lambda im: im.convert("L").convert("RGB"), batch)
    assert max_abs_diff(y, gray) <= 1


def test_erasing_boxes(batch):
    layer = RandomErasing(p=1.0, scale=(0.05, 0.2), count=(1, 3), value=(10, 20, 30), generator=gen(8))
    y, params = layer(batch, return_params=True)
    area = float(H * W)
    for i in range(batch.shape[0]):
        inside = torch.zeros(H, W, dtype=torch.bool)
        n = 0
        for x0, y0, x1, y1 in params["boxes"][i].long().tolist():
            if x1 > x0:
                n += 1
                assert 0.02 * area <= (x1 - x0) * (y1 - y0) <= 0.25 * area
                inside[y0:y1, x0:x1] = True
        assert 1 <= n <= 3
        expect = batch[i].clone()
        expect[:, inside] = torch.tensor([10, 20, 30], dtype=torch.uint8)[:, None]
        assert torch.equal(y[i], expect)


# ------------------------------------------------------------------------------------------- geometry


def test_hflip_vflip_closed_form(batch):
    y = RandomHorizontalFlip(p=1.0)(batch)
    assert torch.equal(y, batch.flip(-1))
    y = RandomVerticalFlip(p=1.0)(batch)
    assert torch.equal(y, batch.flip(-2))


@pytest.mark.parametrize("center", [None, (10.0, 7.0)])
def test_random_affine_is_torchvision_affine(batch, center):
    """Each sample's draw, replayed through torchvision's published inverse matrix on PIL (its
    F.affine PIL path, nearest, fill 0): same image up to nearest ties."""
    layer = RandomAffine((-40, 40), translate=(0.1, 0.2), scale=(0.7, 1.3), shear=(-20, 20, -15, 15),
                         center=center, generator=gen(40))
    y, params = layer(batch, return_params=True)
    c = (W * 0.5, H * 0.5) if center is None else center
    for i in range(batch.shape[0]):
        inv = tv_inverse_affine(c, float(params["angle"][i]), params["translate"][i].tolist(),
                          float(params["scale"][i]), params["shear"][i].tolist())
        ref = pil_map(lambda im, inv=inv: im.transform((W, H), Image.AFFINE, inv, Image.NEAREST),
                      batch[i : i + 1])[0]
        assert (y[i] != ref).any(0).float().mean() < 0.01, i
        # the test can tell the rotation direction and the shear sign
        inv = tv_inverse_affine(c, -float(params["angle"][i]), params["translate"][i].tolist(),
                          float(params["scale"][i]), (-params["shear"][i]).tolist())
        wrong = pil_map(lambda im, inv=inv: im.transform((W, H), Image.AFFINE, inv, Image.NEAREST),
                        batch[i : i + 1])[0]
        assert (y[i] != wrong).any(0).float().mean() > 0.2, i


def test_geometric_layers_share_the_functional_path(batch):
    """The layers' draws through gpuaug.functional give bitwise the same images (one builder, one warp)."""
    import gpuaug.functional as F

    layer = RandomAffine(30, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=(-10, 10, -5, 5),
                         center=(12.0, 9.0), interpolation="bilinear", generator=gen(41))
    y, p = layer(batch, return_params=True)
    ref = F.affine(batch, -p["angle"], p["translate"], p["scale"], p["shear"], (11.5, 8.5),
                   interpolation="bilinear")
    assert torch.equal(y, ref)
    y, p = RandomRotation(40, generator=gen(42))(batch, return_params=True)
    assert torch.equal(y, F.rotate(batch, p["angle"], interpolation="nearest"))


def test_random_rotation_is_pil_rotate(batch):
    """RandomRotation: PIL Image.rotate (counter-clockwise) about torchvision's centre (pixel corners)."""
    for center in (None, (9.0, 15.0)):
        layer = RandomRotation((25, 25), center=center)
        y = layer(batch)
        ref = pil_map(lambda im, center=center: im.rotate(25, Image.NEAREST, center=center), batch)
        assert (y != ref).any(1).float().mean() < 0.01


def test_crop_matches_slicing(batch):
    layer = RandomCrop((15, 20), padding=(2, 3), generator=gen(9))
    y, params = layer(batch, return_params=True)
    padded = torch.nn.functional.pad(batch, (2, 2, 3, 3))
    for i, (ox, oy) in enumerate(params["offset"].long().tolist()):
        assert torch.equal(y[i], padded[i, :, oy : oy + 15, ox : ox + 20])
    # fill_mode "mirror" = torchvision's padding_mode "reflect" = numpy "reflect"
    layer = RandomCrop((H + 4, W + 4), padding=2, fill_mode="mirror")
    y = layer(batch)
    expect = np.pad(batch.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)), mode="reflect")
    assert torch.equal(y, torch.from_numpy(expect))


def test_resized_crop_box_statistics():
    layer = RandomResizedCrop((8, 8), scale=(0.2, 0.6), ratio=(0.5, 2.0), generator=gen(10))
    params = layer.sample((500, 3, 40, 60))
    x0, y0, w, h = params["box"].unbind(-1)
    assert ((w * h) >= 0.2 * 2400 * 0.9).all() and ((w * h) <= 0.6 * 2400 * 1.1).all()
    assert ((w / h) >= 0.5 * 0.8).all() and ((w / h) <= 2.0 * 1.25).all()
    assert (x0 >= 0).all() and (y0 >= 0).all() and (x0 + w <= 60).all() and (y0 + h <= 40).all()


def test_resized_crop_integer_scale_is_subsampling():
    """A box of 2x the output size at a whole offset, bilinear: output pixel (i, j) blends source pixels
    2i..2i+1 (centres map to half-pixels), so it equals the 2x2 average — the resize oracle."""
    x = torch.arange(16 * 20, dtype=torch.float32).view(1, 1, 16, 20) / 400.0
    layer = RandomResizedCrop((4, 5))
    params = {"apply": torch.tensor([True]), "box": torch.tensor([[4.0, 2.0, 10.0, 8.0]])}
    y = layer.apply(x, params)
    expect = torch.nn.functional.avg_pool2d(x[:, :, 2:10, 4:14], 2)
    torch.testing.assert_close(y, expect)


def test_keypoint_follows_bright_pixel():
    b = 8
    x = torch.zeros(b, 1, H, W)
    kp = torch.stack([torch.randint(8, W - 8, (b,)), torch.randint(8, H - 8, (b,))], -1).float()
    x[torch.arange(b), 0, kp[:, 1].long(), kp[:, 0].long()] = 1.0
    layer = RandomAffine(
        40, translate=(0.1, 0.1), scale=(0.9, 1.1), interpolation="bilinear", generator=gen(11)
    )
    y, kp2 = layer(x, keypoints=kp[:, None])
    flat = y[:, 0].flatten(1).argmax(1)
    found = torch.stack([flat % W, flat // W], -1).float()
    assert (found - kp2[:, 0]).abs().max() <= 1.0


def test_masks_follow_image():
    """Nearest warp of an image whose channel holds the mask ids == the warped mask, any dtype."""
    b = 4
    ids = torch.randint(0, 6, (b, H, W))
    layer = RandomAffine(
        30, translate=(0.2, 0.1), scale=(0.8, 1.2), shear=8, interpolation="nearest", generator=gen(12)
    )
    img = ids[:, None].to(torch.uint8)
    y, m = layer(img, masks=ids)
    assert m.dtype == ids.dtype and m.shape == ids.shape
    assert torch.equal(y[:, 0].long(), m)
    # mask_fill marks the outside
    layer = RandomRotation((45, 45), mask_fill=255)
    _, m = layer(img, masks=ids)
    assert m[:, 0, 0].eq(255).all()


def test_boxes_hflip_closed_form():
    boxes = torch.tensor([[[2.0, 3.0, 10.0, 12.0], [0.0, 0.0, 32.0, 24.0]]]).repeat(2, 1, 1)
    img = torch.zeros(2, 3, H, W, dtype=torch.uint8)
    _, out = RandomHorizontalFlip(p=1.0)(img, boxes=boxes)
    expect = torch.stack([W - boxes[..., 2], boxes[..., 1], W - boxes[..., 0], boxes[..., 3]], -1)
    torch.testing.assert_close(out, expect)


def test_boxes_follow_filled_rectangle():
    """90-degree turn (pixel centres map to pixel centres): the moved box is the bounding box of the moved
    filled rectangle, clipped."""
    b = 3
    boxes = torch.tensor([[[3, 2, 12, 9]], [[20, 5, 31, 20]], [[0, 0, 8, 24]]]).float()
    img = torch.zeros(b, 1, H, W, dtype=torch.uint8)
    for i in range(b):
        x0, y0, x1, y1 = boxes[i, 0].long().tolist()
        img[i, 0, y0:y1, x0:x1] = 255
    y, out, kp = RandomRotation((90, 90))(img, boxes=boxes, keypoints=boxes[:, :, :2])
    for i in range(b):
        ys, xs = torch.nonzero(y[i, 0], as_tuple=True)
        expect = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float()
        torch.testing.assert_close(out[i, 0], expect)


def test_resized_crop_targets():
    """The whole-image box becomes the whole output; masks take the output size; a centre keypoint of a
    full-image 'crop' stays at the centre."""
    img = torch.zeros(4, 3, H, W, dtype=torch.uint8)
    masks = torch.ones(4, H, W, dtype=torch.int64)
    boxes = torch.tensor([[[0.0, 0.0, W, H]]]).repeat(4, 1, 1)
    y, m, b = RandomResizedCrop((12, 10), scale=(0.2, 0.9), generator=gen(31))(img, masks=masks, boxes=boxes)
    assert y.shape == (4, 3, 12, 10) and m.shape == (4, 12, 10) and bool((m == 1).all())
    torch.testing.assert_close(b, torch.tensor([[[0.0, 0.0, 10.0, 12.0]]]).repeat(4, 1, 1))
    layer = RandomResizedCrop((H * 2, W * 2), p=0.0)  # not selected: the full image, resized
    kp = torch.tensor([[[(W - 1) / 2, (H - 1) / 2]]]).repeat(4, 1, 1)
    _, kp2 = layer(img, keypoints=kp)
    torch.testing.assert_close(kp2, torch.tensor([[[W - 0.5, H - 0.5]]]).repeat(4, 1, 1))


def test_gray_images_pass_color_layers(batch):
    gray = batch[:, :1].contiguous()
    for layer in (
        RandomSaturation(0.5),
        RandomHue(0.2),
        ColorJitter(0.0, 0.0, 0.5, 0.2),
        RandomGrayscale(1.0),
    ):
        assert torch.equal(layer(gray), gray)


def test_targets_tuple_order(batch):
    masks = torch.zeros(4, H, W, dtype=torch.uint8)
    boxes = torch.zeros(4, 1, 4)
    kps = torch.zeros(4, 2, 2)
    out = RandomAffine(10)(batch, masks=masks, boxes=boxes, keypoints=kps)
    assert [t.shape for t in out] == [batch.shape, masks.shape, boxes.shape, kps.shape]
    out = RandomAffine(10)(batch, keypoints=kps)
    assert len(out) == 2 and out[1].shape == kps.shape
    # pixel layers leave targets unchanged
    out = ColorJitter(0.5)(batch, boxes=boxes, keypoints=kps)
    assert out[1] is boxes and out[2] is kps


# ------------------------------------------------------------------------------------- Compose fusion


def count_calls(monkeypatch, name):
    calls = []
    real = backend.op

    def op(n, t):
        if n == name:
            calls.append(n)
        return real(n, t)

    monkeypatch.setattr(backend, "op", op)
    return calls


def test_compose_fuses_geometry_into_one_warp(monkeypatch, batch):
    layers = [
        RandomAffine(15, translate=(0.05, 0.05), interpolation="bilinear", generator=gen(13)),
        RandomHorizontalFlip(generator=gen(14)),
        RandomResizedCrop((18, 20), scale=(0.5, 1.0), generator=gen(15)),
        RandomRotation(10, interpolation="bilinear", generator=gen(16)),
    ]
    pipe = Compose(layers)  # the flip (nearest by default) is exact under bilinear: it joins the run
    calls = count_calls(monkeypatch, "warp")
    y, params = pipe(batch, return_params=True)
    assert calls == ["warp"] and y.shape == (4, 3, 18, 20)
    # sequential application of the same parameters: one interpolation each, so only close
    x = batch.float()
    for l, p in zip(layers, params["children"]):
        x = l.apply(x, p)
    inner = (slice(None), slice(None), slice(4, -4), slice(4, -4))
    diff = (y.float() - x)[inner].abs()
    assert diff.mean() < 6.0


def test_compose_splits_runs_on_different_settings(monkeypatch, batch):
    calls = count_calls(monkeypatch, "warp")
    rotations = [RandomRotation(10, interpolation="bilinear"), RandomRotation(10, interpolation="nearest")]
    Compose(rotations)(batch)
    assert len(calls) == 2
    calls.clear()
    Compose([RandomRotation(10, fill=0), RandomCrop(20, padding=2), RandomRotation(10, fill=7)])(batch)
    assert len(calls) == 2
    calls.clear()
    Compose([RandomHorizontalFlip(), RandomVerticalFlip(), RandomInvert(), RandomHorizontalFlip()])(batch)
    assert len(calls) == 2


def test_compose_exact_for_integer_geometry(batch):
    layers = [
        RandomHorizontalFlip(generator=gen(17)),
        RandomCrop((20, 28), padding=2, generator=gen(18)),
        RandomVerticalFlip(generator=gen(19)),
        RandomRotation((180, 180)),
    ]
    pipe = Compose(layers)
    y, params = pipe(batch, return_params=True)
    x = batch
    for l, p in zip(layers, params["children"]):
        x = l.apply(x, p)
    assert torch.equal(y, x)


def test_compose_fuses_pointwise_into_one_table(monkeypatch, batch):
    layers = [
        RandomBrightness(0.5, generator=gen(20)),
        RandomContrast(0.5, generator=gen(21)),
        RandomPosterize(5, p=0.5, generator=gen(22)),
        RandomEqualize(p=0.5, generator=gen(23)),
        RandomSolarize(200, p=0.5, generator=gen(24)),
    ]
    pipe = Compose(layers)
    calls = count_calls(monkeypatch, "apply_lut")
    y, params = pipe(batch, return_params=True)
    assert len(calls) == 1
    x = batch
    for l, p in zip(layers, params["children"]):
        x = l.apply(x, p)
    assert torch.equal(y, x)


def test_compose_targets_and_order(batch):
    pipe = Compose([RandomHorizontalFlip(p=1.0), RandomInvert(p=1.0), RandomVerticalFlip(p=1.0)])
    kp = torch.tensor([[[1.0, 2.0]]]).repeat(4, 1, 1)
    y, kp2 = pipe(batch, keypoints=kp)
    assert torch.equal(y, 255 - batch.flip(-1).flip(-2))
    torch.testing.assert_close(kp2[0, 0], torch.tensor([W - 2.0, H - 3.0]))


def test_random_apply_and_choice(batch):
    x = batch.repeat(50, 1, 1, 1)
    ra = RandomApply([RandomHorizontalFlip(p=1.0), RandomInvert(p=1.0)], p=0.5, generator=gen(25))
    y, params = ra(x, return_params=True)
    on = params["apply"]
    assert on.any() and (~on).any()
    assert torch.equal(y[on], 255 - x[on].flip(-1))
    assert torch.equal(y[~on], x[~on])
    rc = RandomChoice(
        [RandomHorizontalFlip(p=1.0), RandomInvert(p=1.0), RandomVerticalFlip(p=1.0)],
        p=[1, 2, 1],
        generator=gen(26),
    )
    y, params = rc(x, return_params=True)
    ch = params["choice"]
    assert set(ch.tolist()) == {0, 1, 2}
    assert torch.equal(y[ch == 0], x[ch == 0].flip(-1))
    assert torch.equal(y[ch == 1], 255 - x[ch == 1])
    assert torch.equal(y[ch == 2], x[ch == 2].flip(-2))
    n, k = x.shape[0], int((ch == 1).sum())
    assert abs(k - n / 2) < 6 * math.sqrt(n / 4)


# ---------------------------------------------------------------------------------------- CutMix / MixUp


def constant_batch(b=6, h=H, w=W):
    """Sample i is the constant i + 1, so the source of every pixel is visible."""
    return (torch.arange(b, dtype=torch.uint8) + 1).view(b, 1, 1, 1).expand(b, 3, h, w).contiguous()


def test_cutmix_label_weight_is_pasted_area():
    x = constant_batch(64)
    labels = torch.arange(64) % 10
    layer = CutMix(alpha=1.0, num_classes=10, generator=gen(27))
    y, soft = layer(x, labels)
    y2, soft2 = layer.apply(x, layer.last_params, labels)  # replay
    assert torch.equal(y2, y) and torch.equal(soft2, soft)
    partner = (torch.arange(64) + 1) % 64
    pasted = (y[:, 0] == x[partner, 0]).flatten(1).float().mean(1)
    own = soft[torch.arange(64), labels]
    other = soft[torch.arange(64), labels[partner]]
    same = labels == labels[partner]
    torch.testing.assert_close(own[~same], 1 - pasted[~same], rtol=0, atol=1e-6)
    torch.testing.assert_close(other[~same], pasted[~same], rtol=0, atol=1e-6)
    torch.testing.assert_close(soft.sum(1), torch.ones(64))
    assert (pasted > 0).any() and (pasted < 1).all()
    # boxes are clipped at the border: some box touches an edge and still matches
    box = layer.last_params["box"]
    assert ((box[:, 0] == 0) | (box[:, 2] == W) | (box[:, 1] == 0) | (box[:, 3] == H)).any()


def test_mixup_blend_and_labels():
    x = constant_batch(6).float() / 10
    soft_in = torch.nn.functional.one_hot(torch.arange(6) % 3, 3).float()
    layer = MixUp(alpha=0.4, partner="flip", generator=gen(28))
    y, soft = layer(x, soft_in)
    lam = layer.last_params["lam"]
    partner = 5 - torch.arange(6)
    torch.testing.assert_close(y, lam.view(-1, 1, 1, 1) * x + (1 - lam.view(-1, 1, 1, 1)) * x[partner])
    torch.testing.assert_close(soft, lam[:, None] * soft_in + (1 - lam[:, None]) * soft_in[partner])


def test_beta_sampler_moments():
    s = Sampler(gen(29), 20000, torch.device("cpu"))
    for a in (0.2, 1.0, 3.0):
        v = s.beta(a)
        assert (v >= 0).all() and (v <= 1).all()
        var = 1 / (4 * (2 * a + 1))
        assert abs(float(v.mean()) - 0.5) < 6 * math.sqrt(var / 20000)
        assert abs(float(v.var()) - var) < 0.1 * var


def test_mixup_cutmix_switch_smoothing():
    x = constant_batch(400, 8, 8)
    labels = torch.arange(400) % 5
    layer = MixUpCutMix(
        mixup_alpha=1.0,
        cutmix_alpha=1.0,
        switch_prob=0.25,
        label_smoothing=0.1,
        num_classes=5,
        partner="roll",
        generator=gen(30),
    )
    y, soft = layer(x, labels)
    cut = layer.last_params["cutmix"]
    n, k = 400, int(cut.sum())
    assert abs(k - n * 0.25) < 6 * math.sqrt(n * 0.25 * 0.75)
    torch.testing.assert_close(soft.sum(1), torch.ones(400))
    # CutMix samples hold only pixels of themselves and their partner; MixUp samples are uniform blends
    partner = (torch.arange(400) + 1) % 400
    own_or_partner = (y[:, 0] == x[:, 0]) | (y[:, 0] == x[partner, 0])
    assert own_or_partner[cut].all()
    off = 0.1 / 5
    w_own = soft[torch.arange(400), labels]
    assert (w_own <= 1 - 0.1 + off + 1e-6).all()


def test_mix_eval_gives_one_hot():
    layer = CutMix(num_classes=4).eval()
    x = constant_batch(4)
    y, soft = layer(x, torch.tensor([0, 1, 2, 3]))
    assert torch.equal(y, x) and torch.equal(soft, torch.eye(4))


def test_compose_with_cutmix_returns_labels(batch):
    pipe = Compose([RandomHorizontalFlip(), CutMix(num_classes=3), Normalize(0.5, 0.2)])
    y, soft = pipe(batch, labels=torch.tensor([0, 1, 2, 0]))
    assert y.dtype == torch.float32 and soft.shape == (4, 3)
    with pytest.raises(ValueError, match="labels"):
        pipe(batch)


# -------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "make, exc, name",
    [
        (lambda: RandomAffine("a"), TypeError, "degrees"),
        (lambda: RandomAffine(10, translate=(1.5, 0)), ValueError, "translate"),
        (lambda: RandomAffine(10, scale=(-1, 2)), ValueError, "scale"),
        (lambda: RandomRotation(-5), ValueError, "degrees"),
        (lambda: RandomRotation(10, interpolation="cubic"), ValueError, "interpolation"),
        (lambda: RandomRotation(10, fill_mode="bogus"), ValueError, "fill_mode"),
        (lambda: RandomRotation(10, fill=(1, 2)), ValueError, "fill"),
        (lambda: RandomHorizontalFlip(p=1.5), ValueError, "p"),
        (lambda: RandomHorizontalFlip(p="x"), TypeError, "p"),
        (lambda: RandomHorizontalFlip(generator=3), TypeError, "generator"),
        (lambda: RandomHorizontalFlip(same_on_batch=1), TypeError, "same_on_batch"),
        (lambda: RandomResizedCrop(0), ValueError, "size"),
        (lambda: RandomResizedCrop(8, scale=(0.5, 0.1)), ValueError, "scale"),
        (lambda: RandomCrop(8, padding=-1), ValueError, "padding"),
        (lambda: ColorJitter(brightness=-1), ValueError, "brightness"),
        (lambda: ColorJitter(hue=0.7), ValueError, "hue"),
        (lambda: RandomPosterize(9), ValueError, "bits"),
        (lambda: RandomSolarize(300), ValueError, "threshold"),
        (lambda: RandomErasing(value="noise"), ValueError, "value"),
        (lambda: RandomErasing(count=0), ValueError, "count"),
        (lambda: CutMix(alpha=0), ValueError, "alpha"),
        (lambda: MixUp(partner="next"), ValueError, "partner"),
        (lambda: Normalize([0.5], [0.0]), ValueError, "std"),
        (lambda: Compose([torch.nn.Identity()]), TypeError, "transforms"),
        (lambda: RandomChoice([RandomInvert()], p=[1, 2]), ValueError, "p"),
    ],
)
def test_bad_arguments(make, exc, name):
    with pytest.raises(exc, match=name):
        make()


def test_bad_runtime_inputs(batch):
    if backend.host_path(batch):  # (drawn tensors are not read off the host path: no host sync)
        with pytest.raises(ValueError, match="threshold"):
            RandomSolarize(100, p=1.0)(batch.float() / 255)  # threshold outside the float range [0, 1]
    with pytest.raises(ValueError, match="num_classes"):
        CutMix()(batch, torch.tensor([0, 1, 2, 3]))
    with pytest.raises(TypeError, match="img"):
        RandomInvert()(batch.numpy())
    with pytest.raises(ValueError, match="larger"):
        RandomCrop(64)(batch)
    with pytest.raises(ValueError, match="same output size"):
        RandomChoice([RandomCrop(8), RandomCrop(9)])(batch)


def test_layers_move_and_cast_like_any_module():
    """nn.Module.to/.half/.cpu walk children through Module._apply: a layer must not shadow it."""
    import gpuaug

    pipe = torch.nn.Sequential(
        gpuaug.RandAugment(2, 9),
        gpuaug.Compose([gpuaug.RandomHorizontalFlip(), gpuaug.ColorJitter(0.4, 0.4)]),
        gpuaug.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]),
    )
    assert pipe.to(torch.float32).cpu().half() is pipe
    x = torch.randint(0, 256, (2, 3, 16, 20), dtype=torch.uint8)
    assert pipe(x).shape == x.shape
