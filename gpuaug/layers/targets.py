"""Boxes as the caller gave them, and back (docs/contract.md "Targets").

A call's ``boxes`` come as a ``(B, K, 4)`` tensor or a list of B ``(K_i, 4)`` tensors, in ``box_format``
(``"xyxy"``, ``"xywh"``, ``"cxcywh"``), in pixels or (``normalized=True``) fractions of the image's width
and height. Inside, every layer sees ONE form: a ``(B, K, 4)`` tensor of ``xyxy`` pixels (a list is
zero-padded to the longest; ``box_labels`` with it). :class:`BoxIO` converts on the way in and back on the
way out, with the output image's size (a resized crop changes it).

``SanitizeBoxes`` marks the boxes it drops in ``targets["box_keep"]`` (bool ``(B, K)``): on the way out
they are removed from a list, and zeroed (with their labels) in a padded tensor, also where a later
geometric op moved the zero box.
"""

from __future__ import annotations

import torch

from gpuaug.functional import targets as T

#: where SanitizeBoxes leaves its verdict in a call's targets (not a target: never returned)
KEEP = "box_keep"


class BoxIO:
    """One call's box structure, format and normalization: ``enter`` before the layers, ``leave`` after."""

    def __init__(self, box_format: str = "xyxy", normalized: bool = False):
        T.check_box_format(box_format, normalized)
        self.format, self.normalized = box_format, normalized
        self.counts = None  # the K_i of a list of boxes
        self.given = self.given_labels = self.inside = None  # the caller's; what the layers got

    def enter(self, boxes, box_labels, batch: torch.Tensor, single: bool):
        """``(boxes, box_labels)`` as the layers take them, for the ``(B, C, H, W)`` ``batch``."""
        if isinstance(box_labels, (list, tuple)) and not isinstance(boxes, (list, tuple)):
            raise ValueError("box_labels is a list: give boxes as a list too (one (K_i, 4) tensor per "
                             "image), or both padded ((B, K, 4) and (B, K))")
        if boxes is None:
            return boxes, box_labels
        batched = single and isinstance(boxes, torch.Tensor)
        self.given = boxes[None] if batched else boxes  # (as the layers return them: finish unbatches)
        labels_batched = batched and isinstance(box_labels, torch.Tensor)
        self.given_labels = box_labels[None] if labels_batched else box_labels
        if isinstance(boxes, (list, tuple)):
            if single:
                raise ValueError("boxes as a list holds one (K_i, 4) tensor per image of a batch; for one "
                                 "(C, H, W) image give a (K, 4) tensor")
            if box_labels is not None and not isinstance(box_labels, (list, tuple)):
                raise ValueError("boxes is a list: give box_labels as a list too (one (K_i,) tensor per "
                                 "image)")
            boxes, box_labels, self.counts = T.pad_boxes(boxes, box_labels, batch.shape[0], batch.device)
        if isinstance(boxes, torch.Tensor):  # (anything else: the shape checks name it)
            boxes = T.boxes_to_pixels(boxes, self.format, self.normalized, batch.shape[-2:])
        self.inside = boxes
        return boxes, box_labels

    def leave(self, targets: dict, img: torch.Tensor) -> dict:
        """``targets`` with boxes (and box_labels) back in the caller's form, for the output ``img``."""
        if self.given is None:
            return targets
        keep = targets.get(KEEP)
        if keep is None and _same(targets["boxes"], self.inside):  # untouched: what was given
            out = {**targets, "boxes": self.given}
            if "box_labels" in targets:
                out["box_labels"] = self.given_labels
            return out
        boxes = T.boxes_from_pixels(targets["boxes"], self.format, self.normalized, img.shape[-2:])
        labels = targets.get("box_labels")
        if self.counts is not None:
            boxes, labels = T.unpad_boxes(boxes, labels, self.counts, keep)
        elif keep is not None:
            boxes = torch.where(keep[..., None], boxes, 0)
            labels = None if labels is None else torch.where(keep, labels, 0)
        out = {**targets, "boxes": boxes}
        if labels is not None:
            out["box_labels"] = labels
        return out


def _same(t: torch.Tensor, inside) -> bool:
    """``t`` is the tensor the layers got (or its batched view): no layer moved the boxes."""
    return t is inside or (isinstance(inside, torch.Tensor) and t.data_ptr() == inside.data_ptr()
                           and t.shape[-2:] == inside.shape[-2:] and t.dtype == inside.dtype)
