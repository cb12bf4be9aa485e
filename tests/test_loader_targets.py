"""Targets through the loader (docs/contract.md "Targets"): BatchHook, DeviceLoader, AugmentingCollate and
collate_uint8 on tuple and dict batches, Hugging Face datasets, a Lightning-style hook call."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

import gpuaug
from gpuaug.loader import AugmentingCollate, BatchHook, DeviceLoader, collate_uint8

H, W = 36, 44
SQUARE = (12, 8, 28, 20)  # x0, y0, x1, y1 (exclusive)


def _samples(n: int = 6):
    """Dict samples as a dataset gives them: a real photo (PIL, values 1..128), its mask (PIL "L": the
    square is id 3), its boxes (a list of lists, K_i = i % 3), their labels, the class label, an id."""
    from gpuaug.samples import sample_photos

    photos = [np.asarray(im) for _, im in sample_photos()]
    out = []
    for i in range(n):
        a = photos[i % len(photos)][4 * i: 4 * i + H, 2 * i: 2 * i + W] // 2 + 1
        m = np.zeros((H, W), np.uint8)
        x0, y0, x1, y1 = SQUARE
        a[y0:y1, x0:x1] = 255
        m[y0:y1, x0:x1] = 3
        boxes = [list(map(float, SQUARE))] * (i % 3)
        out.append({"image": Image.fromarray(a), "mask": Image.fromarray(m), "boxes": boxes,
                    "box_labels": [7] * (i % 3), "label": i % 4, "id": f"s{i}"})
    return out


def _geometric(seed=0, size=(32, 40)):
    g = torch.Generator().manual_seed(seed)
    return gpuaug.Compose([gpuaug.RandomAffine(20, translate=(0.1, 0.1), generator=g),
                           gpuaug.RandomHorizontalFlip(generator=g),
                           gpuaug.RandomResizedCrop(size, scale=(0.6, 1.0), interpolation="nearest",
                                                    generator=g)])


def _check_square(images_u8, masks, boxes):
    """The square's pixels are its mask, and lie inside its box (pixel edges)."""
    bright = (images_u8 == 255).all(1)
    assert torch.equal(bright, masks == 3)
    for i, b in enumerate(boxes):
        if len(b) and bright[i].any():
            ys, xs = bright[i].nonzero().unbind(1)
            x0, y0, x1, y1 = b[0].tolist()
            assert x0 - 1e-3 <= xs.min() + 0.5 and xs.max() + 0.5 <= x1 + 1e-3
            assert y0 - 1e-3 <= ys.min() + 0.5 and ys.max() + 0.5 <= y1 + 1e-3


def _unnormalized(hook_out):
    return hook_out.mul(255).round().to(torch.uint8)


def _hook(augment, **kw):
    return BatchHook(augment, mean=None, std=None, **kw)


# ------------------------------------------------------------------------------------------- collate


def test_collate_uint8_dict_samples():
    batch = collate_uint8(_samples())
    assert batch["image"].shape == (6, 3, H, W) and batch["image"].dtype == torch.uint8
    assert batch["mask"].shape == (6, H, W) and batch["mask"].dtype == torch.uint8
    assert batch["label"].tolist() == [0, 1, 2, 3, 0, 1]
    assert [tuple(b.shape) for b in batch["boxes"]] == [(0, 4), (1, 4), (2, 4)] * 2
    assert batch["boxes"][1].dtype == torch.float32 and batch["box_labels"][2].tolist() == [7, 7]
    assert batch["id"] == [f"s{i}" for i in range(6)]  # other keys: the list of values, untouched


def test_collate_misuses():
    samples = _samples(2)
    with pytest.raises(ValueError, match="tuple samples are \\(image, label\\).*dict"):
        collate_uint8([(s["image"], s["label"], s["mask"]) for s in samples])
    with pytest.raises(ValueError, match="'label' of sample 0 has shape.*'mask'"):
        collate_uint8([{"image": s["image"], "label": s["mask"]} for s in samples])
    with pytest.raises(ValueError, match="'image' or 'pixel_values'"):
        collate_uint8([{"img": s["image"]} for s in samples])
    with pytest.raises(ValueError, match="both 'mask' and 'masks'"):
        collate_uint8([{"image": s["image"], "mask": s["mask"], "masks": s["mask"]} for s in samples])


@pytest.mark.parametrize("form", ["pil", "numpy", "tensor"])
def test_augmenting_collate_on_dict_samples(form):
    samples = _samples()
    if form != "pil":
        for s in samples:
            s["image"], s["mask"] = np.array(s["image"]), np.array(s["mask"])
            if form == "tensor":
                s["image"] = torch.from_numpy(s["image"]).permute(2, 0, 1)  # CHW
                s["mask"] = torch.from_numpy(s["mask"]).long()
    collate = AugmentingCollate(_hook(_geometric(), num_classes=4))
    out = collate(samples)
    assert set(out) == {"image", "mask", "boxes", "box_labels", "label", "id"}
    assert out["image"].shape == (6, 3, 32, 40) and out["image"].dtype == torch.float32
    assert out["mask"].shape == (6, 32, 40) and not out["mask"].is_floating_point()  # never one-hot
    assert out["label"].shape == (6, 4)  # num_classes: the class labels only
    assert [len(b) for b in out["boxes"]] == [0, 1, 2] * 2 and out["id"] == [f"s{i}" for i in range(6)]
    _check_square(_unnormalized(out["image"]), out["mask"], out["boxes"])
    # the squares started at one place in every image: moved per sample, they now differ
    assert len({tuple((out["mask"][i] == 3).nonzero().float().mean(0).tolist()) for i in range(6)}) > 1


