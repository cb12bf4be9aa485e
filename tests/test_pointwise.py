"""The pointwise engine (gpuaug.functional.pointwise): tables against PIL, table algebra, chain fusion; and
the torch path of its primitives (apply_lut, histogram) against numpy, chunked and whole-batch."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from helpers import max_abs_diff, photo_batch, pil_map, to_pil, to_tensor
from PIL import Image, ImageEnhance, ImageOps

import gpuaug.backend as backend
import gpuaug.functional as F
from gpuaug._torch import _common
from gpuaug._torch.color import gray_mean
from gpuaug._torch.histogram import histogram
from gpuaug._torch.lut import apply_lut, equalize_lut
from gpuaug.functional import pointwise as L

SIZE = (29, 41)


def _np_apply(img: torch.Tensor, lut: torch.Tensor) -> np.ndarray:
    a, t = img.numpy(), lut.expand(img.shape[0], img.shape[1], 256).numpy()
    out = np.empty_like(a)
    for b in range(a.shape[0]):
        for c in range(a.shape[1]):
            out[b, c] = t[b, c][a[b, c]]
    return out


def _np_hist(img: torch.Tensor) -> np.ndarray:
    a = img.numpy()
    return np.stack([[np.bincount(a[b, c].ravel(), minlength=256) for c in range(a.shape[1])]
                     for b in range(a.shape[0])])


@pytest.fixture(params=[1 << 18, 1000, None], ids=["chunk-default", "chunk-small", "one-shot"])
def chunk(request, monkeypatch):
    """Run the CPU primitives with the default chunk, a tiny one (many chunks, ragged last one) and as on
    CUDA (None: the whole batch at once, the code path CUDA tensors take)."""
    if request.param is None:
        monkeypatch.setattr(_common, "one_shot", lambda img: True)
    else:
        monkeypatch.setattr(_common, "CHUNK", request.param)
    return request.param


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
def test_apply_lut_numpy(c, layout, chunk):
    x = photo_batch(7, (31, 45), gray=(c == 1))[:, :, 1:30, 2:43]
    if layout == "contiguous":
        x = x.contiguous()
    elif layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    before = x.clone()
    for lut_c in {1, c}:
        lut = torch.randint(0, 256, (7, lut_c, 256), dtype=torch.uint8)
        out = apply_lut(x, lut)
        assert np.array_equal(out.numpy(), _np_apply(x, lut))
        if layout == "channels_last":
            assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(x, before)


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
def test_histogram_numpy_and_pil(c, layout, chunk):
    x = photo_batch(7, (31, 45), gray=(c == 1))[:, :, 1:30, 2:43]
    if layout == "contiguous":
        x = x.contiguous()
    elif layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    h = histogram(x)
    assert h.dtype == torch.int32 and h.shape == (7, c, 256)
    assert np.array_equal(h.numpy(), _np_hist(x))
    for b in range(7):  # PIL's histogram: bands concatenated
        assert h[b].reshape(-1).tolist() == to_pil(x[b]).histogram()


def test_histogram_many_planes():
    # more than 127 planes: several int16 chunks even with the default chunk size
    x = torch.randint(0, 256, (50, 3, 5, 7), dtype=torch.uint8)
    assert np.array_equal(histogram(x).numpy(), _np_hist(x))


def test_primitives_empty():
    x = torch.zeros((0, 3, 5, 7), dtype=torch.uint8)
    assert apply_lut(x, torch.zeros((0, 3, 256), dtype=torch.uint8)).shape == x.shape
    assert histogram(x).shape == (0, 3, 256)
    y = torch.zeros((2, 3, 0, 7), dtype=torch.uint8)
    assert histogram(y).sum() == 0


# --------------------------------------------------------------------------------------------------------
# builders against PIL on a gradient (the image of every value shows the whole table)

GRADIENT = Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16), "L")


def _pil_table(fn) -> list[int]:
    return list(np.asarray(fn(GRADIENT)).ravel())


def test_builders_match_pil_tables():
    bits = torch.arange(1, 9)
    t = L.posterize_lut(bits)
    for i, bt in enumerate(bits.tolist()):
        assert t[i, 0].tolist() == _pil_table(functools.partial(ImageOps.posterize, bits=bt))
    thr = torch.tensor([0, 1, 77, 128, 254, 255])
    t = L.solarize_lut(thr)
    for i, th in enumerate(thr.tolist()):
        assert t[i, 0].tolist() == _pil_table(functools.partial(ImageOps.solarize, threshold=th))
    assert L.invert_lut(2)[1, 0].tolist() == _pil_table(ImageOps.invert)
    f = torch.tensor([0.0, 0.33, 1.0, 1.9, 4.0])
    t = L.brightness_lut(f)
    for i, fi in enumerate(f.tolist()):
        ref = torch.tensor(_pil_table(lambda im, fi=fi: ImageEnhance.Brightness(im).enhance(fi)))
        assert max_abs_diff(t[i, 0], ref) <= 1
    assert L.identity_lut(3, 2).shape == (3, 2, 256)
    assert L.identity_lut(3, 2)[2, 1].tolist() == list(range(256))


def test_contrast_lut_uses_the_gray_mean():
    x = photo_batch(4, SIZE)
    f = torch.tensor([0.2, 0.9, 1.3, 2.2])
    mean = gray_mean(x)
    ref = torch.stack([torch.tensor([int(np.asarray(to_pil(im).convert("L")).mean() + 0.5)]) for im in x])
    assert torch.equal(mean.long(), ref[:, 0])
    out = apply_lut(x, L.contrast_lut(f, mean))
    ref_img = torch.stack([to_tensor(ImageEnhance.Contrast(to_pil(im)).enhance(fi))
                           for im, fi in zip(x, f.tolist())])
    assert max_abs_diff(out, ref_img) <= 1


def test_equalize_autocontrast_lut_from_histogram():
    x = photo_batch(4, SIZE)
    h = histogram(x)
    assert max_abs_diff(apply_lut(x, equalize_lut(h)), pil_map(ImageOps.equalize, x)) == 0
    assert max_abs_diff(apply_lut(x, L.autocontrast_lut(h)), pil_map(ImageOps.autocontrast, x)) <= 1


def test_compose_and_push_histogram():
    x = photo_batch(5, SIZE)
    a = torch.randint(0, 256, (5, 3, 256), dtype=torch.uint8)
    b = torch.randint(0, 256, (5, 1, 256), dtype=torch.uint8)
    ab = L.compose(a, b)
    assert ab.shape == (5, 3, 256)
    assert torch.equal(apply_lut(x, ab), apply_lut(apply_lut(x, a), b))
    h = histogram(x)
    assert torch.equal(L.push_histogram(h, a), histogram(apply_lut(x, a)))
    assert torch.equal(L.push_histogram(h, b), histogram(apply_lut(x, b)))


# --------------------------------------------------------------------------------------------------------
# pointwise_chain: one table, at most one histogram pass, equal to the ops one by one

CHAINS = [
    [("posterize", 3, None), ("equalize", None, None)],
    [("solarize", 100, None), ("autocontrast", None, None)],
    [("equalize", None, None), ("contrast", 0.4, None), ("autocontrast", None, None)],
    [("brightness", 1.6, None), ("solarize_add", (60, 140), None), ("invert", None, None),
     ("equalize", None, None)],
    [("autocontrast", None, None), ("posterize", 2, None), ("contrast", 1.7, None), ("equalize", None, None)],
    [("adjust_contrast", torch.tensor([0.0, 0.5, 1.0, 1.5, 2.5]), None), ("solarize_add", 40, None)],
]

SEQ = {
    "posterize": F.posterize, "solarize": F.solarize, "solarize_add": F.solarize_add, "invert": F.invert,
    "brightness": F.adjust_brightness, "contrast": F.adjust_contrast, "adjust_contrast": F.adjust_contrast,
    "equalize": F.equalize, "autocontrast": F.autocontrast,
}
PIL = {
    "posterize": ImageOps.posterize, "solarize": ImageOps.solarize, "invert": ImageOps.invert,
    "equalize": ImageOps.equalize, "autocontrast": ImageOps.autocontrast,
    "brightness": lambda im, f: ImageEnhance.Brightness(im).enhance(f),
    "contrast": lambda im, f: ImageEnhance.Contrast(im).enhance(f),
    "adjust_contrast": lambda im, f: ImageEnhance.Contrast(im).enhance(f),
    "solarize_add": lambda im, p: im.point(
        [min(255, max(0, i + p[0])) if i < p[1] else i for i in range(256)] * len(im.getbands())),
}


def _sequential(x, chain):
    for name, params, _ in chain:
        args = [] if params is None else list(params) if isinstance(params, tuple) else [params]
        x = SEQ[name](x, *args)
    return x


def _pil_sequential(x, chain):
    out = []
    for b, img in enumerate(x):
        im = to_pil(img)
        for name, params, _ in chain:
            if params is None:
                im = PIL[name](im)
            else:
                p = params[b].item() if isinstance(params, torch.Tensor) else params
                p = (p, 128) if name == "solarize_add" and not isinstance(p, tuple) else p
                im = PIL[name](im, p)
        out.append(to_tensor(im))
    return torch.stack(out)


class _Counter:
    """Counts the pixel passes a chain makes, through the backend (so it holds for every backend)."""

    def __init__(self, monkeypatch):
        self.calls = {"histogram": 0, "apply_lut": 0, "gray_mean": 0}
        real = backend.op

        def op(name, t):
            if name in self.calls:
                self.calls[name] += 1
            return real(name, t)

        monkeypatch.setattr(backend, "op", op)


@pytest.mark.parametrize("gray", [False, True])
@pytest.mark.parametrize("i", range(len(CHAINS)))
def test_chain_equals_sequential_and_pil(i, gray, monkeypatch):
    chain = CHAINS[i]
    x = photo_batch(5, SIZE, gray=gray)
    seq = _sequential(x, chain)
    counter = _Counter(monkeypatch)
    out = L.pointwise_chain(x, chain)
    assert counter.calls["histogram"] <= 1
    contrast = any(n in ("contrast", "adjust_contrast") for n, _, _ in chain)
    assert counter.calls["apply_lut"] == 1
    # RGB contrast reads the gray mean (of lut(img) after other steps): one more read pass; a gray image
    # takes its mean from the histogram
    assert counter.calls["gray_mean"] == (1 if contrast and not gray else 0)
    assert torch.equal(out, seq)
    pil = _pil_sequential(x, chain)
    exact = not any(n in ("brightness", "contrast", "adjust_contrast", "autocontrast") for n, _, _ in chain)
    assert max_abs_diff(out, pil) <= (0 if exact else len(chain))
    assert (out == pil).float().mean() > 0.99


def test_chain_masks_per_sample():
    x = photo_batch(5, SIZE)
    m1 = torch.tensor([True, False, True, False, True])
    m2 = torch.tensor([False, False, True, True, True])
    out = L.pointwise_chain(x, [("posterize", torch.tensor([1, 2, 3, 4, 5]), m1), ("equalize", None, m2)])
    for b in range(5):
        ref = x[b]
        if m1[b]:
            ref = F.posterize(ref, b + 1)
        if m2[b]:
            ref = F.equalize(ref)
        assert torch.equal(out[b], ref)


@pytest.mark.parametrize("gray", [False, True])
def test_chain_masked_statistics_read_only_their_samples(gray, monkeypatch):
    """On the host path the histogram and gray-mean passes read only the samples whose masked step needs
    them (off it, as on CUDA, every sample); each sample still equals the ops one by one (contrast and
    equalize after a brightness table)."""
    x = photo_batch(6, SIZE, gray=gray)
    m_c = torch.tensor([True, False, False, True, False, False])
    m_e = torch.tensor([False, True, False, True, False, False])
    m_a = torch.tensor([False, False, True, False, False, True])
    chain = [("brightness", 1.4, None), ("contrast", 0.6, m_c), ("equalize", None, m_e),
             ("autocontrast", None, m_a)]
    seen = []
    real = backend.op

    def op(name, t):
        if name in ("histogram", "gray_mean"):
            seen.append((name, t.shape[0]))
        return real(name, t)

    monkeypatch.setattr(backend, "op", op)
    out = L.pointwise_chain(x, chain)
    host = backend.host_path(x)
    hist_rows = int((m_e | m_a | (m_c if gray else torch.zeros_like(m_c))).sum()) if host else 6
    assert ("histogram", hist_rows) in seen
    assert ("gray_mean", int(m_c.sum()) if host else 6) in seen or gray
    for b in range(6):
        ref = F.adjust_brightness(x[b], 1.4)
        steps = ((m_c, lambda t: F.adjust_contrast(t, 0.6)), (m_e, F.equalize), (m_a, F.autocontrast))
        for mask, fn in steps:
            if mask[b]:
                ref = fn(ref)
        assert torch.equal(out[b], ref), b


def test_chain_float_equals_sequential():
    x = photo_batch(3, SIZE).float() / 255
    chain = [("solarize", 0.4, None), ("brightness", 1.3, torch.tensor([True, False, True])),
             ("equalize", None, None), ("solarize_add", 0.1, None)]
    ref = F.equalize(torch.where(torch.tensor([True, False, True]).view(-1, 1, 1, 1),
                                 F.adjust_brightness(F.solarize(x, 0.4), 1.3), F.solarize(x, 0.4)))
    ref = F.solarize_add(ref, 0.1, 128 / 255)
    assert torch.equal(L.pointwise_chain(x, chain), ref)


def test_chain_layouts_and_shapes():
    x = photo_batch(4, SIZE)
    chain = [("solarize", 90, None), ("autocontrast", None, None)]
    ref = L.pointwise_chain(x, chain)
    cl = L.pointwise_chain(x.contiguous(memory_format=torch.channels_last), chain)
    assert cl.is_contiguous(memory_format=torch.channels_last) and torch.equal(cl, ref)
    assert torch.equal(L.pointwise_chain(x[1], chain), ref[1])
    assert L.pointwise_chain(x[:0], chain).shape == (0, 3, *SIZE)
    empty = L.pointwise_chain(x, [])
    assert torch.equal(empty, x) and empty.data_ptr() != x.data_ptr()


@pytest.mark.parametrize(
    "steps, exc, word",
    [
        ([("blur", 1, None)], ValueError, "blur"),
        ([("posterize", 9, None)], ValueError, "bits"),
        ([("solarize", None, None)], TypeError, "threshold"),
        ([("brightness", -1, None)], ValueError, "factor"),
        ([("equalize", None, torch.tensor([1, 0, 1, 1]))], TypeError, "mask"),
        ([("invert",)], ValueError, "steps"),
        ([("solarize_add", (1, 2, 3), None)], ValueError, "solarize_add"),
    ],
)
def test_chain_errors(steps, exc, word):
    with pytest.raises(exc, match=word):
        L.pointwise_chain(photo_batch(4, SIZE), steps)
