"""Loader batches taken apart and put back together (docs/contract.md "Targets").

A batch is one of:

- images alone: a ``(B, C, H, W)`` / ``(B, H, W, C)`` tensor or array, or a list of images;
- a tuple (or list) ``(images, labels)`` (``(images,)`` too: what a one-tensor ``TensorDataset`` gives);
  longer tuples are an error (which element would be the masks?): use a dict;
- a dict (any mapping: Hugging Face's ``BatchFeature`` too) with the images under ``image`` or
  ``pixel_values`` and any of the targets under ``label``/``labels``, ``mask``/``masks``, ``boxes``,
  ``box_labels``, ``keypoints``. Every other key is passed through untouched.

:func:`split` gives ``(images, targets, rebuild)``: ``targets`` by the layers' names (``labels``, ``masks``,
``boxes``, ``box_labels``, ``keypoints``) and ``rebuild(images, targets)`` the batch in the structure given.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
import torch

from gpuaug.layers.base import TARGETS, _check_labels, _check_targets
from gpuaug.loader.collate import _as_labels

__all__ = ["IMAGE_KEYS", "TARGET_KEYS", "as_target", "call_with", "check", "dict_keys", "map_tensors",
           "split", "tensors"]

IMAGE_KEYS = ("image", "pixel_values")
#: target name -> the dict keys it may have in a batch
TARGET_KEYS = {"labels": ("label", "labels"), "masks": ("mask", "masks"), "boxes": ("boxes",),
               "box_labels": ("box_labels",), "keypoints": ("keypoints",)}


def _whole_batch(x) -> bool:
    """A batch of images (not one image): a 4-D tensor or array, or a list of images."""
    return isinstance(x, (list, tuple)) or (isinstance(x, (torch.Tensor, np.ndarray)) and x.ndim == 4)


def dict_keys(keys) -> dict[str, str]:
    """``{"image": key, <target name>: key, ...}`` for the keys of a dict batch (or sample)."""
    found = {}
    for name, aliases in (("image", IMAGE_KEYS), *TARGET_KEYS.items()):
        present = [k for k in aliases if k in keys]
        if len(present) > 1:
            raise ValueError(f"a batch holds both {present[0]!r} and {present[1]!r}: give one of them")
        if present:
            found[name] = present[0]
    if "image" not in found:
        raise ValueError(f"a dict batch needs its images under 'image' or 'pixel_values', got the keys "
                         f"{sorted(map(str, keys))}")
    return found


def split(batch):
    """``(images, targets, rebuild)`` of any batch (see the module docstring)."""
    if isinstance(batch, Mapping):
        keys = dict_keys(batch.keys())

        def rebuild_dict(images, targets):
            out = copy.copy(batch) if hasattr(batch, "__setitem__") else dict(batch)
            out[keys["image"]] = images
            for name, value in targets.items():
                out[keys[name]] = value
            return out

        targets = {name: batch[key] for name, key in keys.items() if name != "image"}
        return batch[keys["image"]], targets, rebuild_dict
    if isinstance(batch, (list, tuple)) and batch and _whole_batch(batch[0]):
        if len(batch) > 2:
            raise ValueError(f"a tuple batch is (images, labels), got {len(batch)} elements; give masks, "
                             "boxes and keypoints in a dict batch: {'image': ..., 'label': ..., 'mask': ..., "
                             "'boxes': ...}")
        kind = type(batch) if type(batch) in (list, tuple) else tuple

        def rebuild_tuple(images, targets):
            return kind([images, *targets.values()])

        return batch[0], ({"labels": batch[1]} if len(batch) == 2 else {}), rebuild_tuple
    return batch, {}, lambda images, targets: images


def as_target(name: str, value):
    """A target from a batch as tensors: labels and masks (arrays, lists) as tensors; boxes and box_labels
    a tensor or a list of per-image tensors ((K_i, 4) float32 / (K_i,) from lists or arrays)."""
    if name == "labels":
        return _as_labels(value)
    if name in ("boxes", "box_labels") and isinstance(value, (list, tuple)):
        return [_as_tensor(v, name) for v in value]
    return _as_tensor(value, name)


def _as_tensor(value, name: str) -> torch.Tensor:
    """A tensor as it is; an array as a tensor; a Python list of coordinates as float32 (an empty list of
    boxes as (0, 4), of box labels as int64)."""
    if isinstance(value, torch.Tensor):
        return value
    listed = not isinstance(value, np.ndarray)
    coords = name in ("boxes", "keypoints")
    a = np.asarray(value, dtype=np.float32 if coords and listed else None)
    if listed and a.size == 0:
        a = a.reshape(0, 4) if name == "boxes" else a.astype(np.int64)
    return torch.from_numpy(a if a.flags.writeable else a.copy())  # (PIL's arrays are read-only)


def map_tensors(fn, value):
    """``fn`` on a target: a tensor, or each tensor of a list of them (a list stays a list)."""
    if isinstance(value, (list, tuple)):
        return [fn(v) for v in value]
    return fn(value)


def check(x: torch.Tensor, targets: dict, where: str = "BatchHook") -> None:
    """The layers' checks on a batch's targets: labels are labels, one entry per image, masks of the
    images' H and W (a list of boxes: its length)."""
    if "labels" in targets:
        try:
            _check_labels(targets["labels"], where)
        except ValueError as e:
            raise ValueError(f"{e}; in a dict batch, put a segmentation map under 'mask'") from None
    for name, value in targets.items():
        if isinstance(value, (list, tuple)) and len(value) != x.shape[0]:
            raise ValueError(f"{name} must have one entry per sample ({x.shape[0]}), got a list of "
                             f"{len(value)}")
    _check_targets(x, {k: v for k, v in targets.items() if isinstance(v, torch.Tensor)})


def call_with(fn, x: torch.Tensor, targets: dict):
    """``fn`` (a layer's signature) on ``x`` and ``targets`` -> ``(x, targets)``."""
    names = [k for k in TARGETS if k in targets]
    if not names:
        return fn(x), {}
    kw = {k: targets[k] for k in names if k != "labels"}
    out = fn(x, targets["labels"], **kw) if "labels" in targets else fn(x, **kw)
    return out[0], dict(zip(names, out[1:]))


def tensors(batch):
    """Every tensor in a (nested) batch."""
    if isinstance(batch, torch.Tensor):
        yield batch
    elif isinstance(batch, Mapping):
        for v in batch.values():
            yield from tensors(v)
    elif isinstance(batch, (list, tuple)):
        for v in batch:
            yield from tensors(v)
