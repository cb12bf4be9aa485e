"""Differentiable formulations of the float ops (docs/contract.md "Gradients").

The fast paths (``gpuaug._torch`` and the Triton kernels) write into preallocated
buffers (``out=``, in-place slices, uint8 row views) that autograd cannot record. When a result must carry
autograd (``gpuaug._checks.wants_grad``: grad mode on, a floating image, the image or a tensor parameter
requiring grad) the functional ops call these instead: plain out-of-place torch ops with the same formulas,
on any device (CUDA tensors too: there is no backward kernel), computed in float32, or in float64 for
float64 images (what ``torch.autograd.gradcheck`` needs), then cast to the image's dtype.

Gradients reach the image and every tensor parameter the result depends on smoothly: the warp's matrix
(and through it angle, translate, scale, shear, center), the blend factors, the hue delta, mean and std,
the fill. ``nearest`` sampling passes gradients to the image only (the sample positions are piecewise
constant in the matrix), as do ``erase`` / ``paste`` (boxes are whole pixels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as TF

from gpuaug import backend
from gpuaug._torch.color import _L_WEIGHTS, _rotate_hue
from gpuaug._torch.warp import _BILINEAR, _normalize


def compute_dtype(img: torch.Tensor) -> torch.dtype:
    return torch.float64 if img.dtype == torch.float64 else torch.float32


def _col(p: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return p.to(dtype).reshape(-1, 1, 1, 1)


# ------------------------------------------------------------------------------------------------- warp


def warp(img, inv, size, interpolation, fill_mode, fill) -> torch.Tensor:
    """The ``warp`` primitive (``gpuaug._torch.warp.warp``), differentiable: img floating (B, C, H, W),
    inv (B, 2, 3) output -> source (any floating dtype), fill (B, C) in [0, 1]."""
    b, c, h, w = img.shape
    ho, wo = int(size[0]), int(size[1])
    if b * c * ho * wo == 0:
        return img.new_zeros((b, c, ho, wo)) + img.sum() * 0  # empty, still in the graph
    if h == 0 or w == 0:
        raise ValueError(f"img must have a non-empty image plane, got shape {tuple(img.shape)}")
    dt = compute_dtype(img)
    inv = inv.to(dt)
    outside = torch.zeros_like(inv[:1])
    outside[..., 2] = -2.0
    inv = torch.where(torch.isfinite(inv).all(dim=(1, 2), keepdim=True), inv, outside)
    fill = fill.to(img.device, dt).expand(b, c)
    if interpolation == "nearest":
        return _nearest(img, inv, (ho, wo), fill_mode, fill)
    x = img.to(dt)
    pad, padding_mode, align = _BILINEAR[fill_mode]
    if fill_mode == "constant":
        # a 1-pixel border of fill; beyond it grid_sample's "border" repeats the border
        ring = torch.ones((1, 1, h + 2, w + 2), dtype=dt, device=img.device)
        ring[..., 1:-1, 1:-1] = 0
        x = TF.pad(x, (1, 1, 1, 1)) + ring * fill[:, :, None, None]
    elif fill_mode == "wrap":
        x = TF.pad(x, (1, 1, 1, 1), mode="circular")  # buffer pixel 0 = image W-1, W+1 = image 0
    xs = torch.arange(wo, dtype=dt, device=img.device)[None, None, :]
    ys = torch.arange(ho, dtype=dt, device=img.device)[None, :, None]
    m = inv[:, :, :, None, None]
    sx = m[:, 0, 0] * xs + m[:, 0, 1] * ys + m[:, 0, 2]  # (B, H_out, W_out) source coordinates
    sy = m[:, 1, 0] * xs + m[:, 1, 1] * ys + m[:, 1, 2]
    if fill_mode == "wrap":
        sx, sy = sx.remainder(w), sy.remainder(h)
    kx, ox = _normalize(w + 2 * pad, pad, align)
    ky, oy = _normalize(h + 2 * pad, pad, align)
    grid = torch.stack((sx * kx + ox, sy * ky + oy), -1)
    out = TF.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=align)
    return out.to(img.dtype)


def _nearest(img, inv, size, fill_mode, fill) -> torch.Tensor:
    """Nearest warp as a gather: the source row and column of every output pixel come from the fast
    ``warp`` primitive run on row / column index images (exact, every fill mode, -1 outside for
    "constant"), then the image is gathered there: differentiable in the image and the fill."""
    b, c, h, w = img.shape
    ho, wo = size
    with torch.no_grad():
        rows = torch.arange(h, dtype=torch.float32, device=img.device).view(1, 1, h, 1).expand(b, 1, h, w)
        cols = torch.arange(w, dtype=torch.float32, device=img.device).view(1, 1, 1, w).expand(b, 1, h, w)
        idx_img = torch.cat((rows, cols)).contiguous()  # (2B, 1, H, W): exact below 2**24 per axis
        minus = torch.full((2 * b, 1), -1.0, device=img.device)
        src = backend.op("warp", idx_img)(idx_img, inv.float().repeat(2, 1, 1), (ho, wo), "nearest",
                                          fill_mode, minus)
        r, q = src[:b].round().long(), src[b:].round().long()
        inside = r >= 0
        flat_idx = (r.clamp_min(0) * w + q.clamp_min(0)).view(b, 1, ho * wo).expand(b, c, ho * wo)
    out = img.reshape(b, c, h * w).gather(2, flat_idx).view(b, c, ho, wo)
    if fill_mode == "constant":
        out = torch.where(inside, out, fill.to(img.dtype)[:, :, None, None])
    return out


# ------------------------------------------------------------------------------------------ pixel ops


def gray(x: torch.Tensor) -> torch.Tensor:
    """ITU-R 601-2 luma (B, 1, H, W) of a floating RGB batch, in x's dtype."""
    wr, wg, wb = _L_WEIGHTS
    return x[:, 0:1] * wr + x[:, 1:2] * wg + x[:, 2:3] * wb