# --------------------------------------------------------------------------------------------- hook


def test_hook_keywords_tuple_and_dict_batches():
    batch = collate_uint8(_samples())
    x, masks, y = batch["image"], batch["mask"], batch["label"]
    boxes = torch.tensor([[SQUARE]], dtype=torch.float32).repeat(6, 1, 1)
    hook = _hook(_geometric(), num_classes=4)
    out = hook(x, y, masks=masks, boxes=boxes)
    assert len(out) == 4 and out[1].shape == (6, 4) and out[2].shape == (6, 32, 40)
    assert out[3].shape == (6, 1, 4)
    _check_square(_unnormalized(out[0]), out[2], out[3])
    assert isinstance(hook(x), torch.Tensor)
    xt, yt = hook((x, y))  # a tuple batch: the same structure back
    assert xt.shape == (6, 3, 32, 40) and yt.shape == (6, 4)
    assert isinstance(hook([x, y]), list)
    with pytest.raises(ValueError, match="tuple batch is \\(images, labels\\).*dict batch"):
        hook((x, y, masks))
    # a dict batch from a Hugging Face image processor's keys; other keys untouched (the same objects)
    extra = {"attention": torch.ones(6)}
    d = {"pixel_values": x, "labels": y, "masks": masks, "meta": extra}
    out = hook(d)
    assert out is not d and set(out) == set(d) and out["meta"] is extra and d["pixel_values"] is x
    assert out["pixel_values"].shape == (6, 3, 32, 40) and out["masks"].shape == (6, 32, 40)
    assert out["labels"].shape == (6, 4) and hook.plan_reason is not None


def test_hook_eval_passes_targets_and_checks_them():
    batch = collate_uint8(_samples())
    hook = _hook(_geometric(), num_classes=4).eval()
    out = hook(batch)
    assert torch.equal(out["mask"], batch["mask"])
    assert all(a is b for a, b in zip(out["boxes"], batch["boxes"]))  # untouched
    assert out["image"].shape == (6, 3, H, W) and out["label"].shape == (6, 4)
    with pytest.raises(ValueError, match="masks must have the image's height and width"):
        hook(batch["image"], masks=batch["mask"][:, :20])
    with pytest.raises(ValueError, match="^masks must have one entry per sample"):
        hook(batch["image"], masks=batch["mask"][:4])
    with pytest.raises(ValueError, match="^boxes must have one entry per sample"):
        hook(batch["image"], boxes=batch["boxes"][:4])
    with pytest.raises(ValueError, match="labels.*'mask'"):
        hook({"image": batch["image"], "label": batch["mask"]})


def test_hook_box_format_said_once():
    """Boxes in cxcywh fractions through the hook: after a flip, 1 - cx, the rest unchanged."""
    x = collate_uint8(_samples())["image"]
    boxes = torch.tensor([[[0.25, 0.5, 0.2, 0.4]]]).repeat(6, 1, 1)
    hook = _hook(gpuaug.RandomHorizontalFlip(p=1.0), box_format="cxcywh", normalized=True)
    _, out = hook(x, boxes=boxes)
    torch.testing.assert_close(out, torch.tensor([[[0.75, 0.5, 0.2, 0.4]]]).repeat(6, 1, 1))
    with pytest.raises(ValueError, match="box_format"):
        _hook(None, box_format="xyxy_abs")


def test_hook_cutmix_with_masks_and_mixup_error():
    batch = collate_uint8(_samples(4))
    x = batch["image"]
    masks = torch.arange(4)[:, None, None].expand(4, H, W).contiguous()
    hook = _hook(None, mix=gpuaug.CutMix(num_classes=4, generator=torch.Generator().manual_seed(3)))
    out = hook({"image": x, "label": batch["label"], "mask": masks})
    got = torch.gather(x, 0, out["mask"][:, None].expand(4, 3, H, W).long())
    assert torch.equal(_unnormalized(out["image"]), got) and out["label"].shape == (4, 4)
    _, m = hook(x, masks=masks)  # segmentation only: no class labels needed
    assert m.shape == masks.shape
    with pytest.raises(ValueError, match="^masks: .*MixUp"):
        gpuaug.build_hook("none", size=H, num_classes=4, crop=False)(x, batch["label"], masks=masks)


def test_sanitize_in_the_hook_removes_boxes_from_lists():
    batch = collate_uint8(_samples())
    boxes = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [50.0, 0.0, 60.0, 5.0]])] * 6  # the second lies outside
    labels = [torch.tensor([1, 2])] * 6
    hook = _hook(gpuaug.Compose([gpuaug.RandomHorizontalFlip(p=0.0), gpuaug.SanitizeBoxes()]))
    _, b, lab = hook(batch["image"], boxes=boxes, box_labels=labels)
    assert [len(t) for t in b] == [1] * 6 and [t.tolist() for t in lab] == [[1]] * 6


