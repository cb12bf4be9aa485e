"""Input validation and parameter normalisation shared by every public op.

Contract (docs/contract.md "Images"): images are ``(B, C, H, W)`` or ``(C, H, W)``; dtype uint8
(0..255) or floating (float32/float16/bfloat16, [0, 1]); C is 1 or 3. Per-sample parameters are a
Python number or a tensor broadcastable to ``(B,)`` (``(B, k)`` for pairs), finite. Nothing here
synchronises with the device: value checks (range, finiteness) run only on Python numbers and
:func:`readable` tensors (CPU tensors on the host path, never while ``torch.compile`` traces).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from numbers import Integral, Real

import torch

from gpuaug import backend

FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
IMAGE_DTYPES = (torch.uint8, *FLOAT_DTYPES)


def is_sequence(value) -> bool:
    """A list, tuple or other sequence of values; not a string, bytes or bytearray (sequences of
    characters or of byte values, never meant as parameters)."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def check_image_dtype(dtype: torch.dtype, device: torch.device | None = None, name: str = "img") -> None:
    if dtype == torch.float64 and device is not None and device.type != "cuda":
        return  # float64: CPU only (reference and oracle work; docs/contract.md)
    if dtype not in IMAGE_DTYPES:
        raise TypeError(
            f"{name} has dtype {dtype}; expected uint8, float32, float16 or bfloat16"
        )


def max_value(dtype: torch.dtype) -> float:
    """The value of white: 255 for uint8, 1.0 for floating images."""
    return 255.0 if dtype == torch.uint8 else 1.0


def memory_format_of(t: torch.Tensor) -> torch.memory_format:
    """channels_last if the (4-D) tensor is laid out that way and not also plain contiguous."""
    if t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def as_batch(
    img: torch.Tensor, name: str = "img", channels: Sequence[int] = (1, 3)
) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """Validate an image and view it as a batch.

    Returns ``(batch, restore)``: ``batch`` is ``(B, C, H, W)`` (a view, never a copy), and ``restore(out)``
    gives ``out`` back in the caller's shape (``(C, H, W)`` in, ``(C, H, W)`` out) and memory format.
    """
    if not isinstance(img, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(img).__name__}")
    check_image_dtype(img.dtype, img.device, name)
    if img.dim() not in (3, 4):
        raise ValueError(f"{name} must be (B, C, H, W) or (C, H, W), got shape {tuple(img.shape)}")
    single = img.dim() == 3
    batch = img.unsqueeze(0) if single else img
    if batch.shape[1] not in channels:
        raise ValueError(f"{name} must have {' or '.join(map(str, channels))} channels, got {batch.shape[1]}")
    fmt = memory_format_of(batch)

    def restore(out: torch.Tensor) -> torch.Tensor:
        if out.dim() == 4 and fmt == torch.channels_last and not single:
            out = out.contiguous(memory_format=torch.channels_last)
        return out[0] if single else out

    return batch, restore


def as_clips(
    img: torch.Tensor, name: str = "img", channels: Sequence[int] = (1, 3)
) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor], tuple[int, int]]:
    """Validate a video batch ``(B, T, C, H, W)`` and view it as its ``B * T`` frames.

    Returns ``(frames, restore, (B, T))``: ``frames`` is ``(B * T, C, H, W)`` (a view where the clip and
    frame dimensions merge, which they do for contiguous and channels-last-per-frame videos), and
    ``restore(out)`` gives ``(B * T, C, H', W')`` back as ``(B, T, C, H', W')``.
    """
    if not isinstance(img, torch.Tensor) or img.dim() != 5:
        raise ValueError(f"{name} must be a video (B, T, C, H, W), got "
                         f"{tuple(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__}")
    clips = (int(img.shape[0]), int(img.shape[1]))
    frames, restore_frames = as_batch(img.flatten(0, 1), name, channels)

    def restore(out: torch.Tensor) -> torch.Tensor:
        return restore_frames(out).unflatten(0, clips)

    return frames, restore, clips


def empty_output(like: torch.Tensor, size: tuple[int, int] | None = None, dtype: torch.dtype | None = None):
    """An uninitialised ``(B, C, H, W)`` output in ``like``'s memory format (optionally new size/dtype)."""
    b, c, h, w = like.shape
    h, w = size if size is not None else (h, w)
    return torch.empty((b, c, h, w), dtype=dtype or like.dtype, device=like.device,
                       memory_format=memory_format_of(like))


