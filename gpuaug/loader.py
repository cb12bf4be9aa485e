"""Feed the model: augment whole uint8 batches where the model runs, and never make the step wait.

Three entry points, one pipeline:

- :class:`BatchHook` — ``x, y = hook(x_uint8, y)`` inside your own training step: moves the batch to the
  device, augments it, mixes the labels (CutMix/MixUp), converts to a normalized floating dtype and
  ``channels_last`` in one pass.
- :class:`DeviceLoader` — wraps any ``DataLoader`` that yields uint8 batches; on CUDA it pins, copies on a
  side stream and prepares batch ``i + 1`` (copy + augmentation) while batch ``i`` trains.
- :class:`AugmentingCollate` — the host fallback: a ``collate_fn`` that stacks uint8 samples and runs the
  same hook on the CPU, batched, inside DataLoader workers.

A batch is a ``(B, C, H, W)`` uint8 tensor (any memory format), a ``(B, H, W, C)`` uint8 tensor (what
``default_collate`` makes of HWC numpy arrays), or a list of same-sized HWC arrays / PIL images / CHW or HWC
tensors. Labels are int64 class indices ``(B,)`` or soft labels ``(B, K)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from gpuaug import backend

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "AugmentingCollate",
    "BatchHook",
    "DeviceLoader",
    "as_uint8_batch",
    "capture_hook",
    "collate_uint8",
]


# ----------------------------------------------------------------------------------------------------------
# Host-side batch assembly
# ----------------------------------------------------------------------------------------------------------
def _sample_hwc(s) -> np.ndarray | torch.Tensor:
    """One sample as an HWC uint8 array/tensor (HW gray gets C = 1)."""
    if isinstance(s, torch.Tensor):
        if s.dtype != torch.uint8:
            raise TypeError(f"images must be uint8, got a tensor of dtype {s.dtype}")
        if s.dim() == 2:
            return s.unsqueeze(-1)
        if s.dim() == 3 and s.shape[0] in (1, 3) and s.shape[-1] not in (1, 3):
            return s.permute(1, 2, 0)  # CHW -> HWC view
        if s.dim() != 3:
            raise ValueError(f"an image must be HW, HWC or CHW, got shape {tuple(s.shape)}")
        return s
    a = np.asarray(s)  # numpy arrays and PIL images
    if a.dtype != np.uint8:
        raise TypeError(f"images must be uint8, got an array of dtype {a.dtype}")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"an image must be HW or HWC, got shape {a.shape}")
    return a


def _stack_hwc(samples: Sequence, pin: bool = False) -> torch.Tensor:
    """Stack same-sized samples into one ``(B, H, W, C)`` uint8 tensor (pinned on request), one copy."""
    hwc = [_sample_hwc(s) for s in samples]
    if not hwc:
        raise ValueError("cannot build a batch from an empty list of images")
    shape = tuple(hwc[0].shape)
    for i, a in enumerate(hwc):
        if tuple(a.shape) != shape:
            raise ValueError(f"all images of a batch must have one size: image 0 is {shape}, image {i} is "
                             f"{tuple(a.shape)} (resize or crop them in the Dataset)")
    out = torch.empty((len(hwc), *shape), dtype=torch.uint8, pin_memory=pin)
    if isinstance(hwc[0], np.ndarray):
        np.stack(hwc, out=out.numpy())
    else:
        torch.stack(hwc, out=out)
    return out


def as_uint8_batch(x, layout: str = "auto", pin: bool = False) -> torch.Tensor:
    """Any supported batch as a ``(B, C, H, W)`` uint8 tensor (HWC inputs become a ``channels_last`` view).

    ``layout``: ``"auto"`` (a 4-D tensor whose dim 1 is 1 or 3 is BCHW, else one whose last dim is 1 or 3
    is BHWC), ``"BCHW"`` or ``"BHWC"``. ``pin``: stack lists straight into pinned memory.
    """
    if layout not in ("auto", "BCHW", "BHWC"):
        raise ValueError(f"layout must be 'auto', 'BCHW' or 'BHWC', got {layout!r}")
    if isinstance(x, (list, tuple)):
        return _stack_hwc(x, pin=pin).permute(0, 3, 1, 2)
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
        layout = "BHWC" if layout == "auto" else layout
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a uint8 tensor, an array or a list of images, got {type(x).__name__}")
    if x.dtype != torch.uint8:
        raise TypeError(f"x must be uint8 (0..255) before augmentation, got dtype {x.dtype}")
    if x.dim() != 4:
        raise ValueError(f"x must be a 4-D batch (B, C, H, W) or (B, H, W, C), got shape {tuple(x.shape)}")
    if layout == "auto":
        if x.shape[1] in (1, 3):
            layout = "BCHW"
        elif x.shape[-1] in (1, 3):
            layout = "BHWC"
        else:
            raise ValueError(f"cannot tell the channel dimension of a batch of shape {tuple(x.shape)}; "
                             "pass layout='BCHW' or 'BHWC'")
    return x.permute(0, 3, 1, 2) if layout == "BHWC" else x


def _as_labels(y) -> torch.Tensor | None:
    if y is None or isinstance(y, torch.Tensor):
        return y
    return torch.as_tensor(np.asarray(y))


def collate_uint8(samples: Sequence) -> tuple[torch.Tensor, torch.Tensor] | torch.Tensor:
    """``collate_fn`` for uint8 images: ``[(img, label), ...]`` -> ``((B, C, H, W) uint8, (B,) labels)``.

    Images are HWC numpy arrays, PIL images or HWC/CHW uint8 tensors, all of one size. The batch is a
    ``channels_last`` view of one ``(B, H, W, C)`` stack (a single copy per batch).
    """
    if samples and isinstance(samples[0], (tuple, list)):
        imgs = [s[0] for s in samples]
        labels = _as_labels([s[1] for s in samples])
        return as_uint8_batch(imgs), labels
    return as_uint8_batch(list(samples))


def _same_device(have: torch.device, want: torch.device) -> bool:
    """``want`` may omit the CUDA index ("cuda" means the current device)."""
    if have.type != want.type:
        return False
    if want.type == "cuda" and want.index is None:
        return have.index == torch.cuda.current_device()
    return have.index == want.index or want.type == "cpu"


# ----------------------------------------------------------------------------------------------------------
# The batch hook
# ----------------------------------------------------------------------------------------------------------
class BatchHook(nn.Module):
    """``x, y = hook(x_uint8, y)``: augment, mix labels, normalize, cast and lay out one batch.

    Args:
        augment: a module/callable ``(B, C, H, W) uint8 -> (B, C, H', W')`` (any gpuaug layer, policy or
            ``Compose``); ``None`` for none.
        mix: a module/callable ``(img, labels) -> (img, soft_labels)`` (``gpuaug.CutMix``, ``gpuaug.MixUp``,
            or a random choice of both); ``None`` for none.
        mean, std: per-channel statistics in [0, 1] units; the output is ``(x / 255 - mean) / std``.
            ``None`` leaves ``x / 255``. A floating result of ``augment``/``mix`` is taken as [0, 1] and
            normalized the same way; if your pipeline already normalizes (ends with ``Normalize``), pass
            ``mean=None, std=None`` and it is only cast.
        dtype: output dtype (``float32``, ``bfloat16`` or ``float16``).
        channels_last: return ``torch.channels_last`` images.
        device: where to run; ``None`` runs where the batch already is.
        num_classes: with int labels and no ``mix``, return one-hot float labels of this width
            (``None`` keeps the int labels).

    ``hook.eval()`` skips augmentation and mixing (validation batches are only converted).
    On CUDA nothing here synchronizes with the host: copies are ``non_blocking`` and the constants live on
    the device.
    """

    def __init__(
        self,
        augment: Callable | None = None,
        mix: Callable | None = None,
        *,
        mean: Sequence[float] | None = IMAGENET_MEAN,
        std: Sequence[float] | None = IMAGENET_STD,
        dtype: torch.dtype = torch.float32,
        channels_last: bool = True,
        device: torch.device | str | None = None,
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        if dtype not in (torch.float32, torch.bfloat16, torch.float16):
            raise TypeError(f"dtype must be float32, bfloat16 or float16, got {dtype}")
        if (mean is None) != (std is None):
            raise ValueError("mean and std must be given together (or both None)")
        if std is not None and any(float(s) <= 0 for s in std):
            raise ValueError(f"std must be positive, got {tuple(std)}")
        if mean is not None and len(mean) != len(std):
            raise ValueError(f"mean and std must have the same length, got {len(mean)} and {len(std)}")
        self.augment = augment
        self.mix = mix
        self.dtype = dtype
        self.channels_last = channels_last
        self.device = None if device is None else torch.device(device)
        self.num_classes = num_classes
        mean_t = torch.tensor(mean if mean is not None else (0.0,), dtype=torch.float32)
        std_t = torch.tensor(std if std is not None else (1.0,), dtype=torch.float32)
        # uint8 -> normalized float in one fused pass: out = x * scale + shift.
        self.register_buffer("_scale", (1.0 / (255.0 * std_t)).reshape(1, -1, 1, 1), persistent=False)
        self.register_buffer("_shift", (-mean_t / std_t).reshape(1, -1, 1, 1), persistent=False)
        self.register_buffer("_fscale", (1.0 / std_t).reshape(1, -1, 1, 1), persistent=False)

    def forward(self, x, y=None, *, layout: str = "auto"):
        """Return ``x`` (no labels given) or ``(x, y)``; see the class docstring."""
        x = as_uint8_batch(x, layout)
        y = _as_labels(y)
        device = self.device or x.device
        if not _same_device(x.device, device):
            x = x.to(device, non_blocking=True)
        if y is not None and not _same_device(y.device, device):
            y = y.to(device, non_blocking=True)
        if not _same_device(self._scale.device, device):
            # only the first batch; the layers need no move, they draw on the image's device
            for name in ("_scale", "_shift", "_fscale"):
                setattr(self, name, getattr(self, name).to(device))
        if self.training and self.augment is not None:
            x = self.augment(x)
        if self.training and self.mix is not None:
            if y is None:
                raise ValueError("mix (CutMix/MixUp) needs labels: call hook(x, y)")
            x, y = self.mix(x, y)
        elif y is not None and self.num_classes is not None and not y.is_floating_point():
            y = nn.functional.one_hot(y.long(), self.num_classes).to(torch.float32)
        x = self._convert(x)
        return x if y is None else (x, y)

    def _convert(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            scale = self._scale
        elif x.is_floating_point():
            scale = self._fscale  # a floating result (MixUp blends, a converting pipeline) is in [0, 1]
        else:
            raise TypeError(f"augmentation returned dtype {x.dtype}; expected uint8 or floating")
        b, c = x.shape[:2]
        if scale.shape[1] not in (1, c):
            raise ValueError(f"mean/std have {scale.shape[1]} values but the images have {c} channels")
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        # One pass: read the batch once, write the converted, laid-out output once.
        per_channel = [v.reshape(1, -1).expand(b, c) for v in (scale, self._shift)]
        return backend.op("normalize", x)(x, *per_channel, self.dtype, fmt)


# ----------------------------------------------------------------------------------------------------------
# Host fallback: augment inside DataLoader workers
# ----------------------------------------------------------------------------------------------------------
def _reseed_generators(module, seed: int) -> None:
    """Reseed every ``torch.Generator`` held by ``module`` or its submodules from ``seed`` (distinct each)."""
    mods = module.modules() if isinstance(module, nn.Module) else [module]
    for i, m in enumerate(mods):
        g = getattr(m, "generator", None)
        if isinstance(g, torch.Generator):
            g.manual_seed((seed * 1_000_003 + i) % (2**63))


class AugmentingCollate:
    """``collate_fn`` that stacks uint8 samples and runs the batch through a :class:`BatchHook` on the CPU.

    ``AugmentingCollate(hook)`` or ``AugmentingCollate(augment, mix=..., mean=...)`` (the arguments of
    :class:`BatchHook`). Each DataLoader worker draws differently yet reproducibly: layers that use the
    global generator inherit the worker's seed (``torch.initial_seed()``, set by the DataLoader from the
    main process's RNG), and layers that hold their own ``generator`` are reseeded from it in each worker.
    """

    def __init__(self, hook: BatchHook | Callable | None = None, **hook_kwargs) -> None:
        if not isinstance(hook, BatchHook):
            hook = BatchHook(hook, **hook_kwargs)
        elif hook_kwargs:
            raise TypeError("pass either a BatchHook or the arguments of one, not both")
        self.hook = hook
        self._seeded_for: int | None = None

    def __call__(self, samples: Sequence):
        info = torch.utils.data.get_worker_info()
        if info is not None and self._seeded_for != info.seed:
            _reseed_generators(self.hook, info.seed)
            self._seeded_for = info.seed
        batch = collate_uint8(samples)
        if isinstance(batch, tuple):
            return self.hook(*batch)
        return self.hook(batch)


# ----------------------------------------------------------------------------------------------------------
# The loader wrapper
# ----------------------------------------------------------------------------------------------------------
def _split(batch):
    """A loader's batch as ``(images, labels or None)``: ``(x, y)``, ``{"image", "label"}`` or ``x`` alone."""
    if isinstance(batch, dict):
        return batch["image"], batch.get("label")
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        first = batch[0]
        if isinstance(first, (tuple, list)) or (
                isinstance(first, (torch.Tensor, np.ndarray)) and first.ndim == 4):
            return batch[0], batch[1]
    return batch, None  # a batch tensor, or a list of single images


