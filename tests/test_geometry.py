"""Geometry (docs/contract.md "Geometry"): warp_affine and its wrappers against outside oracles.

Oracles: scipy.ndimage.affine_transform (every fill mode, order 0 / 1), PIL Image.rotate / transpose /
Image.transform with torchvision's published affine formula, torch.flip / torch.rot90, and
torch.nn.functional.interpolate on the cropped region. Images are real photos at small odd sizes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
import torch.nn.functional as TF
from helpers import cubic_warp_reference, max_abs_diff, photo_batch, to_pil, to_tensor, tv_inverse_affine
from PIL import Image

import gpuaug.functional as F
from gpuaug import backend

SCIPY_MODE = {"constant": "grid-constant", "edge": "nearest", "reflect": "reflect", "mirror": "mirror",
              "wrap": "grid-wrap"}
H, W = 23, 31


@pytest.fixture(autouse=True)
def _torch_backend():
    # these tests pin the host path (gpuaug._torch.warp); the Triton kernel is tested against it elsewhere
    with backend.backend("torch"):
        yield


def random_matrices(b: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    """Forward (b, 3, 3) float32 matrices with rotation, anisotropic scale, shear and translation that
    move content well past the border (so every fill mode shows)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(b):
        a = math.radians(rng.uniform(-40, 40))
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        lin = rot @ np.array([[rng.uniform(0.6, 1.5), rng.uniform(-0.4, 0.4)], [rng.uniform(-0.3, 0.3),
                                                                                   rng.uniform(0.6, 1.5)]])
        c = np.array([(w - 1) / 2, (h - 1) / 2])
        t = c - lin @ c + rng.uniform(-0.4, 0.4, 2) * [w, h]
        m = np.eye(3)
        m[:2, :2], m[:2, 2] = lin, t
        out.append(m)
    return torch.tensor(np.stack(out), dtype=torch.float32)


def scipy_warp(img: np.ndarray, forward: np.ndarray, size, order: int, mode: str, cval) -> np.ndarray:
    """(C, H, W) float64 image through the forward (3, 3) matrix with scipy (which maps output -> input
    in (row, col) order)."""
    inv = np.linalg.inv(forward.astype(np.float64))
    m_rc = np.array([[inv[1, 1], inv[1, 0]], [inv[0, 1], inv[0, 0]]])
    off = np.array([inv[1, 2], inv[0, 2]])
    return np.stack([
        ndi.affine_transform(img[c], m_rc, off, output_shape=size, order=order, mode=mode,
                             cval=float(cval[c]))
        for c in range(img.shape[0])
    ])


def near_tie(forward: np.ndarray, size, eps: float = 1e-3) -> np.ndarray:
    """(H_out, W_out) True where a source coordinate is within ``eps`` of a .5 tie (nearest may go either
    way there in float32; folding by every fill mode keeps the distance to the tie)."""
    inv = np.linalg.inv(forward.astype(np.float64))
    y, x = np.mgrid[: size[0], : size[1]].astype(np.float64)
    tie = np.zeros(size, bool)
    for r in range(2):
        s = inv[r, 0] * x + inv[r, 1] * y + inv[r, 2]
        tie |= np.abs(s - np.floor(s) - 0.5) < eps
    return tie


@pytest.fixture(scope="module")
def photos():
    return photo_batch(3, (H, W))


# ------------------------------------------------------------------------------- warp_affine vs scipy


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("fill_mode", list(SCIPY_MODE))
def test_bicubic_matches_reference(photos, fill_mode, dtype):
    """Bicubic: the cubic convolution with a = -1 (PIL's affine BICUBIC) over taps extended by the fill
    mode (numpy's padding of the same meaning); the result clipped to the value range."""
    size = (19, 37)
    m = random_matrices(3, H, W, seed=4)
    fill_u8 = torch.tensor([[10.0, 200.0, 77.0], [255.0, 0.0, 128.0], [3.0, 90.0, 250.0]])
    x = photos if dtype == torch.uint8 else photos.float() / 255
    fill = fill_u8 if dtype == torch.uint8 else fill_u8 / 255
    out = F.warp_affine(x, m[:, :2], size, "bicubic", fill_mode, fill)
    inv = _invert_np(m)
    mx = 255.0 if dtype == torch.uint8 else 1.0
    for b in range(3):
        ref = np.clip(cubic_warp_reference(x[b].double().numpy(), inv[b], size, fill_mode,
                                           fill[b].double().numpy()), 0, mx)
        got = out[b].double().numpy()
        if dtype == torch.uint8:
            assert np.abs(got - np.round(ref)).max() <= 1
            assert np.mean(got != np.round(ref)) < 0.01
        else:
            np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)


