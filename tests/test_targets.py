"""Targets through every layer, container, policy and mixer (docs/contract.md "Targets"): masks, boxes
(formats, normalization, lists), SanitizeBoxes, CutMix with masks, and the misuses' errors."""

from __future__ import annotations

import pytest
import torch
from helpers import photo_batch

import gpuaug
from gpuaug import functional as F
from gpuaug.policies import registry as R

H, W = 40, 52
SQUARE = (14, 9, 30, 21)  # x0, y0, x1, y1 (x1, y1 exclusive) of the bright square


def gen(seed):
    return torch.Generator().manual_seed(seed)


def scene(b: int = 6):
    """Dark real photos (values 1..128: no 0, no 255) with a 255 square, its mask (id 3) and its box."""
    x = photo_batch(b, (H, W)) // 2 + 1
    x0, y0, x1, y1 = SQUARE
    x[:, :, y0:y1, x0:x1] = 255
    masks = torch.zeros(b, H, W, dtype=torch.int64)
    masks[:, y0:y1, x0:x1] = 3
    boxes = torch.tensor([SQUARE], dtype=torch.float32).repeat(b, 1, 1)
    return x, masks, boxes


def _bright(img):
    return (img == 255).all(1)  # (B, H, W)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_square_box_and_mask_agree_through_compose(seed):
    """The acceptance test of issue 12: through Compose([RandomAffine, RandomHorizontalFlip,
    RandomResizedCrop]) the square's pixels equal its mask and lie inside its box (nearest everywhere, so
    the image, the mask and the box follow one matrix exactly)."""
    x, masks, boxes = scene()
    g = gen(seed)
    pipe = gpuaug.Compose([
        gpuaug.RandomAffine(25, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=5, generator=g),
        gpuaug.RandomHorizontalFlip(generator=g),
        gpuaug.RandomResizedCrop((36, 44), scale=(0.5, 1.0), interpolation="nearest", generator=g),
    ])
    img, m, b = pipe(x, masks=masks, boxes=boxes)
    assert img.shape == (6, 3, 36, 44) and m.shape == (6, 36, 44) and m.dtype == torch.int64
    bright = _bright(img)
    assert torch.equal(bright, m == 3)
    assert set(m.unique().tolist()) <= {0, 3}
    ys, xs = torch.meshgrid(torch.arange(36.0), torch.arange(44.0), indexing="ij")
    for i in range(6):
        assert bright[i].any()
        # a pixel (centre c) is in the box [x0, x1) when x0 <= c + 1/2 <= x1 (pixel edges); 1e-3: float32
        cx, cy = xs[bright[i]] + 0.5, ys[bright[i]] + 0.5
        x0, y0, x1, y1 = b[i, 0].tolist()
        assert x0 - 1e-3 <= cx.min() and cx.max() <= x1 + 1e-3
        assert y0 - 1e-3 <= cy.min() and cy.max() <= y1 + 1e-3
        assert 0 <= x0 <= x1 <= 44 and 0 <= y0 <= y1 <= 36
    # the same draws replayed on each target alone give the same targets
    params = pipe.sample(x.shape, "cpu")
    full = pipe.apply(x, params, masks=masks, boxes=boxes)
    assert torch.equal(pipe.apply(x, params, masks=masks)[1], full[1])
    assert torch.equal(pipe.apply(x, params, boxes=boxes)[1], full[2])


