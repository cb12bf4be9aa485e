"""Configs: pipelines from dicts / YAML / strings, printing, to_config round trips; preview grids."""

from __future__ import annotations

import pytest
import torch
from helpers import photo_batch
from PIL import Image

from gpuaug.config import from_config, registry, to_config, to_yaml
from gpuaug.layers import (
    ColorJitter,
    Compose,
    CutMix,
    Normalize,
    RandomAffine,
    RandomApply,
    RandomChoice,
    RandomCrop,
    RandomErasing,
    RandomHorizontalFlip,
    RandomPosterize,
    RandomResizedCrop,
)
from gpuaug.policies import AutoAugment, RandAugment, TimmRandAugment, TrivialAugmentWide
from gpuaug.preview import preview


def pipeline():
    return Compose(
        [
            RandomResizedCrop((20, 24), scale=(0.3, 1.0)),
            RandomApply([RandomAffine(10, shear=(-5, 5, -2, 2)), RandomHorizontalFlip()], p=0.7),
            RandomChoice([RandomPosterize((3, 6), p=1.0), ColorJitter(0.3, 0.3, 0.3, 0.05)], p=[1, 3]),
            RandomCrop(16, padding=(1, 2), fill_mode="mirror"),
            RandAugment(num_ops=2, magnitude=9, magnitude_std=0.5),
            RandomErasing(value="random", count=(1, 2)),
            Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )


def test_round_trip_dict_and_yaml(tmp_path):
    pipe = pipeline()
    cfg = pipe.to_config()
    again = from_config(cfg)
    assert again.to_config() == cfg
    assert repr(again) == repr(pipe)
    path = tmp_path / "aug.yaml"
    to_yaml(pipe, path)
    assert from_config(str(path)).to_config() == cfg
    assert from_config(path).to_config() == cfg


def test_round_trip_same_outputs():
    x = photo_batch(4, (24, 32))
    a = from_config(pipeline().to_config(), generator=torch.Generator().manual_seed(3))
    b = from_config(to_config(a), generator=torch.Generator().manual_seed(3))
    assert torch.equal(a(x), b(x))


def test_repr_is_config():
    layer = RandomAffine(15, translate=(0.1, 0.1), p=0.5)
    text = repr(layer)
    assert text.startswith("RandomAffine(degrees=[-15.0, 15.0], translate=[0.1, 0.1]")
    assert "p=0.5" in text
    assert "RandAugment(num_ops=2" in repr(pipeline())


def test_every_registered_class_round_trips():
    needs = {
        "RandomResizedCrop": {"size": 8},
        "RandomCrop": {"size": 8},
        "RandomPosterize": {"bits": 4},
        "RandomSolarize": {"threshold": 128},
        "RandomRotation": {"degrees": 10},
        "Normalize": {"mean": 0.5, "std": 0.2},
        "Compose": {"transforms": []},
        "RandomApply": {"transforms": [{"name": "RandomInvert"}]},
        "RandomChoice": {"transforms": [{"name": "RandomInvert"}]},
        "Resize": {"size": 8},
        "CenterCrop": {"size": 8},
        "GaussianBlur": {"kernel_size": 3},
    }
    for name in registry():
        layer = from_config({"name": name, **needs.get(name, {})})
        assert from_config(layer.to_config()).to_config() == layer.to_config(), name


def test_shorthands():
    assert isinstance(from_config("RandomHorizontalFlip"), RandomHorizontalFlip)
    assert isinstance(from_config("rand-m9-n2-mstd0.5"), TimmRandAugment)
    assert isinstance(from_config("trivialaugmentwide"), TrivialAugmentWide)
    pipe = from_config([{"name": "AutoAugment", "policy": "svhn"}, {"name": "CutMix", "num_classes": 10}])
    assert isinstance(pipe, Compose) and isinstance(pipe[0], AutoAugment) and isinstance(pipe[1], CutMix)


@pytest.mark.parametrize(
    "cfg, exc, match",
    [
        ({"name": "RandomWarp"}, ValueError, "RandomWarp"),
        ({"degrees": 3}, ValueError, "name"),
        ({"name": "RandomRotation", "degrees": 10, "colour": 3}, TypeError, "RandomRotation"),
        ({"name": "RandomRotation", "degrees": -3}, ValueError, "degrees"),
        ({"name": "Compose"}, ValueError, "transforms"),
        (3, TypeError, "config"),
        ("missing/file.yaml", ValueError, "does not exist"),
    ],
)
def test_bad_configs(cfg, exc, match):
    with pytest.raises(exc, match=match):
        from_config(cfg)


def test_preview_writes_grid(tmp_path):
    x = photo_batch(3, (24, 32))
    path = tmp_path / "grid.png"
    im = preview(pipeline(), x, draws=2, path=path)
    assert path.exists()
    loaded = Image.open(path)
    assert loaded.size == im.size
    # 3 rows, 1 + 2 columns of cells at most 24 x 32 plus 4-pixel gaps
    assert loaded.size == (3 * (32 + 4) + 4, 3 * (24 + 4) + 4)
    with pytest.raises(ValueError, match="draws"):
        preview(pipeline(), x, draws=0, path=path)
    # pipelines with a mixing layer get labels
    preview(Compose([RandomHorizontalFlip(), CutMix(num_classes=3)]), x, draws=1, path=tmp_path / "mix.png")
