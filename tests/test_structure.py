"""The shape of the house: one name per primitive in both implementation trees, functional as the only door,
an honest backend, and one call signature for every layer."""

from __future__ import annotations

import ast
import importlib
import pathlib
import sys

import pytest
import torch
from helpers import photo_batch

import gpuaug
from gpuaug import backend

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _imports(path: pathlib.Path) -> set[str]:
    """Absolute module names imported by a source file (``from gpuaug import backend`` -> gpuaug.backend)."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _files(*parts: str) -> list[pathlib.Path]:
    files = []
    for p in parts:
        q = ROOT / p
        files.extend(sorted(q.rglob("*.py")) if q.is_dir() else [q])
    return files


def test_torch_path_mirrors_kernels_file_for_file():
    """Every family (a public module) has both implementations; ``_common`` both trees' shared helpers;
    other private kernel modules (``kernels/_draws.py``) are device functions a family's kernels call."""
    def families(tree):
        return {p.stem for p in (ROOT / tree).glob("*.py") if not p.stem.startswith("_")}

    assert families("kernels") == families("gpuaug/_torch")
    assert (ROOT / "gpuaug/_torch/_common.py").exists() and (ROOT / "kernels/_common.py").exists()
    for name, family in backend.PRIMITIVES.items():
        ref = importlib.import_module(f"gpuaug._torch.{family}")
        assert callable(getattr(ref, name)), (family, name)
        src = (ROOT / "kernels" / f"{family}.py").read_text()
        assert f"def {name}(" in src, (family, name)
        # every kernel primitive is a torch custom op (torch.compile sees it), except the plan's: they take a
        # plan (a Python object a custom op cannot take) and run outside compiled code
        if family != "pipeline":
            assert f'@register("{name}")' in src, (family, name)


@pytest.mark.parametrize("area", ["gpuaug/layers", "gpuaug/policies", "gpuaug/loader"])
def test_functional_is_the_only_door(area):
    for path in _files(area):
        bad = {m for m in _imports(path)
               if m.startswith(("gpuaug._torch", "gpuaug._host", "gpuaug.kernels", "gpuaug.backend"))}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("area", ["gpuaug/_torch", "gpuaug/_host", "kernels", "gpuaug/backend.py"])
def test_implementations_do_not_import_upward(area):
    up = ("gpuaug.functional", "gpuaug.layers", "gpuaug.policies", "gpuaug.loader", "gpuaug.feeding")
    for path in _files(area):
        bad = {m for m in _imports(path) if m.startswith(up)}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_no_module_over_500_lines():
    for path in _files("gpuaug", "kernels"):
        n = len(path.read_text().splitlines())
        assert n <= 520, f"{path.relative_to(ROOT)} has {n} lines"


# ------------------------------------------------------------------------------------------- backend


@pytest.fixture
def broken_lut_kernels(monkeypatch):
    """``gpuaug.kernels.lut`` fails to import (as after a broken install)."""
    monkeypatch.setitem(sys.modules, "gpuaug.kernels.lut", None)  # import raises ImportError
    monkeypatch.setattr(backend, "_failed", {})
    previous = backend.get_backend()
    yield
    backend.set_backend(previous)


def test_triton_backend_fails_loudly_when_a_kernel_module_does_not_import(broken_lut_kernels):
    x = torch.zeros(1, 3, 4, 4, dtype=torch.uint8)
    backend.set_backend("triton")
    with pytest.raises(RuntimeError, match=r"gpuaug\.kernels\.lut does not import \(ModuleNotFoundError"):
        backend.op("apply_lut", x)


def test_auto_backend_falls_back_with_one_warning(broken_lut_kernels, monkeypatch):
    backend.set_backend("auto")
    monkeypatch.setattr(backend, "use_triton", lambda t: True)  # as for a CUDA tensor
    x = torch.zeros(1, 3, 4, 4, dtype=torch.uint8)
    with pytest.warns(RuntimeWarning, match="running the torch path instead"):
        fn = backend.op("apply_lut", x)
    from gpuaug._torch import lut

    assert fn is lut.apply_lut
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert backend.op("equalize_lut", x) is lut.equalize_lut  # same family: no second warning


# ------------------------------------------------------------------------------------ one signature

