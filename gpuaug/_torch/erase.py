"""Erase, noise-erase and CutMix paste on the torch path (mirror of ``kernels/erase.py``).

``erase(img, boxes, value)``: boxes (B, K, 4) x0, y0, x1, y1 (x1, y1 exclusive) filled with value (B, C).
``erase_noise(img, boxes, seed)``: the boxes filled with uniform noise from a per-sample int seed (B,).
``paste(img, partner, box)``: the (B, 4) box of each sample taken from ``img[partner[b]]``.
A pixel is inside a box when its centre (x, y) satisfies ``x0 <= x < x1`` and ``y0 <= y < y1``.

On the CPU (host path) the batch is copied and only the boxes are written, box by box through strided
views (PIL's speed; figures at each op); elsewhere, and for many small boxes, one mask and ``torch.where``
over the batch (``*_masked``, also the reference the tests compare the box path with).
"""

from __future__ import annotations

import torch

from gpuaug._checks import empty_output, memory_format_of
from gpuaug._torch import _common as K


def _box_mask(boxes: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(B, K, 4) boxes x0, y0, x1, y1 (x1, y1 exclusive) -> bool (B, 1, H, W): pixel centre inside any box."""
    boxes = boxes.to(torch.float32)
    xs = torch.arange(w, dtype=torch.float32, device=boxes.device)
    ys = torch.arange(h, dtype=torch.float32, device=boxes.device)
    x0, y0, x1, y1 = (boxes[..., i, None] for i in range(4))  # (B, K, 1)
    cols = (xs >= x0) & (xs < x1)  # (B, K, W)
    rows = (ys >= y0) & (ys < y1)  # (B, K, H)
    inside = (rows.unsqueeze(-1) & cols.unsqueeze(-2)).any(1)  # (B, H, W)
    return inside.unsqueeze(1)


# CPU: box by box when every box has at least this many elements of the batch to itself on average. The
# loop costs about 5 us a box (3 small tensor calls); the one-shot mask + where about 3-4 ns an element.
_ELEMENTS_PER_BOX = 4096
# erase_noise hashes the boxes' pixels in groups of boxes of about this many elements (int64: 512 KiB).
# (64, 3, 224, 224), 1 to 16 boxes per sample: 1 << 16 was the best of 1 box, 1 << 14, 1 << 16, 1 << 18
# (1 << 18: 1.3x slower; one buffer for all the boxes: up to 5x slower).
_NOISE_GROUP = 1 << 16


def _box_spans(img: torch.Tensor, boxes: torch.Tensor) -> list[list[int]] | None:
    """CPU host path: the non-empty boxes of (B, K, 4) ``boxes``, clipped, as ints ``[b, x0, y0, x1, y1]``
    (x1, y1 exclusive), or None where the one-shot mask path runs instead (CUDA, chunking off, many boxes,
    torch.compile).

    The pixel rule of :func:`_box_mask`, ``x0 <= x < x1`` in float32 for integer x, is exactly
    ``ceil(x0) <= x < ceil(x1)``; NaN coordinates compare false there and give empty boxes here."""
    if K.one_shot(img) or torch.compiler.is_compiling():  # compiled: one graph, no data-dependent loop
        return None
    b, _, h, w = img.shape
    if boxes.shape[0] * boxes.shape[1] * _ELEMENTS_PER_BOX > img.numel():
        return None
    lim = torch.tensor([w, h, w, h], dtype=torch.float32)
    cl = torch.minimum(boxes.to(torch.float32).ceil().clamp_min(0), lim)  # NaN stays NaN
    keep = (cl[..., 2] > cl[..., 0]) & (cl[..., 3] > cl[..., 1])
    return torch.cat([keep.nonzero()[:, :1], cl[keep].to(torch.int64)], 1).tolist()


def _copy_of(img: torch.Tensor) -> torch.Tensor:
    """A dense copy of ``img`` in its memory format (the strides ``empty_output`` gives)."""
    return empty_output(img).copy_(img)


def _erase_value(img: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """value (B, C) in the image's range -> (B, C) in the image's dtype (uint8: rounded, clamped)."""
    v = value.float()
    if img.dtype == torch.uint8:
        v = v.round().clamp(0, 255)
    return v.to(img.dtype).expand(img.shape[0], img.shape[1])


def erase(img: torch.Tensor, boxes: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Fill boxes with a value.

    boxes: (B, K, 4) x0, y0, x1, y1 (x1, y1 exclusive; clipped by construction: pixels outside the image
    never match; empty boxes match nothing). value: float32 (B, C) in the image's range (rounded for uint8).

    CPU: a copy of the batch, then each box's rectangle written through a strided view, from a row of the
    value repeated along W (so the inner loop is contiguous in channels_last too). (64, 3, 224, 224) uint8,
    one box of 20-50 % of each side per sample, 1 thread, side by side: 2.3-2.9 ms, PIL ``copy`` + ``paste``
    image by image 2.4-3.0 ms, the one-shot mask + ``torch.where`` 15 ms (channels_last 33 ms). Copying a
    group of samples and filling its boxes while it is in cache measured no faster.
    """
    b, c, h, w = img.shape
    if img.numel() == 0:
        return img.clone(memory_format=torch.preserve_format)
    spans = _box_spans(img, boxes)
    if spans is None:
        return erase_masked(img, boxes, value)
    v = _erase_value(img, value)
    out = _copy_of(img)
    sb, sc, sh, sw = out.stride()
    if sc == 1 and c > 1:  # channels_last: a box row is (x1 - x0) * C contiguous elements
        row = v.view(b, 1, c).expand(b, w, c).contiguous()
        for n, x0, y0, x1, y1 in spans:
            dst = out.as_strided((y1 - y0, (x1 - x0) * c), (sh, 1), n * sb + y0 * sh + x0 * sw)
            dst.copy_(row.as_strided(dst.shape, (0, 1), n * w * c))
    else:
        row = v.view(b, c, 1).expand(b, c, w).contiguous()
        for n, x0, y0, x1, y1 in spans:
            dst = out.as_strided((c, y1 - y0, x1 - x0), (sc, sh, sw), n * sb + y0 * sh + x0 * sw)
            dst.copy_(row.as_strided(dst.shape, (w, 0, 1), n * c * w))
    return out


def erase_masked(img: torch.Tensor, boxes: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """:func:`erase` as one mask and ``torch.where`` over the batch (CUDA; many small boxes on the CPU)."""
    b, c, h, w = img.shape
    if img.numel() == 0:
        return img.clone(memory_format=torch.preserve_format)
    v = _erase_value(img, value)
    mask = _box_mask(boxes, h, w)
    return torch.where(mask, v.view(b, c, 1, 1), img).contiguous(memory_format=memory_format_of(img))


_M32 = 0xFFFFFFFF


def _hash_(x: torch.Tensor) -> torch.Tensor:
    """murmur3's 32-bit finaliser on int64 ``x`` holding 32-bit values, in place (int64 arithmetic: no
    signed overflow)."""
    x ^= x >> 16
    x *= 0x85EBCA6B
    x &= _M32
    x ^= x >> 13
    x *= 0xC2B2AE35
    x &= _M32
    x ^= x >> 16
    return x


def _noise_of(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Hashed int64 ``x`` -> noise over the image's range: uint8 the low byte, floating 24 bits / 2^24."""
    if dtype == torch.uint8:
        return (x & 255).to(torch.uint8)
    return ((x >> 8).to(torch.float32) * (1.0 / 16777216.0)).to(dtype)


def erase_noise(img: torch.Tensor, boxes: torch.Tensor, seed: torch.Tensor) -> torch.Tensor:
    """Fill boxes (as :func:`erase`) with uniform noise over the image's range, a pure function of the
    per-sample int ``seed`` (B,): a counter-based hash of (seed, pixel index), so the noise replays without
    generator state or a host sync. The Triton kernel draws its own stream (``tl.rand``): the same seed
    gives the same noise on one backend, not across backends.

    CPU: the hash runs on the boxes' pixels only (in groups of boxes), not on the whole batch:
    (64, 3, 224, 224) uint8, one box of 20-50 % of each side, 1 thread: 13-16 ms (one-shot: 575-700 ms)."""
    b, c, h, w = img.shape
    if img.numel() == 0:
        return img.clone(memory_format=torch.preserve_format)
    spans = _box_spans(img, boxes)
    if spans is None:
        return erase_noise_masked(img, boxes, seed)
    key = _key(seed, b, img.device)
    out = _copy_of(img)
    sb, sc, sh, sw = out.stride()
    # Index c * H * W + y * W + x of each box pixel in its (C, H, W) sample plus the sample's key, written
    # box after box into a flat buffer (one add of two small strided tensors per box), then hashed in one
    # pass per group of boxes (_NOISE_GROUP elements): few calls per box, and the buffer stays in cache.
    chan = torch.arange(c, dtype=torch.int64) * (h * w) + key.view(b, 1)  # (B, C)
    pos = torch.arange(h * w, dtype=torch.int64)  # y * W + x
    boxes_ = [(n, (c, y1 - y0, x1 - x0), n * sb + y0 * sh + x0 * sw, y0 * w + x0)
              for n, x0, y0, x1, y1 in spans]
    groups, size, most = [[]], 0, 0
    for box in boxes_:
        if groups[-1] and size + _numel(box[1]) > _NOISE_GROUP:
            groups.append([])
            size = 0
        groups[-1].append(box)
        size += _numel(box[1])
        most = max(most, size)
    buf = torch.empty(most, dtype=torch.int64)
    for group in groups:
        at = 0
        for n, shape, _, yx in group:
            k = _numel(shape)
            torch.add(chan.as_strided(shape, (1, 0, 0), n * c), pos.as_strided(shape, (0, w, 1), yx),
                      out=buf[at:at + k].view(shape))
            at += k
        x = buf[:at]
        x &= _M32
        noise = _noise_of(_hash_(x), img.dtype)
        at = 0
        for _, shape, dst, _ in group:
            k = _numel(shape)
            out.as_strided(shape, (sc, sh, sw), dst).copy_(noise[at:at + k].view(shape))
            at += k
    return out


def _key(seed: torch.Tensor, b: int, device) -> torch.Tensor:
    # (idx + seed * K) mod 2^32 == (idx + (seed * K mod 2^32)) mod 2^32: the seed term folds in first
    return (seed.to(device=device, dtype=torch.int64).reshape(-1).expand(b) * 0x9E3779B1) & _M32


def erase_noise_masked(img: torch.Tensor, boxes: torch.Tensor, seed: torch.Tensor) -> torch.Tensor:
    """:func:`erase_noise` as one hash of every pixel and ``torch.where`` (CUDA; many boxes on the CPU)."""
    b, c, h, w = img.shape
    if img.numel() == 0:
        return img.clone(memory_format=torch.preserve_format)
    idx = torch.arange(c * h * w, device=img.device, dtype=torch.int64).view(1, c, h, w)
    x = (idx + _key(seed, b, img.device).view(b, 1, 1, 1)) & _M32
    noise = _noise_of(_hash_(x), img.dtype)
    mask = _box_mask(boxes, h, w)
    return torch.where(mask, noise, img).contiguous(memory_format=memory_format_of(img))


def _numel(shape: tuple[int, int, int]) -> int:
    return shape[0] * shape[1] * shape[2]


def paste(img: torch.Tensor, partner: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """CutMix: ``out[b] = img[b]`` with the ``box[b]`` region (x0, y0, x1, y1, x1/y1 exclusive, clipped)
    taken from ``img[partner[b]]``. partner int64 (B,), box (B, 4).

    CPU: a copy of the batch, then each box copied from its partner through strided views (samples that
    paste from themselves are already right). (64, 3, 224, 224) uint8, CutMix boxes, 1 thread: 2-3 ms
    alone (the one-shot ``index_select`` + ``torch.where``: 21 ms, channels_last 44-70 ms)."""
    b, c, h, w = img.shape
    if img.numel() == 0:
        return img.clone(memory_format=torch.preserve_format)
    spans = _box_spans(img, box.view(b, 1, 4))
    if spans is None:
        return paste_masked(img, partner, box)
    src = partner.to(torch.int64).reshape(-1).expand(b).tolist()
    if any(not 0 <= p < b for p in src):
        raise IndexError(f"partner must hold sample indices in [0, {b - 1}]")
    out = _copy_of(img)
    sb, sc, sh, sw = out.stride()
    ib, ic, ih, iw = img.stride()
    base = img.storage_offset()
    for n, x0, y0, x1, y1 in spans:
        p = src[n]
        if p != n:
            shape = (c, y1 - y0, x1 - x0)
            out.as_strided(shape, (sc, sh, sw), n * sb + y0 * sh + x0 * sw).copy_(
                img.as_strided(shape, (ic, ih, iw), base + p * ib + y0 * ih + x0 * iw))
    return out


def paste_masked(img: torch.Tensor, partner: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """:func:`paste` as one gather of the partners and ``torch.where`` over the batch (CUDA's path)."""
    b, c, h, w = img.shape
    if img.numel() == 0:
        return img.clone(memory_format=torch.preserve_format)
    mask = _box_mask(box.view(b, 1, 4), h, w)
    other = img.index_select(0, partner.to(torch.int64))
    return torch.where(mask, other, img).contiguous(memory_format=memory_format_of(img))