@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8, torch.float32, torch.bool])
@pytest.mark.parametrize("stacked", [False, True])
@pytest.mark.parametrize("make", [
    lambda fill: gpuaug.Compose([gpuaug.RandomRotation(40, mask_fill=fill), gpuaug.RandomHorizontalFlip()]),
    lambda fill: gpuaug.RandomApply([gpuaug.RandomAffine(30, translate=(0.2, 0.2), mask_fill=fill)], p=0.7),
    lambda fill: gpuaug.RandomChoice([gpuaug.RandomRotation(40, mask_fill=fill),
                                      gpuaug.RandomAffine(0, translate=(0.3, 0.3), mask_fill=fill)]),
], ids=["Compose", "RandomApply", "RandomChoice"])
def test_mask_fill_marks_where_the_image_took_its_fill(make, stacked, dtype):
    """Masks (B, H, W) or (B, M, H, W) of any dtype take ``mask_fill`` exactly where the image took its
    fill (0: the photos have no 0), and the square's id where the image is the square."""
    x, masks, _ = scene(8)
    fill = 1 if dtype == torch.bool else 255
    m = masks.to(dtype)
    m = torch.stack([m, m], 1) if stacked else m
    layer = make(fill)
    torch.manual_seed(3)
    img, out = layer(x, masks=m)
    assert out.dtype == dtype and out.shape == m.shape
    first = out[:, 0] if stacked else out
    outside = (img == 0).all(1)
    assert outside.any()
    if dtype == torch.bool:
        assert torch.equal(first, outside | _bright(img))
    else:
        assert torch.equal(first == fill, outside)
        assert torch.equal(first == 3, _bright(img))
    if stacked:
        assert torch.equal(out[:, 0], out[:, 1])


@pytest.mark.parametrize("make", [lambda: gpuaug.RandAugment(num_ops=1, magnitude=20, mask_fill=255),
                                  lambda: gpuaug.TrivialAugmentWide(mask_fill=255),
                                  lambda: gpuaug.TimmRandAugment(num_ops=1, magnitude=20, op_prob=1.0,
                                                                 mask_fill=255, fill=0,
                                                                 interpolation="nearest")])
def test_policies_move_masks_with_their_geometric_ops(make):
    """One op per sample: where it is geometric, the mask takes 255 exactly where the image took its fill;
    where it is a pixel op, the mask is unchanged."""
    x, masks, _ = scene(16)
    policy = make()
    policy.generator = gen(5)
    img, out, params = policy(x, masks=masks, return_params=True)
    ops = [R.KINDS[k] for k in policy.op_kinds(params)[:, 0].tolist()]  # (identity where inactive)
    moved = 0
    for i, op in enumerate(ops):
        if op in R.GEOMETRIC:
            assert torch.equal(out[i] == 255, (img[i] == 0).all(0)), op
            moved += int((out[i] == 255).any())
        else:
            assert torch.equal(out[i], masks[i]), op
    assert moved > 0
    assert policy.to_config()["mask_fill"] == 255
    assert "mask_fill" not in gpuaug.RandAugment().to_config()  # (default: configs unchanged)


# ------------------------------------------------------------------------------------------------ boxes

BOXES = torch.tensor([[[2.0, 3.0, 10.0, 12.5], [20.0, 5.0, 51.0, 30.0]],
                      [[0.0, 0.0, 52.0, 40.0], [7.5, 8.0, 9.0, 39.0]]])


def _in_format(xyxy, fmt, normalized, size=(H, W)):
    """Hand-written oracle: xyxy pixels -> fmt (and fractions)."""
    x0, y0, x1, y1 = xyxy.unbind(-1)
    out = {"xyxy": (x0, y0, x1, y1), "xywh": (x0, y0, x1 - x0, y1 - y0),
           "cxcywh": ((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0)}[fmt]
    out = torch.stack(out, -1)
    if normalized:
        out = out / torch.tensor([size[1], size[0], size[1], size[0]], dtype=out.dtype)
    return out


@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "cxcywh"])
@pytest.mark.parametrize("normalized", [False, True])
@pytest.mark.parametrize("as_list", [False, True])
def test_box_formats_round_trip(fmt, normalized, as_list):
    x = photo_batch(2, (H, W))
    given = _in_format(BOXES, fmt, normalized)
    arg = list(given) if as_list else given
    kw = {"box_format": fmt, "normalized": normalized}
    # a pixel op: the boxes come back as given
    out = gpuaug.ColorJitter(0.3)(x, boxes=arg, **kw)[1]
    assert isinstance(out, list) == as_list
    for a, b in zip(out, arg):
        assert torch.equal(a, b)
    # a flip: x -> W - x on the edges; the answer in the format and normalization given
    flipped = BOXES[..., [2, 1, 0, 3]] * torch.tensor([-1.0, 1, -1, 1]) + torch.tensor([W, 0.0, W, 0])
    out = gpuaug.RandomHorizontalFlip(p=1.0)(x, boxes=arg, **kw)[1]
    torch.testing.assert_close(torch.stack(list(out)), _in_format(flipped, fmt, normalized))
    # a resize to another size: normalized boxes are fractions of the output's size
    out = gpuaug.RandomResizedCrop((20, 26), scale=(1, 1), ratio=(W / H, W / H))(x, boxes=arg, **kw)[1]
    torch.testing.assert_close(torch.stack(list(out)), _in_format(BOXES / 2, fmt, normalized, (20, 26)))
    # the functional conversion, both ways
    torch.testing.assert_close(F.convert_boxes(BOXES, "xyxy", fmt), _in_format(BOXES, fmt, False))
    torch.testing.assert_close(F.convert_boxes(_in_format(BOXES, fmt, False), fmt, "xyxy"), BOXES)


