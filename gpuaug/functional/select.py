"""Run an op on some samples of a batch: the host path computes only those; elsewhere the whole batch
runs with identity parameters where the op is not wanted (no host sync, the CUDA code path)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gpuaug import backend
from gpuaug._checks import wants_grad
from gpuaug._torch._common import put, take

__all__ = ["host_path", "host_scope", "on_samples"]


def host_path(img: torch.Tensor) -> bool:
    """True where ``img`` takes the CPU host path (the torch path on a CPU tensor): only there does code
    read per-sample masks on the host to skip work. Off it (CUDA, backend ``triton``) every sample runs
    the same code with identity parameters, the CUDA code path."""
    return backend.host_path(img)


def host_scope(img: torch.Tensor):
    """Context manager for a batched host-path computation on ``img``: torch's own threads stay out of the
    way of gpuaug's thread pool (``gpuaug.backend.host_scope``)."""
    return backend.host_scope(img)


def on_samples(
    img: torch.Tensor,
    mask: torch.Tensor,
    fn: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
    owned: bool = False,
) -> tuple[torch.Tensor, bool]:
    """``fn(x, idx)`` on the samples of the (B, C, H, W) ``img`` where the bool (B,) ``mask`` holds; the
    others stay as they are. ``fn`` gets ``idx = None`` and the whole batch (it must then act as the
    identity where ``mask`` is false), or the int64 indices of the selected samples and those samples.

    Returns ``(result, owned)``: ``owned`` tells whether ``result`` is a buffer of the caller's that may be
    written in place (pass it back in; ``img`` itself is never written unless ``owned`` was True).
    Off the host path (CUDA, or backend ``triton``), and where ``img`` requires grad: ``fn(img, None)``
    (floating images: then the unselected samples are taken back from ``img``, bit for bit).
    On the host path, where reading the mask costs nothing, only the selected samples are computed and
    copied back into one working buffer.
    """
    if not backend.host_path(img) or wants_grad(img):
        # (a result that carries autograd: the whole batch, as sample gathers through byte views and
        # in-place copies into a working buffer would cut the graph)
        out = fn(img, None)
        if img.is_floating_point():  # identity parameters are exact on uint8, within an ulp on floats
            out = torch.where(mask.view(-1, *(1,) * (img.dim() - 1)), out, img)
        return out, True
    idx = mask.nonzero()[:, 0]
    n = idx.numel()
    if n == 0:
        return img, owned
    if n == img.shape[0]:
        return fn(img, None), True
    out = img if owned else img.clone(memory_format=torch.preserve_format)
    put(out, idx, fn(take(img, idx), idx))
    return out, True
