"""Pixel ops (CONTRACT.md "Pixel ops"): pure, batched, per-sample parameters, no randomness.

Images are ``(B, C, H, W)`` or ``(C, H, W)``, uint8 (0..255) or floating ([0, 1]); the output keeps shape,
dtype, device and memory format; the input is never modified. Per-sample parameters are a number or a
tensor broadcasting to ``(B,)``. Numbers and CPU tensors out of range are a ``ValueError`` naming the
parameter (CUDA tensors are not inspected: that would synchronise).

uint8: posterize, solarize, solarize_add, invert, equalize, autocontrast, adjust_brightness and
adjust_contrast build one 256-entry table per image (and channel) on the device (``gpuaug.functional.lut``)
and apply it with the ``apply_lut`` primitive; results equal PIL's (ImageOps / ImageEnhance, whose blend
truncates toward zero after clipping). Floating images use the same formulas on [0, 1] in float32 and are
cast back to their dtype; ``posterize`` and ``equalize`` act on the value quantized to 256 levels,
``q = round(clamp(x, 0, 1) * 255)``, and return ``table(q) / 255``.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real

import torch

from gpuaug import backend
from gpuaug._checks import as_batch, check_range, max_value, parse_fill, per_sample
from gpuaug.functional import lut as L

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "adjust_sharpness",
    "autocontrast",
    "equalize",
    "erase",
    "invert",
    "normalize",
    "paste",
    "posterize",
    "rgb_to_grayscale",
    "solarize",
    "solarize_add",
]


def _param(op: str, name: str, value, batch: torch.Tensor) -> torch.Tensor:
    L.check_param(op, name, value, batch.dtype)
    return per_sample(value, batch.shape[0], name, batch.device)


def _apply(batch: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    return backend.op("apply_lut", batch)(batch, table)


def _quantize(batch: torch.Tensor) -> torch.Tensor:
    """Floating [0, 1] -> uint8 levels ``round(clamp(x, 0, 1) * 255)``."""
    return (batch.float() * 255.0).round_().clamp_(0, 255).to(torch.uint8)


def _dequantize(q: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return (q.float() / 255.0).to(dtype)


def _col(p: torch.Tensor) -> torch.Tensor:
    return p.float().view(-1, 1, 1, 1)


def _histogram_op(batch: torch.Tensor, build) -> torch.Tensor:
    """uint8 table from the image's histogram; floats through the 256-level quantisation."""
    q = batch if batch.dtype == torch.uint8 else _quantize(batch)
    out = _apply(q, build(backend.op("histogram", q)(q)))
    return out if batch.dtype == torch.uint8 else _dequantize(out, batch.dtype)


def _need_rgb(batch: torch.Tensor, fn: str) -> None:
    if batch.shape[1] != 3:
        raise ValueError(f"{fn} needs an RGB image (C = 3), got img with C = {batch.shape[1]}")


# ---------------------------------------------------------------------------------------------------------
# Table ops


def posterize(img: torch.Tensor, bits) -> torch.Tensor:
    """Keep the top ``bits`` (integers 1..8, per sample) bits of every value (ImageOps.posterize)."""
    batch, restore = as_batch(img)
    table = L.posterize_lut(_param("posterize", "bits", bits, batch))
    if batch.dtype == torch.uint8:
        return restore(_apply(batch, table))
    return restore(_dequantize(_apply(_quantize(batch), table), batch.dtype))


def solarize(img: torch.Tensor, threshold) -> torch.Tensor:
    """``x >= threshold ? max - x : x`` (ImageOps.solarize); threshold in the image's range."""
    batch, restore = as_batch(img)
    t = _param("solarize", "threshold", threshold, batch)
    if batch.dtype == torch.uint8:
        return restore(_apply(batch, L.solarize_lut(t)))
    return restore(L.solarize_fn(batch.float(), _col(t), 1.0).to(batch.dtype))


def solarize_add(img: torch.Tensor, addition, threshold=None) -> torch.Tensor:
    """``x < threshold ? clamp(x + addition) : x`` (AutoAugment's SolarizeAdd).

    addition in [-max, max] (uint8: non-integer sums round); threshold in the image's range, default 128
    (uint8) / 128/255 (floating).
    """
    batch, restore = as_batch(img)
    if threshold is None:
        threshold = 128 if batch.dtype == torch.uint8 else 128 / 255
    a = _param("solarize_add", "addition", addition, batch)
    t = _param("solarize_add", "threshold", threshold, batch)
    if batch.dtype == torch.uint8:
        return restore(_apply(batch, L.solarize_add_lut(a, t)))
    return restore(L.solarize_add_fn(batch.float(), _col(a), _col(t), 1.0).to(batch.dtype))


