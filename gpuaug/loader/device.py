"""The loader wrapper: ready batches on the device, the next one prepared while the current one trains
(:class:`DeviceLoader`), and CUDA-graph capture of a hook (:func:`capture_hook`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn

from gpuaug.loader import batch as B
from gpuaug.loader.collate import as_uint8_batch
from gpuaug.loader.hook import BatchHook

__all__ = ["DeviceLoader", "capture_hook"]


# ----------------------------------------------------------------------------------------------------------
# The loader wrapper
# ----------------------------------------------------------------------------------------------------------
def _pinned_to(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Host tensor -> ``device`` asynchronously (pinning it first if needed; without ``pin_memory=True``
    in the DataLoader that costs one host copy). A tensor already on a CUDA device is left there."""
    if t.device.type == "cpu":
        if not t.is_pinned():
            t = t.pin_memory()
        return t.to(device, non_blocking=True)
    return t


class DeviceLoader:
    """Wrap a DataLoader of uint8 batches; yield ready batches on ``device`` (prefetched on CUDA).

    Args:
        loader: any iterable of batches: ``images``, ``(images, labels)`` or a dict with targets
            (``gpuaug.loader.batch``); each comes back in its structure, images and targets augmented.
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
            yield self.hook(batch)

    def _prepare(self, batch):
        """Copy (pinned, non_blocking) and augment one batch; the same structure back."""
        images, targets, rebuild = B.split(batch)
        x = _pinned_to(as_uint8_batch(images, pin=True), self.device)
        targets = {k: B.map_tensors(lambda t: _pinned_to(t, self.device), B.as_target(k, v))
                   for k, v in targets.items()}
        return self.hook(rebuild(x, targets))

    def _iter_cuda(self) -> Iterator:
        stream = torch.cuda.Stream(self.device)
        caller = torch.cuda.current_stream(self.device)

        def prepare(batch):
            with torch.cuda.stream(stream):
                # The side stream must not run ahead of work the caller queued before iterating (e.g.
                # a parameter update of a layer the hook uses).
                stream.wait_stream(caller)
                return self._prepare(batch)

        it = iter(self.loader)
        try:
            ready = prepare(next(it))
        except StopIteration:
            return
        while True:
            # Order matters: the caller waits for the batch it is about to get, then the next batch is
            # queued on the side stream, so that batch's copy and augmentation overlap this step.
            caller.wait_stream(stream)
            for t in B.tensors(ready):
                if t.is_cuda:
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
