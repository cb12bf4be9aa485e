"""Policies that choose their ops per sample: torchvision's (RandAugment, TrivialAugmentWide, AutoAugment,
AugMix, with torchvision's meanings) and timm's (TimmRandAugment, TimmAugMix: what policy strings build)."""

from gpuaug.policies.registry import OPS
from gpuaug.policies.slots import Policy
from gpuaug.policies.strings import from_string
from gpuaug.policies.timm import TimmAugMix, TimmRandAugment
from gpuaug.policies.torchvision import AugMix, AutoAugment, RandAugment, TrivialAugmentWide

__all__ = ["RandAugment", "TrivialAugmentWide", "AutoAugment", "AugMix", "TimmRandAugment", "TimmAugMix",
           "OPS", "Policy", "from_string"]
