"""Shared plumbing of the host kernels (CPU tensors, backend "auto"): OpenCV, numpy views, the thread pool.

Importing this module imports ``cv2``; where that fails, ``gpuaug.backend`` runs the torch path instead.

Threads: a batched call splits its samples into contiguous ranges and runs them on a pool of
``gpuaug.backend.get_num_threads()`` threads (OpenCV releases the GIL inside each call; the Python glue
per sample is a few microseconds against 50-300 us of pixel work). OpenCV's own threads are switched off
(``cv2.setNumThreads(1)``, process-wide, when this module is imported): parallelism comes from the
samples, and a call inside a DataLoader worker stays on one core. A pool made before a fork (DataLoader
workers) is not reused in the child, where its threads do not exist.

Torch ops are not called inside the pool's tasks: torch would start its own intra-op threads there.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import torch

from gpuaug import backend

cv2.setNumThreads(1)

#: tasks per thread: ranges small enough that a thread slowed by other work on the machine is caught up
_TASKS_PER_THREAD = 4

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_key: tuple[int, int] | None = None  # (pid, threads)


def _executor(threads: int) -> ThreadPoolExecutor:
    global _pool, _pool_key
    key = (os.getpid(), threads)
    with _lock:
        if _pool_key != key:
            if _pool is not None and _pool_key[0] == key[0]:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(threads, thread_name_prefix="gpuaug-host")
            _pool_key = key
        return _pool


def parallel(fn, n: int, threads: int | None = None) -> None:
    """``fn(b0, b1)`` over contiguous ranges covering ``range(n)``: inline with one thread, else on the pool
    (the calling thread waits). Exceptions propagate."""
    t = min(n, backend.get_num_threads() if threads is None else threads)
    if t <= 1:
        if n:
            fn(0, n)
        return
    k = min(n, t * _TASKS_PER_THREAD)
    bounds = [n * i // k for i in range(k + 1)]
    pool = _executor(t)
    futures = [pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(k)]
    for f in futures:
        f.result()


def planes(t: torch.Tensor) -> tuple[np.ndarray, bool]:
    """A dense tensor's storage as numpy: ``(B, C, H, W)`` for contiguous tensors, ``(B, H, W, C)`` for
    channels_last ones (``True``). Shares memory with ``t``."""
    if t.is_contiguous():
        return t.detach().numpy(), False
    return t.detach().permute(0, 2, 3, 1).numpy(), True


def dense(t: torch.Tensor) -> torch.Tensor:
    """``t`` if it is dense in its memory format, else a copy in that format."""
    if t.is_contiguous() or t.is_contiguous(memory_format=torch.channels_last):
        return t
    return t.contiguous()
