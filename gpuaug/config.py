"""Pipelines from configs, and back: augmentation as data (for sweeps and logs).

A config is a dict ``{"name": <layer or policy class>, <constructor arguments>...}``; containers
(``Compose``, ``RandomApply``, ``RandomChoice``) hold ``"transforms": [config, ...]``. A list is a Compose,
a string is a class name with default arguments or a policy string (``"rand-m9-n2-mstd0.5"``), and a path
to a ``.yaml``/``.yml``/``.json`` file holds any of those. Every layer prints as its config (``repr``) and
``layer.to_config()`` gives it back: ``from_config(layer.to_config())`` rebuilds an equal pipeline.
Generators are not part of a config: pass ``generator=`` to :func:`from_config` to seed every layer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

import torch

from gpuaug import layers, policies
from gpuaug.layers.base import RandomLayer

_CONTAINERS = ("Compose", "RandomApply", "RandomChoice")


def registry() -> dict[str, type]:
    """Class name -> class, for every layer and policy a config may name."""
    out = {name: getattr(layers, name) for name in layers.__all__ if name != "RandomLayer"}
    out.update(
        {
            name: getattr(policies, name)
            for name in ("RandAugment", "TrivialAugmentWide", "AutoAugment", "AugMix")
        }
    )
    return out


def _load(path) -> object:
    with open(path) as fh:
        text = fh.read()
    if str(path).endswith(".json"):
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


def _looks_like_path(value: str) -> bool:
    return value.endswith((".yaml", ".yml", ".json")) or os.sep in value


def from_config(config, generator: torch.Generator | None = None) -> RandomLayer:
    """Build a layer or pipeline from a config dict, list, class name, policy string or file path."""
    if isinstance(config, os.PathLike) or (isinstance(config, str) and _looks_like_path(config)):
        if not os.path.exists(config):
            raise ValueError(f"config file {str(config)!r} does not exist")
        return from_config(_load(config), generator)
    if isinstance(config, str):
        classes = registry()
        if config in classes:
            return from_config({"name": config}, generator)
        return policies.from_string(config, **({"generator": generator} if generator is not None else {}))
    if isinstance(config, Sequence):
        return layers.Compose([from_config(c, generator) for c in config])
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict, a list, a string or a path, got {type(config).__name__}")
    args = dict(config)
    name = args.pop("name", None)
    if name is None:
        raise ValueError(f"config needs a 'name' (a layer or policy class), got keys {sorted(config)}")
    classes = registry()
    if name not in classes:
        raise ValueError(f"config name {name!r} is not a gpuaug layer or policy; valid: {sorted(classes)}")
    if name in _CONTAINERS:
        inner = args.pop("transforms", None)
        if inner is None:
            raise ValueError(f"config of {name} needs 'transforms'")
        args["transforms"] = [from_config(c, generator) for c in inner]
    if generator is not None and name != "Compose" and not classes[name].deterministic:
        args.setdefault("generator", generator)
    try:
        return classes[name](**args)
    except TypeError as e:
        raise TypeError(f"config of {name}: {e}") from None


def to_config(layer: RandomLayer) -> dict:
    """The config of a layer or pipeline (plain dicts, lists, numbers and strings)."""
    if not isinstance(layer, RandomLayer):
        raise TypeError(f"layer must be a gpuaug layer, got {type(layer).__name__}")
    return layer.to_config()


def to_yaml(layer: RandomLayer, path: str | os.PathLike | None = None) -> str:
    """The config as YAML text; written to ``path`` when given."""
    import yaml

    text = yaml.safe_dump(to_config(layer), sort_keys=False)
    if path is not None:
        with open(path, "w") as fh:
            fh.write(text)
    return text


__all__ = ["from_config", "to_config", "to_yaml", "registry"]
