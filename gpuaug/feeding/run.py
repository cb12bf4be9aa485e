"""The feeding check's run: time the input pipeline, the augmentation, the model step and the full loop on
one device (:func:`run_bench`, configured by :class:`BenchConfig`)."""

from __future__ import annotations

import dataclasses
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator

import torch

from gpuaug.feeding.datasets import FolderDataset, SampleDataset
from gpuaug.feeding.report import _denormalize
from gpuaug.feeding.verdict import verdict
from gpuaug.loader import AugmentingCollate, BatchHook, DeviceLoader, build_hook, collate_uint8
from gpuaug.loader.batch import map_tensors

__all__ = ["BenchConfig", "run_bench"]


@dataclasses.dataclass
class BenchConfig:
    device: str = "auto"  # auto | cpu | cuda
    batch_size: int | None = None  # None: 256 on CUDA, 32 on the CPU
    steps: int | None = None  # timed steps per phase; None: 30 on CUDA, 10 on the CPU
    warmup: int | None = None  # untimed steps per phase; None: 5 on CUDA, 2 on the CPU
    workers: int | None = None  # DataLoader workers; None: min(8, cores) on CUDA, 1 on the CPU
    policy: str = "rand-m9-n2"
    pipeline: str | None = None  # a pipeline config file (replaces crop + flip + policy)
    mix: bool = True
    size: int | None = None  # None: 224 on CUDA, 128 on the CPU
    data: str | None = None
    out: str = "gpuaug-report"
    threads: int | None = None
    model: str | None = None  # None: resnet50 on CUDA, tiny on the CPU
    num_images: int | None = None  # bundled-photo dataset size; None: 4 batches, at least 256
    progress: bool = True
    seed: int = 0

    def resolved(self) -> BenchConfig:
        """A copy with the ``None`` defaults filled in for the chosen device."""
        c = dataclasses.replace(self)
        if c.device == "auto":
            c.device = "cuda" if torch.cuda.is_available() else "cpu"
        if c.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, got {c.device!r}")
        if c.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda, but torch.cuda.is_available() is False")
        gpu = c.device == "cuda"
        cores = os.cpu_count() or 1
        c.batch_size = c.batch_size or (256 if gpu else 32)
        c.steps = c.steps or (30 if gpu else 10)
        c.warmup = c.warmup if c.warmup is not None else (5 if gpu else 2)
        c.workers = c.workers if c.workers is not None else (min(8, cores) if gpu else 1)
        c.size = c.size or (224 if gpu else 128)
        if c.model is None:
            c.model = "resnet50" if gpu else "tiny"
        c.num_images = c.num_images or max(256, 4 * c.batch_size)
        if c.threads is None and not gpu:
            # The training process shares the cores with the workers: oversubscribed OpenMP threads spin
            # and slow every op several-fold (measured 15x on 2 cores), which would blame the wrong side.
            c.threads = max(1, cores - c.workers) if c.workers is not None else None
        for name in ("batch_size", "steps", "size"):
            if getattr(c, name) <= 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive, got {getattr(c, name)}")
        if c.warmup < 0 or c.workers < 0:
            raise ValueError("--warmup and --workers must be >= 0")
        return c