def invert(img: torch.Tensor) -> torch.Tensor:
    """``max - x`` (ImageOps.invert)."""
    batch, restore = as_batch(img)
    if batch.dtype == torch.uint8:
        return restore(_apply(batch, L.invert_lut(batch.shape[0], batch.device)))
    return restore(L.invert_fn(batch.float(), 1.0).to(batch.dtype))


def equalize(img: torch.Tensor) -> torch.Tensor:
    """Per image and channel histogram equalization (ImageOps.equalize exactly on uint8)."""
    batch, restore = as_batch(img)
    return restore(_histogram_op(batch, lambda h: backend.op("equalize_lut", h)(h)))


def autocontrast(img: torch.Tensor) -> torch.Tensor:
    """Per image and channel, stretch min..max to the full range (ImageOps.autocontrast, cutoff 0).

    Channels with a single value are left as they are. Floating: ``(x - min) / (max - min)``, not quantized.
    """
    batch, restore = as_batch(img)
    if batch.dtype == torch.uint8:
        return restore(_histogram_op(batch, L.autocontrast_lut))
    if batch.numel() == 0:
        return restore(batch.clone(memory_format=torch.preserve_format))
    x = batch.float()
    lo = x.amin((2, 3), keepdim=True)
    hi = x.amax((2, 3), keepdim=True)
    return restore(L.stretch_fn(x, lo, hi, 1.0).clamp_(0, 1).to(batch.dtype))


def adjust_brightness(img: torch.Tensor, factor) -> torch.Tensor:
    """Blend with black (ImageEnhance.Brightness): ``clamp(factor * x)``; factor >= 0 (1 = unchanged)."""
    batch, restore = as_batch(img)
    f = _param("brightness", "factor", factor, batch)
    if batch.dtype == torch.uint8:
        return restore(_apply(batch, L.brightness_lut(f)))
    return restore(L.blend_fn(batch.float(), 0.0, _col(f), 1.0).to(batch.dtype))


def adjust_contrast(img: torch.Tensor, factor) -> torch.Tensor:
    """Blend with the mean of the grayscale image (ImageEnhance.Contrast); factor >= 0.

    uint8: the mean is PIL's, rounded to an integer; floating: the plain mean of the float gray image.
    C = 1 images are their own grayscale.
    """
    batch, restore = as_batch(img)
    f = _param("contrast", "factor", factor, batch)
    mean = backend.op("gray_mean", batch)(batch)
    if batch.dtype == torch.uint8:
        return restore(_apply(batch, L.contrast_lut(f, mean)))
    return restore(L.blend_fn(batch.float(), _col(mean), _col(f), 1.0).to(batch.dtype))


# ---------------------------------------------------------------------------------------------------------
# Ops that mix channels or neighbours


def adjust_saturation(img: torch.Tensor, factor) -> torch.Tensor:
    """Blend an RGB image with its grayscale (ImageEnhance.Color); factor >= 0 (0 = gray)."""
    batch, restore = as_batch(img)
    _need_rgb(batch, "adjust_saturation")
    f = _param("saturation", "factor", factor, batch)
    return restore(backend.op("adjust_saturation", batch)(batch, f))


def adjust_sharpness(img: torch.Tensor, factor) -> torch.Tensor:
    """Blend with the 3x3 SMOOTH-filtered image, border pixels kept (ImageEnhance.Sharpness); factor >= 0."""
    batch, restore = as_batch(img)
    f = _param("sharpness", "factor", factor, batch)
    return restore(backend.op("adjust_sharpness", batch)(batch, f))


def adjust_hue(img: torch.Tensor, delta) -> torch.Tensor:
    """Rotate the hue of an RGB image by ``delta`` turns in [-0.5, 0.5] (RGB -> HSV -> RGB; uint8 rounds)."""
    batch, restore = as_batch(img)
    _need_rgb(batch, "adjust_hue")
    check_range(delta, -0.5, 0.5, "delta", "(turns)")
    d = per_sample(delta, batch.shape[0], "delta", batch.device)
    return restore(backend.op("adjust_hue", batch)(batch, d))


