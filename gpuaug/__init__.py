"""gpuaug: batched, per-sample image augmentation on the GPU (Triton) and the CPU (vectorized torch)."""

from importlib import metadata as _metadata

from gpuaug import functional, layers, policies
from gpuaug.backend import get_backend, get_num_threads, set_backend, set_num_threads
from gpuaug.config import from_config, to_config, to_yaml
from gpuaug.distributed import seed_everything
from gpuaug.layers import (
    CenterCrop,
    ColorJitter,
    Compose,
    CutMix,
    GaussianBlur,
    GaussianNoise,
    KerasAugment,
    MixUp,
    MixUpCutMix,
    Normalize,
    RandomAffine,
    RandomApply,
    RandomAutocontrast,
    RandomBrightness,
    RandomChannelShift,
    RandomChoice,
    RandomContrast,
    RandomCrop,
    RandomEqualize,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomHue,
    RandomInvert,
    RandomPosterize,
    RandomResizedCrop,
    RandomRotation,
    RandomSaturation,
    RandomSharpness,
    RandomSolarize,
    RandomVerticalFlip,
    Resize,
    SanitizeBoxes,
)
from gpuaug.loader import AugmentingCollate, BatchHook, DeviceLoader, build_hook, capture_hook, collate_uint8
from gpuaug.policies import (
    AugMix,
    AutoAugment,
    RandAugment,
    TimmAugMix,
    TimmRandAugment,
    TrivialAugmentWide,
    from_string,
)
from gpuaug.preview import preview

try:  # the number lives in pyproject.toml only
    __version__ = _metadata.version("gpuaug")
except _metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "AugMix", "AugmentingCollate", "BatchHook", "DeviceLoader", "build_hook", "capture_hook",
    "collate_uint8", "seed_everything", "AutoAugment", "ColorJitter", "Compose", "CutMix", "MixUp",
    "MixUpCutMix", "Normalize", "RandAugment", "RandomAffine", "RandomApply", "RandomAutocontrast",
    "RandomBrightness", "RandomChoice", "RandomContrast", "RandomCrop", "RandomEqualize",
    "RandomErasing", "RandomGrayscale", "RandomHorizontalFlip", "RandomHue", "RandomInvert",
    "RandomPosterize", "RandomResizedCrop", "RandomRotation", "RandomSaturation", "RandomSharpness",
    "RandomSolarize", "RandomVerticalFlip", "TimmAugMix", "TimmRandAugment", "TrivialAugmentWide",
    "from_config", "from_string", "functional", "get_backend", "layers", "policies", "preview",
    "set_backend", "to_config", "to_yaml", "SanitizeBoxes", "Resize", "CenterCrop", "GaussianBlur",
    "GaussianNoise", "RandomChannelShift", "KerasAugment",
    "get_num_threads", "set_num_threads",
]
