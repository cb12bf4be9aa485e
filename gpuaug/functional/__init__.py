"""Pure batched image ops (no randomness): validate, then dispatch through ``gpuaug.backend``.

This package is the only door to the implementations for the layers, policies and the loader.
"""

from gpuaug.functional import color, geometry, pointwise
from gpuaug.functional.color import *  # noqa: F401,F403
from gpuaug.functional.geometry import *  # noqa: F401,F403
from gpuaug.functional.pointwise import pointwise_chain
from gpuaug.functional.select import host_path, host_scope, on_samples

__all__ = ["host_path", "host_scope", "on_samples", "pointwise", "pointwise_chain", *color.__all__,
           *geometry.__all__]
