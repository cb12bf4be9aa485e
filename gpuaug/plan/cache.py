"""Plans compiled on demand: once per batch shape, dtype, device and layer settings.

A hook or a layer keeps one :class:`Plans`; ``plans.get(...)`` returns the compiled ``Spec`` for this batch
or ``None`` (the pipeline runs eagerly; ``plans.reason`` says why). Assigning any layer setting
(``policy.magnitude = 12``, a schedule) bumps ``layers.base.settings_version``: the next batch compiles a
new plan instead of running a stale one.
"""

from __future__ import annotations

import torch

from gpuaug import functional as F
from gpuaug.layers.base import settings_version
from gpuaug.plan.spec import Epilogue, Spec, Unsupported, compile_plan

__all__ = ["Plans", "params_of", "runs_plans"]


def runs_plans(x: torch.Tensor) -> bool:
    """Whether a batch on ``x``'s path runs compiled plans: off the CPU host path (which keeps its own
    strategy), and not while ``torch.compile`` traces (compiled code traces the layers)."""
    return not F.host_path(x) and not torch.compiler.is_compiling()


class Plans:
    """Compiled plans of one pipeline (``augment`` then ``mix`` then ``epilogue``), by batch."""

    def __init__(self) -> None:
        self._specs: dict = {}
        self.reason: str | None = None  # why the last batch ran eagerly (None: it ran a plan)

    def get(self, augment, mix, epilogue: Epilogue | None, x: torch.Tensor, labels) -> Spec | None:
        lab = None if labels is None else (labels.dtype, tuple(labels.shape), labels.device)
        key = (tuple(x.shape), x.dtype, x.device, lab, epilogue, id(augment), id(mix), settings_version())
        if key not in self._specs:
            if len(self._specs) >= 16:  # many shapes or settings: keep the newest
                self._specs.pop(next(iter(self._specs)))
            try:
                self._specs[key] = (compile_plan(augment, mix, epilogue, x, labels, {}), None)
            except Unsupported as e:
                self._specs[key] = (None, str(e))
        spec, self.reason = self._specs[key]
        return spec


def params_of(spec: Spec, block: torch.Tensor, layer) -> dict:
    """The parameters ``layer`` (the plan's ``augment``: a Compose, a policy or one geometric layer) would
    return from ``return_params`` for the plan's draws ``block``: what its ``apply`` replays."""
    drawn = spec.draw(block)
    children = [*drawn["geo"], *([drawn["policy"]] if drawn["policy"] is not None else [])]
    if layer.kind == "container":
        return {"apply": torch.ones(block.shape[0], dtype=torch.bool, device=block.device),
                "children": children}
    return children[0]