def test_single_image_boxes_in_a_format():
    x = photo_batch(1, (H, W))[0]
    given = _in_format(BOXES[0], "cxcywh", True)
    img, out = gpuaug.RandomHorizontalFlip(p=0.0)(x, boxes=given, box_format="cxcywh", normalized=True)
    assert img.shape == x.shape
    torch.testing.assert_close(out, given)  # (the identity warp, and back to fractions: float32 rounding)
    out = gpuaug.RandomGrayscale(p=1.0)(x, boxes=given, box_format="cxcywh", normalized=True)[1]
    assert torch.equal(out, given)  # a pixel op: exactly the boxes given
    img, out = gpuaug.RandomVerticalFlip(p=1.0)(x, boxes=given, box_format="cxcywh", normalized=True)
    want = torch.stack([given[:, 0], 1 - given[:, 1], given[:, 2], given[:, 3]], -1)
    torch.testing.assert_close(out, want)


def test_list_boxes_with_different_counts_per_image():
    """K_i = 2, 0, 3: each image's boxes equal the padded batch's rows under the same draws, labels kept."""
    x = photo_batch(3, (H, W))
    boxes = [BOXES[0], torch.zeros(0, 4), torch.cat([BOXES[1], BOXES[0, :1]])]
    labels = [torch.tensor([1, 2]), torch.zeros(0, dtype=torch.int64), torch.tensor([3, 4, 5])]
    pipe = gpuaug.Compose([gpuaug.RandomAffine(20, scale=(0.8, 1.1)), gpuaug.RandomResizedCrop((30, 30))])
    params = pipe.sample(x.shape, "cpu")
    img, out, out_labels = pipe.apply(x, params, boxes=boxes, box_labels=labels)
    assert [tuple(b.shape) for b in out] == [(2, 4), (0, 4), (3, 4)]
    assert all(torch.equal(a, b) for a, b in zip(out_labels, labels))
    padded = torch.nn.utils.rnn.pad_sequence(boxes, batch_first=True)
    _, want = pipe.apply(x, params, boxes=padded)
    for i, b in enumerate(out):
        torch.testing.assert_close(b, want[i, :len(b)])