def _cycle(loader) -> Iterator:
    while True:
        yield from loader


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(name: str, n_warm: int, n_steps: int, body: Callable[[], None], device: torch.device,
           progress: bool, blocks: int = 1) -> float:
    """Run ``body`` ``n_warm`` untimed then ``n_steps`` timed times; the timed part's seconds.

    The timed steps run in ``blocks`` equal blocks and the fastest block counts (scaled to ``n_steps``):
    on a shared CPU, another process's burst then spoils one block, not the result. The device is
    synchronized only at block edges, never inside a block.
    """
    from tqdm.auto import tqdm

    blocks = max(1, min(blocks, n_steps))
    per = [n_steps // blocks + (1 if i < n_steps % blocks else 0) for i in range(blocks)]
    bar = tqdm(total=n_warm + n_steps, desc=f"{name:>8}", unit="batch", disable=not progress, file=sys.stderr,
               leave=True, dynamic_ncols=True)
    try:
        for _ in range(n_warm):
            body()
            bar.update()
        best = math.inf
        for k in per:
            _sync(device)
            t0 = time.perf_counter()
            for _ in range(k):
                body()
                bar.update()
            _sync(device)
            best = min(best, (time.perf_counter() - t0) / k)
        return best * n_steps
    finally:
        bar.close()


def _train_step(model: torch.nn.Module, device: torch.device) -> Callable:
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    amp = device.type == "cuda"

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = model(x)
        # cross_entropy takes class indices or class probabilities (the soft labels of CutMix/MixUp).
        loss = torch.nn.functional.cross_entropy(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def run_bench(config: BenchConfig) -> dict:
    """Run the feeding check; return the report dict (also written by :func:`write_report`)."""
    c = config.resolved()
    if c.threads:
        torch.set_num_threads(c.threads)
    torch.manual_seed(c.seed)
    device = torch.device(c.device)
    gpu = device.type == "cuda"
    if gpu:
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest convolutions
    t_start = time.perf_counter()

    ds = FolderDataset(c.data, c.size) if c.data else SampleDataset(c.num_images, c.size, seed=c.seed)
    num_classes = len(ds.classes)
    dtype = torch.bfloat16 if gpu else torch.float32
    hook = build_hook(c.policy, c.size, num_classes, mix=c.mix, dtype=dtype, device=device,
                      pipeline=c.pipeline)
    # Where augmentation runs: on the training device, or (CPU with workers) in the DataLoader workers.
    aug_in_workers = not gpu and c.workers > 0
    # Full batches only (the rates count batch_size images per step), also from a folder smaller than one.
    small = len(ds) < c.batch_size
    sampler = torch.utils.data.RandomSampler(ds, replacement=small,
                                             num_samples=4 * c.batch_size if small else None,
                                             generator=torch.Generator().manual_seed(c.seed))
    dl = torch.utils.data.DataLoader(
        ds, batch_size=c.batch_size, sampler=sampler, drop_last=True, num_workers=c.workers,
        pin_memory=gpu, persistent_workers=c.workers > 0,
        collate_fn=AugmentingCollate(hook) if aug_in_workers else collate_uint8,
    )
    feed = DeviceLoader(dl, _Passthrough(device) if aug_in_workers else hook, device=device)

    model = _model(c.model, num_classes, device)
    step = _train_step(model, device)

    # The phases that need no DataLoader run first, so idle workers prefetching do not disturb them.
    # 1. augmentation alone: the hook on a resident uint8 batch (also gives the sample grid)
    x0, y0 = collate_uint8([ds[i % len(ds)] for i in range(c.batch_size)])
    x0 = x0.to(device).contiguous()
    y0 = y0.to(device)
    blocks = 1 if gpu else 2  # a shared CPU: the faster of two blocks (see _timed)
    augment_s = _timed("augment", c.warmup, c.steps, lambda: hook(x0, y0), device, c.progress, blocks)
    xa, ya = hook(x0, y0)
    # 2. model alone: forward, backward, optimizer step on that resident augmented batch
    model_s = _timed("model", c.warmup, c.steps, lambda: step(xa, ya), device, c.progress, blocks)
    # 3. the input pipeline alone, then 4. the full loop, continuing the same iterator
    it = _cycle(feed)
    loader_s = _timed("loader", c.warmup, c.steps, lambda: next(it), device, c.progress, blocks)

    def full():
        x, y = next(it)
        step(x, y)

    full_s = _timed("full", c.warmup, c.steps, full, device, c.progress, blocks)

    n = c.steps * c.batch_size
    rates = {"loader": n / loader_s, "augment": n / augment_s, "model": n / model_s, "full": n / full_s}
    v = verdict(rates["loader"], rates["model"], rates["full"], augment_ips=rates["augment"], device=c.device,
                aug_where="workers" if aug_in_workers else "device", workers=c.workers,
                gpu_available=torch.cuda.is_available())
    report = {
        "gpuaug": _version(),
        "torch": torch.__version__,
        "device": _device_name(device),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "config": {**dataclasses.asdict(c), "dataset": c.data or "bundled sample photos",
                   "num_classes": num_classes, "dtype": str(dtype).replace("torch.", ""),
                   "augmentation_runs_in": "DataLoader workers (CPU)" if aug_in_workers else c.device},
        "img_per_s": {k: round(r, 2) for k, r in rates.items()},
        "ms_per_batch": {k: round(1000 * c.batch_size / r, 3) for k, r in rates.items()},
        "verdict": v,
        "wall_s": None,
    }
    if isinstance(ds, FolderDataset):
        report["skipped_images"] = ds.skipped  # unreadable files under --data (each named once on stderr)
    report["_samples"] = _denormalize(xa[:16])
    report["wall_s"] = round(time.perf_counter() - t_start, 2)
    return report


class _Passthrough(BatchHook):
    """The main-process hook when workers already augmented and converted: move only (any batch
    structure: ``BatchHook.forward`` takes it apart and puts it back around ``run``)."""

    def __init__(self, device) -> None:
        super().__init__(device=device)

    def run(self, x, targets, layout="auto"):
        def move(t):
            return t.to(self.device, non_blocking=True)

        return move(x), {k: map_tensors(move, v) for k, v in targets.items()}


def _model(name: str, num_classes: int, device: torch.device) -> torch.nn.Module:
    from gpuaug.feeding.models import build_model

    # channels_last, like the batches the hook yields (faster on both cuDNN and oneDNN)
    return build_model(name, num_classes).to(device, memory_format=torch.channels_last).train()


def _version() -> str:
    try:
        from gpuaug import __version__

        return __version__
    except ImportError:
        return "unknown"


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
