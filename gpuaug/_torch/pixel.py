"""Vectorized torch implementation of the pixel primitives (the CPU host path and the kernels' reference).

Every function takes a ``(B, C, H, W)`` batch, returns a new tensor in the input's memory format and never
modifies its inputs. No host-device synchronisation on any path a CUDA tensor takes.

Speed on the CPU (torch 2.13, ``torch.set_num_threads(1)``, 2-core shared VM, (64, 3, 224, 224) uint8,
best of 7, measured side by side in one process):
- ``apply_lut``: ``table.take(img.long() + offsets)`` 167 ms, ``gather`` on int64 64 ms, index_select on an
  int32 index built for the whole batch 40-73 ms (the 38 MB int32 temporary is above glibc's mmap threshold,
  so every call page-faults it in: 18 ms just for ``img.int()``). Chunked: a reused L2-sized int32 index
  buffer per group of samples (``add`` uint8 + offsets into it, then ``index_select(out=...)``): 9 ms,
  the same as ``PIL.Image.point`` image by image (9 ms, without the tensor <-> PIL conversions). Picked.
- ``histogram``: ``bincount`` on an int64/int32 flat index for the whole batch 115 / 66 ms, ``scatter_add_``
  97 ms, ``index_put_(accumulate=True)`` 107 ms, ``histc`` 138 ms. Chunked ``bincount`` on an **int16**
  index (uint8 -> int16 converts vectorized, 1.3 ms for the batch; at most 127 planes per chunk so the
  offsets fit) 11-12 ms; 4-way interleaved sub-histograms against store-forwarding stalls on flat photo
  regions gave nothing. Picked chunked int16 ``bincount``; PIL ``Image.histogram`` is 5-6 ms.
  On CUDA ``bincount`` synchronises (it reads the max on the host), so CUDA uses one ``scatter_add_``.
The chunk loop runs over groups of samples sized by memory (not one iteration per sample) and only on the
CPU; CUDA tensors are processed in one shot. The other ops chunk the same way (:func:`_by_chunks`), same
setup, ms ours / PIL image by image: saturation 21 / 18, sharpness 46 / 68 (conv2d was 529), contrast
20 / 22, grayscale 10.5 / 4, hue 86 (no PIL op); fused posterize+equalize+contrast chain 43 / 49.
"""

from __future__ import annotations

import torch

from gpuaug._checks import empty_output, memory_format_of

_CHUNK = 1 << 18  # elements per CPU chunk: the int32 index buffer (1 MiB) stays in L2 between its two uses


def _one_shot(img: torch.Tensor) -> bool:
    """Whole batch in one call: always on CUDA; on the CPU when chunking is off (``_CHUNK <= 0``, which
    the tests use to run the CUDA code path on the CPU)."""
    return img.device.type != "cpu" or _CHUNK <= 0

# ITU-R 601-2 luma in PIL's fixed point: L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16 (Convert.c).
_L_WEIGHTS_INT = (19595, 38470, 7471)
_L_WEIGHTS = (0.299, 0.587, 0.114)


