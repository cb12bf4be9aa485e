"""The one place that decides which implementation runs a primitive.

Backends:
- ``"auto"`` (default): Triton kernels for CUDA tensors; for CPU tensors the native host kernels
  (``gpuaug._host.<family>``, OpenCV) where that family has the primitive and ``cv2`` imports, else the
  vectorized torch path.
- ``"triton"``: Triton kernels everywhere; on CPU tensors they run through Triton's interpreter, which
  needs ``TRITON_INTERPRET=1`` in the environment before ``triton`` is imported (that is how CI tests them).
  CPU tensors then take exactly the code path of CUDA tensors (no host-path shortcut anywhere).
- ``"torch"``: the vectorized torch path everywhere (the reference the kernels and the host kernels are
  tested against).

The environment variable ``GPUAUG_BACKEND`` sets the starting value.

Host threads: the host kernels spread the samples of a batch over a thread pool of
:func:`get_num_threads` threads: :func:`set_num_threads` (or ``GPUAUG_NUM_THREADS``) when set, else one
inside a DataLoader worker, else ``torch.get_num_threads()``.

A primitive ``name`` lives in the family module of the same name in both trees:
``gpuaug._torch.<family>.<name>`` and ``gpuaug.kernels.<family>.<name>`` (:data:`PRIMITIVES`), and, where
native code wins, ``gpuaug._host.<family>.<name>`` with the same signature. With
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


def _parse_threads(value) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError(f"GPUAUG_NUM_THREADS must be a positive integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"num_threads must be a positive int or None, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"num_threads must be a positive int or None, got {value!r}")
    return value


_threads = _parse_threads(os.environ.get("GPUAUG_NUM_THREADS"))


def set_num_threads(n: int | None) -> None:
    """Threads for batched host-path calls (CPU tensors): ``n`` >= 1, or ``None`` for the default (one
    inside a DataLoader worker, else ``torch.get_num_threads()``)."""
    global _threads
    _threads = _parse_threads(n)


def get_num_threads() -> int:
    """The number of threads a batched host-path call uses now (see :func:`set_num_threads`)."""
    if _threads is not None:
        return _threads
    from torch.utils.data import get_worker_info

    if get_worker_info() is not None:
        return 1  # DataLoader workers: one each (torch sets 1 intra-op thread there too)
    return max(1, torch.get_num_threads())


def use_triton(t: torch.Tensor) -> bool:
    """True where the Triton kernels run on this tensor under the current backend."""
    if _backend == "torch" or t.dtype == torch.float64:
        return False  # float64 is a CPU-only reference dtype (a TypeError on CUDA): torch path
    if _backend == "triton":
        return True
    return t.is_cuda


def host_path(t: torch.Tensor) -> bool:
    """True where ``t`` takes the CPU host path (a CPU tensor, not on the Triton kernels: the host kernels
    or the torch path): only there may code read device values on the host (masks, boxes) to skip work, as
    that costs no synchronization.

    Never while ``torch.compile`` traces: a read (``Tensor.item()``) would break the graph, so compiled
    code takes the CUDA code path on CPU tensors too (whole batch, no value checks)."""
    return t.device.type == "cpu" and not use_triton(t) and not torch.compiler.is_compiling()


@contextlib.contextmanager
def host_scope(t: torch.Tensor) -> Iterator[None]:
    """Run the body with torch's intra-op threads at 1 in the calling thread where ``t`` takes the host
    kernels with more than one gpuaug thread (restored after; a no-op elsewhere and when nested).

    There the pixel work runs on gpuaug's pool, and what torch does between the kernels is small table
    and parameter math whose OpenMP regions only cost: on 2 cores with another process busy, each region
    waits for a scheduler quantum. Measured (64 photos 224², 2 gpuaug threads, one other process holding
    a core): RandAugment 0.20x of one thread with torch at 2 threads, 1.76x with torch at 1; the fused
    table chain 1.42x / 1.79x. ``torch.set_num_threads`` sets the calling thread's OpenMP and MKL count
    (and the default for threads that start using torch meanwhile)."""
    if torch.compiler.is_compiling() or _backend != "auto" or t.device.type != "cpu":
        yield
        return
    n = torch.get_num_threads()
    if n <= 1 or get_num_threads() <= 1 or _host("warp") is None:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


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


_host_modules: dict[str, object] = {}  # family -> gpuaug._host.<family>, or None (none, or no cv2)


def _host(name: str):
    """``gpuaug._host.<family>.<name>``, or None where that module or ``cv2`` does not import."""
    family = PRIMITIVES[name]
    if family not in _host_modules:
        try:
            _host_modules[family] = importlib.import_module(f"gpuaug._host.{family}")
        except ImportError:  # no host module for this family, or OpenCV missing: the torch path
            _host_modules[family] = None
    return getattr(_host_modules[family], name, None)


_resolved: dict[tuple[str, bool, bool], object] = {}  # (primitive, triton, host kernels) -> function


def op(name: str, t: torch.Tensor):
    """The implementation of primitive ``name`` for tensor ``t`` under the current backend: the Triton
    kernel, the host kernel (OpenCV; backend ``auto`` on CPU tensors, not while ``torch.compile`` traces)
    or the torch path.

    Resolved once per primitive and kind (a dict lookup afterwards: ``importlib`` inside a function that
    ``torch.compile`` traces is a graph break)."""
    triton_ = use_triton(t)
    host = (not triton_ and _backend == "auto" and t.device.type == "cpu" and t.dtype != torch.float64
            and not torch.compiler.is_compiling())
    key = (name, triton_, host)
    fn = _resolved.get(key)
    if fn is not None:
        return fn
    if triton_:
        fn = _kernel(name)  # None: the kernels do not import and backend "auto" falls back (not cached)
        if fn is not None:
            _resolved[key] = fn
            return fn
    if host:
        fn = _resolved[key] = _host(name) or _torch_path(name)
        return fn
    return _torch_path(name)


def _torch_path(name: str):
    fn = _resolved.get((name, False, False))
    if fn is None:
        fn = _resolved[(name, False, False)] = getattr(
            importlib.import_module(f"gpuaug._torch.{PRIMITIVES[name]}"), name)
    return fn


def preload() -> None:
    """Import every torch-path family now (``gpuaug`` does at import), so that :func:`op` never imports
    while ``torch.compile`` traces."""
    for name in PRIMITIVES:
        _torch_path(name)
