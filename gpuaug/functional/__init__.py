"""Pure batched image ops (no randomness): validate, then dispatch through ``gpuaug.backend``."""

from gpuaug.functional.color import *  # noqa: F401,F403
from gpuaug.functional.geometry import *  # noqa: F401,F403
