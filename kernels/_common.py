"""Shared plumbing for the Triton kernels: interpreter detection, launch rules, op registration.

Every kernel in this package is launched on a 2-D grid ``(pixel tiles, samples)`` and loops over the
(1 or 3) channels inside the program, so the per-pixel index arithmetic (row, column, box tests, source
coordinates) is done once per pixel, not once per channel. Offsets are int32 inside one sample and int64
for the sample base; a sample spanning 2**31 elements or more switches the in-sample offsets to int64 too
(``INT64`` constexpr), so batches of any size index correctly. ``pixel_tile`` and ``hw_offset`` are that
index arithmetic (inlined into each kernel); ``launch`` and ``layout`` the host side of it.

Sizes are never ``tl.constexpr``. H, W (row length, divisor) are not specialised at all
(``do_not_specialize``); the pixel count that bounds the mask is a plain int, which Triton specialises only
on divisibility by 16: that is what lets it prove the mask uniform over a thread's elements and vectorise
contiguous uint8 loads/stores (8-16 bytes per thread instead of 1; checked in the sm_90 PTX). At most a
couple of variants per kernel, never one per shape.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

#: True when Triton runs kernels through its interpreter (``TRITON_INTERPRET=1`` before ``import triton``).
INTERPRET = os.environ.get("TRITON_INTERPRET", "0").strip() not in ("", "0")

#: CUDA caps grid axis 1 at 65535; larger batches are launched in chunks of this many samples.
MAX_GRID_B = 65535

#: Pixels per program and warps per program, by kernel family. Not tuned yet on a GPU: the numbers are
#: the usual memory-bound defaults (1024 elements, 4 warps; bigger for the histogram, whose atomics are
#: amortised over the block). ``benchmarks/bench_kernels.py --sweep`` times the alternatives; change them
#: here from its output. In the interpreter one program covers a whole small image (fewer Python calls).
CONFIG: dict[str, tuple[int, int]] = {
    "warp": (1024, 4),
    "lut": (2048, 8),
    "histogram": (4096, 8),
    "erase": (2048, 8),
    "paste": (2048, 8),
    "pipeline": (1024, 4),
    "resize": (1024, 4),
    "add": (2048, 8),
}

FILL_MODES = ("constant", "edge", "reflect", "mirror", "wrap")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


def block_for(kind: str, n_pix: int) -> tuple[int, int]:
    """``(BLOCK, num_warps)`` for a kernel family and the number of pixels per sample."""
    block, warps = CONFIG[kind]
    if not isinstance(n_pix, int):  # symbolic size under torch.compile: no guard on the exact value
        return block, warps
    if INTERPRET:
        # Interpreted programs cost a Python round-trip each: cover the image with as few as possible.
        return max(16, min(8192, 1 << max(n_pix - 1, 1).bit_length())), 1
    # Don't launch mostly-masked programs for tiny images.
    return max(128, min(block, 1 << max(n_pix - 1, 1).bit_length())), warps


def needs_int64(*tensors: torch.Tensor) -> bool:
    """True if an in-sample offset of any tensor can reach 2**31 (then the kernel indexes in int64)."""
    for t in tensors:
        if t.dim() == 0 or t.numel() == 0:
            continue
        span = sum((n - 1) * abs(s) for n, s in zip(t.shape[1:], t.stride()[1:]))
        if span >= 2**31 - 1:
            return True
    return False


def flat_hw(t: torch.Tensor) -> bool:
    """True if rows follow each other in memory (stride_h == W * stride_w): pixel p sits at p * stride_w."""
    return t.shape[-2] == 1 or t.stride(-2) == t.shape[-1] * t.stride(-1)


def is_fake(t: torch.Tensor) -> bool:
    """True for FakeTensors / meta tensors (shape propagation under torch.compile: launch nothing).

    Only needed in the interpreter: there ``wrap_triton`` hands back the raw kernel, which would try to
    read the fake tensor's data. On a GPU the traced launch is a no-op under fake mode by itself.
    """
    if t.device.type == "meta":
        return True
    if not INTERPRET:
        # On a GPU the op is a triton_op: under torch.compile its body runs on functional/fake tensors and
        # the (traced) launch must happen, so never skip it there.
        return False
    try:
        from torch._subclasses.fake_tensor import is_fake as _is_fake
    except ImportError:  # pragma: no cover - very old torch
        return False
    return _is_fake(t)


def skip_launch(t: torch.Tensor) -> bool:
    """True where nothing must be launched (fake/meta tensors); a CPU tensor without the interpreter is an
    error that says how to run the kernels on the CPU."""
    if is_fake(t):
        return True
    if t.device.type == "cpu" and not INTERPRET:
        raise RuntimeError(
            "gpuaug's Triton kernels got a CPU tensor: use a CUDA tensor, the 'torch' / 'auto' backend, or "
            "set TRITON_INTERPRET=1 before triton is imported to run them through Triton's interpreter"
        )
    return False


def batch_chunks(b: int):
    """``(start, stop)`` sample ranges, each small enough for grid axis 1."""
    if not isinstance(b, int) or b <= MAX_GRID_B:  # one launch (also for a symbolic batch under compile)
        yield 0, b
        return
    for start in range(0, b, MAX_GRID_B):
        yield start, min(b, start + MAX_GRID_B)


def rows(lo, hi, *tensors: torch.Tensor) -> list[torch.Tensor]:
    """``t[lo:hi]`` of each tensor, or ``t`` itself when that is all of it (the usual single chunk: no view
    op to trace)."""
    return [t if isinstance(hi, int) and lo == 0 and hi == t.shape[0] else t[lo:hi] for t in tensors]


def layout(src: torch.Tensor, dst: torch.Tensor | None = None, gather: bool = False) -> dict:
    """The layout constexprs of a kernel reading ``src`` (and writing ``dst``): ``SRC_FLAT`` (left out for
    kernels that ``gather`` from computed source positions: warp, sharpness), ``DST_FLAT`` (with ``dst``),
    ``INT64`` (an in-sample offset of either can reach 2**31)."""
    meta = {} if gather else {"SRC_FLAT": flat_hw(src)}
    if dst is None:
        meta["INT64"] = needs_int64(src)
    else:
        meta.update(DST_FLAT=flat_hw(dst), INT64=needs_int64(src, dst))
    return meta


def per_sample_vector(t: torch.Tensor, b, device, dtype=torch.float32) -> torch.Tensor:
    """A scalar or (B,) ``t`` as a contiguous (B,) ``dtype`` tensor on ``device`` (non-blocking: no sync)."""
    return t.to(device=device, dtype=dtype, non_blocking=True).reshape(-1).expand(b).contiguous()


def per_channel(t: torch.Tensor | None, b, c, device, default: float = 0.0,
                dtype=torch.float32) -> torch.Tensor:
    """A (B, C) view (stride 0 where broadcast: no copy, no sync) of ``t`` (scalar, (C,), (B, C) or None for
    ``default``), converted through float32 to ``dtype``."""
    if t is None:
        t = torch.full((), default, dtype=torch.float32, device=device)
    t = t.to(device=device, dtype=torch.float32, non_blocking=True).to(dtype)
    if t.dim() == 1:
        t = t.reshape(1, -1)
    return t.expand(b, c)


def wrap(kernel):
    """``torch.library.wrap_triton`` where this torch has it (traceable launch), else the kernel itself."""
    fn = getattr(torch.library, "wrap_triton", None)
    return fn(kernel) if fn is not None else kernel


def launch(kernel, kind: str, n_pix, b, args, block: int | None = None, **meta) -> None:
    """Launch ``kernel`` on the grid ``(ceil(n_pix / BLOCK), samples)``, in chunks of at most ``MAX_GRID_B``
    samples: ``args(lo, hi)`` gives the positional arguments for samples ``lo:hi``, ``meta`` the constexprs.
    ``BLOCK`` and ``num_warps`` come from ``block_for(kind, n_pix)`` (``block`` overrides ``BLOCK``)."""
    block_, warps = block_for(kind, n_pix)
    block = block or block_
    k = wrap(kernel)
    for lo, hi in batch_chunks(b):
        k[(triton.cdiv(n_pix, block), hi - lo)](*args(lo, hi), **meta, BLOCK=block, num_warps=warps)


def register(name: str):
    """Decorator: register a launcher as the torch custom op ``gpuaug::<name>`` and return the op (called
    like the launcher), so the functional API works under ``torch.compile`` and fake tensors get the right
    output. On a GPU it is a ``torch.library.triton_op`` (compile sees the kernel itself); in the interpreter
    an opaque ``custom_op`` (interpreted kernels cannot be traced), whose fake implementation is the launcher
    itself: it allocates the output and launches nothing for fake tensors (``is_fake``).
    The plain launcher stays callable as ``op.launch``. Without ``torch.library.custom_op`` (torch < 2.4) the
    plain launcher itself is returned."""

    def deco(fn):
        qualname = f"gpuaug::{name}"
        triton_op = getattr(torch.library, "triton_op", None)
        custom_op = getattr(torch.library, "custom_op", None)
        existing = getattr(getattr(torch.ops, "gpuaug", None), name, None) if _registered(name) else None
        if existing is not None:  # module reloaded: the op is already there
            return existing
        if triton_op is not None and not INTERPRET:
            op = triton_op(qualname, mutates_args=())(fn)
        elif custom_op is None:
            return fn
        else:
            op = custom_op(qualname, mutates_args=())(fn)
            op.register_fake(fn)
        op.launch = fn  # the plain launcher: same call, no dispatcher (eager use, benchmarks)
        return op

    return deco


def _registered(name: str) -> bool:
    try:
        return torch._C._dispatch_has_kernel(f"gpuaug::{name}")
    except Exception:
        return False


@triton.jit
def round_half_even(v):
    """Round a float32 block to the nearest integer, ties to even (as ``torch.round``)."""
    r = tl.floor(v + 0.5)
    tie = (r - v) == 0.5
    odd = (r - 2.0 * tl.floor(r * 0.5)) == 1.0
    return tl.where(tie & odd, r - 1.0, r)


@triton.jit
def pixel_tile(HW, W, INT64: tl.constexpr, BLOCK: tl.constexpr):
    """This program's tile of the (2-D grid) launch: ``(i_p, i_b, o_p, m_p, y, x)`` = tile index, sample
    index (int64: sample bases may pass 2**31), the BLOCK pixel indices (int64 if ``INT64``), their mask
    (``o_p < HW``, taken before the int64 promotion), row and column (W pixels per row)."""
    i_p = tl.program_id(0)
    i_b = tl.program_id(1).to(tl.int64)
    o_p = i_p * BLOCK + tl.arange(0, BLOCK)
    m_p = o_p < HW
    if INT64:
        o_p = o_p.to(tl.int64)
    y = o_p // W
    x = o_p - y * W
    return i_p, i_b, o_p, m_p, y, x


@triton.jit
def tile_2d(Ho, Wo, b0, INT64: tl.constexpr, TH: tl.constexpr, TW: tl.constexpr):
    """This program's ``(TH, TW)`` tile of one sample on a 2-D grid ``(tiles, samples)``: ``(i_b, m, y, x)``
    = the sample (int64, ``b0`` + grid row), the mask, the rows ``(TH, 1)`` and the columns ``(1, TW)``
    (they broadcast to the tile). One scalar divide per program instead of one per pixel, and rows of TW
    contiguous pixels, which Triton vectorises."""
    t = tl.program_id(0)
    i_b = tl.program_id(1).to(tl.int64) + b0
    ntx = tl.cdiv(Wo, TW)
    ty = t // ntx
    tx = t - ty * ntx
    y = ty * TH + tl.arange(0, TH)[:, None]
    x = tx * TW + tl.arange(0, TW)[None, :]
    m = (y < Ho) & (x < Wo)
    if INT64:
        y = y.to(tl.int64)
        x = x.to(tl.int64)
    return i_b, m, y, x


def tile_for(kind: str, h: int, w: int) -> tuple[int, int, int]:
    """``(TH, TW, num_warps)`` of a 2-D tiled kernel family for ``h x w`` outputs: rows of up to 128
    pixels, ``BLOCK`` (``CONFIG``) pixels a tile; in the interpreter one tile covers a small image."""
    block, warps = CONFIG[kind]
    p2 = lambda n: 1 << max(int(n) - 1, 0).bit_length()  # noqa: E731
    if INTERPRET:
        tw = min(p2(w), 256)
        return max(1, min(p2(h), 8192 // tw)), tw, 1
    tw = min(p2(w), 128)
    return max(1, min(p2(h), block // tw)), tw, warps


@triton.jit
def hw_offset(o_p, y, x, st_h, st_w, FLAT: tl.constexpr):
    """In-sample offset of pixels (y, x) = o_p in a tensor with strides st_h, st_w. ``FLAT`` (rows follow
    each other, see ``flat_hw``): one run ``o_p * st_w``, which keeps contiguous loads/stores vectorised."""
    if FLAT:
        o = o_p * st_w
    else:
        o = y * st_h + x * st_w
    return o
