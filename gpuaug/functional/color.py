"""Pixel ops (docs/contract.md "Pixel ops"): pure, batched, per-sample parameters, no randomness.

Images are ``(B, C, H, W)`` or ``(C, H, W)``, uint8 (0..255) or floating ([0, 1]); the output keeps shape,
dtype, device and memory format; the input is never modified. Per-sample parameters are a number or a
tensor broadcasting to ``(B,)``. Numbers and CPU tensors out of range or not finite are a ``ValueError``
naming the parameter (CUDA tensors are not inspected: that would synchronise).

Where the result must carry autograd (``gpuaug._checks.wants_grad``) the ops run their differentiable
formulation (``gpuaug.functional._autograd``); elsewhere the fast primitive, under ``torch.no_grad()``.

posterize, solarize, solarize_add, invert, equalize, autocontrast, adjust_brightness and adjust_contrast
are one-step chains of the pointwise engine (``gpuaug.functional.pointwise``): on uint8 one 256-entry table
per image (and channel), PIL's results exactly (ImageOps / ImageEnhance, whose blend truncates toward zero
after clipping); floating images use the same formulas on [0, 1]. The other ops call their primitive
through ``gpuaug.backend``.
"""

from __future__ import annotations

from numbers import Real

import torch

from gpuaug import backend
from gpuaug._checks import (
    FLOAT_DTYPES,
    _show,
    as_batch,
    check_finite,
    check_range,
    is_sequence,
    max_value,
    memory_format_of,
    parse_fill,
    per_sample,
    readable,
    wants_grad,
)
from gpuaug._torch import erase as _erase
from gpuaug.functional import _autograd as autograd
from gpuaug.functional.pointwise import check_param, pointwise_chain

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "adjust_sharpness",
    "autocontrast",
    "equalize",
    "erase",
    "erase_noise",
    "invert",
    "normalize",
    "paste",
    "posterize",
    "rgb_to_grayscale",
    "solarize",
    "solarize_add",
]


def _chain(img: torch.Tensor, op: str, *params) -> torch.Tensor:
    """One pointwise op as a one-step chain of the pointwise engine (``gpuaug.functional.pointwise``)."""
    return pointwise_chain(img, [(op, list(params) if params else None)])


def _need_rgb(batch: torch.Tensor, fn: str) -> None:
    if batch.shape[1] != 3:
        raise ValueError(f"{fn} needs an RGB image (C = 3), got img with C = {batch.shape[1]}")


def _param(op: str, name: str, value, batch: torch.Tensor) -> torch.Tensor:
    check_param(op, name, value, batch.dtype)
    dt = torch.float64 if batch.dtype == torch.float64 else torch.float32  # float64: exact gradients
    return per_sample(value, batch.shape[0], name, batch.device, dt, finite=False)  # check_param: finite


# ---------------------------------------------------------------------------------------------------------
# Pointwise ops: one-step chains (on uint8 one table per image, PIL's results exactly)


def posterize(img: torch.Tensor, bits) -> torch.Tensor:
    """Keep the top ``bits`` (integers 0..8, per sample) bits of every value (ImageOps.posterize; 0 bits
    is black, as PIL)."""
    return _chain(img, "posterize", bits)


def solarize(img: torch.Tensor, threshold) -> torch.Tensor:
    """``x >= threshold ? max - x : x`` (ImageOps.solarize); threshold in the image's range, or 256 levels
    (PIL's no-op, timm's Solarize at magnitude 10)."""
    return _chain(img, "solarize", threshold)


def solarize_add(img: torch.Tensor, addition, threshold=None) -> torch.Tensor:
    """``x < threshold ? clamp(x + addition) : x`` (AutoAugment's SolarizeAdd).

    addition in [-max, max] (uint8: non-integer sums round); threshold in the image's range, default 128
    (uint8) / 128/255 (floating).
    """
    return _chain(img, "solarize_add", addition) if threshold is None else _chain(
        img, "solarize_add", addition, threshold)


def invert(img: torch.Tensor) -> torch.Tensor:
    """``max - x`` (ImageOps.invert)."""
    return _chain(img, "invert")


def equalize(img: torch.Tensor) -> torch.Tensor:
    """Per image and channel histogram equalization (ImageOps.equalize exactly on uint8)."""
    return _chain(img, "equalize")


