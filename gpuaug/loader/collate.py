"""Host-side batch assembly: uint8 samples -> one ``(B, C, H, W)`` uint8 batch (``collate_uint8``), and
the host fallback that also augments it inside DataLoader workers (``AugmentingCollate``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from gpuaug.loader.hook import BatchHook

__all__ = ["AugmentingCollate", "as_uint8_batch", "collate_uint8"]


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


def collate_uint8(samples: Sequence):
    """``collate_fn`` for uint8 images: ``[(img, label), ...]`` -> ``((B, C, H, W) uint8, (B,) labels)``,
    ``[img, ...]`` -> the images, ``[{"image": img, "label": ..., "mask": ...}, ...]`` -> a dict batch.

    Images are HWC numpy arrays, PIL images or HWC/CHW uint8 tensors, all of one size. The batch is a
    ``channels_last`` view of one ``(B, H, W, C)`` stack (a single copy per batch). Dict samples (a
    Hugging Face dataset's rows) use the keys of ``gpuaug.loader.batch``: ``image``/``pixel_values`` stack as
    images, ``label``/``labels`` as class labels, ``mask``/``masks`` (HW arrays, PIL images or tensors) into
    ``(B, H, W)``, ``keypoints`` into ``(B, K, 2)``; ``boxes`` ((K_i, 4)) and ``box_labels`` ((K_i,)) stay
    lists of per-image tensors (K_i may differ); any other key becomes the list of the samples' values.
    """
    if samples and isinstance(samples[0], Mapping):
        return _collate_dicts(samples)
    if samples and isinstance(samples[0], (tuple, list)):
        if any(len(s) != 2 for s in samples):
            raise ValueError(f"tuple samples are (image, label), got {len(samples[0])} elements; return a "
                             "dict {'image': ..., 'label': ..., 'mask': ..., 'boxes': ...} for targets")
        imgs = [s[0] for s in samples]
        labels = _as_labels([s[1] for s in samples])
        return as_uint8_batch(imgs), labels
    return as_uint8_batch(list(samples))


def _collate_dicts(samples: Sequence[Mapping]) -> dict:
    from gpuaug.loader.batch import as_target, dict_keys  # (batch.py imports this module)

    keys = list(samples[0].keys())
    for i, s in enumerate(samples):
        if list(s.keys()) != keys:
            raise ValueError(f"dict samples must have the same keys: sample 0 has {keys}, sample {i} "
                             f"{list(s.keys())}")
    names = {key: name for name, key in dict_keys(keys).items()}
    out = {}
    for key in keys:
        values = [s[key] for s in samples]
        name = names.get(key)
        if name == "image":
            out[key] = as_uint8_batch(values)
        elif name == "labels":
            for i, v in enumerate(values):
                if np.ndim(v) > 1:
                    raise ValueError(f"{key!r} of sample {i} has shape {np.shape(v)}: class labels are one "
                                     "id (or one soft-label row) per image; put a segmentation map under "
                                     "'mask'")
            out[key] = _as_labels(np.stack([np.asarray(v) for v in values]))
        elif name in ("boxes", "box_labels"):
            out[key] = as_target(name, values)
        elif name in ("masks", "keypoints"):
            parts = [as_target(name, v) for v in values]
            if len({tuple(p.shape) for p in parts}) > 1:
                shapes = [tuple(p.shape) for p in parts]
                raise ValueError(f"{key!r} must have one shape in a batch, got {shapes}")
            out[key] = torch.stack(parts) if parts else torch.zeros(0)
        else:
            out[key] = values
    return out


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
    Samples as :func:`collate_uint8` takes them (images, ``(image, label)`` or dicts); the batch comes out
    in that structure (a dict batch with its targets augmented).

    ``AugmentingCollate(hook)`` or ``AugmentingCollate(augment, mix=..., mean=...)`` (the arguments of
    :class:`BatchHook`). Each DataLoader worker draws differently yet reproducibly: layers that use the
    global generator inherit the worker's seed (``torch.initial_seed()``, set by the DataLoader from the
    main process's RNG), and layers that hold their own ``generator`` are reseeded from it in each worker.
    """

    def __init__(self, hook: BatchHook | Callable | None = None, **hook_kwargs) -> None:
        from gpuaug.loader.hook import BatchHook  # here: hook.py imports this module

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
        return self.hook(collate_uint8(samples))
