"""Compiled plans: a pipeline on the device in a handful of launches (``spec`` compiles, the
``pipeline_*`` primitives of ``gpuaug._torch.pipeline`` / ``gpuaug.kernels.pipeline`` run it)."""

from gpuaug.plan.cache import Plans, params_of, runs_plans
from gpuaug.plan.spec import Epilogue, Spec, Stage, Unsupported, compile_plan

__all__ = ["Epilogue", "Plans", "Spec", "Stage", "Unsupported", "compile_plan", "params_of", "runs_plans"]
