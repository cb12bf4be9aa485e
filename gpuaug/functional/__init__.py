"""Pure batched image ops (no randomness): validate, then dispatch through ``gpuaug.backend``.

This package is the only door to the implementations for the layers, policies and the loader.
"""

from gpuaug import backend as _backend
from gpuaug.functional import color, filters, geometry, pointwise, sizing
from gpuaug.functional.color import *  # noqa: F401,F403
from gpuaug.functional.filters import *  # noqa: F401,F403
from gpuaug.functional.geometry import *  # noqa: F401,F403
from gpuaug.functional.pipeline import run_plan
from gpuaug.functional.pointwise import pointwise_chain
from gpuaug.functional.select import host_path, host_scope, on_samples
from gpuaug.functional.sizing import *  # noqa: F401,F403
from gpuaug.functional.targets import convert_boxes, paste_masks

_backend.preload()  # every torch-path primitive imported now, not while torch.compile traces

__all__ = ["host_path", "host_scope", "on_samples", "pointwise", "pointwise_chain", "run_plan",
           "convert_boxes", "paste_masks", *color.__all__, *geometry.__all__, *filters.__all__,
           *sizing.__all__]
