"""The host kernels (gpuaug._host, OpenCV) for CPU tensors on backend "auto": against the torch path (the
reference; bitwise where the contract says exact) and the outside oracles (scipy.ndimage, PIL, numpy);
dispatch, the torch path without OpenCV, threads (results independent of the thread count, one thread in
DataLoader workers, a pool that survives a fork)."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
import torch
from helpers import photo_batch, pil_map, to_pil
from PIL import ImageEnhance, ImageOps, ImageStat
from test_geometry import SCIPY_MODE, near_tie, random_matrices, scipy_warp

import gpuaug
import gpuaug.functional as F
from gpuaug import backend

cv2 = pytest.importorskip("cv2")
from gpuaug._host import color as hcolor  # noqa: E402
from gpuaug._host import histogram as hhist  # noqa: E402
from gpuaug._host import lut as hlut  # noqa: E402
from gpuaug._host import warp as hwarp  # noqa: E402
from gpuaug._torch import color as tcolor  # noqa: E402
from gpuaug._torch import histogram as thist  # noqa: E402
from gpuaug._torch import lut as tlut  # noqa: E402
from gpuaug._torch import warp as twarp  # noqa: E402

FORMATS = [torch.contiguous_format, torch.channels_last]


@pytest.fixture(autouse=True)
def _auto_backend():
    previous, threads = backend.get_backend(), backend._threads
    backend.set_backend("auto")
    yield
    backend.set_backend(previous)
    backend._threads = threads


def noise(b=3, c=3, size=(23, 31), seed=0) -> torch.Tensor:
    """Uniform noise: the steepest gradients, where interpolation errors show most."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, c, *size), dtype=torch.uint8, generator=g)


# ------------------------------------------------------------------------------------------ dispatch


def test_auto_on_cpu_picks_the_host_kernels_and_torch_picks_the_reference():
    x = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    assert backend.op("warp", x) is hwarp.warp
    assert backend.op("apply_lut", x) is hlut.apply_lut
    assert backend.op("histogram", x) is hhist.histogram
    assert backend.op("gray_mean", x) is hcolor.gray_mean
    assert backend.op("equalize_lut", x) is tlut.equalize_lut  # no host kernel: the torch path
    assert backend.op("adjust_sharpness", x) is hcolor.adjust_sharpness
    assert backend.op("adjust_hue", x) is tcolor.adjust_hue
    assert backend.op("warp", x.double()) is twarp.warp  # float64: the reference dtype
    assert backend.host_path(x)
    with backend.backend("torch"):
        assert backend.op("warp", x) is twarp.warp
        assert backend.op("apply_lut", x) is tlut.apply_lut
        assert backend.host_path(x)


