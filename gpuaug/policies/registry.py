"""The one op registry every policy reads: DATA, not a chain of ifs.

An op is a ``kind`` (what a vectorized slot does: a matrix, a table, a blend) and the map from a
magnitude fraction ``f`` (torchvision: bin ``i`` of ``n`` is ``f = i / (n - 1)``; timm: ``f = m / 10``) to
the op's argument, the same formula for every library, written as data::

    arg = offset * U + dir * sign * R(scale * f * S),  then clipped to [minimum, maximum]

- ``sign``: +1 or -1 at random per sample when ``signed`` (torchvision's signed magnitudes, timm's
  ``_randomly_negate``); ``dir`` = -1 for ``reverse`` ops (posterize keeps ``8 - round(4 f)`` bits);
- ``R``: ``round`` (half to even: torchvision's posterize), ``trunc`` (``int()``: timm's posterize,
  solarize, solarize_add; torchvision's translate) or none;
- ``S``: the image width or height for ``size`` ops (translate as a fraction of the image), else 1;
- ``U``: for ``levels`` ops (thresholds and additions given in uint8 levels) the value of one level in the
  image's range, 1 for uint8 and 1/255 for floating images; else 1.

The argument is the op's own parameter: degrees for ``rotate``, the tangent ``m`` for ``shear_x`` (source
``x + m (y + 1/2)``: torchvision's shear about the top-left corner, PIL's ``(1, m, 0, 0, 1, 0)``), pixels of
forward shift for ``translate_*``, the factor for the enhance ops, bits kept for ``posterize``, the
threshold for ``solarize``, the addition for ``solarize_add`` (threshold 128 levels).

Spaces: ``TORCHVISION`` (RandAugment / AutoAugment, ``_augmentation_space``), ``TORCHVISION_WIDE``
(TrivialAugmentWide), ``TORCHVISION_AUGMIX`` (AugMix) and ``TIMM`` (``timm.data.auto_augment``'s
``LEVEL_TO_ARG`` with its ``Increasing`` variants).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Op:
    name: str
    kind: str  # one of KINDS
    scale: float = 0.0
    offset: float = 0.0
    signed: bool = False
    reverse: bool = False
    rounding: str = "none"  # none | round | trunc
    size: str = "none"  # none | width | height
    levels: bool = False
    minimum: float = -math.inf
    maximum: float = math.inf

    def arg(self, f: float, sign: float = 1.0, width: int = 1, height: int = 1, level: float = 1.0) -> float:
        """The argument for magnitude fraction ``f`` (Python numbers: the reference of the vectorized
        formula in the policies, and what the tests compare with)."""
        s = {"none": 1.0, "width": float(width), "height": float(height)}[self.size]
        v = self.scale * f * s
        v = {"none": v, "round": float(round(v)), "trunc": float(math.trunc(v))}[self.rounding]
        sign = sign if self.signed else 1.0
        arg = self.offset * (level if self.levels else 1.0) + (-1.0 if self.reverse else 1.0) * sign * v * (
            level if self.levels else 1.0)
        return min(max(arg, self.minimum), self.maximum)


def _space(*ops: Op) -> dict[str, Op]:
    return {op.name: op for op in ops}


def _enhance(name: str, kind: str, top: float) -> Op:
    """torchvision's enhance ops: factor ``1 +- top f``."""
    return Op(name, kind, top, 1.0, signed=True)


_NO_ARG = (Op("Identity", "identity"), Op("AutoContrast", "autocontrast"), Op("Equalize", "equalize"),
           Op("Invert", "invert"))