def _physical(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``x`` (or a contiguous copy) in memory order: (B, C, H, W), or (B, H, W, C) for channels_last."""
    if memory_format_of(x) == torch.channels_last:
        return x.permute(0, 2, 3, 1), True
    return x.contiguous(), False


def _plane_offsets(b: int, c: int, step: int, last: bool, dtype: torch.dtype, device) -> torch.Tensor:
    """``step * (b * C + c)`` shaped to broadcast against the physical view."""
    offs = torch.arange(b * c, dtype=dtype, device=device) * step
    return offs.view(b, 1, 1, c) if last else offs.view(b, c, 1, 1)


def apply_lut(img: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """``out[b, c, y, x] = lut[b, c, img[b, c, y, x]]``.

    img: uint8 (B, C, H, W); lut: uint8 (B, C or 1, 256). Returns uint8 (B, C, H, W), img's memory format.
    """
    b, c, h, w = img.shape
    out = empty_output(img)
    if img.numel() == 0:
        return out
    table = lut.to(torch.uint8).expand(b, c, 256).reshape(-1)
    src, last = _physical(img)
    dst = out.permute(0, 2, 3, 1) if last else out
    if _one_shot(img):
        offs = _plane_offsets(b, c, 256, last, torch.int64, img.device)
        torch.index_select(table, 0, (src + offs).view(-1), out=dst.view(-1))
        return out
    per = c * h * w
    nb = max(1, min(b, _CHUNK // per))
    local = _local_offsets(nb, c, 256, last, src.shape[1:], torch.int32)
    buf = torch.empty((nb, *src.shape[1:]), dtype=torch.int32)  # reused: no page faults per chunk
    for b0 in range(0, b, nb):
        b1 = min(b, b0 + nb)
        idx = buf[: b1 - b0]
        # convert, then add in place: 0.034 ms per 3x224x224 sample against 0.055 for a mixed-dtype add
        idx.copy_(src[b0:b1])
        idx.add_(local[: b1 - b0])
        torch.index_select(table[b0 * c * 256 : b1 * c * 256], 0, idx.view(-1), out=dst[b0:b1].view(-1))
    return out


def _local_offsets(nb: int, c: int, step: int, last: bool, shape, dtype: torch.dtype) -> torch.Tensor:
    """Plane offsets of a chunk of ``nb`` samples (CPU). channels_last: a dense (nb, H, W, C) pattern, as
    an add broadcasting C values along the innermost dimension is 5x slower than a dense one."""
    offs = _plane_offsets(nb, c, step, last, dtype, "cpu")
    if last and c > 1:
        return offs.expand(nb, *shape).contiguous()
    return offs


def histogram(img: torch.Tensor) -> torch.Tensor:
    """Counts per image and channel: uint8 (B, C, H, W) -> int32 (B, C, 256)."""
    b, c, h, w = img.shape
    if img.numel() == 0:
        return torch.zeros((b, c, 256), dtype=torch.int32, device=img.device)
    src, last = _physical(img)
    if _one_shot(img):
        offs = _plane_offsets(b, c, 256, last, torch.int64, img.device)
        hist = torch.zeros(b * c * 256, dtype=torch.int32, device=img.device)
        ones = torch.ones((), dtype=torch.int32, device=img.device).expand(img.numel())
        hist.scatter_add_(0, (src + offs).view(-1), ones)
        return hist.view(b, c, 256)
    per = c * h * w
    nb = max(1, min(b, _CHUNK // per, 127 // c))  # <= 127 planes per chunk: offsets fit in int16
    local = _local_offsets(nb, c, 256, last, src.shape[1:], torch.int16)
    hist = torch.empty((b, c, 256), dtype=torch.int32)
    for b0 in range(0, b, nb):
        b1 = min(b, b0 + nb)
        n = b1 - b0
        idx = src[b0:b1].to(torch.int16)
        idx += local[:n]
        hist[b0:b1] = torch.bincount(idx.view(-1), minlength=n * c * 256).view(n, c, 256)
    return hist


def _by_chunks(fn, img: torch.Tensor, *params: torch.Tensor, planar: bool = False) -> torch.Tensor:
    """``fn(img_group, *param_groups)`` over groups of samples of about ``_CHUNK`` elements (CPU only).

    Per-sample ops make several float32 temporaries of the batch's size; above glibc's mmap threshold
    (32 MB) each one is page-faulted in afresh on every call. Groups keep them in cache: adjust_hue on
    (64, 3, 224, 224), 1 thread, went from 329 ms to the figure quoted at the op. CUDA runs in one call.
    """
    b = img.shape[0]
    if _one_shot(img) or b == 0:
        return _strided_like(fn(img, *params), img)
    nb = max(1, _CHUNK // max(1, img[0].numel()))
    if nb >= b:
        return _strided_like(fn(img, *params), img)
    out = None
    # ``planar`` (ops that mix channels pixel by pixel): a channels_last chunk is computed from a dense NCHW
    # copy (in cache), as channel slices of interleaved pixels are strided: saturation 18 -> 12 ms for
    # (16, 3, 224, 224). Not for sharpness, whose shifted windows run faster on the interleaved layout.
    cl = planar and img.shape[1] > 1 and memory_format_of(img) == torch.channels_last
    for b0 in range(0, b, nb):
        b1 = min(b, b0 + nb)
        x = img[b0:b1].contiguous() if cl else img[b0:b1]
        y = fn(x, *(p[b0:b1] for p in params))
        if out is None:
            fmt = memory_format_of(img) if y.dim() == 4 else torch.contiguous_format
            out = torch.empty((b, *y.shape[1:]), dtype=y.dtype, device=y.device, memory_format=fmt)
        out[b0:b1] = y
    return out


def _strided_like(y: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
    """A 4-D result with the strides of ``empty_output`` (as the Triton kernels allocate): elementwise ops
    keep a strided input's odd strides, and a (B, 1, H, W) channels_last result is ambiguous otherwise."""
    if y.dim() != 4:
        return y
    out = torch.empty(y.shape, dtype=y.dtype, device=y.device, memory_format=memory_format_of(img))
    return y if out.stride() == y.stride() else out.copy_(y)


def rows_view(t: torch.Tensor) -> torch.Tensor | None:
    """A dense (B, C, H, W) batch as (B, bytes / 8) int64 rows (or narrower words), a view: row gathers and
    scatters then move 8-byte words (about 5x faster than per-element uint8 indexing on the CPU)."""
    b = t.shape[0]
    if t.is_contiguous():
        f = t.view(b, -1)
    elif t.is_contiguous(memory_format=torch.channels_last):
        f = t.permute(0, 2, 3, 1).reshape(b, -1)
    else:
        return None
    if f.shape[1] == 0:
        return None
    nbytes = f.shape[1] * f.element_size()
    for dt in (torch.int64, torch.int32, torch.int16):
        if nbytes % dt.itemsize == 0 and dt.itemsize >= f.element_size():
            try:
                return f.view(torch.uint8).view(dt) if f.dtype != dt else f
            except RuntimeError:
                return None
    return None


def take(img: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``img[idx]`` (int64 (N,) sample indices) in the same memory format, through 8-byte rows where
    possible (a helper of the CPU paths, not a primitive)."""
    rows = rows_view(img)
    if rows is None:
        return img.index_select(0, idx)
    picked = rows.index_select(0, idx).view(torch.uint8).view(img.dtype)
    b, c, h, w = img.shape
    if img.is_contiguous():
        return picked.view(idx.numel(), c, h, w)
    return picked.view(idx.numel(), h, w, c).permute(0, 3, 1, 2)


def _gray_f32(img: torch.Tensor) -> torch.Tensor:
    """float32 (B, 1, H, W) luma on the image's own scale; uint8 exactly as PIL's ``convert("L")``.

    PIL: ``(19595 R + 38470 G + 7471 B + 0x8000) >> 16``. Every partial sum stays below 2^24, so float32
    holds it exactly, and ``* 2^-16`` is exact: floor() gives PIL's integer (faster than int32 here).
    """
    x = img.float()
    if img.dtype == torch.uint8:
        wr, wg, wb = _L_WEIGHTS_INT
        y = x[:, 0:1] * wr  # integers below 2^24 throughout: exact even where add_(alpha) fuses
        y.add_(x[:, 1:2], alpha=wg).add_(x[:, 2:3], alpha=wb).add_(0x8000)
        return y.mul_(1.0 / 65536).floor_()
    wr, wg, wb = _L_WEIGHTS
    return x[:, 0:1] * wr + x[:, 1:2] * wg + x[:, 2:3] * wb


def grayscale(img: torch.Tensor) -> torch.Tensor:
    """ITU-R 601-2 luma of an RGB batch: (B, 3, H, W) -> (B, 1, H, W), same dtype.

    uint8: PIL's ``convert("L")`` exactly (fixed point, rounded). Floating: 0.299 R + 0.587 G + 0.114 B,
    computed in float32.
    """
    return _by_chunks(lambda x: _gray_f32(x).to(x.dtype), img, planar=True)


def gray_mean(img: torch.Tensor, lut: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of the grayscale image (of ``lut(img)`` when a lut is given) -> float32 (B,).

    uint8: PIL's ``int(ImageStat.Stat(img.convert("L")).mean[0] + 0.5)``, an integer, computed exactly as
    ``(2 * sum + n) // (2 * n)``. Floating: the plain mean of the float32 gray image (not rounded).
    C = 1 images are their own grayscale.
    """
    b, c, h, w = img.shape
    n = h * w
    if n == 0 or b == 0:
        return torch.zeros(b, device=img.device)
    # The table is applied to the whole batch first: applying it chunk by chunk inside the reduction (one
    # apply_lut call per 224x224 sample) measured 15% slower.
    if lut is not None:
        img = apply_lut(img, lut)
    if img.dtype == torch.uint8:
        # per-image sums of integers: float32 is exact per row of pixels, int64 across rows
        g = _by_chunks(
            lambda x: (_gray_f32(x) if c == 3 else x.float()).sum(3).to(torch.int64), img, planar=True
        )
        s = g.flatten(1).sum(1)
        return ((2 * s + n) // (2 * n)).to(torch.float32)
    g = _by_chunks(
        lambda x: (_gray_f32(x) if c == 3 else x.float()).flatten(1).mean(1, keepdim=True), img, planar=True
    )
    return g.view(b)


def _blend_(deg: torch.Tensor, x: torch.Tensor, factor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """PIL's ``Image.blend(deg, x, f)``: ``deg + f * (x - deg)`` in float32, clamped; uint8 truncates.

    Overwrites ``x`` (a float32 temporary). Separate multiply and add, no fused multiply-add: PIL's float
    arithmetic exactly."""
    f = factor.float().view(-1, 1, 1, 1)
    y = x.sub_(deg).mul_(f).add_(deg)
    if dtype == torch.uint8:
        return y.clamp_(0, 255).to(torch.uint8)
    return y.clamp_(0, 1).to(dtype)


def adjust_saturation(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend an RGB batch with its grayscale image (PIL ``ImageEnhance.Color``); factor float32 (B,).

    (64, 3, 224, 224) uint8, 1 thread: 25 ms (PIL ``ImageEnhance.Color`` image by image: 17 ms)."""
    def run(x, f):
        # a float32 copy: _blend_ overwrites it, and .float() of a float32 input is the input itself
        return _blend_(_gray_f32(x), x.to(torch.float32, copy=True), f, x.dtype)

    return _by_chunks(run, img, factor, planar=True)


def _smooth_f32(img: torch.Tensor) -> torch.Tensor:
    """PIL's ``filter(ImageFilter.SMOOTH)`` as float32: kernel [[1,1,1],[1,5,1],[1,1,1]] / 13 inside,
    border pixels kept. uint8: rounded to integers as PIL, exactly ``floor((2 s + 13) / 26)`` (a sum / 13 is
    never a tie). The sum is a separable 3x3 box plus 4x the centre (slices, no conv2d: 10x faster)."""
    x = img.float()
    h, w = x.shape[-2:]
    out = x.clone()
    if h < 3 or w < 3:
        return out
    rows = x[..., :, :-2] + x[..., :, 1:-1]
    rows += x[..., :, 2:]
    s = rows[..., :-2, :] + rows[..., 1:-1, :]
    s += rows[..., 2:, :]
    s += x[..., 1:-1, 1:-1] * 4
    if img.dtype == torch.uint8:
        # +0.5 keeps a multiple of 26 away from the floor's edge under the reciprocal's rounding
        s.mul_(2).add_(13.5).mul_(1.0 / 26).floor_()
    else:
        s.div_(13)
    out[..., 1:-1, 1:-1] = s
    return out


def smooth(img: torch.Tensor) -> torch.Tensor:
    """float32 SMOOTH-filtered image (see :func:`_smooth_f32`), on the image's own scale."""
    return _by_chunks(_smooth_f32, img)


def adjust_sharpness(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend with the SMOOTH-filtered image (PIL ``ImageEnhance.Sharpness``); factor float32 (B,)."""
    def run(x, f):
        return _blend_(_smooth_f32(x), x.to(torch.float32, copy=True), f, x.dtype)

    return _by_chunks(run, img, factor)


def _rotate_hue(x: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Hue rotation of float32 RGB (B, 3, H, W) on any scale (0..255 or [0, 1]) by ``delta`` turns (B,).

    colorsys's RGB -> HSV -> RGB, reduced: with ``mx = max(r, g, b)``, ``d = mx - min(r, g, b)``, the hue
    in sextants is ``h6 = (g - b) / d`` (r is the max), ``2 + (b - r) / d`` (g), ``4 + (r - g) / d`` (b);
    and HSV -> RGB is branch-free: channel n in (5, 3, 1) for (r, g, b), ``k = (n + h6 + 6 delta) mod 6``,
    ``value = mx - d * clamp(min(k, 4 - k), 0, 1)`` (``v * s = d``). Gray pixels (d = 0) stay as they are.
    """
    r, g, b = x.unbind(1)
    mx = torch.maximum(torch.maximum(r, g), b)
    d = mx - torch.minimum(torch.minimum(r, g), b)
    safe = torch.where(d > 0, d, 1.0)
    h6 = torch.where(g == mx, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe)
    h6 = torch.where(r == mx, (g - b) / safe, h6)
    # h6 in [-1, 5), 6 delta in [-3, 3]: + 12 keeps k positive, so fmod (cheaper than remainder) suffices
    # n = 5, 3, 1 from arange on the device: torch.tensor(list, device="cuda") would be a synchronising copy
    shift = (17.0 - 2.0 * torch.arange(3, dtype=torch.float32, device=x.device)).view(1, 3, 1, 1)
    shift = shift + 6.0 * delta.float().view(-1, 1, 1, 1)
    k = torch.fmod(h6.unsqueeze(1) + shift, 6.0)
    m = torch.minimum(k, 4.0 - k).clamp_(0, 1)
    return mx.unsqueeze(1) - d.unsqueeze(1) * m


def adjust_hue(img: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Rotate the hue of an RGB batch by ``delta`` turns (float32 (B,)) through HSV; uint8 rounds.

    (64, 3, 224, 224) uint8, 1 thread: 99 ms (the HSV round trip with colorsys's sector table and
    remainder(): 128 ms; unchunked: 329 ms). PIL has no hue op."""
    def run(x, dl):
        y = _rotate_hue(x.float(), dl)
        if x.dtype == torch.uint8:
            return y.round_().clamp_(0, 255).to(torch.uint8)
        return y.clamp_(0, 1).to(x.dtype)

    return _by_chunks(run, img, delta, planar=True)


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
    if _one_shot(img) or torch.compiler.is_compiling():  # compiled: one graph, no data-dependent loop
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
    v = _erase_value(img, value)
    spans = _box_spans(img, boxes)
    if spans is None:
        mask = _box_mask(boxes, h, w)
        return torch.where(mask, v.view(b, c, 1, 1), img).contiguous(memory_format=memory_format_of(img))
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
    # (idx + seed * K) mod 2^32 == (idx + (seed * K mod 2^32)) mod 2^32: the seed term folds in first
    key = (seed.to(device=img.device, dtype=torch.int64).reshape(-1).expand(b) * 0x9E3779B1) & _M32
    spans = _box_spans(img, boxes)
    if spans is None:
        idx = torch.arange(c * h * w, device=img.device, dtype=torch.int64).view(1, c, h, w)
        x = (idx + key.view(b, 1, 1, 1)) & _M32
        noise = _noise_of(_hash_(x), img.dtype)
        mask = _box_mask(boxes, h, w)
        return torch.where(mask, noise, img).contiguous(memory_format=memory_format_of(img))
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
        mask = _box_mask(box.view(b, 1, 4), h, w)
        other = img.index_select(0, partner.to(torch.int64))
        return torch.where(mask, other, img).contiguous(memory_format=memory_format_of(img))
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


def normalize(
    img: torch.Tensor,
    scale: torch.Tensor,
    shift: torch.Tensor,
    dtype: torch.dtype,
    memory_format: torch.memory_format | None = None,
) -> torch.Tensor:
    """``img * scale + shift`` per image and channel, written as ``dtype`` (a floating dtype).

    scale, shift: float32 (B, C). The caller folds the uint8 -> [0, 1] scaling and ``(x - mean) / std``
    into them, so the op is one multiply-add per element. ``memory_format`` (default: the input's) lets the
    loader convert to ``channels_last`` in the same pass.
    CPU: in groups of samples, in the output's memory order. Whole-batch float32 temporaries page-fault in
    afresh on every call (80 ms against 242 ms for (64, 3, 224, 224) uint8, 1 thread), and a per-channel
    constant broadcast over channels_last has an inner loop of length C that does not vectorize, so the
    constants are repeated along W (about 3x faster).
    """
    fmt = memory_format or memory_format_of(img)
    b, c, h, w = img.shape
    out = torch.empty(img.shape, dtype=dtype, device=img.device, memory_format=fmt)
    if img.numel() == 0:
        return out
    if _one_shot(img):
        return torch.addcmul(shift[:, :, None, None], img, scale[:, :, None, None], out=out)
    last = fmt == torch.channels_last
    src = img.permute(0, 2, 3, 1) if last else img  # the output's memory order
    dst = out.permute(0, 2, 3, 1) if last else out
    nb = max(1, _CHUNK // max(1, img[0].numel()))
    for b0 in range(0, b, nb):
        b1 = min(b, b0 + nb)
        x = src[b0:b1].to(torch.float32)
        if last:
            s, t = (v[b0:b1, None, None, :].expand(b1 - b0, 1, w, c).contiguous() for v in (scale, shift))
        else:
            s, t = scale[b0:b1, :, None, None], shift[b0:b1, :, None, None]
        if dtype == torch.float32:
            torch.addcmul(t, x, s, out=dst[b0:b1])
        else:
            dst[b0:b1] = torch.addcmul(t, x, s, out=x)
    return out