def per_sample(
    value,
    batch: int,
    name: str,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
    tail: tuple[int, ...] = (),
    finite: bool = True,
) -> torch.Tensor:
    """A parameter as a ``(batch, *tail)`` tensor on ``device``.

    ``value`` is a Python number (or, for ``tail=(k,)``, a length-k sequence) shared by every sample, or a
    tensor that broadcasts to ``(batch, *tail)``. A tensor on another device is moved with
    ``non_blocking=True`` (no host synchronisation). A wrong shape is a ``ValueError`` naming ``name``;
    with ``finite``, so is a NaN or infinite number or :func:`readable` tensor value.
    A tensor that requires grad stays differentiable (``to`` is recorded by autograd).
    """
    if finite:
        check_finite(value, name)
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must be a real number tensor, got dtype {value.dtype}")
        t = value.to(device=device, dtype=dtype, non_blocking=True)
    elif isinstance(value, bool):
        raise TypeError(f"{name} must be a number or a tensor, got bool")
    elif isinstance(value, Real):
        t = torch.full((), float(value), dtype=dtype, device=device)
    elif is_sequence(value) and all(
        isinstance(v, Real) and not isinstance(v, bool) for v in value
    ):
        t = to_device([float(v) for v in value], dtype, device)
    else:
        raise TypeError(
            f"{name} must be a number, a sequence of numbers or a tensor, got {type(value).__name__}"
        )
    want = (batch, *tail)
    # Trailing dimensions align as in broadcasting: with tail=(2,), a (2,) tensor is one pair for all.
    if t.dim() > len(want):
        _bad(t, want, name)
    try:
        return t.expand(want)
    except RuntimeError:
        _bad(t, want, name)


