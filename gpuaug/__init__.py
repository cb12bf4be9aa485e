"""gpuaug: batched, per-sample image augmentation on the GPU (Triton) and the CPU (vectorized torch)."""

from gpuaug import functional
from gpuaug.backend import get_backend, set_backend

__version__ = "0.1.0"
__all__ = ["functional", "get_backend", "set_backend"]