def test_sanitize_boxes_drops_boxes_and_labels():
    """A translation of exactly +W/2 (p=1, whole pixels): the right half's boxes leave the image."""
    x = photo_batch(2, (H, W))
    shift = gpuaug.RandomAffine(0, translate=(0.5, 0.0))
    params = {"apply": torch.ones(2, dtype=torch.bool), "angle": torch.zeros(2),
              "translate": torch.tensor([[26.0, 0.0], [26.0, 0.0]])}
    pipe = gpuaug.Compose([shift, gpuaug.SanitizeBoxes(min_size=1.0)])
    boxes = [torch.tensor([[2.0, 3.0, 10.0, 12.0], [30.0, 5.0, 40.0, 20.0], [25.5, 0.0, 26.2, 9.0]]),
             torch.tensor([[40.0, 1.0, 50.0, 2.0]])]
    labels = [torch.tensor([7, 8, 9]), torch.tensor([5])]
    full = {"apply": torch.ones(2, dtype=torch.bool), "children": [params, {"apply": torch.ones(2).bool()}]}
    img, out, out_labels = pipe.apply(x, full, boxes=boxes, box_labels=labels)
    # box 0 moves to 28..36; box 1 to 56..66 (outside); box 2 (width 0.7) to 51.5..52 (clipped: 0.5 wide)
    torch.testing.assert_close(out[0], torch.tensor([[28.0, 3.0, 36.0, 12.0]]))
    assert out[1].shape == (0, 4) and out_labels[0].tolist() == [7] and out_labels[1].tolist() == []
    # padded: same shapes, the dropped boxes and their labels zeroed
    padded = torch.nn.utils.rnn.pad_sequence(boxes, batch_first=True)
    plabels = torch.nn.utils.rnn.pad_sequence(labels, batch_first=True)
    _, pb, pl = pipe.apply(x, full, boxes=padded, box_labels=plabels)
    assert pb.shape == padded.shape and pl.tolist() == [[7, 0, 0], [0, 0, 0]]
    torch.testing.assert_close(pb[0, 0], out[0][0])
    assert pb[0, 1:].eq(0).all() and pb[1].eq(0).all()
    # a smaller min_size keeps the 0.5-wide sliver
    pipe[1].min_size = 0.25
    assert pipe.apply(x, full, boxes=boxes, box_labels=labels)[2][0].tolist() == [7, 9]


def test_sanitize_boxes_runs_in_eval_and_later_layers_do_not_bring_boxes_back():
    x = photo_batch(2, (H, W))
    boxes = torch.tensor([[[2.0, 3.0, 10.0, 12.0], [60.0, 5.0, 70.0, 20.0]]]).repeat(2, 1, 1)
    labels = torch.tensor([[1, 2], [3, 4]])
    sanitize = gpuaug.SanitizeBoxes().eval()
    img, b, lab = sanitize(x, boxes=boxes, box_labels=labels)
    assert img is x and lab.tolist() == [[1, 0], [3, 0]] and b[:, 1].eq(0).all()
    assert torch.equal(b[:, 0], boxes[:, 0])
    # in a padded batch, a zeroed box moved by a later op stays zero
    pipe = gpuaug.Compose([gpuaug.SanitizeBoxes(), gpuaug.RandomAffine(0, translate=(0.3, 0.3))])
    _, b, lab = pipe(x, boxes=boxes, box_labels=labels)
    assert b[:, 1].eq(0).all() and lab[:, 1].eq(0).all() and lab[:, 0].tolist() == [1, 3]
    assert gpuaug.from_config(gpuaug.SanitizeBoxes(2.0).to_config()).min_size == 2.0


# ---------------------------------------------------------------------------------------------- mixers


@pytest.mark.parametrize("make", [
    lambda g: gpuaug.CutMix(num_classes=4, generator=g),
    lambda g: gpuaug.MixUpCutMix(mixup_alpha=0.0, label_smoothing=0.0, num_classes=4, generator=g),
    lambda g: gpuaug.MixUpCutMix(switch_prob=1.0, label_smoothing=0.0, num_classes=4, generator=g),
])
def test_cutmix_pastes_the_mask_region_with_the_image_region(make):
    """Masks hold each pixel's sample index: after CutMix every pixel of the image comes from the sample
    its mask names, the pasted area is the label weight of the partner."""
    x = photo_batch(4, (H, W))
    masks = torch.arange(4)[:, None, None].expand(4, H, W).contiguous()
    layer = make(gen(11))
    img, soft, m, params = layer(x, torch.arange(4), masks=masks, return_params=True)
    partner = params["partner"]
    got = torch.gather(x, 0, m[:, None].expand(4, 3, H, W))
    assert torch.equal(img, got)
    for i in range(4):
        assert set(m[i].unique().tolist()) <= {i, int(partner[i])}
        pasted = (m[i] == int(partner[i])).float().mean() if int(partner[i]) != i else torch.tensor(0.0)
        torch.testing.assert_close(soft[i, int(partner[i])], pasted, atol=1e-6, rtol=0)
    assert (m != masks).any()
    # masks (B, M, H, W) of another dtype, and without labels (segmentation only)
    img2, m2 = make(gen(11))(x, masks=torch.stack([masks, masks], 1).float())
    assert torch.equal(img2, img) and torch.equal(m2[:, 1].long(), m)


