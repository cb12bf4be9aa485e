"""The one place that decides which implementation runs an op.

Backends:
- ``"auto"`` (default): Triton kernels for CUDA tensors, the vectorized torch path for CPU tensors.
- ``"triton"``: Triton kernels everywhere; on CPU tensors they run through Triton's interpreter, which
  needs ``TRITON_INTERPRET=1`` in the environment before ``triton`` is imported (that is how CI tests them).
- ``"torch"``: the vectorized torch path everywhere (the reference the kernels are tested against).

The environment variable ``GPUAUG_BACKEND`` sets the starting value.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

BACKENDS = ("auto", "triton", "torch")


def _check(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    return name


_backend = _check(os.environ.get("GPUAUG_BACKEND", "auto").strip().lower() or "auto")


def set_backend(name: str) -> None:
    """Choose the implementation: ``"auto"``, ``"triton"`` or ``"torch"``."""
    global _backend
    _backend = _check(name)


def get_backend() -> str:
    return _backend


@contextlib.contextmanager
def backend(name: str) -> Iterator[None]:
    """Context manager: run the body with another backend, restore the previous one after."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def use_triton(t: torch.Tensor) -> bool:
    """True where the Triton kernels should run on this tensor under the current backend."""
    if _backend == "torch" or t.dtype == torch.float64:
        return False  # float64 is a CPU-only reference dtype (CONTRACT: a TypeError on CUDA): torch path
    if _backend == "triton":
        return True
    return t.is_cuda


# Primitive -> (torch-path module, Triton-kernel module). The functional API calls ``op(name, tensor)``
# and never imports an implementation itself. A kernel module that does not exist (yet) falls back to
# the torch path; ``has_kernel`` tells which primitives really run in Triton.
PRIMITIVES: dict[str, tuple[str, str]] = {
    "warp": ("gpuaug._torch.warp", "gpuaug.kernels.warp"),
    "apply_lut": ("gpuaug._torch.pixel", "gpuaug.kernels.lut"),
    "histogram": ("gpuaug._torch.pixel", "gpuaug.kernels.histogram"),
    "equalize_lut": ("gpuaug.functional.lut", "gpuaug.kernels.lut"),
    "erase": ("gpuaug._torch.pixel", "gpuaug.kernels.erase"),
    "erase_noise": ("gpuaug._torch.pixel", "gpuaug.kernels.erase"),
    "paste": ("gpuaug._torch.pixel", "gpuaug.kernels.erase"),
    "grayscale": ("gpuaug._torch.pixel", "gpuaug.kernels.color"),
    "gray_mean": ("gpuaug._torch.pixel", "gpuaug.kernels.color"),
    "adjust_saturation": ("gpuaug._torch.pixel", "gpuaug.kernels.color"),
    "adjust_sharpness": ("gpuaug._torch.pixel", "gpuaug.kernels.color"),
    "adjust_hue": ("gpuaug._torch.pixel", "gpuaug.kernels.color"),
    "normalize": ("gpuaug._torch.pixel", "gpuaug.kernels.normalize"),
}


def _kernel(name: str):
    import importlib

    try:
        module = importlib.import_module(PRIMITIVES[name][1])
    except ImportError:
        return None
    return getattr(module, name, None)


def has_kernel(name: str) -> bool:
    return _kernel(name) is not None


def op(name: str, t: torch.Tensor):
    """The implementation of primitive ``name`` for tensor ``t`` under the current backend."""
    import importlib

    if use_triton(t):
        fn = _kernel(name)
        if fn is not None:
            return fn
    return getattr(importlib.import_module(PRIMITIVES[name][0]), name)