def test_bicubic_is_pils_inside():
    """Away from the borders, bicubic rotation is PIL's ``rotate(BICUBIC)`` up to rounding (PIL truncates)."""
    x = photo_batch(2, (41, 57))
    for angle in (7.0, -24.0):
        ours = F.rotate(x, angle, interpolation="bicubic", fill=128)
        ref = torch.stack([to_tensor(to_pil(im).rotate(angle, resample=Image.BICUBIC, fillcolor=(128,) * 3))
                           for im in x])
        inner = (ours.int() - ref.int())[..., 10:-10, 10:-10]
        assert int(inner.abs().max()) <= 1 and float(inner.float().mean()) > 0.3  # rounding vs truncation


def _invert_np(m: torch.Tensor) -> np.ndarray:
    out = []
    for a in m.double().numpy():
        full = np.eye(3)
        full[:2] = a[:2]
        out.append(np.linalg.inv(full)[:2])
    return np.stack(out)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("fill_mode", list(SCIPY_MODE))
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_warp_affine_matches_scipy(photos, interpolation, fill_mode, dtype, memory_format):
    size = (19, 37)  # not the input size
    m = random_matrices(3, H, W, seed=1)
    # per sample and channel
    fill_u8 = torch.tensor([[10.0, 200.0, 77.0], [255.0, 0.0, 128.0], [3.0, 90.0, 250.0]])
    x = photos if dtype == torch.uint8 else photos.float() / 255
    fill = fill_u8 if dtype == torch.uint8 else fill_u8 / 255
    x = x.contiguous(memory_format=memory_format)
    out = F.warp_affine(x, m[:, :2], size, interpolation, fill_mode, fill)
    assert out.shape == (3, 3, *size) and out.dtype == dtype
    assert out.is_contiguous(memory_format=memory_format)
    order = 0 if interpolation == "nearest" else 1
    for b in range(3):
        ref = scipy_warp(x[b].double().numpy(), m[b].double().numpy(), size, order, SCIPY_MODE[fill_mode],
                         fill[b].double().numpy())
        got = out[b].double().numpy()
        if interpolation == "nearest":
            ok = ~near_tie(m[b].double().numpy(), size)
            assert ok.mean() > 0.95
            np.testing.assert_array_equal(got[:, ok], ref[:, ok])
        elif dtype == torch.uint8:
            assert np.abs(got - np.round(ref)).max() <= 1
            assert np.mean(got != np.round(ref)) < 0.01  # only rounding ties of .5 may differ
        else:
            np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)