def _pinned_to(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Host tensor -> ``device`` asynchronously (pinning it first if needed; without ``pin_memory=True``
    in the DataLoader that costs one host copy). A tensor already on a CUDA device is left there."""
    if t.device.type == "cpu":
        if not t.is_pinned():
            t = t.pin_memory()
        return t.to(device, non_blocking=True)
    return t


class DeviceLoader:
    """Wrap a DataLoader of uint8 batches; yield ready ``(x, y)`` on ``device`` (prefetched on CUDA).

    Args:
        loader: any iterable of batches ``(images, labels)`` or ``images`` (see the module docstring).
            For the fastest copies build it with ``pin_memory=True``.
        hook: the :class:`BatchHook` to apply (default: convert and normalize only).
        device: ``"cuda"``, ``"cpu"``, a ``torch.device`` or ``None`` (CUDA when available).
        prefetch: on CUDA, prepare the next batch on a side stream while the current one trains.

    On CUDA the side stream copies batch ``i + 1`` (from pinned memory, ``non_blocking``) and runs its
    augmentation while the caller's stream trains on batch ``i``; the caller's stream waits for the side
    stream through an event (no host sync), and every yielded tensor is ``record_stream``-ed on the
    caller's stream so the caching allocator does not hand its memory back to the side stream too early.
    """

    def __init__(self, loader: Iterable, hook: BatchHook | None = None, *,
                 device: torch.device | str | None = None, prefetch: bool = True) -> None:
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.loader = loader
        self.hook = hook if hook is not None else BatchHook()
        self.hook.device = self.device
        self.prefetch = prefetch

    def __len__(self) -> int:
        return len(self.loader)

    def train(self, mode: bool = True) -> DeviceLoader:
        self.hook.train(mode)
        return self

    def eval(self) -> DeviceLoader:
        return self.train(False)

    def __iter__(self) -> Iterator:
        if self.device.type == "cuda" and self.prefetch:
            return self._iter_cuda()
        return self._iter_plain()

    def _iter_plain(self) -> Iterator:
        for batch in self.loader:
            x, y = _split(batch)
            yield self.hook(x, y) if y is not None else self.hook(x)

    def _to_device(self, batch):
        x, y = _split(batch)
        x = as_uint8_batch(x, pin=True)
        y = _as_labels(y)
        return _pinned_to(x, self.device), None if y is None else _pinned_to(y, self.device)

    def _iter_cuda(self) -> Iterator:
        stream = torch.cuda.Stream(self.device)
        caller = torch.cuda.current_stream(self.device)

        def prepare(batch):
            with torch.cuda.stream(stream):
                # The side stream must not run ahead of work the caller queued before iterating (e.g.
                # a parameter update of a layer the hook uses).
                stream.wait_stream(caller)
                x, y = self._to_device(batch)
                return self.hook(x, y) if y is not None else self.hook(x)

        it = iter(self.loader)
        try:
            ready = prepare(next(it))
        except StopIteration:
            return
        while True:
            # Order matters: the caller waits for the batch it is about to get, then the next batch is
            # queued on the side stream, so that batch's copy and augmentation overlap this step.
            caller.wait_stream(stream)
            for t in ready if isinstance(ready, tuple) else (ready,):
                if isinstance(t, torch.Tensor) and t.is_cuda:
                    t.record_stream(caller)
            current = ready
            try:
                ready = prepare(next(it))
            except StopIteration:
                yield current
                return
            yield current


# ----------------------------------------------------------------------------------------------------------
# CUDA graphs
# ----------------------------------------------------------------------------------------------------------
def capture_hook(hook: Callable, x: torch.Tensor, y: torch.Tensor | None = None, *, warmup: int = 3):
    """Capture ``hook`` on CUDA for fixed shapes; return ``replay(x, y) -> (x_out, y_out)``.

    ``x``/``y`` are example CUDA inputs (uint8 ``(B, C, H, W)``; labels) giving the static shapes. ``replay``
    copies new inputs into the static buffers, replays the graph and returns the static outputs (they are
    overwritten by the next replay: consume or clone them first). Random layers must draw from the default
    CUDA generator or from generators registered with the graph; this registers every ``generator`` the
    hook holds where the installed torch supports it, so each replay draws new parameters.
    """
    if not (isinstance(x, torch.Tensor) and x.is_cuda):
        raise ValueError("capture_hook needs an example batch x on a CUDA device")
    static_x = x.clone()
    static_y = None if y is None else y.clone()

    def run():
        return hook(static_x) if static_y is None else hook(static_x, static_y)

    side = torch.cuda.Stream(x.device)
    side.wait_stream(torch.cuda.current_stream(x.device))
    with torch.cuda.stream(side):
        for _ in range(warmup):  # warm-up outside the graph: lazy inits, kernel autotuning, allocations
            run()
    torch.cuda.current_stream(x.device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    register = getattr(graph, "register_generator_state", None)
    if register is not None and isinstance(hook, nn.Module):
        for m in hook.modules():
            g = getattr(m, "generator", None)
            if isinstance(g, torch.Generator) and g.device.type == "cuda":
                register(g)
    with torch.cuda.graph(graph):
        static_out = run()

    def replay(new_x: torch.Tensor, new_y: torch.Tensor | None = None):
        static_x.copy_(new_x, non_blocking=True)
        if static_y is not None and new_y is not None:
            static_y.copy_(new_y, non_blocking=True)
        graph.replay()
        return static_out

    replay.graph = graph
    return replay
