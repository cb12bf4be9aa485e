"""Target helpers (docs/contract.md "Targets"): box formats and normalization, per-image box lists as one
padded batch, the boxes worth keeping, and CutMix's paste on masks.

Boxes inside gpuaug are ``x0, y0, x1, y1`` in pixels with x1, y1 exclusive (pixel edges: a box covering
pixels 2..5 is ``2, y0, 6, y1``). Formats, as torchvision's ``box_convert`` names them:

- ``"xyxy"``: ``x0, y0, x1, y1``;
- ``"xywh"``: ``x0, y0, w, h`` (COCO);
- ``"cxcywh"``: ``cx, cy, w, h`` (YOLO, DETR).

``normalized=True``: the coordinates are fractions of the image's width (x, w) and height (y, h).
Every function here is a few elementwise torch ops on the boxes' device: no host synchronization, except
:func:`unpad_boxes` given a ``keep`` mask (the lengths of its lists depend on the values).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["BOX_FORMATS", "check_box_format", "convert_boxes", "boxes_to_pixels", "boxes_from_pixels",
           "pad_boxes", "unpad_boxes", "valid_boxes", "paste_masks"]

BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


def check_box_format(box_format, normalized) -> None:
    if not isinstance(box_format, str) or box_format not in BOX_FORMATS:
        raise ValueError(f"box_format must be one of {BOX_FORMATS}, got {box_format!r}")
    if not isinstance(normalized, bool):
        raise TypeError(f"normalized must be a bool, got {type(normalized).__name__}")


def _work(boxes: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(boxes).__name__}")
    if boxes.dim() == 0 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must be (..., 4) (one box a row), got shape {tuple(boxes.shape)}")
    if boxes.dtype == torch.bool or boxes.is_complex():
        raise TypeError(f"{name} must be a real tensor, got dtype {boxes.dtype}")
    return boxes.to(torch.promote_types(boxes.dtype, torch.float32))


def _back(out: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return out.to(like.dtype) if like.is_floating_point() else out.round().to(like.dtype)


def convert_boxes(boxes: torch.Tensor, in_fmt: str, out_fmt: str) -> torch.Tensor:
    """Boxes ``(..., 4)`` from ``in_fmt`` to ``out_fmt`` (``"xyxy"``, ``"xywh"``, ``"cxcywh"``), in the
    boxes' dtype (integer boxes round). Same as ``torchvision.ops.box_convert``."""
    check_box_format(in_fmt, False)
    check_box_format(out_fmt, False)
    if in_fmt == out_fmt:
        return boxes
    b = _work(boxes, "boxes")
    a0, a1, a2, a3 = b.unbind(-1)
    if in_fmt == "xywh":
        a2, a3 = a0 + a2, a1 + a3
    elif in_fmt == "cxcywh":
        a0, a1, a2, a3 = a0 - a2 / 2, a1 - a3 / 2, a0 + a2 / 2, a1 + a3 / 2
    if out_fmt == "xywh":
        a2, a3 = a2 - a0, a3 - a1
    elif out_fmt == "cxcywh":
        a0, a1, a2, a3 = (a0 + a2) / 2, (a1 + a3) / 2, a2 - a0, a3 - a1
    return _back(torch.stack((a0, a1, a2, a3), -1), boxes)


def _scaled(boxes: torch.Tensor, size, up: bool) -> torch.Tensor:
    """Fractions of (W, H, W, H) -> pixels (``up``), or back."""
    h, w = float(size[0]), float(size[1])
    b = _work(boxes, "boxes")
    if not boxes.is_floating_point():
        raise TypeError(f"boxes must be floating with normalized=True (fractions), got dtype {boxes.dtype}")
    x, y = b[..., 0::2], b[..., 1::2]
    x, y = (x * w, y * h) if up else (x / w, y / h)
    return _back(torch.stack((x[..., 0], y[..., 0], x[..., 1], y[..., 1]), -1), boxes)


def _each(fn, boxes):
    """``fn`` on a tensor of boxes, or on each tensor of a list of them (a list stays a list)."""
    if isinstance(boxes, (list, tuple)):
        return [fn(b) for b in boxes]
    return fn(boxes)


def boxes_to_pixels(boxes, box_format: str = "xyxy", normalized: bool = False, size=None):
    """Boxes (a tensor ``(..., 4)`` or a list of them) in ``box_format`` / ``normalized`` (fractions of an
    image of ``size`` (H, W)) -> ``xyxy`` pixels, the form the layers work in."""
    check_box_format(box_format, normalized)

    def one(b):
        _work(b, "boxes")
        b = convert_boxes(b, box_format, "xyxy")
        return _scaled(b, size, True) if normalized else b

    return _each(one, boxes)


def boxes_from_pixels(boxes, box_format: str = "xyxy", normalized: bool = False, size=None):
    """The inverse of :func:`boxes_to_pixels` (``size``: the (H, W) the boxes now lie in)."""
    check_box_format(box_format, normalized)

    def one(b):
        b = _scaled(b, size, False) if normalized else b
        return convert_boxes(b, "xyxy", box_format)

    return _each(one, boxes)