def autocontrast(img: torch.Tensor) -> torch.Tensor:
    """Per image and channel, stretch min..max to the full range (ImageOps.autocontrast, cutoff 0).

    Channels with a single value are left as they are. Floating: ``(x - min) / (max - min)``, not quantized.
    """
    return _chain(img, "autocontrast")


def adjust_brightness(img: torch.Tensor, factor) -> torch.Tensor:
    """Blend with black (ImageEnhance.Brightness): ``clamp(factor * x)``; factor >= 0 (1 = unchanged)."""
    return _chain(img, "brightness", factor)


def adjust_contrast(img: torch.Tensor, factor) -> torch.Tensor:
    """Blend with the mean of the grayscale image (ImageEnhance.Contrast); factor >= 0.

    uint8: the mean is PIL's, rounded to an integer; floating: the plain mean of the float gray image.
    C = 1 images are their own grayscale.
    """
    return _chain(img, "contrast", factor)


# ---------------------------------------------------------------------------------------------------------
# Ops that mix channels or neighbours


def adjust_saturation(img: torch.Tensor, factor) -> torch.Tensor:
    """Blend an RGB image with its grayscale (ImageEnhance.Color); factor >= 0 (0 = gray)."""
    batch, restore = as_batch(img)
    _need_rgb(batch, "adjust_saturation")
    f = _param("saturation", "factor", factor, batch)
    return restore(_primitive("adjust_saturation", batch, f))