def rgb_to_grayscale(img: torch.Tensor, num_output_channels: int = 1) -> torch.Tensor:
    """ITU-R 601-2 luma (PIL ``convert("L")`` on uint8); ``num_output_channels`` 1 or 3 (gray repeated)."""
    batch, restore = as_batch(img)
    _need_rgb(batch, "rgb_to_grayscale")
    if num_output_channels not in (1, 3) or isinstance(num_output_channels, bool):
        raise ValueError(f"num_output_channels must be 1 or 3, got {num_output_channels!r}")
    g = backend.op("grayscale", batch)(batch)
    if num_output_channels == 3:
        g = g.expand(-1, 3, -1, -1).contiguous()  # restore() puts it back to channels_last if needed
    return restore(g)


def _channel_values(value, name: str, batch: torch.Tensor) -> torch.Tensor:
    """A number, (C,) sequence/tensor or (B, C) tensor -> float32 (B or 1, C) on the image's device."""
    b, c = batch.shape[:2]
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must be a real tensor, got dtype {value.dtype}")
        t = value.to(device=batch.device, dtype=torch.float32, non_blocking=True)
        t = t.reshape(1, -1) if t.dim() <= 1 else t
        if t.dim() != 2 or t.shape[0] not in (1, b) or t.shape[1] not in (1, c):
            raise ValueError(
                f"{name} must be a number, (C,) or (B, C) with C = {c}, got shape {tuple(value.shape)}"
            )
        return t
    if isinstance(value, Real) and not isinstance(value, bool):
        values = [float(value)]
    elif isinstance(value, Sequence) and not isinstance(value, str) and all(
        isinstance(v, Real) and not isinstance(v, bool) for v in value
    ):
        values = [float(v) for v in value]
        if len(values) not in (1, c):
            raise ValueError(f"{name} must have 1 or {c} values (one per channel), got {len(values)}")
    else:
        raise TypeError(
            f"{name} must be a number, a sequence of numbers or a tensor, got {type(value).__name__}"
        )
    return torch.tensor(values, dtype=torch.float32).to(batch.device, non_blocking=True).reshape(1, -1)


def normalize(img: torch.Tensor, mean, std) -> torch.Tensor:
    """``(x - mean) / std`` per channel; mean/std a number, (C,) or (B, C), on the [0, 1] scale.

    Output is floating: the input's dtype for floating images; uint8 images are scaled to [0, 1] first and
    give float32. ``std`` 0 is a ``ValueError``.
    """
    batch, restore = as_batch(img)
    m = _channel_values(mean, "mean", batch)
    s = _channel_values(std, "std", batch)
    if isinstance(std, torch.Tensor):
        if std.device.type == "cpu" and bool((std == 0).any()):
            raise ValueError("std must be non-zero, got a tensor with a zero")
    elif (std == 0) if isinstance(std, Real) else any(v == 0 for v in std):
        raise ValueError(f"std must be non-zero, got {std!r}")
    out_dtype = torch.float32 if batch.dtype == torch.uint8 else batch.dtype
    # (x / max - mean) / std as one multiply-add: x * (1 / (max * std)) + (-mean / std)
    scale = (1.0 / (max_value(batch.dtype) * s)).expand(batch.shape[0], batch.shape[1])
    shift = (-m / s).expand(batch.shape[0], batch.shape[1])
    return restore(backend.op("normalize", batch)(batch, scale, shift, out_dtype))


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
    return restore(backend.op("erase", batch)(batch, bx, v))


def paste(img: torch.Tensor, partner, box) -> torch.Tensor:
    """CutMix helper (not in CONTRACT.md): ``out[b] = img[b]`` with the region ``box[b]`` copied from
    ``img[partner[b]]``.

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
    if partner.device.type == "cpu" and b and bool(((partner < 0) | (partner >= b)).any()):
        raise ValueError(f"partner must hold indices in [0, {b - 1}]")
    p = partner.to(device=batch.device, dtype=torch.int64, non_blocking=True).expand(b)
    bx = _boxes(box, b, "box", batch.device, 2)
    return restore(backend.op("paste", batch)(batch, p, bx))
