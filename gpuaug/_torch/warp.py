"""The ``warp`` primitive on the torch path: batched affine resampling (the host path and the reference).

``warp(img, inv, size, interpolation, fill_mode, fill)``: ``img`` ``(B, C, H, W)`` uint8 or floating;
``inv`` float32 ``(B, 2, 3)`` maps OUTPUT pixel coordinates ``(x, y, 1)`` to SOURCE coordinates (pixel
centres at integers); ``size = (H_out, W_out)``; ``fill`` float32 ``(B, C)`` in the image's range.
Returns ``(B, C, H_out, W_out)`` in the input's dtype and memory format. Results equal
``scipy.ndimage.affine_transform`` (order 0 / 1, the mode named in ``FILL_MODES``) up to float32
rounding; uint8 rounds to nearest.

How it works: each chunk of samples is copied into a buffer padded by 1 pixel left/top (and 1 or 2
right/bottom) whose border holds what the fill mode puts there, and source coordinates are folded into the
image first (or clamped to one pixel outside it), so every tap lands inside the buffer and one sampler
serves every mode. A non-finite ``inv`` (from a singular forward matrix) samples source (-2, -2).
- nearest: rounding is half up (``floor(x + 0.5)``, as scipy ``order=0``) and values are copied
  bit-exactly by ``index_select`` straight into the output's storage: one gather per channel from a
  planar buffer, or, for channels_last input, one gather of whole pixels (rows of C values) from a
  channels-last buffer, so nothing is transposed.
- bilinear: the buffer is float32 (planar) and ``F.grid_sample`` (vectorized on the CPU: tap indices and
  weights computed once per output pixel, shared by the channels) gathers and blends; its grid is one
  batched matmul of ``(x, y, 1)`` with ``inv`` composed with grid_sample's normalization. The modes map
  onto grid_sample's own padding (edge: border; reflect: reflection; mirror: reflection with
  align_corners) or onto the padded buffer (constant: a fill border; wrap: coordinates folded, then a
  wrapped border). This measured about 2x faster on one CPU thread than gathering packed taps with
  ``index_select`` and blending with torch ops (the unpack to channel planes costs more than the blend).
Fast path (CPU only, where reading the matrix costs no sync): for the samples whose map is
``x_src = +-x + tx, y_src = +-y + ty`` with integer ``tx, ty`` (flips, identity, integer crops and shifts:
common after Compose fusion, and the samples a layer with ``p < 1`` leaves alone), every output pixel is a
source pixel (or the fill), so whole rows are copied by index gathers instead of interpolating (``_gather``);
in a mixed batch only the other samples interpolate. Same result as the general path (bitwise for uint8 and
for nearest; floats with bilinear may differ from it by float32 rounding, as the general path's weights are
not exactly 0 / 1 there).
On the CPU the batch runs in chunks of about ``_CHUNK_PX`` output pixels (whole samples, or output rows
of one large sample) so that the intermediates stay in cache and scratch is reused (page faults of fresh
large tensors cost as much as the arithmetic); on other devices in one pass.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gpuaug._checks import empty_output, memory_format_of

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
# fill_mode -> the scipy.ndimage mode with the same result
FILL_MODES = {
    "constant": "grid-constant",
    "edge": "nearest",
    "reflect": "reflect",
    "mirror": "mirror",
    "wrap": "grid-wrap",
}
# a map counts as integer when the snapped one moves no output pixel's source by more than this
_SNAP_PX = 1e-6
# output pixels per CPU chunk, by interpolation (best of 2^14 .. 2^18 at 64 x 3 x 224 x 224 uint8)
_CHUNK_PX = {"nearest": 1 << 17, "bilinear": 1 << 16, "bicubic": 1 << 14}


def warp(
    img: torch.Tensor,
    inv: torch.Tensor,
    size: tuple[int, int],
    interpolation: str,
    fill_mode: str,
    fill: torch.Tensor,
) -> torch.Tensor:
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {tuple(FILL_MODES)}, got {fill_mode!r}")
    b, c, h, w = img.shape
    ho, wo = int(size[0]), int(size[1])
    out = empty_output(img, (ho, wo))
    if out.numel() == 0:
        return out
    if h == 0 or w == 0:
        raise ValueError(f"img must have a non-empty image plane, got shape {tuple(img.shape)}")
    compute = torch.float64 if img.dtype == torch.float64 else torch.float32
    inv = inv.to(device=img.device, dtype=compute)
    # a non-finite matrix (singular forward map) samples source (-2, -2) instead of NaN indices
    outside = torch.zeros_like(inv[:1])
    outside[..., 2] = -2.0
    inv = torch.where(torch.isfinite(inv).all(dim=(1, 2), keepdim=True), inv, outside)
    fill = fill.to(device=img.device, dtype=torch.float32).expand(b, c)
    if not img.dtype.is_floating_point:
        # keeps every blend in range (CUDA fill tensors are not range-checked upstream: no sync)
        fill = fill.clamp(0, torch.iinfo(img.dtype).max)
    if img.device.type == "cpu" and not torch.compiler.is_compiling():
        # CPU only: reading the matrix here would be a host sync on CUDA (and a graph break when compiled)
        ok, ax, tx, ay, ty = _integer_map(inv, ho, wo)
        n_ok = int(ok.sum())
        if n_ok == b and _gather(img, ax, tx, ay, ty, fill, fill_mode, out):
            return out
        if 0 < n_ok < b:
            # only the other samples interpolate: each group runs on its own copy into one buffer in group
            # order, then one reorder (index_select on whole samples; index_copy_ measured 8x slower)
            gi, fi = (~ok).nonzero()[:, 0], ok.nonzero()[:, 0]
            ng = gi.numel()
            tmp = empty_output(img, (ho, wo))
            _general(_take(img, gi), inv[gi], fill[gi], interpolation, fill_mode, tmp[:ng], compute)
            sub = _take(img, fi)
            if not _gather(sub, ax[fi], tx[fi], ay[fi], ty[fi], fill[fi], fill_mode, tmp[ng:]):
                _general(sub, inv[fi], fill[fi], interpolation, fill_mode, tmp[ng:], compute)
            order = torch.empty(b, dtype=torch.int64, device=img.device)
            order[torch.cat((gi, fi))] = torch.arange(b, device=img.device)
            return _take(tmp, order, out)
    _general(img, inv, fill, interpolation, fill_mode, out, compute)
    return out


def _take(x: torch.Tensor, idx: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``x[idx]`` (whole samples) in ``x``'s memory format (a bare index_select drops channels_last)."""
    if out is None:
        out = torch.empty((idx.numel(), *x.shape[1:]), dtype=x.dtype, device=x.device,
                          memory_format=memory_format_of(x))
    return torch.index_select(x, 0, idx, out=out)


