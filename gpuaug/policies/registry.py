"""The one op registry every policy reads: DATA, not a chain of ifs.

Each op has a ``kind`` (what the vectorized slot does with it), the top of its magnitude range in
torchvision's standard space (RandAugment / AutoAugment, ``_augmentation_space``) and in the wide space
(TrivialAugmentWide), a ``unit`` for the range, and whether a random sign applies. A magnitude is a
fraction ``f`` in [0, 1] of the range (bin ``i`` of ``n`` is ``f = i / (n - 1)``), so:

- ``linear`` ops take ``top * f`` (ShearX 0.3 f, Rotate 30 f degrees, Brightness factor 1 + 0.9 f ...);
  ``unit="width"``/``"height"`` scales by the image size (TranslateX: 150/331 W f), ``"px"`` is pixels;
- ``posterize`` keeps ``8 - round(top * f)`` bits (torchvision: ``8 - round(i / ((n - 1) / 4))``; AugMix's
  space starts from 4 bits: ``4 - round(4 f)``, at least 1);
- ``solarize`` thresholds at ``max * (1 - f)`` (torchvision: ``linspace(255, 0, n)[i]``);
- ops without a magnitude ignore ``f``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Op:
    name: str
    kind: str  # identity | shear_x | shear_y | translate_x | translate_y | rotate | brightness | saturation
    #            | contrast | sharpness | posterize | solarize | autocontrast | equalize | invert
    standard: float  # top of the range in torchvision's RandAugment/AutoAugment space
    wide: float  # top of the range in TrivialAugmentWide's space
    signed: bool
    unit: str = "value"  # value | px | width | height (standard and augmix spaces; the wide space is in px)
    augmix: float = 0.0  # top of the range in AugMix's space (torchvision's AugMix._augmentation_space)


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        Op("Identity", "identity", 0.0, 0.0, False),
        Op("ShearX", "shear_x", 0.3, 0.99, True, augmix=0.3),
        Op("ShearY", "shear_y", 0.3, 0.99, True, augmix=0.3),
        # standard: 150/331 of the width (height); wide: 32 pixels
        Op("TranslateX", "translate_x", 150.0 / 331.0, 32.0, True, "width", 1.0 / 3.0),
        Op("TranslateY", "translate_y", 150.0 / 331.0, 32.0, True, "height", 1.0 / 3.0),
        Op("Rotate", "rotate", 30.0, 135.0, True, augmix=30.0),
        Op("Brightness", "brightness", 0.9, 0.99, True, augmix=0.9),
        Op("Color", "saturation", 0.9, 0.99, True, augmix=0.9),
        Op("Contrast", "contrast", 0.9, 0.99, True, augmix=0.9),
        Op("Sharpness", "sharpness", 0.9, 0.99, True, augmix=0.9),
        Op("Posterize", "posterize", 4.0, 6.0, False, augmix=4.0),
        Op("Solarize", "solarize", 1.0, 1.0, False, augmix=1.0),
        Op("AutoContrast", "autocontrast", 0.0, 0.0, False),
        Op("Equalize", "equalize", 0.0, 0.0, False),
        Op("Invert", "invert", 0.0, 0.0, False),
    )
}

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
    "autocontrast",
    "equalize",
    "invert",
)
GEOMETRIC = ("shear_x", "shear_y", "translate_x", "translate_y", "rotate")
POINTWISE = ("brightness", "contrast", "posterize", "solarize", "autocontrast", "equalize", "invert")

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