def test_without_opencv_the_torch_path_runs_without_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 raises ImportError
    for name in [m for m in sys.modules if m.startswith("gpuaug._host.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(backend, "_host_modules", {})
    monkeypatch.setattr(backend, "_resolved", {})  # (resolutions are cached)
    x = photo_batch(2, (17, 19))
    with pytest.raises(ImportError):
        importlib.import_module("gpuaug._host.warp")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert backend.op("warp", x) is twarp.warp
        assert backend.op("apply_lut", x) is tlut.apply_lut
        out = F.posterize(F.rotate(x, 10.0), 3)
    with backend.backend("torch"):
        ref = F.posterize(F.rotate(x, 10.0), 3)
    assert torch.equal(out, ref)


# ---------------------------------------------------------------------------------------------- warp


@pytest.mark.parametrize("memory_format", FORMATS)
@pytest.mark.parametrize("fill_mode", list(SCIPY_MODE))
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_warp_matches_scipy_and_the_torch_path(interpolation, fill_mode, memory_format):
    h, w, size = 23, 31, (19, 37)
    for x in (photo_batch(3, (h, w)), noise(3, 3, (h, w))):
        m = random_matrices(3, h, w, seed=1)
        fill = torch.tensor([[10.0, 200.0, 77.0], [255.0, 0.0, 128.0], [3.0, 90.0, 250.0]])
        xin = x.contiguous(memory_format=memory_format)
        before = xin.clone()
        out = F.warp_affine(xin, m[:, :2], size, interpolation, fill_mode, fill)
        assert torch.equal(xin, before)
        assert out.shape == (3, 3, *size) and out.is_contiguous(memory_format=memory_format)
        with backend.backend("torch"):
            ref_t = F.warp_affine(x, m[:, :2], size, interpolation, fill_mode, fill)
        order = 0 if interpolation == "nearest" else 1
        for b in range(3):
            ref = scipy_warp(x[b].double().numpy(), m[b].double().numpy(), size, order, SCIPY_MODE[fill_mode],
                             fill[b].double().numpy())
            got = out[b].double().numpy()
            if interpolation == "nearest":
                ok = ~near_tie(m[b].double().numpy(), size)
                assert ok.mean() > 0.95
                np.testing.assert_array_equal(got[:, ok], ref[:, ok])
                assert torch.equal(out[b][:, torch.from_numpy(ok)], ref_t[b][:, torch.from_numpy(ok)])
            else:
                # measured: 0 on the photos; noise up to 1 level on < 0.1 % (float rounding of a blend at .5)
                assert np.abs(got - np.round(ref)).max() <= 1
                assert np.mean(got != np.round(ref)) < 0.01
                assert int((out[b].int() - ref_t[b].int()).abs().max()) <= 1


@pytest.mark.parametrize("inside", [False, True])
@pytest.mark.parametrize("fill_mode", list(SCIPY_MODE))
def test_nearest_rounds_ties_half_up_like_scipy(fill_mode, inside):
    # a 2x downscaling crop samples x_src = 2 x + 0.5: every pixel is a tie (OpenCV alone rounds to even)
    x = noise(2, 3, (20, 26), seed=3)
    boxes = [[0.0, 2.0, 24.0, 20.0], [2.0, 0.0, 26.0, 18.0]] if inside else [[-4.0, -3.0, 24.0, 21.0],
                                                                             [2.0, 1.0, 30.0, 25.0]]
    size = (9, 12) if inside else (12, 14)  # exactly half the boxes' sides
    m = F.resized_crop_matrix(2, torch.tensor(boxes), size)
    out = F.warp_affine(x, m, size, "nearest", fill_mode, 9)
    with backend.backend("torch"):
        assert torch.equal(out, F.warp_affine(x, m, size, "nearest", fill_mode, 9))
    if fill_mode == "mirror" and not inside:
        return  # at ties in the mirrored copies the torch path itself differs from scipy (see the report)
    for b in range(2):
        ref = scipy_warp(x[b].double().numpy(), m[b].double().numpy(), size, 0, SCIPY_MODE[fill_mode],
                         np.full(3, 9.0))
        np.testing.assert_array_equal(out[b].double().numpy(), ref)


def test_nearest_runs_on_opencv_only_as_whole_pixel_shifts():
    """Nearest warps take the torch path (where masks are warped: an image and its mask must agree at ties),
    except whole-pixel translations with "constant", which are exact copies."""
    m = torch.tensor([[[2.0, 0, -3.5], [0, 2.0, -2.5]], [[1.0, 0, 0], [0, 1, 0]]], dtype=torch.float64)
    x = noise(2, 3, (20, 26))
    for mode in ("constant", "reflect", "edge"):
        assert hwarp._plan(x, m, 12, 14, "nearest", mode, torch.zeros(2, 3)) is None
    assert hwarp._plan(x, m, 12, 14, "bilinear", "reflect", torch.zeros(2, 3)) is not None
    shifts = torch.tensor([[[1.0, 0, 3], [0, 1, -2]], [[1.0, 0, -5], [0, 1, 0]]], dtype=torch.float64)
    plan = hwarp._plan(x, shifts, 20, 26, "nearest", "constant", torch.zeros(2, 3))
    assert plan is not None and plan[2] == [(3, -2), (-5, 0)]


@pytest.mark.parametrize("memory_format", FORMATS)
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_warp_special_maps_equal_the_torch_path(interpolation, memory_format):
    x = photo_batch(6, (21, 27)).contiguous(memory_format=memory_format)
    # whole-pixel maps (flips, shifts inside and far outside: the copy path for "constant"), a singular one
    maps = torch.tensor([[[-1.0, 0, 26], [0, 1, 0]], [[1.0, 0, -40], [0, -1, 50]], [[1.0, 0, 3], [0, 1, -2]],
                         [[0.0, 0, 0], [0, 0, 0]], [[1.0, 0, -5], [0, 1, 30]], [[1.0, 0, 200], [0, 1, 1]]])
    for mode in SCIPY_MODE:
        for size in (None, (13, 33)):
            out = F.warp_affine(x, maps, size, interpolation, mode, (17, 99, 250))
            assert out.is_contiguous(memory_format=memory_format)
            with backend.backend("torch"):
                ref = F.warp_affine(x, maps, size, interpolation, mode, (17, 99, 250))
            assert torch.equal(out, ref), (mode, size)


def test_warp_cases_left_to_the_torch_path_equal_it_bitwise():
    x = photo_batch(2, (15, 18))
    m = random_matrices(2, 15, 18, seed=4)
    cases = [
        (x.float() / 255, "bilinear", 0.25),  # floats
        (x, "bilinear", 100.5),  # a non-integer fill blended unrounded
        (x[:, :1], "bilinear", 3.0),  # one channel: host (checked against the reference too)
    ]
    for img, interpolation, fill in cases:
        out = F.warp_affine(img, m, (11, 13), interpolation, "constant", fill)
        with backend.backend("torch"):
            ref = F.warp_affine(img, m, (11, 13), interpolation, "constant", fill)
        if img.dtype == torch.uint8 and img.shape[1] == 1:
            assert int((out.int() - ref.int()).abs().max()) <= 1
        else:
            assert torch.equal(out, ref)


def test_warp_masks_and_targets_on_the_host():
    masks = torch.randint(0, 7, (3, 2, 20, 24), dtype=torch.uint8)
    m = random_matrices(3, 20, 24, seed=2)
    out = F.warp_masks(masks, m, (20, 24), "reflect", 255)
    with backend.backend("torch"):
        ref = F.warp_masks(masks, m, (20, 24), "reflect", 255)
    tie = torch.stack([torch.from_numpy(near_tie(m[b].double().numpy(), (20, 24))) for b in range(3)])
    assert torch.equal(out.masked_fill(tie[:, None], 0), ref.masked_fill(tie[:, None], 0))


# ------------------------------------------------------------------------------------- tables, histogram


@pytest.mark.parametrize("memory_format", FORMATS)
@pytest.mark.parametrize("channels", [1, 3])
def test_apply_lut_histogram_gray_mean_equal_the_reference_bitwise(memory_format, channels):
    x = photo_batch(5, (19, 23))[:, :channels].contiguous(memory_format=memory_format)
    before = x.clone()
    g = torch.Generator().manual_seed(1)
    for lut in (torch.randint(0, 256, (5, channels, 256), dtype=torch.uint8, generator=g),
                torch.randint(0, 256, (5, 1, 256), dtype=torch.uint8, generator=g),
                torch.randint(0, 256, (1, 1, 256), dtype=torch.uint8, generator=g)):
        out = hlut.apply_lut(x, lut)
        assert torch.equal(out, tlut.apply_lut(x, lut))
        assert out.is_contiguous(memory_format=memory_format)
        full = lut.expand(5, channels, 256).long()
        assert torch.equal(out.long(), full.gather(2, x.long().flatten(2)).view(x.shape))  # numpy-free oracle
        if channels in (1, 3):
            assert torch.equal(hcolor.gray_mean(x, lut), tcolor.gray_mean(x, lut))
    hist = hhist.histogram(x)
    assert hist.dtype == torch.int32 and torch.equal(hist, thist.histogram(x))
    for b in range(5):
        for c in range(channels):
            want = np.bincount(x[b, c].flatten().numpy(), minlength=256)
            np.testing.assert_array_equal(hist[b, c].numpy(), want)
    assert torch.equal(hcolor.gray_mean(x), tcolor.gray_mean(x))
    assert torch.equal(x, before)


@pytest.mark.parametrize("memory_format", FORMATS)
def test_adjust_sharpness_equals_the_reference_and_pil(memory_format):
    x = torch.cat([photo_batch(4, (21, 17)), noise(2, 3, (21, 17), seed=6)]).contiguous(
        memory_format=memory_format)
    before = x.clone()
    f = torch.tensor([0.0, 0.37, 1.0, 1.9, 3.3, 0.11])
    out = F.adjust_sharpness(x, f)
    assert out.is_contiguous(memory_format=memory_format) and torch.equal(x, before)
    assert torch.equal(out, tcolor.adjust_sharpness(x, f))
    for b in range(6):
        want = pil_map(lambda im, b=b: ImageEnhance.Sharpness(im).enhance(float(f[b])), x[b : b + 1])
        assert torch.equal(out[b : b + 1], want)
    tiny = photo_batch(2, (2, 5))  # no inner pixels: unchanged
    assert torch.equal(F.adjust_sharpness(tiny, 2.0), tiny)
    g = x[:, :1].contiguous()
    assert torch.equal(F.adjust_sharpness(g, f), tcolor.adjust_sharpness(g, f))


def test_gray_mean_is_pils_rounded_mean():
    x = torch.cat([photo_batch(4, (21, 17)), noise(2, 3, (21, 17), seed=5)])
    want = [int(ImageStat.Stat(to_pil(img).convert("L")).mean[0] + 0.5) for img in x]
    assert hcolor.gray_mean(x).tolist() == want


def test_strided_and_empty_inputs():
    x = photo_batch(4, (20, 30))[:, :, ::2, 1::2]  # not dense in any format
    lut = torch.randint(0, 256, (4, 3, 256), dtype=torch.uint8)
    assert torch.equal(hlut.apply_lut(x, lut), tlut.apply_lut(x, lut))
    assert torch.equal(hhist.histogram(x), thist.histogram(x))
    m = random_matrices(4, 10, 15)
    out = F.warp_affine(x, m, None, "bilinear", "mirror")
    with backend.backend("torch"):
        assert int((out.int() - F.warp_affine(x, m, None, "bilinear", "mirror").int()).abs().max()) <= 1
    e = torch.zeros(0, 3, 8, 8, dtype=torch.uint8)
    assert hlut.apply_lut(e, lut[:0]).shape == e.shape and hhist.histogram(e).shape == (0, 3, 256)
    assert F.rotate(e, 10.0).shape == e.shape


def test_pointwise_ops_equal_pil_on_the_host():
    x = photo_batch(4, (25, 21))
    assert torch.equal(F.equalize(x), pil_map(ImageOps.equalize, x))
    assert torch.equal(F.posterize(x, 3), pil_map(lambda im: ImageOps.posterize(im, 3), x))


# ------------------------------------------------------------------------------------------- threads


def test_results_do_not_depend_on_the_thread_count():
    x = photo_batch(7, (23, 29))
    m = random_matrices(7, 23, 29, seed=5)
    lut = torch.randint(0, 256, (7, 3, 256), dtype=torch.uint8)
    outs = []
    for n in (1, 2, 3):
        gpuaug.set_num_threads(n)
        assert gpuaug.get_num_threads() == n
        outs.append((F.warp_affine(x, m, None, "bilinear", "reflect"), hlut.apply_lut(x, lut),
                     hhist.histogram(x), hcolor.gray_mean(x, lut), F.equalize(x)))
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            assert torch.equal(a, b)


def test_set_num_threads_checks_its_argument(monkeypatch):
    with pytest.raises(ValueError, match="num_threads"):
        gpuaug.set_num_threads(0)
    with pytest.raises(TypeError, match="num_threads"):
        gpuaug.set_num_threads(2.0)
    with pytest.raises(TypeError, match="num_threads"):
        gpuaug.set_num_threads(True)
    gpuaug.set_num_threads(None)
    assert gpuaug.get_num_threads() == torch.get_num_threads()
    with pytest.raises(ValueError, match="GPUAUG_NUM_THREADS"):
        backend._parse_threads("many")
    assert backend._parse_threads(" 3 ") == 3 and backend._parse_threads("") is None


class _Threads(torch.utils.data.Dataset):
    """Each item: the host thread count inside the worker, and a host warp done there."""

    def __len__(self):
        return 2

    def __getitem__(self, i):
        x = photo_batch(2, (16, 18))
        return gpuaug.get_num_threads(), F.rotate(x, 15.0)


def test_dataloader_workers_use_one_thread_and_a_pool_made_before_the_fork_is_not_reused():
    x = photo_batch(2, (16, 18))
    want = F.rotate(x, 15.0)
    gpuaug.set_num_threads(None)
    loader = torch.utils.data.DataLoader(_Threads(), batch_size=None, num_workers=1, timeout=60)
    assert [int(n) for n, _ in loader] == [1, 1]
    gpuaug.set_num_threads(2)
    F.rotate(photo_batch(4, (16, 18)), 15.0)  # the parent's pool exists now
    loader = torch.utils.data.DataLoader(_Threads(), batch_size=None, num_workers=1, timeout=60,
                                         multiprocessing_context="fork")
    for n, out in loader:  # explicit 2 threads in the child: a fresh pool (the parent's threads are gone)
        assert int(n) == 2 and torch.equal(out, want)


def test_host_scope_keeps_torch_threads_out_of_the_pools_way():
    x = photo_batch(2, (16, 18))
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        gpuaug.set_num_threads(2)
        with F.host_scope(x):
            assert torch.get_num_threads() == 1
            with F.host_scope(x):  # nested: no-op
                assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with backend.backend("torch"), F.host_scope(x):
            assert torch.get_num_threads() == 2
        gpuaug.set_num_threads(1)
        with F.host_scope(x):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(n)
