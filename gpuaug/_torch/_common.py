"""Shared plumbing of the torch path (the mirror of ``kernels/_common.py``): how a batch is walked.

On CUDA (and any non-CPU device) every primitive runs on the whole batch in one shot. On the CPU (the host
path) it runs in groups of samples of about ``CHUNK`` elements, so that temporaries stay in cache and are
reused: whole-batch float32 temporaries above glibc's mmap threshold (32 MB) are page-faulted in afresh on
every call, which cost as much as the arithmetic (measured per op, see the family modules). The
whole-batch functions (``*_whole``) are also what the tests compare the chunked host path with.
"""

from __future__ import annotations

import torch

from gpuaug._checks import memory_format_of

#: elements per CPU chunk: an int32 index buffer of this many elements (1 MiB) stays in L2 between uses
CHUNK = 1 << 18


def one_shot(img: torch.Tensor) -> bool:
    """Whole batch in one call: every device but the CPU (chunk loops are a host-path strategy), and
    under torch.compile (a loop over a symbolic batch size would specialise the graph to one size)."""
    return img.device.type != "cpu" or torch.compiler.is_compiling()


def physical(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``x`` (or a contiguous copy) in memory order: (B, C, H, W), or (B, H, W, C) for channels_last."""
    if memory_format_of(x) == torch.channels_last:
        return x.permute(0, 2, 3, 1), True
    return x.contiguous(), False


def plane_offsets(b: int, c: int, step: int, last: bool, dtype: torch.dtype, device) -> torch.Tensor:
    """``step * (b * C + c)`` shaped to broadcast against the physical view."""
    offs = torch.arange(b * c, dtype=dtype, device=device) * step
    return offs.view(b, 1, 1, c) if last else offs.view(b, c, 1, 1)


def local_offsets(nb: int, c: int, step: int, last: bool, shape, dtype: torch.dtype) -> torch.Tensor:
    """Plane offsets of a chunk of ``nb`` samples (CPU). channels_last: a dense (nb, H, W, C) pattern, as
    an add broadcasting C values along the innermost dimension is 5x slower than a dense one."""
    offs = plane_offsets(nb, c, step, last, dtype, "cpu")
    if last and c > 1:
        return offs.expand(nb, *shape).contiguous()
    return offs


def by_chunks(fn, img: torch.Tensor, *params: torch.Tensor, planar: bool = False) -> torch.Tensor:
    """``fn(img_group, *param_groups)`` over groups of samples of about ``CHUNK`` elements on the CPU;
    one call on the whole batch elsewhere.

    Per-sample ops make several float32 temporaries of the batch's size; groups keep them in cache:
    adjust_hue on (64, 3, 224, 224), 1 thread, went from 329 ms to the figure quoted at the op.
    """
    b = img.shape[0]
    if one_shot(img) or b == 0:
        return strided_like(fn(img, *params), img)
    nb = max(1, CHUNK // max(1, img[0].numel()))
    if nb >= b:
        return strided_like(fn(img, *params), img)
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


def strided_like(y: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
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
    possible."""
    rows = rows_view(img)
    if rows is None:
        out = torch.empty((idx.numel(), *img.shape[1:]), dtype=img.dtype, device=img.device,
                          memory_format=memory_format_of(img))
        return torch.index_select(img, 0, idx, out=out)
    picked = rows.index_select(0, idx).view(torch.uint8).view(img.dtype)
    b, c, h, w = img.shape
    if img.is_contiguous():
        return picked.view(idx.numel(), c, h, w)
    return picked.view(idx.numel(), h, w, c).permute(0, 3, 1, 2)


def put(out: torch.Tensor, idx: torch.Tensor, part: torch.Tensor) -> None:
    """``out[idx] = part`` for whole samples, through 8-byte rows where both are dense in one layout."""
    rows, src = rows_view(out), rows_view(part)
    if (rows is not None and src is not None and part.dtype == out.dtype
            and memory_format_of(part) == memory_format_of(out)):
        rows.index_copy_(0, idx, src)
    else:
        out.index_copy_(0, idx, part)