def test_mixup_with_masks_is_an_error_naming_masks():
    x = photo_batch(4, (H, W))
    labels, masks = torch.arange(4), torch.zeros(4, H, W, dtype=torch.int64)
    for layer in [gpuaug.MixUp(num_classes=4), gpuaug.MixUpCutMix(num_classes=4),
                  gpuaug.MixUpCutMix(cutmix_alpha=0.0, switch_prob=1.0, num_classes=4)]:
        with pytest.raises(ValueError, match="^masks: .*MixUp"):
            layer(x, labels, masks=masks)
    with pytest.raises(ValueError, match="does not transform boxes"):
        gpuaug.CutMix(num_classes=4)(x, labels, boxes=torch.zeros(4, 1, 4))
    with pytest.raises(ValueError, match="needs labels"):
        gpuaug.CutMix(num_classes=4)(x)


# --------------------------------------------------------------------------------------------- misuses


def test_misuses_give_errors_naming_the_argument():
    x = photo_batch(4, (H, W))
    pipe = gpuaug.Compose([gpuaug.RandomHorizontalFlip(), gpuaug.RandomRotation(10)])
    with pytest.raises(ValueError, match=r"labels.*masks="):
        pipe(x, torch.zeros(4, H, W, dtype=torch.int64))  # a mask given positionally
    with pytest.raises(ValueError, match=r"labels.*masks="):
        pipe(x, {"masks": torch.zeros(4, H, W)})  # a dict given positionally
    with pytest.raises(ValueError, match="masks.*height and width"):
        pipe(x, masks=torch.zeros(4, H // 2, W // 2))
    for name, bad in [("masks", torch.zeros(3, H, W)), ("boxes", torch.zeros(5, 1, 4)),
                      ("keypoints", torch.zeros(2, 1, 2)), ("boxes", [torch.zeros(1, 4)] * 3)]:
        with pytest.raises(ValueError, match=rf"^{name}.*one entry per sample \(4\)"):
            pipe(x, **{name: bad})
    with pytest.raises(ValueError, match=r"boxes\[1\] must be \(K_i, 4\)"):
        pipe(x, boxes=[torch.zeros(1, 4), torch.zeros(4), torch.zeros(0, 4), torch.zeros(0, 4)])
    boxes = [torch.zeros(2, 4)] * 4
    with pytest.raises(ValueError, match=r"box_labels\[0\] must have one label per box"):
        pipe(x, boxes=boxes, box_labels=[torch.zeros(3, dtype=torch.int64)] * 4)
    with pytest.raises(ValueError, match="box_labels as a list"):
        pipe(x, boxes=boxes, box_labels=torch.zeros(4, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="box_labels is a list"):
        pipe(x, boxes=torch.zeros(4, 2, 4), box_labels=[torch.zeros(2)] * 4)
    with pytest.raises(ValueError, match="box_format must be one of"):
        pipe(x, boxes=torch.zeros(4, 2, 4), box_format="yxyx")
    with pytest.raises(TypeError, match="normalized must be a bool"):
        pipe(x, boxes=torch.zeros(4, 2, 4), normalized=1)
    with pytest.raises(TypeError, match="boxes must be floating with normalized=True"):
        pipe(x, boxes=torch.zeros(4, 2, 4, dtype=torch.int64), normalized=True)
    with pytest.raises(ValueError, match="a list holds one"):
        pipe(x[0], boxes=[torch.zeros(1, 4)])
    with pytest.raises(ValueError, match=r"boxes must be \(\.\.\., 4\)"):
        pipe(x, boxes=torch.zeros(4, 2, 3), box_format="xywh")
