"""``SanitizeBoxes``: drop the boxes that no longer hold an object (docs/contract.md "Targets").

After a crop or an affine, a box whose object left the image is clipped to a sliver or to nothing; its
label still counts in a detection loss. ``SanitizeBoxes`` (put it last, as torchvision's) drops every box
whose width or height, clipped to the image, is below ``min_size`` pixels, and its ``box_labels`` entry:

- boxes given as a list of ``(K_i, 4)`` tensors come back as shorter lists (on CUDA this reads the verdict
  on the host: the list lengths depend on it);
- a padded ``(B, K, 4)`` tensor keeps its shape: the dropped boxes and their labels become 0 (no sync).

The verdict rides in the call's targets until the call returns (``gpuaug.layers.targets``), so a layer
after ``SanitizeBoxes`` does not bring a dropped box back.
"""

from __future__ import annotations

import torch

from gpuaug.functional import targets as T
from gpuaug.layers.base import RandomLayer, check_number
from gpuaug.layers.targets import KEEP

__all__ = ["SanitizeBoxes"]


class SanitizeBoxes(RandomLayer):
    """Drop boxes whose clipped width or height is below ``min_size`` (pixels), with their ``box_labels``.
    Deterministic: runs in eval mode too. Without ``boxes`` it does nothing; the image is never changed."""

    deterministic = True

    def __init__(self, min_size: float = 1.0):
        super().__init__()
        self.min_size = check_number(min_size, "min_size", 0.0)

    def _args(self):
        return {"min_size": self.min_size}

    def _transform(self, img: torch.Tensor, params: dict, targets: dict):
        if "boxes" not in targets:
            return img, targets
        keep = T.valid_boxes(targets["boxes"], img.shape[-2:], self.min_size)
        if KEEP in targets:
            keep = keep & targets[KEEP]
        out = {**targets, KEEP: keep, "boxes": torch.where(keep[..., None], targets["boxes"], 0)}
        if "box_labels" in targets:
            out["box_labels"] = torch.where(keep, targets["box_labels"], 0)
        return img, out
