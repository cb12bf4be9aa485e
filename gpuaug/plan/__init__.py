"""Compiled plans: a pipeline on the device in a handful of launches (``spec`` compiles, the
``pipeline_*`` primitives of ``gpuaug._torch.pipeline`` / ``gpuaug.kernels.pipeline`` run it)."""

from gpuaug.plan.cache import Plans, params_of
from gpuaug.plan.spec import Epilogue, Spec, Stage, Unsupported, compile_plan, draw

__all__ = ["Epilogue", "Plans", "Spec", "Stage", "Unsupported", "compile_plan", "draw", "params_of"]
