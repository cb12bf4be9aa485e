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
tensors. Labels are int64 class indices ``(B,)`` or soft labels ``(B, K)``. A batch may also be a tuple
``(images, labels)`` or a dict with targets (masks, boxes, keypoints; :mod:`~gpuaug.loader.batch`): it
comes back in its own structure, the targets augmented with the images.

Modules: :mod:`~gpuaug.loader.collate` (batch assembly, the worker collate), :mod:`~gpuaug.loader.batch`
(batch structures: split and rebuild), :mod:`~gpuaug.loader.hook`
(the hook, ``build_hook``), :mod:`~gpuaug.loader.device` (the loader wrapper, CUDA graphs).
"""

from gpuaug.loader.collate import AugmentingCollate, as_uint8_batch, collate_uint8
from gpuaug.loader.device import DeviceLoader, capture_hook
from gpuaug.loader.hook import IMAGENET_MEAN, IMAGENET_STD, BatchHook, build_hook, parse_policy

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "AugmentingCollate",
    "BatchHook",
    "DeviceLoader",
    "as_uint8_batch",
    "build_hook",
    "capture_hook",
    "collate_uint8",
    "parse_policy",
]
