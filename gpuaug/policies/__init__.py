"""Policies that choose their ops per sample (RandAugment, TrivialAugmentWide, AutoAugment, AugMix)."""

from gpuaug.policies.auto import AugMix, AutoAugment, RandAugment, TrivialAugmentWide
from gpuaug.policies.registry import OPS
from gpuaug.policies.strings import from_string

__all__ = ["RandAugment", "TrivialAugmentWide", "AutoAugment", "AugMix", "OPS", "from_string"]