# ------------------------------------------------------------------------------------- DeviceLoader


def test_device_loader_dict_batches_from_default_collate():
    """A DataLoader with the default collate over dict samples of arrays: masks cropped with the images."""
    samples = [{"image": np.array(s["image"]), "mask": np.asarray(s["mask"]).astype(np.int64),
                "label": s["label"], "id": s["id"]} for s in _samples(8)]
    dl = DataLoader(samples, batch_size=4)
    loader = DeviceLoader(dl, _hook(_geometric(1), num_classes=4), device="cpu")
    outs = list(loader)
    assert len(outs) == 2
    for out in outs:
        assert out["image"].shape == (4, 3, 32, 40) and out["mask"].shape == (4, 32, 40)
        assert out["mask"].dtype == torch.int64 and out["label"].shape == (4, 4) and len(out["id"]) == 4
        _check_square(_unnormalized(out["image"]), out["mask"], [[]] * 4)


def test_device_loader_tuple_batches_still_plain():
    x = collate_uint8(_samples(4))["image"]
    outs = list(DeviceLoader([(x, torch.arange(4)), x], _hook(None, num_classes=4), device="cpu"))
    assert isinstance(outs[0], tuple) and outs[0][1].shape == (4, 4) and isinstance(outs[1], torch.Tensor)
    with pytest.raises(ValueError, match="dict batch"):
        list(DeviceLoader([(x, torch.arange(4), torch.zeros(4, H, W))], device="cpu"))


def test_device_loader_prefetch_step_carries_targets(monkeypatch):
    """The CUDA prefetch path's per-batch step (pin, copy, augment), run on the CPU with the copy stubbed:
    every target is copied with the images and the dict comes back whole."""
    import gpuaug.loader.device as device

    copied = []
    monkeypatch.setattr(device, "_pinned_to", lambda t, dev: copied.append(t) or t)
    batch = collate_uint8(_samples(4))
    loader = DeviceLoader([], _hook(_geometric(5)), device="cpu")
    out = loader._prepare(batch)
    assert set(out) == set(batch) and out["id"] is batch["id"]
    assert len(copied) == 1 + 1 + 1 + 4 + 4  # images, label, mask, boxes and box_labels per image
    _check_square(_unnormalized(out["image"]), out["mask"], out["boxes"])


# -------------------------------------------------------------------------- Hugging Face, Lightning


def test_hugging_face_dataset_with_transform():
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is not installed")
    rows = _samples(8)
    features = datasets.Features({"image": datasets.Image(), "mask": datasets.Image(),
                                  "label": datasets.Value("int64")})
    ds = datasets.Dataset.from_dict({k: [r[k] for r in rows] for k in ("image", "mask", "label")},
                                    features=features)

    def to_arrays(batch):  # what a with_transform typically does: decode, convert, rename
        return {"pixel_values": [np.asarray(im.convert("RGB")) for im in batch["image"]],
                "masks": [np.asarray(m) for m in batch["mask"]], "labels": batch["label"]}

    for d in (ds.with_transform(to_arrays), ds):  # arrays, and the PIL images the dataset decodes
        collate = AugmentingCollate(_geometric(2), mean=None, std=None, num_classes=4)
        out = next(iter(DataLoader(d, batch_size=4, collate_fn=collate)))
        img_key, mask_key = ("pixel_values", "masks") if "pixel_values" in out else ("image", "mask")
        assert out[img_key].shape == (4, 3, 32, 40) and out[mask_key].shape == (4, 32, 40)
        _check_square(_unnormalized(out[img_key]), out[mask_key], [[]] * 4)


def test_lightning_style_on_after_batch_transfer():
    """The README's Lightning pattern, without Lightning: the trainer calls
    ``on_after_batch_transfer(batch, dataloader_idx)`` with the collated batch on the device, and the
    module's train()/eval() switches the hook with it."""

    class Module(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hook = gpuaug.BatchHook(_geometric(4), num_classes=4)

        def on_after_batch_transfer(self, batch, dataloader_idx):
            return self.hook(batch)

    module = Module()
    batch = collate_uint8(_samples(4))  # what the default dataloader + transfer gives: a dict of tensors
    batch["boxes"] = torch.nn.utils.rnn.pad_sequence(batch["boxes"], batch_first=True)
    batch["box_labels"] = torch.nn.utils.rnn.pad_sequence(batch["box_labels"], batch_first=True)
    out = module.on_after_batch_transfer(batch, 0)
    assert out["image"].shape == (4, 3, 32, 40) and out["image"].dtype == torch.float32
    assert out["mask"].shape == (4, 32, 40) and out["boxes"].shape == (4, 2, 4)
    assert out["label"].shape == (4, 4)
    module.eval()
    out = module.on_after_batch_transfer(batch, 0)
    assert out["image"].shape == (4, 3, H, W) and torch.equal(out["mask"], batch["mask"])