def to_device(values: list[float], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A small host list on ``device`` without a synchronising copy (non_blocking H2D)."""
    return torch.tensor(values, dtype=dtype).to(device, non_blocking=True)


def _bad(t: torch.Tensor, want: tuple[int, ...], name: str):
    raise ValueError(
        f"{name} must broadcast to shape {want} (one value per sample), got shape {tuple(t.shape)}"
    )


def readable(t: torch.Tensor) -> bool:
    """True where validation may read ``t``'s values: a CPU tensor on the host path. CUDA tensors are not
    read (that would synchronise with the device), nor CPU tensors under backend ``triton`` (which runs
    exactly the CUDA code path)."""
    return backend.host_path(t)


def wants_grad(img: torch.Tensor, *params) -> bool:
    """True where an op's result must carry autograd: grad mode is on, ``img`` is floating, and ``img`` or a
    tensor among ``params`` requires grad. Ops then take their differentiable formulation
    (``gpuaug.functional._autograd``); otherwise the fast one, under ``torch.no_grad()`` (a parameter that
    requires grad with a uint8 image gives a uint8 result, which has no gradient)."""
    if not (torch.is_grad_enabled() and img.is_floating_point()):
        return False
    return img.requires_grad or any(isinstance(p, torch.Tensor) and p.requires_grad for p in params)


def check_count(value, name: str, lo: int):
    """An int (or, under torch.compile, a symbolic int) >= ``lo``."""
    if isinstance(value, bool) or not isinstance(value, (Integral, torch.SymInt)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {value!r}")
    return value


def check_positive(value, name: str) -> None:
    """``ValueError`` unless a number or a :func:`readable` tensor is > 0 (types: see ``per_sample``)."""
    if isinstance(value, torch.Tensor):
        if not readable(value) or value.dtype == torch.bool or value.is_complex():
            return  # CUDA tensors are not read (no sync); bad dtypes are reported by per_sample
        bad = bool((~(value > 0)).any())
    elif isinstance(value, Real) and not isinstance(value, bool):
        bad = not value > 0
    else:
        return
    if bad:
        raise ValueError(f"{name} must be > 0, got {_show(value)}")


def check_real(value, name: str) -> None:
    """``TypeError`` naming ``name`` unless ``value`` is a real number, a sequence of real numbers or a real
    (not bool, not complex) tensor."""
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must be a real number tensor, got dtype {value.dtype}")
        return
    if isinstance(value, Real) and not isinstance(value, bool):
        return
    if is_sequence(value) and all(
        isinstance(v, Real) and not isinstance(v, bool) for v in value
    ):
        return
    raise TypeError(
        f"{name} must be a number, a sequence of numbers or a tensor, got {type(value).__name__} {value!r}"
    )


def check_finite(value, name: str) -> None:
    """``ValueError`` naming ``name`` if a number, a sequence of numbers or a :func:`readable` floating
    tensor holds NaN or an infinity (other values pass: their type is checked where they are used)."""
    if isinstance(value, torch.Tensor):
        if (value.is_floating_point() and value.numel() and readable(value)
                and not bool(torch.isfinite(value).all())):
            raise ValueError(f"{name} must be finite, got {_show(value)}")
        return
    values = value if is_sequence(value) else (value,)
    for v in values:
        if isinstance(v, Real) and not isinstance(v, bool) and not math.isfinite(float(v)):
            raise ValueError(f"{name} must be finite, got {value!r}")


def check_range(value, lo: float, hi: float, name: str, what: str | None = None) -> None:
    """Raise ``TypeError`` unless ``value`` is a real number, sequence or tensor (:func:`check_real`), and
    ``ValueError`` if a number or a :func:`readable` tensor has values outside ``[lo, hi]`` or not finite
    (``hi = inf`` means no upper bound; infinity itself is still refused)."""
    check_real(value, name)
    if isinstance(value, torch.Tensor):
        if not readable(value) or value.numel() == 0:
            return
        # NaN fails both comparisons; the dtype's largest finite bounds keep the infinities out
        big = torch.finfo(value.dtype).max if value.is_floating_point() else _BIG
        bad = not bool(((value >= max(lo, -big)) & (value <= min(hi, big))).all())
    else:
        values = value if isinstance(value, Sequence) else (value,)
        bad = any(not (lo <= float(v) <= hi and math.isfinite(float(v))) for v in values)
    if bad:
        where = f">= {lo}" if hi == math.inf else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be finite and {where}{' ' + what if what else ''}, got {_show(value)}")


_BIG = sys.float_info.max


def _show(value) -> str:
    if isinstance(value, torch.Tensor):
        if value.numel() == 0:
            return f"an empty tensor of shape {tuple(value.shape)}"
        v = value.detach().double()
        if not bool(torch.isfinite(v).all()):
            return "a tensor holding NaN or infinity"
        return f"a tensor with values in [{v.min().item():g}, {v.max().item():g}]"
    return repr(value)


def parse_fill(fill, batch: int, channels: int, dtype: torch.dtype, device: torch.device, name: str = "fill"):
    """``fill`` (number, ``(C,)`` sequence/tensor, or ``(B, C)`` tensor) as a float32 ``(B, C)`` tensor.

    Values are in the image's range (0..255 for uint8, [0, 1] for floats); numbers and CPU tensors outside
    it are a ``ValueError``.
    """
    if fill is None:
        fill = 0
    if isinstance(fill, torch.Tensor):
        t = fill.to(device=device, dtype=torch.float32, non_blocking=True)
        if t.dim() == 0:
            t = t.reshape(1, 1)
        elif t.dim() == 1:
            t = t.reshape(1, -1)
        if t.dim() != 2 or t.shape[0] not in (1, batch) or t.shape[1] not in (1, channels):
            raise ValueError(
                f"{name} must be a number, (C,) = ({channels},) or (B, C) = ({batch}, {channels}), "
                f"got shape {tuple(fill.shape)}"
            )
        check_range(fill, 0, max_value(dtype), name, "(the image's value range)")
        return t.expand(batch, channels)
    if isinstance(fill, Real) and not isinstance(fill, bool):
        values = [float(fill)]
    elif is_sequence(fill):
        values = [float(v) for v in fill]
        if len(values) not in (1, channels):
            raise ValueError(f"{name} must have 1 or {channels} values (one per channel), got {len(values)}")
    else:
        raise TypeError(f"{name} must be a number, a sequence or a tensor, got {type(fill).__name__}")
    check_range(values, 0, max_value(dtype), name, "(the image's value range)")
    return to_device(values, torch.float32, device).reshape(1, -1).expand(batch, channels)
