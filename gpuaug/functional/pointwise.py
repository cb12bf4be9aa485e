"""The pointwise engine: every value-to-value op (posterize, solarize, solarize_add, invert, brightness,
contrast, equalize, autocontrast) and their fusion, :func:`pointwise_chain`.

uint8: a table is uint8 ``(B, C or 1, 256)``, ``out[b, c, y, x] = lut[b, c, img[b, c, y, x]]``. Tables compose
(:func:`compose`), so a chain of pointwise ops becomes ONE table per image and channel and the pixels are
touched once (the ``apply_lut`` primitive). Histogram-driven ops (equalize, autocontrast) read the histogram
of the image as it is at their place in the chain: :func:`push_histogram` carries the input's histogram
through the tables built so far, so one histogram pass of the input serves the whole chain.

Floating images run the steps one by one with the same formulas (``*_fn``) on [0, 1]; ``posterize`` and
``equalize`` act on the value quantized to 256 levels, ``q = round(clamp(x, 0, 1) * 255)``, and return
``table(q) / 255``. The formulas follow PIL exactly (ImageOps, ImageEnhance, Image.blend). The single-op
functionals of ``gpuaug.functional.color`` are one-step chains. All functions are sync-free: parameters
are tensors on the image's device.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gpuaug import backend
from gpuaug._checks import (
    _show,
    as_batch,
    check_range,
    is_sequence,
    max_value,
    memory_format_of,
    per_sample,
    readable,
    wants_grad,
)
from gpuaug._torch._common import take
from gpuaug._torch.lut import (  # the value formulas and table builders (re-exported)
    autocontrast_lut,
    blend_fn,
    brightness_lut,
    compose,
    contrast_lut,
    identity_lut,
    invert_fn,
    invert_lut,
    mean_from_histogram,
    posterize_lut,
    push_histogram,
    solarize_add_fn,
    solarize_add_lut,
    solarize_fn,
    solarize_lut,
    stretch_fn,
)
from gpuaug.functional import _autograd as autograd

__all__ = [
    "STEPS",
    "autocontrast_lut",
    "brightness_lut",
    "compose",
    "contrast_lut",
    "identity_lut",
    "invert_lut",
    "pointwise_chain",
    "posterize_lut",
    "push_histogram",
    "solarize_add_lut",
    "solarize_lut",
]

# ---------------------------------------------------------------------------------------------------------
# Parameter validation shared with gpuaug.functional.color (numbers and CPU tensors; CUDA tensors are not
# inspected, which would synchronise).


def check_param(op: str, name: str, value, dtype: torch.dtype) -> None:
    """Type (a real number, sequence or tensor: ``TypeError``), finiteness and range (``ValueError``) of a
    pointwise op's parameter, for numbers and :func:`readable` tensors."""
    mx = max_value(dtype)
    if value is None:
        raise TypeError(f"{name} must be a number or a tensor ({op} needs it), got None")
    if op == "posterize":
        check_range(value, 0, 8, name, "(bits to keep; 0 keeps none: black, as PIL)")
        if isinstance(value, torch.Tensor):
            bad = (value.is_floating_point() and readable(value) and value.numel()
                   and bool((value != value.round()).any()))
        else:
            bad = any(float(v) != int(v) for v in (value if is_sequence(value) else (value,)))
        if bad:
            raise ValueError(f"{name} must hold integers (bits to keep), got {_show(value)}")
    elif name == "threshold":
        # up to 256 levels: PIL's "nothing is >= 256", timm's Solarize at magnitude 10
        check_range(value, 0, mx * 256 / 255, name, "(the image's value range, or 256 levels: no-op)")
    elif name == "addition":
        check_range(value, -mx, mx, name)
    elif name == "factor":
        check_range(value, 0, float("inf"), name, "(a non-negative factor)")


# op -> names of its parameters, in order
STEPS: dict[str, tuple[str, ...]] = {
    "posterize": ("bits",),
    "solarize": ("threshold",),
    "solarize_add": ("addition", "threshold"),
    "invert": (),
    "brightness": ("factor",),
    "contrast": ("factor",),
    "equalize": (),
    "autocontrast": (),
}
_ALIASES = {"adjust_brightness": "brightness", "adjust_contrast": "contrast"}


def _step_params(name: str, params, b: int, device, dtype) -> list[torch.Tensor]:
    names = STEPS[name]
    if not names:
        return []
    if params is None or isinstance(params, torch.Tensor) or not is_sequence(params):
        params = [params]
    params = list(params)
    if len(params) > len(names):
        raise ValueError(f"{name} takes {len(names)} parameter(s) {names}, got {len(params)}")
    if name == "solarize_add" and len(params) == 1:
        params.append(128 * max_value(dtype) / 255)  # AutoAugment's threshold 128 (128/255 for floats)
    out = []
    dt = torch.float64 if dtype == torch.float64 else torch.float32  # float64: exact gradients
    for pname, value in zip(names, params):
        check_param(name, pname, value, dtype)
        out.append(per_sample(value, b, pname, device, dt, finite=False))  # check_param: finite
    return out