def _primitive(name: str, batch: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
    """The primitive ``name`` through the backend, or its differentiable formulation when the result
    must carry autograd."""
    if wants_grad(batch, *params):
        return getattr(autograd, name)(batch, *params)
    with torch.no_grad():
        return backend.op(name, batch)(batch, *params)


def adjust_sharpness(img: torch.Tensor, factor) -> torch.Tensor:
    """Blend with the 3x3 SMOOTH-filtered image, border pixels kept (ImageEnhance.Sharpness); factor >= 0."""
    batch, restore = as_batch(img)
    f = _param("sharpness", "factor", factor, batch)
    return restore(_primitive("adjust_sharpness", batch, f))


def adjust_hue(img: torch.Tensor, delta) -> torch.Tensor:
    """Rotate the hue of an RGB image by ``delta`` turns in [-0.5, 0.5] (RGB -> HSV -> RGB; uint8 rounds)."""
    batch, restore = as_batch(img)
    _need_rgb(batch, "adjust_hue")
    check_range(delta, -0.5, 0.5, "delta", "(turns)")
    d = per_sample(delta, batch.shape[0], "delta", batch.device,
                   torch.float64 if batch.dtype == torch.float64 else torch.float32, finite=False)
    return restore(_primitive("adjust_hue", batch, d))


def rgb_to_grayscale(img: torch.Tensor, num_output_channels: int = 1) -> torch.Tensor:
    """ITU-R 601-2 luma (PIL ``convert("L")`` on uint8); ``num_output_channels`` 1 or 3 (gray repeated)."""
    batch, restore = as_batch(img)
    _need_rgb(batch, "rgb_to_grayscale")
    if num_output_channels not in (1, 3) or isinstance(num_output_channels, bool):
        raise ValueError(f"num_output_channels must be 1 or 3, got {num_output_channels!r}")
    g = _primitive("grayscale", batch)
    if num_output_channels == 3:
        g = g.expand(-1, 3, -1, -1).contiguous()  # restore() puts it back to channels_last if needed
    return restore(g)


def _channel_values(value, name: str, batch: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """A number, (C,) sequence/tensor or (B, C) tensor -> ``dtype`` (B or 1, C) on the image's device;
    finite (numbers and readable tensors are checked)."""
    b, c = batch.shape[:2]
    check_finite(value, name)
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must be a real tensor, got dtype {value.dtype}")
        t = value.to(device=batch.device, dtype=dtype, non_blocking=True)
        t = t.reshape(1, -1) if t.dim() <= 1 else t
        if t.dim() != 2 or t.shape[0] not in (1, b) or t.shape[1] not in (1, c):
            raise ValueError(
                f"{name} must be a number, (C,) or (B, C) with C = {c}, got shape {tuple(value.shape)}"
            )
        return t
    if isinstance(value, Real) and not isinstance(value, bool):
        values = [float(value)]
    elif is_sequence(value) and all(
        isinstance(v, Real) and not isinstance(v, bool) for v in value
    ):
        values = [float(v) for v in value]
        if len(values) not in (1, c):
            raise ValueError(f"{name} must have 1 or {c} values (one per channel), got {len(values)}")
    else:
        raise TypeError(
            f"{name} must be a number, a sequence of numbers or a tensor, got {type(value).__name__}"
        )
    return torch.tensor(values, dtype=dtype).to(batch.device, non_blocking=True).reshape(1, -1)


def normalize(img: torch.Tensor, mean, std, *, dtype: torch.dtype | None = None,
              memory_format: torch.memory_format | None = None) -> torch.Tensor:
    """``(x - mean) / std`` per channel; mean/std a number, (C,) or (B, C), on the [0, 1] scale.

    Output is floating: ``dtype`` (float32, float16 or bfloat16; default the input's dtype for floating
    images, float32 for uint8 images, which are scaled to [0, 1] first), in ``memory_format`` (default the
    input's; ``torch.channels_last`` lays the batch out for the model in the same pass). ``std`` 0 is a
    ``ValueError``.
    """
    if dtype is not None and dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32, float16 or bfloat16, got {dtype}")
    if memory_format not in (None, torch.contiguous_format, torch.channels_last):
        raise ValueError(f"memory_format must be torch.contiguous_format or torch.channels_last, "
                         f"got {memory_format}")
    batch, restore = as_batch(img)
    # the output is floating whatever the input: gradients to mean and std from a uint8 batch too
    grad = torch.is_grad_enabled() and any(
        isinstance(t, torch.Tensor) and t.requires_grad for t in (batch, mean, std))
    cdt = torch.float64 if grad and batch.dtype == torch.float64 else torch.float32
    m = _channel_values(mean, "mean", batch, cdt)
    s = _channel_values(std, "std", batch, cdt)
    if isinstance(std, torch.Tensor):
        if readable(std) and bool((std == 0).any()):
            raise ValueError(f"std must be non-zero, got {_show(std)}")
    elif (std == 0) if isinstance(std, Real) else any(v == 0 for v in std):
        raise ValueError(f"std must be non-zero, got {std!r}")
    out_dtype = dtype or (torch.float32 if batch.dtype == torch.uint8 else batch.dtype)
    if grad:
        fmt = memory_format or memory_format_of(batch)
        out = autograd.normalize(batch, m, s, max_value(batch.dtype), out_dtype, fmt)
        return out[0] if img.dim() == 3 else out
    # (x / max - mean) / std as one multiply-add: x * (1 / (max * std)) + (-mean / std)
    scale = (1.0 / (max_value(batch.dtype) * s)).expand(batch.shape[0], batch.shape[1])
    shift = (-m / s).expand(batch.shape[0], batch.shape[1])
    with torch.no_grad():
        out = backend.op("normalize", batch)(batch, scale, shift, out_dtype, memory_format)
    if memory_format is None:
        return restore(out)
    return out[0] if img.dim() == 3 else out


def _boxes(boxes, b: int, name: str, device, rank: int) -> torch.Tensor:
    """Boxes as a float32 tensor (B, K, 4) (rank 3) or (B, 4) (rank 2) on ``device``."""
    if not isinstance(boxes, torch.Tensor):
        try:
            boxes = torch.tensor(boxes, dtype=torch.float32)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{name} must be a tensor or nested sequence of numbers") from e
    if boxes.dtype == torch.bool or boxes.is_complex():
        raise TypeError(f"{name} must be a real tensor, got dtype {boxes.dtype}")
    if boxes.shape[-1:] != (4,) or boxes.dim() > rank:
        want = "(B, K, 4), (K, 4) or (4,)" if rank == 3 else "(B, 4) or (4,)"
        raise ValueError(f"{name} must be {want} (x0, y0, x1, y1), got shape {tuple(boxes.shape)}")
    t = boxes.to(device=device, dtype=torch.float32, non_blocking=True)
    while t.dim() < rank:
        t = t.unsqueeze(0)
    # Two comparisons, not ``in (1, b)``: under torch.compile(dynamic=True) the sizes are symbolic, and the
    # membership test rejected B = 4 with one box per sample (a (4, 1, 4) tensor); comparisons guard right.
    if t.shape[0] != b and t.shape[0] != 1:
        raise ValueError(f"{name} must have one entry per sample ({b}), got shape {tuple(boxes.shape)}")
    return t.expand(b, *t.shape[1:])


def erase(img: torch.Tensor, boxes, value=0) -> torch.Tensor:
    """Fill boxes ``x0, y0, x1, y1`` (x1, y1 exclusive, clipped to the image; empty boxes do nothing).

    boxes: (B, K, 4), (K, 4) or (4,) in pixels (a pixel is filled when its centre (x, y) satisfies
    ``x0 <= x < x1`` and ``y0 <= y < y1``, which is plain slicing for integer boxes). value: a number,
    (C,) or (B, C) in the image's range (rounded for uint8).
    """
    batch, restore = as_batch(img)
    b, c = batch.shape[:2]
    bx = _boxes(boxes, b, "boxes", batch.device, 3)
    v = parse_fill(value, b, c, batch.dtype, batch.device, name="value")
    if wants_grad(batch, v):
        return restore(_erase.erase_masked(batch, bx, v))  # torch.where: differentiable
    with torch.no_grad():
        return restore(backend.op("erase", batch)(batch, bx, v))


def erase_noise(img: torch.Tensor, boxes, seed) -> torch.Tensor:
    """Fill boxes (as :func:`erase`) with uniform noise over the image's range (uint8 0..255, floats
    [0, 1)), regenerated from the per-sample integer ``seed`` (a number or an int tensor (B,)): the same
    seed gives the same noise on one backend (the torch path hashes (seed, pixel); the Triton kernel draws
    ``tl.rand``), without generator state or a host sync."""
    batch, restore = as_batch(img)
    b = batch.shape[0]
    bx = _boxes(boxes, b, "boxes", batch.device, 3)
    if isinstance(seed, torch.Tensor):
        if seed.dtype.is_floating_point or seed.is_complex() or seed.dtype == torch.bool:
            raise TypeError(f"seed must be an integer tensor, got dtype {seed.dtype}")
        sd = per_sample(seed, b, "seed", batch.device, torch.int64)
    elif isinstance(seed, int) and not isinstance(seed, bool):
        sd = torch.full((b,), seed, dtype=torch.int64, device=batch.device)
    else:
        raise TypeError(f"seed must be an int or an integer tensor (B,), got {type(seed).__name__}")
    with torch.no_grad():
        filled = backend.op("erase_noise", batch)(batch.detach(), bx, sd)
    if wants_grad(batch):
        # the backend's own noise in the boxes (the same as without autograd), the image elsewhere
        inside = _erase._box_mask(bx, batch.shape[2], batch.shape[3])
        return restore(torch.where(inside, filled, batch))
    return restore(filled)


def paste(img: torch.Tensor, partner, box) -> torch.Tensor:
    """CutMix's paste: ``out[b] = img[b]`` with the region ``box[b]`` copied from ``img[partner[b]]``.

    partner: int tensor (B,) of sample indices. box: (B, 4) or (4,) x0, y0, x1, y1 in pixels (x1, y1
    exclusive, clipped; same pixel rule as :func:`erase`). The pasted area fraction, needed for the label
    weights, is ``clip(x1 - x0) * clip(y1 - y0) / (H * W)`` with coordinates clipped to the image (integer
    boxes; ceil-based for fractional ones).
    """
    batch, restore = as_batch(img)
    b = batch.shape[0]
    if (not isinstance(partner, torch.Tensor) or partner.dtype.is_floating_point or partner.is_complex()
            or partner.dtype == torch.bool):
        raise TypeError("partner must be an integer tensor (B,) of sample indices")
    if partner.shape not in ((b,), ()) and not (partner.dim() == 1 and partner.shape[0] == 1):
        raise ValueError(f"partner must have shape ({b},), got {tuple(partner.shape)}")
    if readable(partner) and b and bool(((partner < 0) | (partner >= b)).any()):
        raise ValueError(f"partner must hold indices in [0, {b - 1}]")
    p = partner.to(device=batch.device, dtype=torch.int64, non_blocking=True).expand(b)
    bx = _boxes(box, b, "box", batch.device, 2)
    if wants_grad(batch):
        return restore(_erase.paste_masked(batch, p, bx))
    with torch.no_grad():
        return restore(backend.op("paste", batch)(batch, p, bx))
