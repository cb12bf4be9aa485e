"""Random augmentation layers (``torch.nn.Module``): per-sample parameters, gating, replay, fusion."""

from gpuaug.layers.base import RandomLayer
from gpuaug.layers.boxes import SanitizeBoxes
from gpuaug.layers.color import (
    ColorJitter,
    Normalize,
    RandomAutocontrast,
    RandomBrightness,
    RandomContrast,
    RandomEqualize,
    RandomErasing,
    RandomGrayscale,
    RandomHue,
    RandomInvert,
    RandomPosterize,
    RandomSaturation,
    RandomSharpness,
    RandomSolarize,
)
from gpuaug.layers.container import Compose, RandomApply, RandomChoice
from gpuaug.layers.filters import GaussianBlur, GaussianNoise, RandomChannelShift
from gpuaug.layers.geometric import (
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
)
from gpuaug.layers.keras import KerasAugment
from gpuaug.layers.mix import CutMix, MixUp, MixUpCutMix
from gpuaug.layers.sizing import CenterCrop, Resize

__all__ = [
    "RandomLayer",
    "RandomAffine",
    "RandomRotation",
    "RandomHorizontalFlip",
    "RandomVerticalFlip",
    "RandomResizedCrop",
    "RandomCrop",
    "ColorJitter",
    "RandomBrightness",
    "RandomContrast",
    "RandomSaturation",
    "RandomHue",
    "RandomGrayscale",
    "RandomSharpness",
    "RandomPosterize",
    "RandomSolarize",
    "RandomEqualize",
    "RandomAutocontrast",
    "RandomInvert",
    "RandomErasing",
    "Normalize",
    "CutMix",
    "MixUp",
    "MixUpCutMix",
    "Compose",
    "RandomApply",
    "RandomChoice",
    "SanitizeBoxes",
    "Resize",
    "CenterCrop",
    "GaussianBlur",
    "GaussianNoise",
    "RandomChannelShift",
    "KerasAugment",
]