def integer_matrices(h: int, w: int, inside: bool) -> torch.Tensor:
    """Forward (4, 3, 3) maps that move whole pixels (flips, shifts): ``inside`` keeps every output column
    inside the source at the input size (the row-window path); otherwise they reach far outside."""
    if inside:
        rows = [[-1, 0, w - 1, 0, 1, 0], [1, 0, 0, 0, -1, h - 1], [-1, 0, w - 1, 0, -1, h + 4],
                [1, 0, 0, 0, 1, -3]]
    else:
        rows = [[-1, 0, w + 6, 0, 1, -2], [1, 0, -40, 0, -1, h - 1 + 30], [-1, 0, w - 9, 0, -1, h - 1],
                [1, 0, 3, 0, 1, -70]]
    m = torch.tensor(rows, dtype=torch.float32).view(4, 2, 3)
    return torch.cat((m, torch.tensor([[[0.0, 0, 1]]]).expand(4, 1, 3)), 1)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("fill_mode", list(SCIPY_MODE))
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_integer_maps_gather_path(monkeypatch, interpolation, fill_mode, dtype, memory_format):
    """Whole-pixel maps take the CPU gather path: equal to scipy and to the general (interpolating) path."""
    from gpuaug._torch import warp as warp_module

    x = photo_batch(4, (H, W))
    x = (x if dtype == torch.uint8 else x.float() / 255).contiguous(memory_format=memory_format)
    fill = torch.tensor([[10.0, 200.0, 77.0], [255.0, 0.0, 128.0], [3.0, 90.0, 250.0], [1.0, 2.0, 3.0]])
    fill = fill if dtype == torch.uint8 else fill / 255
    used = []
    real = warp_module._gather
    monkeypatch.setattr(warp_module, "_gather", lambda *a: used.append(1) or real(*a))
    for inside, size in ((True, (H, W)), (True, (H - 6, W - 9)), (False, (H, W)), (False, (19, 45))):
        m = integer_matrices(H, W, inside)
        used.clear()
        out = F.warp_affine(x, m, size, interpolation, fill_mode, fill)
        assert used == [1] and out.is_contiguous(memory_format=memory_format)
        for b in range(4):
            ref = scipy_warp(x[b].double().numpy(), m[b].double().numpy(), size, 0, SCIPY_MODE[fill_mode],
                             fill[b].double().numpy())
            np.testing.assert_array_equal(out[b].double().numpy(), ref.astype(np.float32))
        with monkeypatch.context() as mp:  # no map counts as integer: the general path
            mp.setattr(warp_module, "_integer_map", lambda inv, ho, wo: (torch.zeros(len(inv), dtype=bool),
                                                                         *[None] * 4))
            general = F.warp_affine(x, m, size, interpolation, fill_mode, fill)
        assert used == [1]
        if dtype == torch.uint8 or interpolation == "nearest":
            assert torch.equal(out, general)
        else:  # the general path's bilinear weights are 0 / 1 only up to float32 rounding
            torch.testing.assert_close(out, general, atol=1e-5, rtol=0)
    # a mixed batch: samples 1 and 2 interpolate, 0 and 3 gather; each sample as when warped alone
    m = torch.cat((integer_matrices(H, W, True)[:2], random_matrices(1, H, W, seed=3),
                   integer_matrices(H, W, False)[3:]))
    m[1, 0, 2] += 0.25
    used.clear()
    out = F.warp_affine(x, m, (21, 33), interpolation, fill_mode, fill)
    assert used == [1] and out.is_contiguous(memory_format=memory_format)
    for b in range(4):
        one = F.warp_affine(x[b : b + 1], m[b], (21, 33), interpolation, fill_mode, fill[b])
        assert torch.equal(out[b : b + 1], one)
    assert len(used) == 3  # samples 0 and 3 alone took the gather path too


@pytest.mark.parametrize("fill_mode", ["wrap", "reflect", "constant"])
def test_integer_maps_far_outside(fill_mode):
    # shifts of many image widths: the gather path declines (its padded buffer would be large) or folds
    x = photo_batch(2, (H, W))
    m = torch.eye(3).repeat(2, 1, 1)
    m[0, 0, 2], m[1, 1, 2], m[1, 0, 0], m[1, 0, 2] = -1000.0, 77.0, -1.0, 5 * W
    for size in ((H, W), (H, 3)):
        for interpolation in ("nearest", "bilinear"):
            out = F.warp_affine(x, m, size, interpolation, fill_mode, 9)
            for b in range(2):
                ref = scipy_warp(x[b].double().numpy(), m[b].double().numpy(), size, 0, SCIPY_MODE[fill_mode],
                                 [9.0] * 3)
                np.testing.assert_array_equal(out[b].double().numpy(), ref)


