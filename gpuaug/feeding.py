"""The feeding check: is the training step waiting for data?

``run_bench(BenchConfig(...))`` measures, on one device, in one process:

- **loader**: the input pipeline alone (DataLoader -> copy -> augmentation -> ready batch), img/s;
- **augment**: the augmentation hook alone on a batch already on the device, img/s;
- **model**: one training step alone (forward, backward, optimizer step) on a resident batch, img/s;
- **full**: the real loop (input pipeline feeding the training step), img/s;

then :func:`verdict` turns the four numbers into plain words, and :func:`write_report` writes
``report.json`` and ``report.png`` (throughput bars + a grid of augmented samples).
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from gpuaug.loader import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    AugmentingCollate,
    BatchHook,
    DeviceLoader,
    collate_uint8,
)

__all__ = [
    "BenchConfig",
    "FolderDataset",
    "SampleDataset",
    "build_hook",
    "parse_policy",
    "run_bench",
    "verdict",
    "write_report",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
# The model waits for data less than this fraction of its step: "not input-bound" (timing noise and the
# loader's own small overheads make a few percent indistinguishable from zero).
WAIT_THRESHOLD = 0.05


# ----------------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------------
def _center_square(im: Image.Image, size: int) -> Image.Image:
    """Shorter side to ``size``, then the centre ``size x size`` crop (a fixed-size uint8 sample)."""
    w, h = im.size
    s = size / min(w, h)
    nw, nh = max(size, round(w * s)), max(size, round(h * s))
    im = im.resize((nw, nh), Image.BILINEAR, reducing_gap=3.0)
    left, top = (nw - size) // 2, (nh - size) // 2
    return im.crop((left, top, left + size, top + size))


def sample_photos() -> list[tuple[str, Image.Image]]:
    """The bundled sample photos (``gpuaug/data/samples``) as ``(name, RGB image)``, sorted by name."""
    root = importlib.resources.files("gpuaug").joinpath("data/samples")
    out = []
    for f in sorted(root.iterdir(), key=lambda p: p.name):
        if f.name.lower().endswith(IMAGE_EXTENSIONS):
            with f.open("rb") as fh:
                out.append((f.name.rsplit(".", 1)[0], Image.open(fh).convert("RGB")))
    return out


class SampleDataset(torch.utils.data.Dataset):
    """``n`` fixed-size images cut from the bundled photos, held in memory as one uint8 array.

    Image ``i`` is a random crop (25-100 % of the area, aspect 3/4..4/3) of photo ``i % 8``, resized to
    ``size x size``; its label is the photo's index. Items are ``(HWC uint8 array, int)``.
    """

    def __init__(self, n: int = 512, size: int = 224, seed: int = 0) -> None:
        photos = sample_photos()
        if not photos:
            raise RuntimeError("the bundled sample photos are missing from the gpuaug installation")
        self.classes = [name for name, _ in photos]
        rng = np.random.default_rng(seed)
        self.images = np.empty((n, size, size, 3), dtype=np.uint8)
        self.labels = np.arange(n) % len(photos)
        for i in range(n):
            im = photos[i % len(photos)][1]
            w, h = im.size
            area = w * h * rng.uniform(0.25, 1.0)
            ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
            cw = min(w, round(math.sqrt(area * ratio)))
            ch = min(h, round(math.sqrt(area / ratio)))
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            crop = im.resize((size, size), Image.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch))
            self.images[i] = np.asarray(crop)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return self.images[i], int(self.labels[i])


class FolderDataset(torch.utils.data.Dataset):
    """An ImageFolder-style tree (``root/<class>/<image>``) decoded with PIL to ``size x size`` RGB uint8.

    Each item is decoded on access (that is the loader's real work): shorter side to ``size``, centre crop.
    """

    def __init__(self, root: str | os.PathLike, size: int = 224) -> None:
        root = Path(root)
        if not root.is_dir():
            raise ValueError(f"--data must be a folder of class sub-folders, got {str(root)!r}")
        self.classes = sorted(d.name for d in root.iterdir() if d.is_dir())
        self.samples = []
        for label, c in enumerate(self.classes):
            for f in sorted((root / c).rglob("*")):
                if f.suffix.lower() in IMAGE_EXTENSIONS:
                    self.samples.append((f, label))
        if not self.samples:
            raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in class sub-folders of {root}")
        self.size = size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, label = self.samples[i]
        with Image.open(path) as im:
            im.draft("RGB", (self.size, self.size))  # JPEG: decode at a reduced scale when it can
            return np.asarray(_center_square(im.convert("RGB"), self.size)), label


# ----------------------------------------------------------------------------------------------------------
# The augmentation pipeline
# ----------------------------------------------------------------------------------------------------------
def parse_policy(policy: str):
    """A policy string as a gpuaug policy layer, or ``None`` for ``"none"``.

    timm-style strings (``gpuaug.policies.from_string``): ``rand-m9-n2[-mstd0.5]``, ``trivial``,
    ``autoaugment-imagenet``; ``auto`` is short for ``autoaugment-imagenet``; ``none``.
    """
    from gpuaug.policies import from_string

    p = policy.strip().lower()
    if p in ("none", ""):
        return None
    if p in ("auto", "autoaug"):
        p = "autoaugment-imagenet"
    try:
        return from_string(p)
    except ValueError as e:
        raise ValueError(f"policy {policy!r}: {e} (examples: rand-m9-n2-mstd0.5, trivial, "
                         "autoaugment-imagenet, none)") from None


def build_hook(policy: str = "rand-m9-n2", size: int = 224, num_classes: int = 1000, *, mix: bool = True,
               dtype: torch.dtype = torch.float32, device=None, crop: bool = True,
               pipeline=None) -> BatchHook:
    """The standard ImageNet-style training pipeline as a :class:`BatchHook`.

    RandomResizedCrop(size) + RandomHorizontalFlip + the policy on uint8, then CutMix or MixUp (chosen per
    sample, timm's recipe) on the labels, then normalize (ImageNet mean/std), cast and ``channels_last``.
    ``crop=False`` drops crop and flip, ``policy="none"`` the policy, ``mix=False`` the mixing.
    ``pipeline`` (a config or a .yaml/.json path, see ``gpuaug.config``) replaces crop, flip and policy.
    """
    from gpuaug import layers as L

    if pipeline is not None:
        from gpuaug.config import from_config

        augment = from_config(pipeline)
    else:
        steps = [L.RandomResizedCrop(size), L.RandomHorizontalFlip()] if crop else []
        policy_layer = parse_policy(policy)
        if policy_layer is not None:
            steps.append(policy_layer)
        augment = L.Compose(steps) if len(steps) > 1 else (steps[0] if steps else None)
    mixer = _mixer(L, num_classes) if mix else None
    return BatchHook(augment, mixer, mean=IMAGENET_MEAN, std=IMAGENET_STD, dtype=dtype, device=device,
                     num_classes=num_classes)


def _mixer(layers, num_classes: int):
    """timm's ImageNet recipe: per sample, CutMix (alpha 1.0) or MixUp (alpha 0.8), label smoothing 0.1."""
    return layers.MixUpCutMix(mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5, label_smoothing=0.1,
                              num_classes=num_classes)


# ----------------------------------------------------------------------------------------------------------
# The verdict (a pure function of the measured rates)
# ----------------------------------------------------------------------------------------------------------
def verdict(loader_ips: float, model_ips: float, full_ips: float, *, augment_ips: float | None = None,
            device: str = "cpu", aug_where: str = "device", workers: int = 0, cpu_count: int | None = None,
            gpu_available: bool = False, threshold: float = WAIT_THRESHOLD) -> dict:
    """Plain-words diagnosis of four throughputs (images per second).

    ``wait_fraction`` = share of the full loop's step time spent beyond the model's own step,
    ``1 - full_ips / model_ips`` (clipped at 0): the time the model waits for data. Input-bound when it
    exceeds ``threshold``. ``aug_where``: ``"device"`` (augmentation in the training process, on
    ``device``), ``"workers"`` (in DataLoader workers, host fallback). Returns ``{"input_bound",
    "wait_fraction", "headline", "advice": [...]}``.
    """
    for name, v in (("loader_ips", loader_ips), ("model_ips", model_ips), ("full_ips", full_ips)):
        if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
            raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    cpu_count = cpu_count or os.cpu_count() or 1
    wait = max(0.0, 1.0 - full_ips / model_ips)
    bound = wait > threshold
    ratio = loader_ips / model_ips
    advice: list[str] = []
    if bound:
        headline = (f"INPUT-BOUND: the model waits for data {wait:.0%} of the step "
                    f"({full_ips:,.0f} img/s in the loop, {model_ips:,.0f} img/s if data were free).")
    else:
        headline = (f"NOT INPUT-BOUND: the model waits for data {wait:.0%} of the step; the input pipeline "
                    f"delivers {ratio:.1f}x what the model consumes "
                    f"({loader_ips:,.0f} vs {model_ips:,.0f} img/s).")
    aug_share = None
    if augment_ips:
        aug_share = model_ips / augment_ips  # augmentation time per batch over model time per batch
    if bound:
        if ratio < 1.0:
            advice.append(f"The input pipeline alone delivers {loader_ips:,.0f} img/s, "
                          f"{1 / ratio:.1f}x too slow for the model ({model_ips:,.0f} img/s).")
            want = min(cpu_count, max(workers + 1, math.ceil(max(workers, 1) / max(ratio, 1e-6))))
            if aug_where == "device" and augment_ips and augment_ips < model_ips:
                advice.append(f"Augmentation itself runs at {augment_ips:,.0f} img/s: lighten the policy "
                              "(e.g. --policy rand-m9-n1) or use the Triton backend on a GPU.")
            if aug_where == "workers":
                advice.append("The DataLoader workers (decode + augmentation on the CPU) are the limit"
                              + (f": raise --workers to {want} ({cpu_count} CPU cores here)"
                                 if workers < cpu_count else ", and every core already runs one") + ".")
                if gpu_available:
                    advice.append("Move augmentation to the GPU: --device cuda (gpuaug.loader.DeviceLoader "
                                  "augments whole batches there).")
                else:
                    advice.append("On a GPU machine, augmentation moves to the GPU "
                                  "(gpuaug.loader.DeviceLoader) and the workers only decode.")
            elif not (augment_ips and augment_ips < model_ips):
                if workers < cpu_count:
                    advice.append(f"Decoding/collating in the DataLoader is the limit: raise the workers "
                                  f"(--workers {want}; this machine has {cpu_count} CPU cores).")
                else:
                    advice.append("All CPU cores already load data: store images pre-resized (smaller JPEGs, "
                                  "uint8 arrays) or decode on the GPU.")
        else:
            advice.append(f"Loading alone ({loader_ips:,.0f} img/s) and the model alone "
                          f"({model_ips:,.0f} img/s) are each fast enough, but they do not overlap: they "
                          "compete for the same resources.")
            if device == "cpu":
                advice.append("On the CPU, loading and training share the cores: "
                              + ("use --workers 1 or more so loading runs beside the step, " if workers == 0
                                 else "")
                              + ("or train on a GPU (--device cuda)." if gpu_available
                                 else "a GPU would take the model off the CPU."))
            else:
                advice.append("Check that the DataLoader uses pin_memory=True and enough workers, and that "
                              "nothing in the step synchronizes with the host before the next batch is "
                              "queued.")
    else:
        if ratio < 1.5:
            advice.append(f"Headroom is thin ({ratio:.1f}x): a faster model or GPU would make the step wait; "
                          "keep --workers high enough.")
        advice.append("Nothing to change on the input side; to go faster, speed up the model step "
                      "(larger batch, bf16, channels_last, torch.compile).")
    if aug_share is not None and aug_where == "device":
        advice.append(f"Augmentation costs {aug_share:.0%} of a model step's time on {device}.")
    return {"input_bound": bound, "wait_fraction": round(wait, 4), "loader_over_model": round(ratio, 3),
            "augment_over_model_time": None if aug_share is None else round(aug_share, 4),
            "headline": headline, "advice": advice}


# ----------------------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------------------
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
    report["_samples"] = _denormalize(xa[:16])
    report["wall_s"] = round(time.perf_counter() - t_start, 2)
    return report


class _Passthrough(BatchHook):
    """The main-process hook when workers already augmented and converted: move only."""

    def __init__(self, device) -> None:
        super().__init__(device=device)

    def forward(self, x, y=None, **_):
        x = x.to(self.device, non_blocking=True)
        if y is None:
            return x
        return x, y.to(self.device, non_blocking=True)


def _model(name: str, num_classes: int, device: torch.device) -> torch.nn.Module:
    from gpuaug.models import build_model

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


def _denormalize(x: torch.Tensor) -> np.ndarray:
    """Normalized ``(B, 3, H, W)`` -> ``(B, H, W, 3)`` uint8 for the sample grid."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).reshape(1, -1, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).reshape(1, -1, 1, 1)
    img = (x.float() * std + mean).clamp(0, 1).mul(255).round().to(torch.uint8)
    return img.permute(0, 2, 3, 1).cpu().numpy()


# ----------------------------------------------------------------------------------------------------------
# The report
# ----------------------------------------------------------------------------------------------------------
def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        return ImageFont.load_default()


def _wrap(d: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """Greedy word wrap of ``text`` to ``width`` pixels."""
    lines, cur = [], ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if cur and d.textlength(trial, font=font) > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    return [*lines, cur] if cur else lines


def render_png(report: dict, samples: np.ndarray | None) -> Image.Image:
    """Throughput bars (img/s per phase) over the verdict, then a grid of augmented samples."""
    width, pad = 960, 24
    rates = report["img_per_s"]
    v = report["verdict"]
    font, big, small = _font(16), _font(20), _font(13)
    labels = {"loader": "input pipeline alone", "augment": "augmentation alone", "model": "model step alone",
              "full": "full training loop"}
    colors = {"loader": (70, 130, 180), "augment": (95, 160, 95), "model": (200, 120, 50),
              "full": (180, 60, 60) if v["input_bound"] else (60, 140, 60)}
    tile, cols = 108, 8
    n = 0 if samples is None else len(samples)
    rows = math.ceil(n / cols)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_lines = len(_wrap(measure, v["headline"], font, width - 2 * pad)) + sum(
        len(_wrap(measure, a, small, width - 2 * pad - 14)) for a in v["advice"])
    height = pad * 2 + 44 + 4 * 44 + 20 + 22 * text_lines + (rows * (tile + 6) + 50 if n else 0)
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    cfg = report["config"]
    title = (f"gpuaug feeding check: {report['device']}, batch {cfg['batch_size']}, {cfg['size']}px, "
             f"policy {cfg['policy']}, model {cfg['model']}")
    d.text((pad, pad), title, fill="black", font=big)
    top, label_w = pad + 44, 210
    vmax = max(rates.values())
    bar_w = width - 2 * pad - label_w - 130
    for i, k in enumerate(("loader", "augment", "model", "full")):
        y = top + i * 44
        d.text((pad, y + 8), labels[k], fill="black", font=font)
        w = max(2, int(bar_w * rates[k] / vmax))
        d.rectangle((pad + label_w, y, pad + label_w + w, y + 32), fill=colors[k])
        d.text((pad + label_w + w + 8, y + 8), f"{rates[k]:,.0f} img/s", fill="black", font=font)
    y = top + 4 * 44 + 10
    for line in _wrap(d, v["headline"], font, width - 2 * pad):
        d.text((pad, y), line, fill=colors["full"], font=font)
        y += 22
    for item in v["advice"]:
        for j, line in enumerate(_wrap(d, item, small, width - 2 * pad - 14)):
            d.text((pad + (0 if j == 0 else 14), y), ("- " if j == 0 else "") + line, fill=(60, 60, 60),
                   font=small)
            y += 20
    if n:
        y += 14
        d.text((pad, y - 4), "augmented samples (as the model sees them, denormalized):", fill="black",
               font=small)
        y += 18
        for i in range(n):
            r, col = divmod(i, cols)
            t = Image.fromarray(samples[i]).resize((tile, tile), Image.BILINEAR)
            img.paste(t, (pad + col * (tile + 6), y + r * (tile + 6)))
    return img


def write_report(report: dict, out: str | os.PathLike) -> dict:
    """Write ``report.json`` and ``report.png`` into ``out`` (created); return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    samples = report.pop("_samples", None)
    paths = {"json": str(out / "report.json"), "png": str(out / "report.png")}
    report["files"] = paths
    render_png(report, samples).save(paths["png"])
    with open(paths["json"], "w") as f:
        json.dump(report, f, indent=2)
    return paths


def format_summary(report: dict) -> str:
    """The lines printed at the end of ``python -m gpuaug bench``."""
    r, v, c = report["img_per_s"], report["verdict"], report["config"]
    lines = [
        f"device {report['device']} | batch {c['batch_size']} | {c['size']}px | policy {c['policy']} | "
        f"model {c['model']} | workers {c['workers']} | augmentation on {c['augmentation_runs_in']}",
        f"  input pipeline alone {r['loader']:>10,.0f} img/s",
        f"  augmentation alone   {r['augment']:>10,.0f} img/s",
        f"  model step alone     {r['model']:>10,.0f} img/s",
        f"  full training loop   {r['full']:>10,.0f} img/s",
        "",
        v["headline"],
        *("  - " + a for a in v["advice"]),
    ]
    if "files" in report:
        lines.append(f"report: {report['files']['json']}, {report['files']['png']}")
    return "\n".join(lines)