def pointwise_chain(img: torch.Tensor, steps) -> torch.Tensor:
    """Apply a chain of pointwise ops as ONE table per image and channel (uint8), at most one histogram pass.

    img: (B, C, H, W) or (C, H, W). steps: a list of ``(op, params, apply)``: ``op`` one of :data:`STEPS`
    (also ``adjust_brightness``/``adjust_contrast``); ``params`` a number or tensor broadcasting to (B,),
    for ``solarize_add`` a pair ``(addition, threshold)`` or just ``addition`` (threshold 128, floats
    128/255), ``None`` for ops without parameters; ``apply`` a bool (B,) mask (``None``: every sample),
    where false the step is the identity for that sample. The result equals applying the ops one by one
    exactly.

    Contrast on RGB needs the mean of the grayscale image at its place in the chain, which the per-channel
    histograms do not determine: it costs one extra read pass (``gray_mean`` of the table so far). Floating
    images run the steps one by one (no tables).
    """
    batch, restore = as_batch(img)
    b, c = batch.shape[:2]
    device = batch.device
    parsed = []
    for step in steps:
        if not isinstance(step, Sequence) or len(step) not in (2, 3):
            raise ValueError(f"steps must hold (op, params, apply) tuples, got {step!r}")
        if not isinstance(step[0], str):
            raise TypeError(f"steps: the op of a step must be a string, got {step[0]!r}")
        name, params = _ALIASES.get(step[0], step[0]), step[1]
        mask = step[2] if len(step) == 3 else None
        if name not in STEPS:
            raise ValueError(f"unknown pointwise op {step[0]!r}; valid: {sorted(STEPS)}")
        values = _step_params(name, params, b, device, batch.dtype)
        if mask is not None:
            if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
                raise TypeError(f"apply mask of {name} must be a bool tensor")
            if mask.dim() > 1 or (mask.numel() != 1 and mask.numel() != b):
                raise ValueError(f"apply mask of {name} must have shape ({b},) (one per sample), got shape "
                                 f"{tuple(mask.shape)}")
            mask = mask.to(device, non_blocking=True).reshape(-1).expand(b)
        parsed.append((name, values, mask))
    if batch.shape[0] == 0 or not parsed:
        return restore(batch.clone(memory_format=torch.preserve_format))
    if batch.dtype != torch.uint8:
        grad = wants_grad(batch, *(v for _, values, _ in parsed for v in values))
        return restore(_float_chain(batch, parsed, grad))
    # tables: a parameter that requires grad gives a uint8 result, no gradient
    with torch.no_grad(), backend.host_scope(batch):
        return restore(_uint8_chain(batch, parsed))


def _uint8_chain(batch: torch.Tensor, parsed) -> torch.Tensor:
    """uint8: one table per image and channel, at most one histogram pass, one table pass."""
    b, c = batch.shape[:2]
    device = batch.device
    total = None  # the table so far; None = identity
    hist0 = None  # histogram of the input, computed at most once
    hist_steps = ("equalize", "autocontrast") + (("contrast",) if c == 1 else ())
    hist_rows = _rows_needing(parsed, hist_steps, batch)

    def hist_now():
        nonlocal hist0
        if hist0 is None:
            hist0 = _on_rows(batch, hist_rows, lambda x: backend.op("histogram", x)(x))
        return hist0 if total is None else push_histogram(hist0, total)

    host = backend.host_path(batch)
    for name, values, mask in parsed:
        if host and mask is not None and not bool(mask.any()):
            continue  # host path (reading the mask is free): a step no sample takes is skipped
        if name == "equalize":
            h = hist_now()
            lut = backend.op("equalize_lut", h)(h)
        elif name == "autocontrast":
            lut = autocontrast_lut(hist_now())
        elif name == "contrast":
            if c == 1:
                mean = mean_from_histogram(hist_now())
            else:
                rows = _rows_needing([(name, values, mask)], ("contrast",), batch)
                t = None if total is None else total.expand(b, -1, -1)

                def gmean(x, idx, t=t):
                    tt = t if t is None or idx is None else t.index_select(0, idx)
                    return backend.op("gray_mean", x)(x, tt)

                mean = _on_rows(batch, rows, gmean, with_idx=True)
            lut = contrast_lut(values[0], mean)
        else:
            lut = _simple_lut(name, values, b, device)
        if mask is not None:
            lut = torch.where(mask.view(-1, 1, 1), lut, identity_lut(b, lut.shape[1], device))
        total = lut if total is None else compose(total, lut)
    if total is None:  # every step skipped
        return batch.clone(memory_format=torch.preserve_format)
    return backend.op("apply_lut", batch)(batch, total)