def _general(img, inv, fill, interpolation, fill_mode, out, compute) -> None:
    """The interpolating path, any map: ``out`` = the warp of ``img`` (chunked on the CPU)."""
    b = img.shape[0]
    ho, wo = out.shape[-2:]
    if img.device.type == "cpu" and not torch.compiler.is_compiling():  # compiled: one symbolic pass
        chunk = _CHUNK_PX[interpolation]
        per = max(1, chunk // (ho * wo))
        rows = ho if per > 1 else max(1, min(ho, chunk // wo))
        if interpolation == "nearest" and (img.shape[1] == 1 or memory_format_of(img) != torch.channels_last):
            # planar nearest: one sample per chunk, so every gather writes one contiguous output plane and
            # the indices need no per-channel or per-sample offsets (those full-size adds cost as much as
            # the gather)
            per, rows = 1, ho
    else:
        per, rows = b, ho
    run = {"nearest": _nearest, "bilinear": _bilinear, "bicubic": _bicubic}[interpolation]
    run(img, inv, fill, fill_mode, out, per, rows, compute)


def _nearest(img, inv, fill, fill_mode, out, per, rows, compute):
    b, c, h, w = img.shape
    ho, wo = out.shape[-2:]
    hp, wp = h + 3, w + 3
    dev = img.device
    # channels_last: a channels-last buffer whose pixels (rows of C values) one index_select copies straight
    # into the output's storage. Planar: a planar buffer and one gather per channel into the output plane
    # (one sample per chunk on the CPU, see _general), or one gather over all planes of a chunk.
    # (Packing the pixels into one wide element measured 2x slower: packing and unpacking 3 of 4 bytes
    # are strided copies.)
    cl = c > 1 and memory_format_of(img) == torch.channels_last
    n0 = min(per, b)
    if cl:
        buf = torch.empty((n0, hp, wp, c), dtype=img.dtype, device=dev)
        view = buf
    else:
        buf = torch.empty((n0, c, hp, wp), dtype=img.dtype, device=dev)
        view = buf.permute(0, 2, 3, 1)
    step = hp * wp if cl else c * hp * wp
    itype = torch.int32 if buf.numel() < 2**31 else torch.int64
    chan = torch.arange(c, device=dev, dtype=itype).mul_(hp * wp)[None, :, None, None]
    off = torch.arange(n0, device=dev, dtype=itype).mul_(step)[:, None, None]
    # source x = (row term) + (column term), so each chunk costs one full-size op per axis
    shift = _NEAREST_SHIFT[fill_mode]
    xs = torch.arange(wo, device=dev, dtype=compute)
    ys = torch.arange(ho, device=dev, dtype=compute)
    cols = inv[:, :, 0, None] * xs  # (B, 2, W_out)
    rows_t = torch.addcmul(inv[:, :, 2, None] + shift, inv[:, :, 1, None], ys)  # (B, 2, H_out)
    # (B, H_out, 1) and (B, 1, W_out) per axis, viewed once: per-chunk view ops add up on the CPU
    rx, ry, cx, cy = rows_t[:, 0, :, None], rows_t[:, 1, :, None], cols[:, 0, None], cols[:, 1, None]
    fill = _storage_fill(fill, img.dtype)
    # scratch reused by every chunk: fresh large tensors per chunk cost page faults on the CPU
    full = (n0, min(rows, ho), wo)
    fx, fy = (_Scratch(full, compute, dev) for _ in range(2))
    ix, iy = (_Scratch(full, itype, dev) for _ in range(2))
    ic = _Scratch((n0, c, *full[1:]), itype, dev) if not cl and n0 > 1 else None
    for b0 in range(0, b, per) if per < b else (0,):  # (0,): no loop over a symbolic size
        b1 = min(b, b0 + per)
        n = b1 - b0
        _fill_border(view[:n], img[b0:b1], fill[b0:b1], fill_mode, 2)
        for y0 in range(0, ho, rows):
            y1 = min(ho, y0 + rows)
            shape = (n, y1 - y0, wo)
            sx = torch.add(rx[b0:b1, y0:y1], cx[b0:b1], out=fx.get(shape))
            sy = torch.add(ry[b0:b1, y0:y1], cy[b0:b1], out=fy.get(shape))
            # float -> int copies truncate, which is the floor here (folded values are >= 0)
            idx_x = ix.get(shape).copy_(_fold_nearest(sx, w, fill_mode))
            idx = iy.get(shape).copy_(_fold_nearest(sy, h, fill_mode)).mul_(wp).add_(idx_x)
            dst = out[b0:b1, :, y0:y1]
            if cl:
                if n > 1:
                    idx.add_(off[:n])
                _gather_into(buf[:n].view(-1, c), idx.view(-1), dst.permute(0, 2, 3, 1))
            elif n == 1:
                for k in range(c):
                    _gather_into(buf[0, k].view(-1), idx.view(-1), dst[0, k])
            else:
                idx = torch.add(idx.add_(off[:n])[:, None], chan, out=ic.get((n, c, y1 - y0, wo)))
                _gather_into(buf[:n].view(-1), idx.view(-1), dst)


def _gather_into(src: torch.Tensor, idx: torch.Tensor, dst: torch.Tensor) -> None:
    """``dst`` (viewed as ``(idx.numel(), *src.shape[1:])``) = ``src.index_select(0, idx)``, written in
    place when ``dst`` is contiguous."""
    if dst.is_contiguous():
        torch.index_select(src, 0, idx, out=dst.view(-1, *src.shape[1:]))
    else:
        dst.copy_(src.index_select(0, idx).view(dst.shape))


class _Scratch:
    """A buffer allocated once; ``get(shape)`` views its first ``prod(shape)`` elements (chunk tails are
    smaller)."""

    def __init__(self, shape, dtype, device):
        self.flat = torch.empty(math.prod(shape), dtype=dtype, device=device)

    def get(self, shape) -> torch.Tensor:
        return self.flat[: math.prod(shape)].view(shape)


# Nearest: x + shift is computed, then folded so that truncation gives the buffer index
# floor(x_folded + 0.5) + 1 (round half up, as scipy order=0; the image starts at buffer pixel 1).
_NEAREST_SHIFT = {"constant": 1.5, "edge": 1.5, "reflect": 0.5, "mirror": 0.0, "wrap": 0.0}


def _fold_nearest(t: torch.Tensor, n: int, fill_mode: str) -> torch.Tensor:
    """``t`` = x + shift (in place) -> a value whose truncation is the buffer index, in [0, n + 1]."""
    if fill_mode == "constant":
        return t.clamp_(0.5, n + 1.5)  # one pixel outside (all fill) at most
    if fill_mode == "edge":
        return t.clamp_(1.5, n + 0.5)
    if fill_mode == "reflect":
        # half-sample symmetric: period 2n; v = x + 0.5 folded into [0, n], pixel floor(v) (n repeats n - 1)
        t.remainder_(2 * n)
        return torch.minimum(t, 2 * n - t, out=t).add_(1).clamp_(1, n + 1)
    if fill_mode == "mirror":
        if n == 1:
            return t.fill_(1.5)
        # whole-sample symmetric: period 2n - 2, x folded into [0, n - 1]
        t.remainder_(2 * n - 2)
        return torch.minimum(t, (2 * n - 2) - t, out=t).add_(1.5).clamp_(1.5, n + 0.5)
    # wrap: x folded into [0, n]; pixel n (rounding up from n - 0.5) is pixel 0, held at buffer n + 1
    return t.remainder_(n).add_(1.5).clamp_(1.5, n + 1.5)


def _storage_fill(fill: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, C) fill in the buffer's dtype (integer images: rounded to nearest)."""
    return (fill if dtype.is_floating_point else fill.round()).to(dtype)


# fill_mode -> (border pixels around the image in the buffer, grid_sample padding_mode, align_corners)
_BILINEAR = {
    "constant": (1, "border", False),  # the border holds fill; beyond it grid_sample repeats the border
    "edge": (0, "border", False),
    "reflect": (0, "reflection", False),  # reflects about -0.5 and W - 0.5
    "mirror": (0, "reflection", True),  # reflects about 0 and W - 1
    "wrap": (1, "border", False),  # coordinates folded into [0, W] first; the border holds pixels W-1 / 0
}


def _bilinear(img, inv, fill, fill_mode, out, per, rows, compute):
    b, c, h, w = img.shape
    ho, wo = out.shape[-2:]
    pad, padding_mode, align = _BILINEAR[fill_mode]
    n0 = min(per, b)
    buf = None
    if pad or img.dtype != compute:
        buf = torch.empty((n0, c, h + 2 * pad, w + 2 * pad), dtype=compute, device=img.device)
    # (x, y, 1) of every output pixel: the sampling grid is one batched matmul with the matrix below
    base = torch.ones((ho, wo, 3), dtype=compute, device=img.device)
    base[..., 0] = torch.arange(wo, device=img.device, dtype=compute)
    base[..., 1] = torch.arange(ho, device=img.device, dtype=compute)[:, None]
    if fill_mode == "wrap":
        mat = inv.transpose(1, 2)  # pixel units; folded and normalized after the matmul
    else:
        # source pixel -> grid_sample's normalized coordinate, per axis: g = k * x + o
        # (Python scalars only: a tensor built from a list would be a synchronising copy on CUDA)
        mat = inv.transpose(1, 2).contiguous()  # (B, 3, 2): rows x, y, 1; columns g_x, g_y
        for axis, n in ((0, w), (1, h)):
            k, o = _normalize(n + 2 * pad, pad, align)
            mat[:, :, axis] *= k
            mat[:, 2, axis] += o
    grid = torch.empty((n0 * rows * wo * 2,), dtype=compute, device=img.device)
    for b0 in range(0, b, per) if per < b else (0,):  # (0,): no loop over a symbolic size
        b1 = min(b, b0 + per)
        n = b1 - b0
        if buf is None:
            src = img[b0:b1]
        elif pad:
            src = buf[:n]
            _fill_border(src.permute(0, 2, 3, 1), img[b0:b1], fill[b0:b1].to(compute), fill_mode, 1)
        else:
            src = buf[:n].copy_(img[b0:b1])
        for y0 in range(0, ho, rows):
            y1 = min(ho, y0 + rows)
            npx = (y1 - y0) * wo
            g = grid[: n * npx * 2].view(n, npx, 2)
            torch.bmm(base[y0:y1].view(1, npx, 3).expand(n, npx, 3), mat[b0:b1], out=g)
            g = g.view(n, y1 - y0, wo, 2)
            if fill_mode == "wrap":
                for axis, size in ((0, w), (1, h)):
                    kk, oo = _normalize(size + 2, 1, False)
                    g[..., axis].remainder_(size).mul_(kk).add_(oo)
            res = F.grid_sample(src, g, mode="bilinear", padding_mode=padding_mode, align_corners=align)
            if not img.dtype.is_floating_point:
                res.round_()  # a blend of in-range values: rounding is enough, no clamp needed
            out[b0:b1, :, y0:y1].copy_(res)


def cubic_weights(d: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Weights of the taps at offsets -1, 0, 1, 2 from ``floor(x)`` for ``d = x - floor(x)``: the cubic
    convolution with a = -1 (PIL's affine BICUBIC, Pillow's Geometry.c ``BICUBIC``)."""
    d2 = d * d
    d3 = d2 * d
    return -d + 2 * d2 - d3, 1 - 2 * d2 + d3, d + d2 - d3, d3 - d2


def _bicubic(img, inv, fill, fill_mode, out, per, rows, compute):
    """4 x 4 taps per output pixel, each tap folded by the fill mode on its own (constant: the fill outside;
    edge: the taps clamp, as scipy's and PIL's edge extension); one gather per tap from the flat batch. The
    result is clipped to the value range, as PIL does (the cubic overshoots at edges)."""
    b, c, h, w = img.shape
    ho, wo = out.shape[-2:]
    dev = img.device
    xs = torch.arange(wo, device=dev, dtype=compute)
    ys = torch.arange(ho, device=dev, dtype=compute)
    fill = fill.to(compute)
    for b0 in range(0, b, per):
        b1 = min(b, b0 + per)
        n = b1 - b0
        src = img[b0:b1].to(compute).reshape(-1)  # (n, C, H, W) flat
        base = (torch.arange(n, device=dev) * (c * h * w))[:, None, None, None] + \
            (torch.arange(c, device=dev) * (h * w))[None, :, None, None]
        a = inv[b0:b1]
        for y0 in range(0, ho, rows):
            y1 = min(ho, y0 + rows)
            yy = ys[y0:y1, None]
            sx = a[:, 0, 0, None, None] * xs + a[:, 0, 1, None, None] * yy + a[:, 0, 2, None, None]
            sy = a[:, 1, 0, None, None] * xs + a[:, 1, 1, None, None] * yy + a[:, 1, 2, None, None]
            # far-away coordinates: their taps are all outside (or fold back); keep the arithmetic finite
            sx, sy = sx.clamp(-2.0**24, 2.0**24), sy.clamp(-2.0**24, 2.0**24)
            fx, fy = sx.floor(), sy.floor()
            wx, wy = cubic_weights(sx - fx), cubic_weights(sy - fy)
            ix0, iy0 = fx.to(torch.int64), fy.to(torch.int64)
            acc = torch.zeros((n, c, y1 - y0, wo), dtype=compute, device=dev)
            for j in range(4):
                ry, vy = _fold_index(iy0 + (j - 1), h, fill_mode)
                for k in range(4):
                    rx, vx = _fold_index(ix0 + (k - 1), w, fill_mode)
                    v = src.take(base + (ry * w + rx)[:, None])
                    if vx is not None:
                        v = torch.where((vx | vy)[:, None], fill[b0:b1, :, None, None], v)
                    acc += (wy[j] * wx[k])[:, None] * v
            # the cubic overshoots: back into the value range (uint8 rounds first)
            acc = acc.clamp_(0, 1) if img.dtype.is_floating_point else acc.round_().clamp_(0, 255)
            out[b0:b1, :, y0:y1].copy_(acc)


def _normalize(length: int, pad: int, align: bool) -> tuple[float, float]:
    """(k, o) with g = k * x + o: image pixel x -> grid_sample coordinate in a buffer of ``length`` pixels
    whose pixel ``pad`` is image pixel 0."""
    if align:
        if length == 1:
            return 0.0, 0.0
        return 2 / (length - 1), 2 * pad / (length - 1) - 1
    return 2 / length, (2 * pad + 1) / length - 1


def _fill_border(v: torch.Tensor, img: torch.Tensor, fill: torch.Tensor, fill_mode: str, hi: int) -> None:
    """Copy ``img`` (n, C, H, W) into ``v``, an (n, H+1+hi, W+1+hi, C) view, at offset (1, 1), and set the
    border: 1 pixel left/top, ``hi`` pixels right/bottom."""
    n, c, h, w = img.shape
    v[:, 1 : h + 1, 1 : w + 1].copy_(img.permute(0, 2, 3, 1))
    if fill_mode == "constant":
        f = fill[:, None, None, :]  # already in v's dtype
        v[:, :, :1].copy_(f.expand(n, h + 1 + hi, 1, c))
        v[:, :, w + 1 :].copy_(f.expand(n, h + 1 + hi, hi, c))
        v[:, :1].copy_(f.expand(n, 1, w + 1 + hi, c))
        v[:, h + 1 :].copy_(f.expand(n, hi, w + 1 + hi, c))
        return
    # Folded coordinates reach image pixel -1 and W, W+1 only with the edge value or with zero weight
    # (edge / reflect / mirror: repeat the edge); wrap needs pixel W = pixel 0 and W+1 = pixel 1.
    # Columns first (inner rows only), then whole rows, so the corners come out right.
    if fill_mode == "wrap":
        cols, rws = (w, 1, min(2, w)), (h, 1, min(2, h))
    else:
        cols, rws = (1, w, w), (1, h, h)
    inner = v[:, 1 : h + 1]
    inner[:, :, 0].copy_(inner[:, :, cols[0]])
    for i in range(hi):
        inner[:, :, w + 1 + i].copy_(inner[:, :, cols[1 + i]])
    v[:, 0].copy_(v[:, rws[0]])
    for i in range(hi):
        v[:, h + 1 + i].copy_(v[:, rws[1 + i]])


# ----------------------------------------------------------------------------- integer maps (CPU only)


def _integer_map(inv: torch.Tensor, ho: int, wo: int):
    """Per sample: whether ``inv`` is ``x_src = ax x + tx, y_src = ay y + ty`` with ``ax, ay = +-1`` and
    integer ``tx, ty`` (to ``_SNAP_PX`` over the output plane), and those integers as int64 ``(B,)``."""
    a = inv.double()
    r = a.round()
    dev = (a - r).abs()
    dx = dev[:, 0, 0] * (wo - 1) + a[:, 0, 1].abs() * (ho - 1) + dev[:, 0, 2]
    dy = a[:, 1, 0].abs() * (wo - 1) + dev[:, 1, 1] * (ho - 1) + dev[:, 1, 2]
    ok = (r[:, 0, 0].abs() == 1) & (r[:, 1, 1].abs() == 1) & (dx <= _SNAP_PX) & (dy <= _SNAP_PX)
    ok &= (r[:, :, 2].abs() < 2**40).all(1)  # far-away shifts stay exact in int64 arithmetic
    ri = torch.where(ok[:, None, None], r, 0.0).to(torch.int64)
    return ok, ri[:, 0, 0], ri[:, 0, 2], ri[:, 1, 1], ri[:, 1, 2]


def _fold_index(i: torch.Tensor, n: int, fill_mode: str):
    """Integer source indices -> indices in ``[0, n)`` by the fill mode (the scipy modes of
    ``FILL_MODES`` at whole pixels), and for "constant" where they were outside (else None)."""
    if fill_mode == "constant":
        return i.clamp(0, n - 1), (i < 0) | (i >= n)
    if fill_mode == "edge":
        return i.clamp(0, n - 1), None
    if fill_mode == "reflect":  # dcba|abcd|dcba: period 2n
        m = i.remainder(2 * n)
        return torch.minimum(m, 2 * n - 1 - m), None
    if fill_mode == "mirror":  # dcb|abcd|cba: period 2n - 2
        if n == 1:
            return torch.zeros_like(i), None
        m = i.remainder(2 * n - 2)
        return torch.minimum(m, 2 * n - 2 - m), None
    return i.remainder(n), None  # wrap


def _gather(img, ax, tx, ay, ty, fill, fill_mode, out) -> bool:
    """``out[b, :, y, x] = img[b, :, ay y + ty, ax x + tx]`` (folded by ``fill_mode``; "constant": ``fill``
    outside) by whole-row copies. Returns False (nothing written) when the columns reach so far outside
    that the padded buffer below would be large; the general path then runs.

    Each output row is one contiguous run of a source row: of the image, of a copy padded left/right by the
    columns the fill mode puts there (and, for "constant", one extra row of ``fill`` that outside rows
    read), flipped for the samples with ``ax = -1``. One ``index_select`` over overlapping row windows
    (``as_strided``) copies all the runs: rows and columns in one pass, no interpolation, no mask.
    """
    b, c, h, w = img.shape
    ho, wo = out.shape[-2:]
    dev = img.device
    planar = memory_format_of(img) != torch.channels_last
    ry, out_y = _fold_index(ay[:, None] * torch.arange(ho, device=dev) + ty[:, None], h, fill_mode)
    first, last = tx, tx + ax * (wo - 1)
    lo, hi = torch.minimum(first, last), torch.maximum(first, last)  # (B,) column span of each run
    pl, pr = max(0, -int(lo.min())), max(0, int(hi.max()) - (w - 1))
    if pl + pr > w + wo:
        return False
    fill_row = out_y is not None and bool(out_y.any())
    if pl or pr or fill_row:
        hp, wp = h + fill_row, w + pl + pr
        buf = torch.empty((b, c, hp, wp) if planar else (b, hp, wp, c), dtype=img.dtype, device=dev)
        bv = buf if planar else buf.permute(0, 3, 1, 2)  # (B, C, H', W') whatever the storage
        bv[:, :, :h, pl : pl + w].copy_(img)
        if fill_mode == "constant":
            f = _storage_fill(fill, img.dtype)[:, :, None, None]
            bv[:, :, :h, :pl].copy_(f.expand(b, c, h, pl))
            bv[:, :, :h, pl + w :].copy_(f.expand(b, c, h, pr))
            if fill_row:
                bv[:, :, h].copy_(f[..., 0].expand(b, c, wp))
                ry = torch.where(out_y, h, ry)
        else:
            for lo_col, at in ((-pl, slice(0, pl)), (w, slice(pl + w, wp))):
                cols = torch.arange(lo_col, lo_col + (at.stop - at.start), device=dev)
                if cols.numel():
                    bv[..., at].copy_(img.index_select(3, _fold_index(cols, w, fill_mode)[0]))
        v, h, w = buf, hp, wp
    else:
        v = (img if planar else img.permute(0, 2, 3, 1)).contiguous()  # storage order, contiguous
    lo, hi = lo + pl, hi + pl
    src = torch.arange(b, device=dev)
    flip = ax < 0
    nf = int(flip.sum())
    if nf == b:
        v = v.flip(3 if planar else 2)
    elif nf:
        # one source tensor for the one index_select: the batch, then flipped copies of the flipped samples
        fidx = flip.nonzero()[:, 0]
        v = torch.cat((v, v.index_select(0, fidx).flip(3 if planar else 2)))
        src[fidx] = b + torch.arange(nf, device=dev)
    start = torch.where(flip, w - 1 - hi, lo)  # first column of the run (in the flipped copy: reversed)
    flat = v.view(-1)
    if planar:
        win = flat.as_strided((flat.numel() - wo + 1, wo), (1, 1))
        chan = torch.arange(c, device=dev)[None, :, None]
        idx = ((src[:, None, None] * c + chan) * h + ry[:, None, :]) * w + start[:, None, None]
        dst = out
    else:
        win = flat.as_strided((flat.numel() // c - wo + 1, wo * c), (c, 1))
        idx = (src[:, None] * h + ry) * w + start[:, None]
        dst = out.permute(0, 2, 3, 1)
    if dst.is_contiguous():
        torch.index_select(win, 0, idx.view(-1), out=dst.view(-1, win.shape[1]))
    else:
        dst.copy_(win.index_select(0, idx.view(-1)).view(dst.shape))
    return True