def _torchvision(shear: float, translate: float, translate_size: str, rotate: float, enhance: float,
                 posterize: float, posterize_base: float, posterize_min: float = -math.inf) -> dict[str, Op]:
    return _space(
        *_NO_ARG,
        Op("ShearX", "shear_x", shear, signed=True),
        Op("ShearY", "shear_y", shear, signed=True),
        Op("TranslateX", "translate_x", translate, signed=True, rounding="trunc",
           size="width" if translate_size == "fraction" else "none"),
        Op("TranslateY", "translate_y", translate, signed=True, rounding="trunc",
           size="height" if translate_size == "fraction" else "none"),
        Op("Rotate", "rotate", rotate, signed=True),
        _enhance("Brightness", "brightness", enhance),
        _enhance("Color", "saturation", enhance),
        _enhance("Contrast", "contrast", enhance),
        _enhance("Sharpness", "sharpness", enhance),
        Op("Posterize", "posterize", posterize, posterize_base, reverse=True, rounding="round",
           minimum=posterize_min),
        Op("Solarize", "solarize", 255.0, 255.0, reverse=True, levels=True),  # linspace(255, 0, n)
    )


#: torchvision's RandAugment / AutoAugment space (translate 150/331 of the size, truncated to pixels)
TORCHVISION = _torchvision(0.3, 150.0 / 331.0, "fraction", 30.0, 0.9, 4.0, 8.0)
#: torchvision's TrivialAugmentWide space (translate 32 px)
TORCHVISION_WIDE = _torchvision(0.99, 32.0, "px", 135.0, 0.99, 6.0, 8.0)
#: torchvision's AugMix space (translate a third of the size; posterize 4 - round(4 f) bits, at least 1)
TORCHVISION_AUGMIX = _torchvision(0.3, 1.0 / 3.0, "fraction", 30.0, 0.9, 4.0, 4.0, posterize_min=1.0)


def _timm_enhance(name: str, kind: str) -> tuple[Op, Op]:
    return (Op(name, kind, 1.8, 0.1),  # [0.1, 1.9]
            Op(f"{name}Increasing", kind, 0.9, 1.0, signed=True, minimum=0.1))  # max(0.1, 1 +- 0.9 f)


#: timm's ``LEVEL_TO_ARG`` (f = magnitude / 10); translate_const 250 px for the absolute translations
TIMM = _space(
    *_NO_ARG[1:],
    Op("Rotate", "rotate", 30.0, signed=True),
    # bits kept: int(4 f), 0 is black; >= 8 is timm's identity, below 0 PIL's black (f > 1 with mmax > 10)
    Op("Posterize", "posterize", 4.0, rounding="trunc", minimum=0.0, maximum=8.0),
    Op("PosterizeIncreasing", "posterize", 4.0, 4.0, reverse=True, rounding="trunc", minimum=0.0,
       maximum=8.0),
    Op("PosterizeOriginal", "posterize", 4.0, 4.0, rounding="trunc", minimum=0.0, maximum=8.0),
    # min(256, int(256 f)): 256 is PIL's no-op
    Op("Solarize", "solarize", 256.0, rounding="trunc", levels=True, maximum=256.0),
    Op("SolarizeIncreasing", "solarize", 256.0, 256.0, reverse=True, rounding="trunc", levels=True,
       minimum=0.0),
    Op("SolarizeAdd", "solarize_add", 110.0, rounding="trunc", levels=True, maximum=128.0),
    *_timm_enhance("Color", "saturation"),
    *_timm_enhance("Contrast", "contrast"),
    *_timm_enhance("Brightness", "brightness"),
    *_timm_enhance("Sharpness", "sharpness"),
    Op("ShearX", "shear_x", 0.3, signed=True),
    Op("ShearY", "shear_y", 0.3, signed=True),
    # PIL's translate data is the SOURCE offset: a forward shift of -pixels (the sign is random anyway)
    Op("TranslateX", "translate_x", 250.0, signed=True),
    Op("TranslateY", "translate_y", 250.0, signed=True),
    Op("TranslateXRel", "translate_x", 0.45, signed=True, size="width"),
    Op("TranslateYRel", "translate_y", 0.45, signed=True, size="height"),
)

#: the torchvision space, by op name (what RandAugment, AutoAugment and the tests read)
OPS = TORCHVISION

KINDS = (
    "identity",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "rotate",
    "brightness",
    "saturation",
    "contrast",
    "sharpness",
    "posterize",
    "solarize",
    "solarize_add",
    "autocontrast",
    "equalize",
    "invert",
)
GEOMETRIC = ("shear_x", "shear_y", "translate_x", "translate_y", "rotate")
POINTWISE = ("brightness", "contrast", "posterize", "solarize", "solarize_add", "autocontrast", "equalize",
             "invert")