@pytest.mark.parametrize("fill_mode", list(SCIPY_MODE))
def test_warp_affine_gray_and_size_one(fill_mode):
    # C = 1 and degenerate 1-pixel axes, against scipy (bilinear, float)
    rng = np.random.default_rng(3)
    for h, w in [(1, 7), (5, 1), (1, 1), (4, 6)]:
        x = torch.tensor(rng.random((2, 1, h, w)), dtype=torch.float32)
        m = random_matrices(2, h, w, seed=h * 10 + w)
        out = F.warp_affine(x, m, (5, 6), "bilinear", fill_mode, 0.25)
        for b in range(2):
            ref = scipy_warp(x[b].double().numpy(), m[b].double().numpy(), (5, 6), 1, SCIPY_MODE[fill_mode],
                             [0.25])
            np.testing.assert_allclose(out[b].double().numpy(), ref, atol=1e-4, rtol=0)


def test_fill_forms_agree(photos):
    m = random_matrices(3, H, W, seed=2)
    per_channel = F.warp_affine(photos, m, fill=[10, 200, 77])
    as_tensor = F.warp_affine(photos, m, fill=torch.tensor([10.0, 200.0, 77.0]))
    as_bc = F.warp_affine(photos, m, fill=torch.tensor([[10.0, 200.0, 77.0]]).expand(3, 3))
    assert torch.equal(per_channel, as_tensor) and torch.equal(per_channel, as_bc)
    # far outside everything is exactly the per-channel fill
    away = torch.tensor([[1.0, 0, 1000], [0, 1, 1000]])
    out = F.warp_affine(photos, away, fill=[10, 200, 77])
    want = torch.tensor([10, 200, 77], dtype=torch.uint8)[None, :, None, None]
    assert torch.equal(out, want.expand_as(out))


def test_size_argument(photos):
    m = torch.eye(3)[:2]
    assert F.warp_affine(photos, m, 9).shape == (3, 3, 9, 9)
    out = F.warp_affine(photos, m, (H + 4, W + 2), interpolation="nearest")
    # identity: the input at the top-left, fill (0) beyond
    assert torch.equal(out[..., :H, :W], photos)
    assert out[..., H:, :].eq(0).all() and out[..., :, W:].eq(0).all()


# ---------------------------------------------------------------------------------- wrappers vs PIL


@pytest.mark.parametrize("angle", [30, -75, 140])
def test_rotate_direction_matches_pil(angle):
    x = photo_batch(2, (31, 41))
    ours = F.rotate(x, angle, interpolation="nearest")
    ref = torch.stack([to_tensor(to_pil(i).rotate(angle, resample=Image.NEAREST)) for i in x])
    inner = (slice(None), slice(None), slice(6, -6), slice(6, -6))
    diff = ours[inner] != ref[inner]
    assert diff.float().mean() < 0.002  # nearest ties only
    wrong = F.rotate(x, -angle, interpolation="nearest")
    assert (wrong[inner] != ref[inner]).float().mean() > 0.5  # the test can tell the direction


def test_rotate_bilinear_close_to_pil():
    x = photo_batch(2, (31, 41))
    ours = F.rotate(x, 30)
    ref = torch.stack([to_tensor(to_pil(i).rotate(30, resample=Image.BILINEAR)) for i in x])
    assert max_abs_diff(ours[..., 6:-6, 6:-6], ref[..., 6:-6, 6:-6]) <= 1  # PIL truncates


def test_rotate_90_is_rot90():
    x = photo_batch(2, (25, 25))
    for interpolation in ("nearest", "bilinear"):
        for k in (1, -1, 2):
            out = F.rotate(x, 90 * k, interpolation=interpolation)
            assert max_abs_diff(out, torch.rot90(x, k, dims=(-2, -1))) == 0