LAYERS = [
    lambda: gpuaug.RandomRotation(20),
    lambda: gpuaug.ColorJitter(0.2, 0.2, 0.2, 0.1),
    lambda: gpuaug.Compose([gpuaug.RandomHorizontalFlip(), gpuaug.RandomPosterize(4, p=1.0)]),
    lambda: gpuaug.RandomApply([gpuaug.RandomAffine(10)], p=0.5),
    lambda: gpuaug.RandomChoice([gpuaug.RandomInvert(), gpuaug.RandomEqualize()]),
    lambda: gpuaug.RandAugment(),
    lambda: gpuaug.TrivialAugmentWide(),
    lambda: gpuaug.KerasAugment(rotation_range=20, zoom_range=0.1, channel_shift_range=20,
                                horizontal_flip=True),
    lambda: gpuaug.Compose([gpuaug.GaussianBlur(3), gpuaug.GaussianNoise(), gpuaug.RandomChannelShift()]),
]


@pytest.mark.parametrize("make", LAYERS)
def test_every_layer_takes_labels_then_targets_by_keyword(make):
    x = photo_batch(3, (24, 32))
    labels = torch.tensor([0, 2, 1])
    masks = torch.randint(0, 5, (3, 24, 32))
    boxes = torch.tensor([[[2.0, 3.0, 10.0, 12.0]]]).repeat(3, 1, 1)
    box_labels = torch.tensor([[7], [8], [9]])
    kps = torch.tensor([[[5.0, 6.0]]]).repeat(3, 1, 1)
    layer = make()
    out = layer(x, labels, masks=masks, boxes=boxes, box_labels=box_labels, keypoints=kps)
    assert [t.shape for t in out] == [x.shape, labels.shape, masks.shape, boxes.shape, box_labels.shape,
                                      kps.shape]
    assert torch.equal(out[1], labels) and torch.equal(out[4], box_labels)  # carried through as given
    img, lab, params = layer(x, labels=labels, return_params=True)
    assert img.shape == x.shape and torch.equal(lab, labels) and isinstance(params, dict)
    assert isinstance(layer(x), torch.Tensor)


@pytest.mark.parametrize("make", LAYERS)
def test_a_mask_given_as_second_positional_argument_is_an_error(make):
    x = photo_batch(2, (24, 32))
    with pytest.raises(ValueError, match=r"labels.*masks="):
        make()(x, torch.zeros(2, 24, 32, dtype=torch.int64))
    with pytest.raises(ValueError, match="labels"):
        make()(x, {"mask": torch.zeros(2, 24, 32)})


def test_target_shapes_are_checked_naming_the_target():
    x = photo_batch(4, (24, 32))
    layer = gpuaug.RandomRotation(10)
    with pytest.raises(ValueError, match="boxes"):
        layer(x, boxes=torch.zeros(3, 1, 4))
    with pytest.raises(ValueError, match="masks"):
        layer(x, masks=torch.zeros(4, 12, 16))
    with pytest.raises(ValueError, match="keypoints"):
        layer(x, keypoints=torch.zeros(4, 2, 3))
    with pytest.raises(ValueError, match="labels"):
        layer(x, torch.zeros(5, dtype=torch.int64))
    with pytest.raises(ValueError, match="box_labels"):
        layer(x, boxes=torch.zeros(4, 2, 4), box_labels=torch.zeros(4, 3, dtype=torch.int64))


def test_compose_with_a_mixer_returns_labels_first():
    x = photo_batch(4, (24, 32))
    labels = torch.tensor([0, 1, 2, 3])
    pipe = gpuaug.Compose([gpuaug.RandomHorizontalFlip(), gpuaug.CutMix(num_classes=4)])
    img, soft = pipe(x, labels)
    assert img.shape == x.shape and soft.shape == (4, 4)
    torch.testing.assert_close(soft.sum(1), torch.ones(4))
    with pytest.raises(ValueError, match="needs labels"):
        pipe(x)
    img, soft, masks = pipe(x, labels, masks=torch.zeros(4, 24, 32))  # CutMix pastes masks (test_targets.py)
    assert masks.shape == (4, 24, 32)
    mixup = gpuaug.Compose([gpuaug.RandomHorizontalFlip(), gpuaug.MixUp(num_classes=4)])
    with pytest.raises(ValueError, match="masks"):
        mixup(x, labels, masks=torch.zeros(4, 24, 32))


def test_host_kernels_are_primitives_with_the_torch_paths_signatures():
    import inspect

    pytest.importorskip("cv2")
    families = {p.stem for p in (ROOT / "gpuaug" / "_host").glob("*.py") if not p.stem.startswith("_")}
    assert families <= set(backend.PRIMITIVES.values())
    found = 0
    for family in families:
        host = importlib.import_module(f"gpuaug._host.{family}")
        ref = importlib.import_module(f"gpuaug._torch.{family}")
        for name, fam in backend.PRIMITIVES.items():
            if fam == family and hasattr(host, name):
                found += 1
                want = list(inspect.signature(getattr(ref, name)).parameters)
                assert list(inspect.signature(getattr(host, name)).parameters) == want, name
    assert found >= 4
