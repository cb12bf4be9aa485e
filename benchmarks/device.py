"""The machine a benchmark runs on, for every benchmark script: its name, its copy bandwidth, and the keys
every results JSON starts with (benchmarks/README.md): ``device``, ``torch``, ``triton``, ``date``,
``copy_gbps``."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import statistics
import time

import torch


def _slug(s: str) -> str:
    s = re.sub(r"\((r|tm|c)\)", "", s.lower())
    s = re.sub(r"\b(cpu|processor|@.*)$", "", s.strip()).strip()
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def device_name(device: torch.device | str) -> str:
    """``nvidia-h100-80gb-hbm3`` for a GPU, ``cpu-<cores>core-<model>`` for the CPU (results file names)."""
    device = torch.device(device)
    if device.type == "cuda":
        return _slug(torch.cuda.get_device_name(device))
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"cpu-{os.cpu_count()}core-{_slug(model)}"


def sync(device: torch.device | str) -> None:
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def copy_gbps(device: torch.device | str, smoke: bool = False) -> float:
    """GB/s of a large device copy, counted as bytes read + bytes written: on CUDA a 1 GiB
    device-to-device copy timed with ``triton.testing.do_bench`` (median), on the CPU a 256 MiB copy
    (8 MiB with ``smoke``), median of 7 (3) ``perf_counter`` timings."""
    device = torch.device(device)
    if device.type == "cuda":
        import triton.testing

        n = 1 << 30
        src = torch.empty(n, dtype=torch.uint8, device=device).random_()
        dst = torch.empty_like(src)
        ms = triton.testing.do_bench(lambda: dst.copy_(src), warmup=25, rep=200, return_mode="median")
        return 2 * n / (ms * 1e-3) / 1e9
    n = (8 if smoke else 256) << 20
    src = torch.empty(n, dtype=torch.uint8).random_()
    dst = torch.empty_like(src)
    times = []
    for _ in range(3 if smoke else 7):
        t0 = time.perf_counter()
        dst.copy_(src)
        times.append(time.perf_counter() - t0)
    return 2 * n / statistics.median(times) / 1e9


def header(device: torch.device | str, copy: float | None = None) -> dict:
    """The first keys of a results JSON: ``device``, ``torch``, ``triton`` (None if not installed),
    ``date``, ``copy_gbps`` (rounded to 0.01; None when not measured)."""
    try:
        import triton

        triton_version = triton.__version__
    except ImportError:
        triton_version = None
    return {
        "device": device_name(device),
        "torch": torch.__version__,
        "triton": triton_version,
        "date": _dt.date.today().isoformat(),
        "copy_gbps": None if copy is None else round(copy, 2),
    }