@pytest.mark.parametrize("params", [
    dict(angle=20.0, translate=(3.0, -2.0), scale=1.1, shear=(15.0, 0.0)),
    dict(angle=0.0, translate=(0.0, 0.0), scale=1.0, shear=(0.0, 20.0)),
    dict(angle=-35.0, translate=(1.0, 2.0), scale=0.9, shear=(10.0, -12.0)),
])
def test_affine_follows_torchvision_semantics(params):
    # torchvision's PIL path: Image.transform with its inverse matrix, centre (W/2, H/2) in pixel corners;
    # its F.affine angle turns clockwise, ours counter-clockwise.
    h, w = 31, 41
    x = photo_batch(2, (h, w))
    ours = F.affine(x, interpolation="nearest", **params)
    inv = tv_inverse_affine((w * 0.5, h * 0.5), -params["angle"], params["translate"], params["scale"],
                      params["shear"])
    ref = torch.stack([to_tensor(to_pil(i).transform((w, h), Image.AFFINE, inv, resample=Image.NEAREST))
                       for i in x])
    assert (ours[..., 5:-5, 5:-5] != ref[..., 5:-5, 5:-5]).float().mean() < 0.002


def test_shear_translate_scale_wrappers(photos):
    t = torch.tensor([[2.0, -3.0], [0.5, 1.0], [-4.0, 0.0]])
    assert torch.equal(F.translate(photos, t), F.affine(photos, translate=t))
    assert torch.equal(F.shear_x(photos, 12.0), F.affine(photos, shear=(12.0, 0.0)))
    assert torch.equal(F.shear_y(photos, 12.0), F.affine(photos, shear=(0.0, 12.0)))
    assert torch.equal(F.scale(photos, 1.3), F.affine(photos, scale=1.3))
    # integer translation with nearest is an exact shift (oracle: slicing)
    out = F.translate(photos, (3, -2), interpolation="nearest")
    assert torch.equal(out[..., : H - 2, 3:], photos[..., 2:, : W - 3])
    assert out[..., :, :3].eq(0).all() and out[..., H - 2 :, :].eq(0).all()
    # shear_x moves row y by -tan(angle) * (y - cy): the centre row stays
    sh = F.shear_x(photos, 30.0, interpolation="nearest")
    assert torch.equal(sh[..., (H - 1) // 2, :], photos[..., (H - 1) // 2, :])


def test_flips_exact():
    x = photo_batch(3, (H, W))
    assert torch.equal(F.hflip(x), torch.flip(x, dims=(-1,)))
    assert torch.equal(F.vflip(x), torch.flip(x, dims=(-2,)))
    assert torch.equal(F.hflip(x)[0], to_tensor(to_pil(x[0]).transpose(Image.FLIP_LEFT_RIGHT)))
    assert torch.equal(F.vflip(x)[1], to_tensor(to_pil(x[1]).transpose(Image.FLIP_TOP_BOTTOM)))
    # the matrices give the same through the warp, and compose by matmul (both flips = 180 degrees)
    hm, vm = F.hflip_matrix(3, W), F.vflip_matrix(3, H)
    for interpolation in ("nearest", "bilinear"):
        assert torch.equal(F.warp_affine(x, hm, interpolation=interpolation), F.hflip(x))
        both = F.warp_affine(x, vm @ hm, interpolation=interpolation)
        assert torch.equal(both, torch.flip(x, dims=(-2, -1)))
    cl = x.contiguous(memory_format=torch.channels_last)
    assert F.hflip(cl).is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(F.vflip(x[0]), torch.flip(x[0], dims=(-2,)))


# ---------------------------------------------------------------------------------------- resized_crop


def test_resized_crop_matches_interpolate():
    x = photo_batch(2, (H, W)).float()
    # shrink by exactly 2: every tap lies inside the box, so the whole output matches
    out = F.resized_crop(x, (3, 2, 27, 22), (10, 12))
    ref = TF.interpolate(x[..., 2:22, 3:27], size=(10, 12), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out, ref, atol=1e-3, rtol=0)
    # enlarge: F.interpolate on the crop clamps at the crop edge, we read the neighbours; interior equal
    out = F.resized_crop(x, (5, 4, 16, 13), (20, 25))
    ref = TF.interpolate(x[..., 4:13, 5:16], size=(20, 25), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out[..., 2:-2, 2:-2], ref[..., 2:-2, 2:-2], atol=1e-3, rtol=0)
    # nearest follows "nearest-exact" everywhere (no taps outside the box)
    out = F.resized_crop(x, (5, 4, 16, 13), (20, 25), interpolation="nearest")
    ref = TF.interpolate(x[..., 4:13, 5:16], size=(20, 25), mode="nearest-exact")
    assert torch.equal(out, ref)


def test_resized_crop_per_sample_boxes():
    x = photo_batch(3, (H, W))
    boxes = torch.tensor([[0.0, 0.0, 20.0, 14.0], [4.0, 3.0, 30.0, 23.0], [10.0, 5.0, 22.0, 17.0]])
    out = F.resized_crop(x, boxes, (11, 13))
    for b in range(3):
        assert torch.equal(out[b], F.resized_crop(x[b], tuple(boxes[b].tolist()), (11, 13)))


# ------------------------------------------------------------------------- per-sample and conventions


def test_per_sample_params_equal_per_image_calls(photos):
    angle = torch.tensor([10.0, -25.0, 40.0])
    translate = torch.tensor([[1.5, -2.0], [0.0, 3.0], [-4.0, 1.0]])
    scale = torch.tensor([0.8, 1.0, 1.25])
    shear = torch.tensor([[5.0, 0.0], [-10.0, 7.0], [0.0, -3.0]])
    center = torch.tensor([[10.0, 11.0], [15.0, 11.0], [3.0, 4.0]])
    out = F.affine(photos, angle, translate, scale, shear, center)
    for b in range(3):
        one = F.affine(photos[b], float(angle[b]), tuple(translate[b].tolist()), float(scale[b]),
                       tuple(shear[b].tolist()), tuple(center[b].tolist()))
        assert torch.equal(out[b], one)
    sh = F.shear_x(photos, angle)
    for b in range(3):
        assert torch.equal(sh[b], F.shear_x(photos[b : b + 1], float(angle[b]))[0])


def test_float_tracks_uint8(photos):
    m = random_matrices(3, H, W, seed=4)
    for interpolation in ("nearest", "bilinear"):
        u8 = F.warp_affine(photos, m, interpolation=interpolation, fill_mode="reflect")
        f = F.warp_affine(photos.float() / 255, m, interpolation=interpolation, fill_mode="reflect")
        assert (f * 255 - u8.float()).abs().max() <= 0.5 + 1e-3


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision(photos, dtype):
    m = random_matrices(3, H, W, seed=5)
    ref = F.warp_affine(photos.float() / 255, m)
    out = F.warp_affine((photos.float() / 255).to(dtype), m)
    assert out.dtype == dtype
    assert (out.float() - ref).abs().max() < 0.02


def test_memory_formats_and_views(photos):
    m = random_matrices(3, H, W, seed=6)
    for interpolation in ("nearest", "bilinear"):
        ref = F.warp_affine(photos, m, interpolation=interpolation, fill_mode="wrap")
        cl = F.warp_affine(photos.contiguous(memory_format=torch.channels_last), m,
                           interpolation=interpolation, fill_mode="wrap")
        assert cl.is_contiguous(memory_format=torch.channels_last) and torch.equal(cl, ref)
        # non-contiguous views: a transposed image and a strided crop
        t = photos.transpose(-1, -2)
        assert torch.equal(F.warp_affine(t, m, interpolation=interpolation),
                           F.warp_affine(t.contiguous(), m, interpolation=interpolation))
        s = photos[..., ::2, 1::2]
        assert torch.equal(F.warp_affine(s, m, interpolation=interpolation),
                           F.warp_affine(s.contiguous(), m, interpolation=interpolation))
        # float32 with edge/reflect/mirror samples the input view directly (no buffer)
        f = (photos.float() / 255).transpose(-1, -2)[..., 1:, :]
        for mode in ("edge", "mirror"):
            assert torch.equal(F.warp_affine(f, m, interpolation=interpolation, fill_mode=mode),
                               F.warp_affine(f.contiguous(), m, interpolation=interpolation, fill_mode=mode))


@pytest.mark.parametrize("fill_mode", ["constant", "edge", "mirror"])
def test_nearest_planar_multi_sample_chunks(photos, monkeypatch, fill_mode):
    # the CPU gathers planar images one sample per chunk; other devices gather many samples at once
    # (per-channel offsets in the indices): both must give the same pixels
    from gpuaug._checks import empty_output
    from gpuaug._torch import warp as warp_module
    from gpuaug.functional.geometry import _as_matrix, _invert

    m = random_matrices(3, H, W, seed=12)
    inv = _invert(_as_matrix(m, 3, torch.device("cpu")))
    fill = torch.tensor([[10.0, 200.0, 77.0], [255.0, 0.0, 128.0], [3.0, 90.0, 250.0]])
    for x, f in ((photos, fill), (photos.float() / 255, fill / 255)):
        ref = F.warp_affine(x, m, (21, 29), "nearest", fill_mode, f)
        out = empty_output(x, (21, 29))  # all three samples in one chunk, as on CUDA
        warp_module._nearest(x, inv, f.float(), fill_mode, out, 3, 21, torch.float32)
        assert torch.equal(out, ref)
        assert not torch.equal(out[0], out[1])  # distinct per-sample maps and fills reach the output


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill_mode", ["constant", "wrap", "reflect"])
def test_chunking_does_not_change_results(photos, monkeypatch, interpolation, fill_mode):
    # the CPU path works in chunks of samples and, for large images, of output rows; tiny chunks force
    # both (and uneven tails) on small images
    from gpuaug._torch import warp as warp_module

    m = random_matrices(3, H, W, seed=10)
    for x in (photos, photos.float() / 255, photos.contiguous(memory_format=torch.channels_last)):
        ref = F.warp_affine(x, m, (21, 29), interpolation, fill_mode, fill=0.5 * x.max().item())
        for chunk in (100, 29 * 7, 21 * 29 * 2):
            monkeypatch.setitem(warp_module._CHUNK_PX, interpolation, chunk)
            out = F.warp_affine(x, m, (21, 29), interpolation, fill_mode, fill=0.5 * x.max().item())
            assert torch.equal(out, ref)
            monkeypatch.undo()


def test_single_image_empty_batch_and_input_untouched(photos):
    m = random_matrices(3, H, W, seed=7)
    before = photos.clone()
    out = F.warp_affine(photos, m, fill_mode="mirror")
    assert torch.equal(photos, before)
    one = F.warp_affine(photos[1], m[1], fill_mode="mirror")
    assert one.shape == (3, H, W) and torch.equal(one, out[1])
    empty = photos[:0]
    assert F.warp_affine(empty, torch.eye(3)[:2], (5, 7)).shape == (0, 3, 5, 7)
    assert F.rotate(empty, 10).shape == (0, 3, H, W)
    assert F.resized_crop(empty, (0, 0, 4, 4), 3).shape == (0, 3, 3, 3)
    assert F.hflip(empty).shape == (0, 3, H, W)


def test_matrix_forms(photos):
    m = random_matrices(3, H, W, seed=8)
    ref = F.warp_affine(photos, m[:, :2])
    assert torch.equal(F.warp_affine(photos, m), ref)  # (B, 3, 3)
    assert torch.equal(F.warp_affine(photos, m.double()), ref)
    one = F.warp_affine(photos, m[0, :2])  # (2, 3) for every sample
    for b in range(3):
        assert torch.equal(one[b], F.warp_affine(photos[b], m[0])[...])
    # singular matrix: everything is outside (fill), no error, no NaN index
    sing = torch.zeros(2, 3)
    assert F.warp_affine(photos, sing, fill=9).eq(9).all()


def test_affine_matrix_builder():
    m = F.affine_matrix(2, angle=torch.tensor([90.0, 0.0]), translate=(1.0, 2.0), scale=2.0,
                        center=(3.0, 4.0))
    assert m.shape == (2, 3, 3) and m.dtype == torch.float32
    # 90 degrees counter-clockwise on screen (y down): a point right of the centre moves up
    p = torch.tensor([4.0, 4.0, 1.0])
    torch.testing.assert_close(m[0] @ p, torch.tensor([3.0 + 1.0, 4.0 - 2.0 + 2.0, 1.0]))
    torch.testing.assert_close(m[1] @ p, torch.tensor([3.0 + 2.0 + 1.0, 4.0 + 2.0, 1.0]))
    crop = F.resized_crop_matrix(1, (2.0, 3.0, 6.0, 11.0), (4, 8))
    # box edges x0 - 1/2 and x1 - 1/2 land on the output edges -1/2 and W_out - 1/2
    torch.testing.assert_close(crop[0] @ torch.tensor([1.5, 2.5, 1.0]), torch.tensor([-0.5, -0.5, 1.0]))
    torch.testing.assert_close(crop[0] @ torch.tensor([5.5, 10.5, 1.0]), torch.tensor([7.5, 3.5, 1.0]))


# ------------------------------------------------------------------------------------------- errors


def test_errors(photos):
    m = torch.eye(3)[:2]
    with pytest.raises(TypeError, match="int32"):
        F.warp_affine(photos.int(), m)
    with pytest.raises(TypeError, match="bool"):
        F.rotate(photos.bool(), 10)
    with pytest.raises(ValueError, match="matrix"):
        F.warp_affine(photos, torch.eye(4))
    with pytest.raises(ValueError, match="matrix"):
        F.warp_affine(photos, torch.eye(3)[:2].expand(2, 2, 3))
    with pytest.raises(TypeError, match="matrix"):
        F.warp_affine(photos, torch.eye(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="fill"):
        F.warp_affine(photos, m, fill=[1, 2])
    with pytest.raises(ValueError, match="fill"):
        F.warp_affine(photos, m, fill=300)
    with pytest.raises(ValueError, match="fill"):
        F.warp_affine(photos.float() / 255, m, fill=2.0)
    with pytest.raises(ValueError, match=r"fill_mode.*constant.*edge.*reflect.*mirror.*wrap"):
        F.warp_affine(photos, m, fill_mode="zeros")
    with pytest.raises(ValueError, match=r"interpolation.*nearest.*bilinear.*bicubic"):
        F.rotate(photos, 10, interpolation="lanczos")
    with pytest.raises(ValueError, match="angle"):
        F.rotate(photos, torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="translate"):
        F.translate(photos, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="factor"):
        F.scale(photos, 0.0)
    with pytest.raises(ValueError, match="scale"):
        F.affine(photos, scale=torch.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="shear"):
        F.affine(photos, shear=torch.zeros(3, 3))
    with pytest.raises(ValueError, match="boxes"):
        F.resized_crop(photos, torch.zeros(2, 4), 5)
    with pytest.raises(ValueError, match="boxes"):
        F.resized_crop(photos, (5, 0, 5, 4), 5)
    with pytest.raises(ValueError, match="boxes"):
        F.resized_crop(photos, torch.tensor([[0.0, 0, 4, 4], [0, 6, 4, 4], [0, 0, 4, 4]]), 5)
    with pytest.raises(ValueError, match="size"):
        F.warp_affine(photos, m, (0, 5))
    with pytest.raises(TypeError, match="size"):
        F.resized_crop(photos, (0, 0, 4, 4), (2.5, 3))
    with pytest.raises(ValueError, match="channels"):
        F.rotate(torch.zeros(2, 2, 5, 5), 10)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_without_sync(photos):
    m = random_matrices(3, H, W, seed=9)
    x = photos.cuda()
    for interpolation in ("nearest", "bilinear"):
        for fill_mode in SCIPY_MODE:
            ref = F.warp_affine(photos, m, interpolation=interpolation, fill_mode=fill_mode, fill=[1, 2, 3])
            torch.cuda.synchronize()
            torch.cuda.set_sync_debug_mode("error")
            try:
                out = F.warp_affine(x, m, interpolation=interpolation, fill_mode=fill_mode,
                                    fill=torch.tensor([1.0, 2.0, 3.0]))
                rot = F.rotate(x, torch.tensor([10.0, 20.0, 30.0], device="cuda"))
            finally:
                torch.cuda.set_sync_debug_mode(0)
            assert rot.is_cuda
            assert max_abs_diff(out.cpu(), ref) <= 1