def gray_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean (B,) of the gray image (C = 1: of the image itself)."""
    g = gray(x) if x.shape[1] == 3 else x
    return g.flatten(1).mean(1)


def blend(x: torch.Tensor, deg, factor: torch.Tensor, mx: float = 1.0) -> torch.Tensor:
    """``clamp(deg + f (x - deg), 0, mx)`` (PIL's Image.blend, ``gpuaug.functional.pointwise.blend_fn``)."""
    return (deg + _col(factor, x.dtype) * (x - deg)).clamp(0, mx)


def _smooth(x: torch.Tensor) -> torch.Tensor:
    """PIL's SMOOTH filter ([[1,1,1],[1,5,1],[1,1,1]] / 13) inside, border pixels kept."""
    b, c, h, w = x.shape
    if h < 3 or w < 3:
        return x
    k = torch.ones((1, 1, 3, 3), dtype=x.dtype, device=x.device)
    k[0, 0, 1, 1] = 5.0
    out = x.clone()
    out[..., 1:-1, 1:-1] = TF.conv2d(x.reshape(b * c, 1, h, w), k / 13.0).view(b, c, h - 2, w - 2)
    return out


def _run(img: torch.Tensor, fn) -> torch.Tensor:
    return fn(img.to(compute_dtype(img))).to(img.dtype)


def adjust_saturation(img, factor):
    return _run(img, lambda x: blend(x, gray(x), factor))


def adjust_sharpness(img, factor):
    return _run(img, lambda x: blend(x, _smooth(x), factor))


def adjust_hue(img, delta):
    return _run(img, lambda x: _rotate_hue(x, delta).clamp(0, 1))


def grayscale(img):
    return _run(img, gray)


def normalize(img, mean, std, max_value: float, dtype, memory_format):
    """``(img / max_value - mean) / std``; mean, std (B or 1, C)."""
    dt = compute_dtype(img)
    y = (img.to(dt) / max_value - mean.to(dt)[:, :, None, None]) / std.to(dt)[:, :, None, None]
    return y.to(dtype).contiguous(memory_format=memory_format)


def pointwise_step(name: str, x: torch.Tensor, values: list[torch.Tensor]) -> torch.Tensor | None:
    """A differentiable pointwise op on floating [0, 1] ``x`` (brightness, contrast, solarize,
    solarize_add, invert, autocontrast), in x's dtype; ``None`` for the quantizing ones (posterize,
    equalize: see :func:`piecewise_constant`)."""
    dt = compute_dtype(x)
    v = x.to(dt)
    if name == "brightness":
        y = blend(v, 0.0, values[0])
    elif name == "contrast":
        y = blend(v, gray_mean(v).view(-1, 1, 1, 1), values[0])
    elif name == "solarize":
        y = torch.where(v >= _col(values[0], dt), 1.0 - v, v)
    elif name == "solarize_add":
        y = torch.where(v < _col(values[1], dt), (v + _col(values[0], dt)).clamp(0, 1), v)
    elif name == "invert":
        y = 1.0 - v
    elif name == "autocontrast":
        lo, hi = v.amin((2, 3), keepdim=True), v.amax((2, 3), keepdim=True)
        ok = hi > lo
        y = torch.where(ok, (v - lo) / torch.where(ok, hi - lo, 1.0), v).clamp(0, 1)
    else:
        return None
    return y.to(x.dtype)


class _PiecewiseConstant(torch.autograd.Function):
    """``y`` (computed without autograd from ``x``) with a zero gradient to ``x``: the derivative of a
    quantizing op almost everywhere, as ``torch.round`` reports it."""

    @staticmethod
    def forward(ctx, y, x):
        return y.view_as(y)

    @staticmethod
    def backward(ctx, grad):
        return None, torch.zeros_like(grad)


def piecewise_constant(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Posterize and equalize quantize: their result carries a grad_fn with zero gradient."""
    return _PiecewiseConstant.apply(y.detach(), x)