def _tensor_list(value, name: str, batch: int, tail: tuple[int, ...]) -> list[torch.Tensor]:
    if len(value) != batch:
        raise ValueError(f"{name} must have one entry per sample ({batch}), got a list of {len(value)}")
    for i, t in enumerate(value):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}[{i}] must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() != 1 + len(tail) or tuple(t.shape[1:]) != tail:
            want = "(K_i, " + ", ".join(map(str, tail)) + ")" if tail else "(K_i,)"
            raise ValueError(f"{name}[{i}] must be {want}, got shape {tuple(t.shape)}")
        if i and (t.dtype != value[0].dtype or t.device != value[0].device):
            raise ValueError(f"{name}: every tensor must have one dtype and device, {name}[0] is "
                             f"{value[0].dtype} on {value[0].device}, {name}[{i}] {t.dtype} on {t.device}")
    return list(value)


def pad_boxes(boxes: Sequence[torch.Tensor], box_labels: Sequence[torch.Tensor] | None, batch: int,
              device: torch.device | None = None):
    """A list of ``batch`` tensors ``(K_i, 4)`` (and ``box_labels``: ``(K_i,)`` each, or None) as one
    zero-padded ``(batch, max K_i, 4)`` tensor (and ``(batch, max K_i)``); returns ``(boxes, box_labels,
    counts)`` with ``counts`` the K_i (Python ints: shapes, no host sync)."""
    boxes = _tensor_list(boxes, "boxes", batch, (4,))
    counts = [int(t.shape[0]) for t in boxes]
    if box_labels is not None:
        box_labels = _tensor_list(box_labels, "box_labels", batch, ())
        for i, (t, k) in enumerate(zip(box_labels, counts)):
            if t.shape[0] != k:
                raise ValueError(f"box_labels[{i}] must have one label per box ({k}), got shape "
                                 f"{tuple(t.shape)}")
    if not boxes:
        empty = torch.zeros((0, 0, 4), device=device)
        return empty, None if box_labels is None else empty[..., 0].long(), counts
    pad = torch.nn.utils.rnn.pad_sequence
    padded_labels = None if box_labels is None else pad(box_labels, batch_first=True)
    return pad(boxes, batch_first=True), padded_labels, counts


def unpad_boxes(boxes: torch.Tensor, box_labels: torch.Tensor | None, counts: Sequence[int],
                keep: torch.Tensor | None = None):
    """The inverse of :func:`pad_boxes`: lists of ``(K_i, 4)`` and ``(K_i,)`` tensors. With ``keep``
    (bool ``(B, K)``) only the boxes kept (this reads ``keep`` on the host: the list lengths depend on it)."""
    out_b = [boxes[i, :k] for i, k in enumerate(counts)]
    out_l = None if box_labels is None else [box_labels[i, :k] for i, k in enumerate(counts)]
    if keep is not None:
        sel = [keep[i, :k] for i, k in enumerate(counts)]
        out_b = [b[s] for b, s in zip(out_b, sel)]
        out_l = None if out_l is None else [lab[s] for lab, s in zip(out_l, sel)]
    return out_b, out_l


def valid_boxes(boxes: torch.Tensor, size, min_size: float = 1.0) -> torch.Tensor:
    """bool ``(..., K)``: the xyxy pixel boxes whose width and height, clipped to an image of ``size``
    (H, W), are at least ``min_size`` (NaN boxes are not valid)."""
    h, w = size
    b = _work(boxes, "boxes")
    x0, y0, x1, y1 = b.unbind(-1)
    cw = x1.clamp(0, w) - x0.clamp(0, w)
    ch = y1.clamp(0, h) - y0.clamp(0, h)
    return (cw >= min_size) & (ch >= min_size)


def paste_masks(masks: torch.Tensor, partner: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """CutMix's :func:`~gpuaug.functional.paste` on masks ``(B, H, W)`` or ``(B, M, H, W)`` of any dtype:
    the region ``box[b]`` ((B, 4) x0, y0, x1, y1 in pixels, x1, y1 exclusive) of sample b taken from
    ``masks[partner[b]]``, by the same pixel rule as the image's (pixel centre ``x0 <= x < x1``)."""
    if not isinstance(masks, torch.Tensor) or masks.dim() not in (3, 4):
        raise ValueError(f"masks must be (B, H, W) or (B, M, H, W), got {getattr(masks, 'shape', masks)!r}")
    h, w = masks.shape[-2:]
    box = box.to(device=masks.device, dtype=torch.float32, non_blocking=True)
    xs = torch.arange(w, dtype=torch.float32, device=masks.device)
    ys = torch.arange(h, dtype=torch.float32, device=masks.device)
    cols = (xs >= box[:, 0:1]) & (xs < box[:, 2:3])  # (B, W)
    rows = (ys >= box[:, 1:2]) & (ys < box[:, 3:4])  # (B, H)
    region = rows[:, :, None] & cols[:, None, :]
    if masks.dim() == 4:
        region = region[:, None]
    return torch.where(region, masks[partner.to(masks.device, non_blocking=True)], masks)
