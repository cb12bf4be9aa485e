"""Video clips ``(B, T, C, H, W)`` through any layer, container or policy: parameters are drawn per clip and
applied to every frame of it, in one call over the ``B * T`` frames (not a loop over T).

``RandomLayer.forward`` / ``apply`` (``_Call`` in ``base.py``) view the video as its frames
(``gpuaug._checks.as_clips``), draw the parameters for a batch of ``B`` (the clip shape) and hand the layer
``per_frame(params)``: every per-sample tensor repeated ``T`` times, clip-major as the frames. Labels stay
per clip ``(B,)`` / ``(B, K)`` (mixers mix whole clips: partner clip, same box or weight on every frame);
masks, boxes, box_labels and keypoints are per frame, ``(B, T, ...)``. ``last_params`` and
``return_params`` give the per-clip draw (what ``apply`` replays on a video). Compiled plans draw per frame:
videos run layer by layer.
"""

from __future__ import annotations

import torch


def per_frame(params, clips: tuple[int, int] | None):
    """Per-clip parameters (tensors with B rows, in nested dicts and lists) for the ``B * T`` frames of
    ``clips = (B, T)``: every row repeated ``T`` times (``repeat_interleave``, clip-major as the frames); a
    sample index (a mixer's ``partner``) becomes the same frame of the partner clip. ``clips=None`` (images):
    the parameters themselves."""
    return params if clips is None else _repeat(params, *clips)


def _repeat(params, clips: int, t: int):
    if isinstance(params, list):
        return [_repeat(p, clips, t) for p in params]
    if isinstance(params, dict):
        return {k: (v[:, None] * t + torch.arange(t, device=v.device)).reshape(-1)
                if k == "partner" and isinstance(v, torch.Tensor) else _repeat(v, clips, t)
                for k, v in params.items()}
    if isinstance(params, torch.Tensor) and params.dim() >= 1 and params.shape[0] == clips:
        return params.repeat_interleave(t, 0)
    return params


def frame_target(name: str, t: torch.Tensor, clips: tuple[int, int]) -> torch.Tensor:
    """A video's per-frame target ``(B, T, ...)`` as ``(B * T, ...)``."""
    if tuple(t.shape[:2]) != tuple(clips):
        raise ValueError(f"{name} of a video must be (B, T, ...) = {tuple(clips)} per frame, got shape "
                         f"{tuple(t.shape)}")
    return t.flatten(0, 1)


__all__ = ["frame_target", "per_frame"]