def _rows_needing(parsed, names, batch: torch.Tensor) -> torch.Tensor | None:
    """Host path only: the sample indices (int64) where a step in ``names`` applies; ``None`` for every
    sample (any such step without a mask, or a tensor off the host path, where reading a mask would
    synchronise or leave the CUDA code path)."""
    if not backend.host_path(batch):
        return None
    need = None
    for name, _, mask in parsed:
        if name in names:
            if mask is None:
                return None
            need = mask if need is None else need | mask
    if need is None or bool(need.all()):
        return None
    return need.nonzero()[:, 0]


def _on_rows(batch: torch.Tensor, rows: torch.Tensor | None, fn, with_idx: bool = False) -> torch.Tensor:
    """A per-sample statistic ``fn(batch)`` computed only on ``rows`` (zeros elsewhere): the histogram and
    gray-mean passes then read just the samples whose step uses them (on the host path, where a policy's
    chain runs most samples with identity for those steps)."""
    if rows is None:
        return fn(batch, None) if with_idx else fn(batch)
    sub = take(batch, rows)
    part = fn(sub, rows) if with_idx else fn(sub)
    out = torch.zeros((batch.shape[0], *part.shape[1:]), dtype=part.dtype, device=part.device)
    return out.index_copy_(0, rows, part)


def _simple_lut(name: str, values: list[torch.Tensor], b: int, device) -> torch.Tensor:
    if name == "posterize":
        return posterize_lut(values[0])
    if name == "solarize":
        return solarize_lut(values[0])
    if name == "solarize_add":
        return solarize_add_lut(values[0], values[1])
    if name == "invert":
        return invert_lut(b, device)
    if name == "brightness":
        return brightness_lut(values[0])
    raise AssertionError(name)


# ---------------------------------------------------------------------------------------------------------
# Floating images: the steps one by one on [0, 1], each result cast back to the image's dtype.


def _quantize(x: torch.Tensor) -> torch.Tensor:
    """Floating [0, 1] -> uint8 levels ``round(clamp(x, 0, 1) * 255)``."""
    return (x.float() * 255.0).round_().clamp_(0, 255).to(torch.uint8)


def _via_levels(x: torch.Tensor, table) -> torch.Tensor:
    """``table(q) / 255`` of the quantized levels; ``table`` maps the uint8 levels to a (B, C|1, 256) lut."""
    q = _quantize(x)
    return (backend.op("apply_lut", q)(q, table(q)).float() / 255.0).to(x.dtype)


def _col4(p: torch.Tensor) -> torch.Tensor:
    return p.float().view(-1, 1, 1, 1)


def float_step(name: str, x: torch.Tensor, values: list[torch.Tensor]) -> torch.Tensor:
    """One pointwise op on a floating (B, C, H, W) batch in [0, 1]; the result has x's dtype."""
    if name == "posterize":
        return _via_levels(x, lambda q: posterize_lut(values[0]))
    if name == "equalize":
        return _via_levels(x, lambda q: backend.op("equalize_lut", q)(backend.op("histogram", q)(q)))
    v = x.float()
    if name == "solarize":
        y = solarize_fn(v, _col4(values[0]), 1.0)
    elif name == "solarize_add":
        y = solarize_add_fn(v, _col4(values[0]), _col4(values[1]), 1.0)
    elif name == "invert":
        y = invert_fn(v, 1.0)
    elif name == "brightness":
        y = blend_fn(v, 0.0, _col4(values[0]), 1.0)
    elif name == "contrast":
        y = blend_fn(v, _col4(backend.op("gray_mean", x)(x)), _col4(values[0]), 1.0)
    elif name == "autocontrast":
        lo, hi = v.amin((2, 3), keepdim=True), v.amax((2, 3), keepdim=True)
        y = stretch_fn(v, lo, hi, 1.0).clamp_(0, 1)
    else:
        raise AssertionError(name)
    return y.to(x.dtype)


def _float_chain(batch: torch.Tensor, parsed, grad: bool) -> torch.Tensor:
    """The steps one by one; ``grad``: differentiably (``gpuaug.functional._autograd.pointwise_step``; the
    quantizing posterize and equalize with a zero gradient)."""
    x = batch
    for name, values, mask in parsed:
        if grad:
            y = autograd.pointwise_step(name, x, values)
            if y is None:
                with torch.no_grad():
                    y = float_step(name, x, values)
                y = autograd.piecewise_constant(y, x)
        else:
            with torch.no_grad():
                y = float_step(name, x, values)
        x = y if mask is None else torch.where(mask.view(-1, 1, 1, 1), y, x)
    return x.contiguous(memory_format=memory_format_of(batch))
