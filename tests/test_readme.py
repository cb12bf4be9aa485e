"""The README's usage example runs as written (on the CPU, at a small size)."""

import pathlib
import re

import numpy as np
import pytest
import torch

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_usage_example_runs_on_cpu():
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    # The example targets a GPU; run it on the CPU with a small batch so CI stays quick.
    code = code.replace('"cuda"', '"cpu"').replace("256", "8").replace("224", "48")
    code = code.replace("num_workers=8", "num_workers=0")
    rng = np.random.default_rng(0)
    dataset = [(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8), i % 10) for i in range(16)]
    scope = {"dataset": dataset}
    exec(compile(code, str(README), "exec"), scope)
    assert scope["img"].shape == (8, 3, 48, 48) and scope["img"].dtype == torch.uint8
    assert torch.allclose(scope["soft_labels"].sum(1), torch.ones(8))
    images, targets = next(iter(scope["feed"]))
    assert images.dtype == torch.bfloat16 and images.shape == (8, 3, 48, 48)
    assert images.is_contiguous(memory_format=torch.channels_last)
    assert targets.shape == (8, 1000)


def _blocks(section: str) -> list[str]:
    text = README.read_text()
    start = text.index(f"## {section}\n")
    part = text[start:text.index("\n## ", start + 1)]
    return re.findall(r"```python\n(.*?)```", part, re.S)


def _seg_scope() -> dict:
    scope: dict = {}
    exec(compile(_blocks("Segmentation and detection")[0], str(README), "exec"), scope)
    return scope


def test_readme_segmentation_and_detection_examples_run():
    det = _blocks("Segmentation and detection")[1]
    scope = _seg_scope()
    assert scope["img"].shape == (8, 3, 48, 48) and scope["mask"].shape == (8, 48, 48)
    assert set(scope["mask"].unique().tolist()) <= set(range(21)) | {255}
    exec(compile(det, str(README), "exec"), scope)
    boxes, classes = scope["boxes"], scope["classes"]
    assert isinstance(boxes, list) and [len(b) for b in boxes] == [len(c) for c in classes]
    assert all(((b >= 0) & (b <= 1)).all() for b in boxes)  # cx, cy, w, h fractions, as given


def test_readme_hugging_face_example_runs():
    """On a small in-memory dataset, on the CPU."""
    hf = _blocks("Segmentation and detection")[2]
    scope = _seg_scope()
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is not installed")
    from PIL import Image

    rng = np.random.default_rng(0)
    rows = {"image": [Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)) for _ in range(4)],
            "mask": [Image.fromarray(rng.integers(0, 21, (64, 64), dtype=np.uint8)) for _ in range(4)],
            "label": [0, 1, 2, 3]}
    features = datasets.Features({"image": datasets.Image(), "mask": datasets.Image(),
                                  "label": datasets.Value("int64")})
    scope["hf_dataset"] = datasets.Dataset.from_dict(rows, features=features)
    code = hf.replace('"cuda"', '"cpu"').replace("pin_memory=True", "pin_memory=False")
    exec(compile(code, str(README), "exec"), scope)
    batch = scope["batch"]
    assert batch["image"].shape == (4, 3, 48, 48) and batch["image"].dtype == torch.float32
    assert batch["mask"].shape == (4, 48, 48) and batch["label"].tolist() == [0, 1, 2, 3]


def test_readme_lightning_example_runs():
    """The hook as Lightning calls it (a LightningModule is an nn.Module; Lightning itself is not needed)."""
    lightning = _blocks("Segmentation and detection")[3]
    scope = _seg_scope()
    scope["lightning"] = type("lightning", (), {"LightningModule": torch.nn.Module})
    exec(compile(lightning, str(README), "exec"), scope)
    module = scope["Segmenter"]()
    x = torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8)
    m = torch.randint(0, 21, (4, 64, 64))
    out = module.on_after_batch_transfer({"image": x, "mask": m, "name": ["a", "b", "c", "d"]}, 0)
    assert out["image"].shape == (4, 3, 48, 48) and out["mask"].shape == (4, 48, 48)
    assert out["name"] == ["a", "b", "c", "d"]
    module.eval()
    out = module.on_after_batch_transfer((x, torch.arange(4)), 0)
    assert isinstance(out, tuple) and out[0].shape == (4, 3, 64, 64) and torch.equal(out[1], torch.arange(4))
