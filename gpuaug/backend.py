"""The one place that decides which implementation runs a primitive.

Backends:
- ``"auto"`` (default): Triton kernels for CUDA tensors, the vectorized torch path for CPU tensors.
- ``"triton"``: Triton kernels everywhere; on CPU tensors they run through Triton's interpreter, which
  needs ``TRITON_INTERPRET=1`` in the environment before ``triton`` is imported (that is how CI tests them).
  CPU tensors then take exactly the code path of CUDA tensors (no host-path shortcut anywhere).
- ``"torch"``: the vectorized torch path everywhere (the reference the kernels are tested against).

The environment variable ``GPUAUG_BACKEND`` sets the starting value.

A primitive ``name`` lives in the family module of the same name in both trees:
``gpuaug._torch.<family>.<name>`` and ``gpuaug.kernels.<family>.<name>`` (:data:`PRIMITIVES`). With
backend ``"triton"`` a kernel module that fails to import is an error that says why; ``"auto"`` falls
back to the torch path with one warning.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import warnings
from collections.abc import Iterator

import torch

BACKENDS = ("auto", "triton", "torch")

#: primitive -> family: ``gpuaug._torch.<family>`` and ``gpuaug.kernels.<family>`` both define it
PRIMITIVES: dict[str, str] = {
    "warp": "warp",
    "apply_lut": "lut",
    "equalize_lut": "lut",
    "histogram": "histogram",
    "erase": "erase",
    "erase_noise": "erase",
    "paste": "erase",
    "grayscale": "color",
    "gray_mean": "color",
    "adjust_saturation": "color",
    "adjust_sharpness": "color",
    "adjust_hue": "color",
    "normalize": "normalize",
    "pipeline_params": "pipeline",
    "pipeline_stats": "pipeline",
    "pipeline_pass": "pipeline",
    "resize": "resize",
    "gaussian_blur": "blur",
    "channel_shift": "add",
    "gaussian_noise": "add",
}


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
    """True where the Triton kernels run on this tensor under the current backend."""
    if _backend == "torch" or t.dtype == torch.float64:
        return False  # float64 is a CPU-only reference dtype (a TypeError on CUDA): torch path
    if _backend == "triton":
        return True
    return t.is_cuda


def host_path(t: torch.Tensor) -> bool:
    """True where ``t`` takes the CPU host path (the torch path on a CPU tensor): only there may code read
    device values on the host (masks, boxes) to skip work, as that costs no synchronization.

    Never while ``torch.compile`` traces: a read (``Tensor.item()``) would break the graph, so compiled
    code takes the CUDA code path on CPU tensors too (whole batch, no value checks)."""
    return t.device.type == "cpu" and not use_triton(t) and not torch.compiler.is_compiling()


_failed: dict[str, str] = {}  # family -> why its kernel module did not import


def _kernel(name: str):
    family = PRIMITIVES[name]
    if family not in _failed:
        try:
            return getattr(importlib.import_module(f"gpuaug.kernels.{family}"), name)
        except ImportError as e:
            _failed[family] = f"{type(e).__name__}: {e}"
            if _backend == "auto":
                warnings.warn(
                    f"gpuaug: the Triton kernels of {family!r} do not import ({_failed[family]}); "
                    "running the torch path instead", RuntimeWarning, stacklevel=3)
    if _backend == "triton":
        raise RuntimeError(
            f"backend 'triton': the kernel module gpuaug.kernels.{family} does not import "
            f"({_failed[family]}); check the installation (pip install -e . needs a setuptools with "
            "wheel support) or use set_backend('torch')")
    return None


_resolved: dict[tuple[str, bool], object] = {}  # (primitive, triton) -> function


def op(name: str, t: torch.Tensor):
    """The implementation of primitive ``name`` for tensor ``t`` under the current backend.

    Resolved once per primitive and kind (a dict lookup afterwards: ``importlib`` inside a function that
    ``torch.compile`` traces is a graph break)."""
    key = (name, use_triton(t))
    fn = _resolved.get(key)
    if fn is not None:
        return fn
    if key[1]:
        fn = _kernel(name)  # None: the kernels do not import and backend "auto" falls back (not cached)
        if fn is not None:
            _resolved[key] = fn
            return fn
    fn = _resolved.get((name, False))
    if fn is None:
        fn = _resolved[(name, False)] = getattr(
            importlib.import_module(f"gpuaug._torch.{PRIMITIVES[name]}"), name)
    return fn


def preload() -> None:
    """Import every torch-path family now (``gpuaug`` does at import), so that :func:`op` never imports
    while ``torch.compile`` traces."""
    for name in PRIMITIVES:
        _resolved[(name, False)] = getattr(importlib.import_module(f"gpuaug._torch.{PRIMITIVES[name]}"), name)
