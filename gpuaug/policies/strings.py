"""Policy strings: timm's grammar AND timm's meanings (``timm.data.auto_augment``).

- ``"rand-m9-n2-mstd0.5"``: :class:`~gpuaug.policies.timm.TimmRandAugment`. Keys as timm parses them:
  ``m`` magnitude (int, of 10), ``n`` ops per sample, ``mstd`` magnitude noise (> 100: uniform in
  [0, m]), ``mmax`` upper clip (int; 0 means timm's default 10), ``p`` probability of each op (default 0.5),
  ``inc`` (int: 1 = the Increasing op variants). timm's weighted/alternative sets (``t...``) are not
  supported (a ``ValueError``).
- ``"augmix-m3-w3-d-1-a1"``: :class:`~gpuaug.policies.timm.TimmAugMix`: ``m`` severity, ``w`` width, ``d``
  depth (-1 or 0: 1 to 3 at random), ``a`` alpha, ``mstd`` (default inf: uniform magnitudes). timm's
  ``b`` (blended mode) is not supported.
- Extensions (not timm strings; torchvision's classes and meanings): ``"trivialaugmentwide"`` (or
  ``"trivial"``, ``"ta_wide"``), optional ``-b<bins>``; ``"autoaugment-imagenet"`` / ``-cifar10`` /
  ``-svhn`` (``"aa-..."``).

Keyword arguments (``interpolation``, ``fill``, ``generator`` ...) pass through to the policy; timm's own
hparams map as ``img_mean`` -> ``fill``, ``interpolation`` -> ``interpolation``.
"""

from __future__ import annotations

import math
import re

from gpuaug.policies.timm import TimmAugMix, TimmRandAugment
from gpuaug.policies.torchvision import AutoAugment, TrivialAugmentWide


def _pairs(parts, spec: str, allowed) -> dict:
    """timm's ``re.split(r'(\\d.*)', part)``: a key of letters, then its number (``d-1`` is one part)."""
    out = {}
    for part in parts:
        m = re.fullmatch(r"([a-z]+)(-?[0-9.]+|inf)", part)
        if m is None or m.group(1) not in allowed:
            raise ValueError(f"policy {spec!r}: unknown part {part!r}; valid keys: {sorted(allowed)}")
        try:
            out[m.group(1)] = float(m.group(2))
        except ValueError:
            raise ValueError(f"policy {spec!r}: bad number in {part!r}") from None
    return out


def _split(spec: str) -> list[str]:
    """Dash-separated parts, keeping a negative number with its key (timm's ``d-1``)."""
    parts = spec.strip().lower().split("-")
    out: list[str] = []
    for p in parts:
        if out and re.fullmatch(r"[0-9.]+", p) and re.fullmatch(r"[a-z]+", out[-1]):
            out[-1] = f"{out[-1]}-{p}"
        else:
            out.append(p)
    return out


def _int(kv: dict, key: str, spec: str, default):
    if key not in kv:
        return default
    v = kv[key]
    if not math.isfinite(v) or v != int(v):
        raise ValueError(f"policy {spec!r}: {key} must be an integer, got {v}")
    return int(v)


def from_string(spec: str, **kwargs):
    """Build a policy from a timm-style string (see the module docstring)."""
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a string, got {type(spec).__name__}")
    parts = _split(spec)
    head, rest = parts[0], parts[1:]
    if head == "rand":
        kv = _pairs(rest, spec, {"m", "n", "mstd", "mmax", "p", "inc"})
        std = kv.get("mstd", 0.0)
        args = dict(
            num_ops=_int(kv, "n", spec, 2),
            magnitude=_int(kv, "m", spec, 10),
            magnitude_std=math.inf if std > 100 else std,
            magnitude_max=_int(kv, "mmax", spec, None),
            op_prob=kv.get("p", 0.5),
            increasing=bool(_int(kv, "inc", spec, 0)),
        )
        args.update(kwargs)
        return TimmRandAugment(**args)
    if head == "augmix":
        kv = _pairs(rest, spec, {"m", "w", "d", "a", "mstd"})
        depth = _int(kv, "d", spec, -1)
        args = dict(
            severity=_int(kv, "m", spec, 3),
            mixture_width=_int(kv, "w", spec, 3),
            chain_depth=depth if depth > 0 else -1,
            alpha=kv.get("a", 1.0),
            magnitude_std=kv.get("mstd", math.inf),
        )
        args.update(kwargs)
        return TimmAugMix(**args)
    if head in ("trivial", "trivialaugmentwide", "ta_wide"):
        kv = _pairs(rest, spec, {"b"})
        args = {"num_magnitude_bins": _int(kv, "b", spec, None)} if "b" in kv else {}
        args.update(kwargs)
        return TrivialAugmentWide(**args)
    if head in ("autoaugment", "aa"):
        if len(rest) != 1:
            raise ValueError(f"policy {spec!r}: expected autoaugment-<imagenet|cifar10|svhn>")
        return AutoAugment(rest[0], **kwargs)
    raise ValueError(f"policy {spec!r}: must start with 'rand', 'augmix', 'trivial' or 'autoaugment'")


__all__ = ["from_string"]