# torchvision's op lists, in torchvision's order (the order fixes which index draws which op).
RANDAUGMENT_OPS = (
    "Identity",
    "ShearX",
    "ShearY",
    "TranslateX",
    "TranslateY",
    "Rotate",
    "Brightness",
    "Color",
    "Contrast",
    "Sharpness",
    "Posterize",
    "Solarize",
    "AutoContrast",
    "Equalize",
)
TRIVIALAUGMENT_OPS = RANDAUGMENT_OPS
# torchvision's AugMix space; all_ops adds AUGMIX_COLOR_OPS. Its Posterize keeps 4 - round(4 f) bits.
AUGMIX_OPS = (
    "ShearX",
    "ShearY",
    "TranslateX",
    "TranslateY",
    "Rotate",
    "Posterize",
    "Solarize",
    "AutoContrast",
    "Equalize",
)
AUGMIX_COLOR_OPS = ("Brightness", "Color", "Contrast", "Sharpness")
AUGMIX_BINS = 10  # torchvision's _PARAMETER_MAX: magnitudes are bins of 10, index drawn below ``severity``

# timm's op lists (_RAND_TRANSFORMS, _RAND_INCREASING_TRANSFORMS, _AUGMIX_TRANSFORMS), in timm's order
TIMM_RAND_OPS = ("AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "Solarize", "SolarizeAdd",
                 "Color", "Contrast", "Brightness", "Sharpness", "ShearX", "ShearY", "TranslateXRel",
                 "TranslateYRel")
TIMM_RAND_INCREASING_OPS = ("AutoContrast", "Equalize", "Invert", "Rotate", "PosterizeIncreasing",
                            "SolarizeIncreasing", "SolarizeAdd", "ColorIncreasing", "ContrastIncreasing",
                            "BrightnessIncreasing", "SharpnessIncreasing", "ShearX", "ShearY",
                            "TranslateXRel", "TranslateYRel")
TIMM_AUGMIX_OPS = ("AutoContrast", "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing",
                   "SharpnessIncreasing", "Equalize", "Rotate", "PosterizeIncreasing", "SolarizeIncreasing",
                   "ShearX", "ShearY", "TranslateXRel", "TranslateYRel")
TIMM_LEVELS = 10.0  # timm's _LEVEL_DENOM: f = magnitude / 10

# AutoAugment sub-policies (torchvision's): ((op, probability, magnitude bin of 10 or None), x2).
AUTOAUGMENT_POLICIES = {
    "imagenet": (
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
        (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)),
        (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
        (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
        (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
        (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)),
        (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ),
    "cifar10": (
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)),
        (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
        (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)),
        (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
        (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)),
        (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
        (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
        (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)),
        (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)),
        (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)),
        (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)),
        (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)),
        (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ),
    "svhn": (
        (("ShearX", 0.9, 4), ("Invert", 0.2, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.6, None), ("Solarize", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.4, None)),
        (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
        (("Invert", 0.9, None), ("AutoContrast", 0.8, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)),
        (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)),
        (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
        (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)),
        (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
        (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)),
        (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
        (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)),
        (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
        (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)),
        (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
        (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
    ),
}
AUTOAUGMENT_BINS = 10  # torchvision draws AutoAugment magnitudes from a 10-bin space

__all__ = [
    "Op",
    "OPS",
    "TIMM",
    "TIMM_AUGMIX_OPS",
    "TIMM_LEVELS",
    "TIMM_RAND_INCREASING_OPS",
    "TIMM_RAND_OPS",
    "TORCHVISION",
    "TORCHVISION_AUGMIX",
    "TORCHVISION_WIDE",
    "KINDS",
    "GEOMETRIC",
    "POINTWISE",
    "RANDAUGMENT_OPS",
    "TRIVIALAUGMENT_OPS",
    "AUGMIX_OPS",
    "AUGMIX_COLOR_OPS",
    "AUGMIX_BINS",
    "AUTOAUGMENT_POLICIES",
    "AUTOAUGMENT_BINS",
]
