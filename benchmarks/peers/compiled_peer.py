"""``torch.compile`` of gpuaug's torch path (the vectorized host path, backend "torch").

One compiled function per op and device, with dynamic shapes, reused across sizes and batches, so
the suite compiles once per op instead of once per case. gpuaug's dispatch happens at trace time, so the
call runs under ``backend("torch")``: inductor traces and compiles the torch path.
A compile that fails makes the case a skip with the reason, not a failed check.
The random layers (CutMix, RandAugment, the pipeline) are compiled only with ``--compile-layers``.
"""

from __future__ import annotations

import torch

from benchmarks.cases import OPS, RANDOM_OPS, Case, gpuaug_fn
from benchmarks.peers import Impl, Peer, Skip

NAME = "torch.compile"


def layers_off(case: Case, device) -> Impl:
    raise Skip(
        "random layers are compiled only with --compile-layers (the compile took 40-140 s per "
        "layer on a 2-core CPU; graph breaks at the generator)"
    )


class Compiled(Peer):
    """Its table maps every op of the case table to :meth:`compiled` (the random layers to
    :func:`layers_off` unless ``layers``); the compiled functions are cached on the instance."""

    name = NAME

    def __init__(self, enabled: bool = True, reason: str = "", layers: bool = False):
        self.enabled, self.reason, self.layers = enabled, reason, layers
        self._cache: dict = {}
        self.adapters = {op: self.compiled if layers or op not in RANDOM_OPS else layers_off for op in OPS}

    def available(self, device) -> str | None:
        if not self.enabled:
            return self.reason or "disabled"
        return None

    def compiled(self, case: Case, device) -> Impl:
        from gpuaug.backend import backend

        key = (case.op, str(device))
        if key not in self._cache:
            try:
                fn = gpuaug_fn(case, device)
            except (AttributeError, ImportError, TypeError) as e:
                raise Skip(f"gpuaug API missing for {case.op}: {e}") from e
            self._cache[key] = torch.compile(fn, dynamic=True)
        compiled = self._cache[key]

        def run(xp):
            with backend("torch"):  # dispatch happens at trace time: trace and run the torch path
                try:
                    return compiled(*xp)
                except Exception as e:  # noqa: BLE001 - a compiler failure is a skip with its reason
                    raise Skip(f"torch.compile failed: {type(e).__name__}: {str(e)[:200]}") from e

        return Impl(self.name, run=run, note="inductor")
