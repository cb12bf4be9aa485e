"""timm-style policy strings.

- ``"rand-m9-n2-mstd0.5"``: RandAugment on timm's 0..10 magnitude scale (``num_magnitude_bins=11``, so
  ``m9`` is 90 % of each range), keys ``m`` (magnitude), ``n`` (ops), ``mstd`` (noise std; > 100 means
  uniform in [0, m]), ``mmax`` (clip), ``p`` (chance each op applies, timm's default 0.5). The ops and
  ranges are torchvision's (registry.py), not timm's own op list.
- ``"augmix-m3-w3-d-1-a1"``-like: AugMix with ``m`` severity (1..10), ``w`` mixture width, ``d`` chain depth
  (``d0`` or absent: 1 to 3 at random), ``a`` alpha (timm's keys; timm's ``b`` blend mode is not supported).
- ``"trivialaugmentwide"`` (or ``"trivial"``), with an optional ``-b<bins>``.
- ``"autoaugment-imagenet"`` / ``"-cifar10"`` / ``"-svhn"`` (``"aa-..."`` too).

Keyword arguments (``interpolation``, ``fill``, ``generator`` ...) pass through to the policy.
"""

from __future__ import annotations

import re

from gpuaug.policies.auto import AugMix, AutoAugment, RandAugment, TrivialAugmentWide

_LEVELS = 10  # timm's magnitude denominator


def _pairs(parts, spec: str, allowed) -> dict:
    out = {}
    for part in parts:
        m = re.fullmatch(r"([a-z]+)([0-9.]+|inf)", part)
        if m is None or m.group(1) not in allowed:
            raise ValueError(f"spec {spec!r}: unknown part {part!r}; valid keys: {sorted(allowed)}")
        try:
            out[m.group(1)] = float(m.group(2))
        except ValueError:
            raise ValueError(f"spec {spec!r}: bad number in {part!r}") from None
    return out


def from_string(spec: str, **kwargs):
    """Build a policy from a timm-style string (see the module docstring)."""
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a string, got {type(spec).__name__}")
    parts = spec.strip().lower().split("-")
    head, rest = parts[0], parts[1:]
    if head == "rand":
        kv = _pairs(rest, spec, {"m", "n", "mstd", "mmax", "p", "inc"})
        if kv.get("inc"):
            raise ValueError(f"spec {spec!r}: 'inc' (timm's increasing ops) is not supported")
        std = kv.get("mstd", 0.0)
        if std > 100:
            std = float("inf")
        args = dict(
            num_ops=int(kv.get("n", 2)),
            magnitude=kv.get("m", _LEVELS),
            num_magnitude_bins=_LEVELS + 1,
            magnitude_std=std,
            magnitude_max=kv.get("mmax", _LEVELS),
            op_prob=kv.get("p", 0.5),
        )
        args.update(kwargs)
        return RandAugment(**args)
    if head == "augmix":
        kv = _pairs(rest, spec, {"m", "w", "d", "a"})
        args = dict(
            severity=int(kv.get("m", 3)),
            mixture_width=int(kv.get("w", 3)),
            chain_depth=int(kv["d"]) if kv.get("d", 0) > 0 else -1,
            alpha=kv.get("a", 1.0),
        )
        args.update(kwargs)
        return AugMix(**args)
    if head in ("trivial", "trivialaugmentwide", "ta_wide"):
        kv = _pairs(rest, spec, {"b"})
        args = {"num_magnitude_bins": int(kv["b"])} if "b" in kv else {}
        args.update(kwargs)
        return TrivialAugmentWide(**args)
    if head in ("autoaugment", "aa"):
        if len(rest) != 1:
            raise ValueError(f"spec {spec!r}: expected autoaugment-<imagenet|cifar10|svhn>")
        return AutoAugment(rest[0], **kwargs)
    raise ValueError(f"spec {spec!r}: must start with 'rand', 'augmix', 'trivial' or 'autoaugment'")


__all__ = ["from_string"]
