"""Issue #11, "robust under every input": the cases the fuzzer found, one by one. Bad arguments are a
``TypeError`` / ``ValueError`` naming the argument (never a RuntimeError from inside torch), bad values are
refused where they used to be accepted, and checks that would need a host sync on CUDA are skipped exactly
where docs/contract.md says (``_checks.readable``: backend "triton" on CPU tensors takes the CUDA code
path)."""

from __future__ import annotations

import math
import re

import pytest
import torch

import gpuaug
import gpuaug.functional as F
from gpuaug import backend
from gpuaug._checks import per_sample, readable
from gpuaug.layers.mix import soft_labels

if backend.get_backend() == "triton":
    pytest.skip("the host path's value checks (backend 'triton' is the CUDA code path; the CUDA behaviour is "
                "tested here through backend.backend('triton'))", allow_module_level=True)

NAN, INF = float("nan"), float("inf")
X = torch.randint(0, 256, (2, 3, 9, 11), dtype=torch.uint8)
XF = X.float() / 255


def raises(exc, name: str):
    """pytest.raises whose message must name the argument ``name`` (as a word)."""
    return pytest.raises(exc, match=rf"\b{re.escape(name)}\b")


# -------------------------------------------------------------------------- 1. no crash on odd arguments


@pytest.mark.parametrize("call, name", [
    (lambda p: F.adjust_brightness(X, p), "factor"),
    (lambda p: F.adjust_contrast(XF, p), "factor"),
    (lambda p: F.adjust_saturation(X, p), "factor"),
    (lambda p: F.adjust_sharpness(X, p), "factor"),
    (lambda p: F.adjust_hue(X, p), "delta"),
    (lambda p: F.posterize(X, p), "bits"),
    (lambda p: F.solarize(X, p), "threshold"),
    (lambda p: F.rotate(X, p), "angle"),
    (lambda p: F.scale(X, p), "factor"),
    (lambda p: F.shear_y(X, p), "angle"),
    (lambda p: F.normalize(X, p, 1.0), "mean"),
    (lambda p: F.normalize(X, 0.0, p), "std"),
])
def test_complex_and_bool_parameter_tensors_are_type_errors(call, name):
    for p in (torch.ones(2, dtype=torch.complex64), torch.ones(2, dtype=torch.bool)):
        with raises(TypeError, name):
            call(p)


@pytest.mark.parametrize("layer", ["CutMix", "MixUp", "MixUpCutMix"])
@pytest.mark.parametrize("bad", [3, -1])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_labels_out_of_range(layer, bad, mode):
    mix = getattr(gpuaug, layer)(num_classes=3)
    mix.train(mode == "train")
    with raises(ValueError, "labels"):
        mix(XF, torch.tensor([0, bad]))
    with raises(ValueError, "labels"):  # wrong batch size: already clear, kept
        mix(XF, torch.tensor([0, 1, 2]))


def test_labels_out_of_range_off_the_host_path_poison_the_row():
    # CUDA (and CPU tensors under backend "triton"): not read (a sync); the row is NaN, the others exact
    labels = torch.tensor([0, 3, 2, -1])
    with backend.backend("triton"):
        assert not readable(labels)
        y = soft_labels(labels, 3, 4, 0.0)
        mix = gpuaug.MixUp(num_classes=3).eval()
        _, y_eval = mix(torch.rand(4, 3, 5, 5), labels)
    for out in (y, y_eval):
        assert torch.isnan(out[1]).all() and torch.isnan(out[3]).all()
        assert torch.equal(out[[0, 2]], torch.tensor([[1.0, 0, 0], [0, 0, 1]]))
    with pytest.raises(ValueError, match="labels"):
        soft_labels(labels, 3, 4, 0.0)  # the host path reads them


@pytest.mark.parametrize("fn", [F.hflip_matrix, F.vflip_matrix])
def test_flip_matrices_batch(fn):
    with raises(ValueError, "batch"):
        fn(-1, 5)
    with raises(TypeError, "batch"):
        fn(1.5, 5)
    with raises(TypeError, "batch"):
        fn(True, 5)
    assert fn(0, 5).shape == (0, 3, 3)
    with pytest.raises(ValueError, match="width|height"):
        fn(2, 0)
    with raises(ValueError, "batch"):
        F.affine_matrix(-2)


def test_pointwise_chain_wrong_length_mask():
    with pytest.raises(ValueError, match="mask"):
        F.pointwise_chain(X, [("invert", None, torch.tensor([True, False, True]))])
    with pytest.raises(ValueError, match="mask"):
        F.pointwise_chain(X, [("invert", None, torch.ones(2, 1, dtype=torch.bool))])
    with pytest.raises(TypeError, match="op"):
        F.pointwise_chain(X, [(["invert"], None)])
    one = F.pointwise_chain(X, [("invert", None, torch.tensor([True]))])  # one for the whole batch
    assert torch.equal(one, 255 - X)


# ------------------------------------------------------------------------ 2. bad values are rejected


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
@pytest.mark.parametrize("call, name", [
    (lambda v: F.rotate(X, v), "angle"),
    (lambda v: F.rotate(X, torch.tensor([1.0, v])), "angle"),
    (lambda v: F.affine(X, angle=torch.tensor([1.0, v], dtype=torch.float64)), "angle"),
    (lambda v: F.translate(X, (v, 0.0)), "translate"),
    (lambda v: F.translate(X, torch.tensor([[0.0, 1.0], [v, 2.0]])), "translate"),
    (lambda v: F.shear_x(X, v), "angle"),
    (lambda v: F.affine(X, shear=(0.0, v)), "shear"),
    (lambda v: F.rotate(X, 10, center=(v, 1.0)), "center"),
    (lambda v: F.scale(X, v), "factor"),
    (lambda v: F.adjust_sharpness(X, v), "factor"),
    (lambda v: F.adjust_brightness(X, torch.tensor([1.0, v])), "factor"),
    (lambda v: F.adjust_hue(X, v), "delta"),
    (lambda v: F.normalize(X, v, 1.0), "mean"),
    (lambda v: F.normalize(X, (0.5, v, 0.5), 1.0), "mean"),
    (lambda v: F.normalize(X, 0.5, v), "std"),
    (lambda v: F.normalize(X, 0.5, torch.tensor([0.2, v, 0.3])), "std"),
    (lambda v: F.warp_affine(X, torch.tensor([[1.0, 0, v], [0, 1, 0]])), "matrix"),
    (lambda v: F.resized_crop(X, (0.0, 0.0, v, 5.0), 4), "boxes"),
    (lambda v: F.warp_affine(X, torch.eye(3), fill=v), "fill"),
    (lambda v: F.solarize(X, v), "threshold"),
])
def test_non_finite_parameters(call, name, bad):
    with raises(ValueError, name):
        call(bad)


def test_std_zero():
    for std in (0, 0.0, (0.2, 0.0, 0.2), torch.tensor([0.2, 0.0, 0.2])):
        with raises(ValueError, "std"):
            F.normalize(X, 0.5, std)


@pytest.mark.parametrize("make, name", [
    (lambda v: gpuaug.RandomAffine(degrees=v), "degrees"),
    (lambda v: gpuaug.RandomAffine(0, translate=(v, 0.1)), "translate"),
    (lambda v: gpuaug.RandomAffine(0, scale=(0.5, v)), "scale"),
    (lambda v: gpuaug.RandomAffine(0, shear=v), "shear"),
    (lambda v: gpuaug.RandomAffine(0, shear=(0, 1, v, 2)), "shear"),
    (lambda v: gpuaug.RandomAffine(0, center=(v, 1)), "center"),
    (lambda v: gpuaug.RandomAffine(0, fill=v), "fill"),
    (lambda v: gpuaug.RandomRotation(v), "degrees"),
    (lambda v: gpuaug.RandomRotation((0, v)), "degrees"),
    (lambda v: gpuaug.ColorJitter(brightness=v), "brightness"),
    (lambda v: gpuaug.ColorJitter(contrast=(0.5, v)), "contrast"),
    (lambda v: gpuaug.ColorJitter(saturation=v), "saturation"),
    (lambda v: gpuaug.ColorJitter(hue=v), "hue"),
    (lambda v: gpuaug.RandomBrightness(v), "brightness"),
    (lambda v: gpuaug.RandomSharpness(v), "sharpness_factor"),
    (lambda v: gpuaug.RandomResizedCrop(8, scale=(0.5, v)), "scale"),
    (lambda v: gpuaug.RandomErasing(value=v), "value"),
    (lambda v: gpuaug.CutMix(alpha=v), "alpha"),
    (lambda v: gpuaug.MixUp(alpha=v), "alpha"),
    (lambda v: gpuaug.MixUpCutMix(cutmix_alpha=v), "cutmix_alpha"),
    (lambda v: gpuaug.RandomChoice([gpuaug.RandomInvert(), gpuaug.RandomEqualize()], p=[v, 1]), "p"),
    (lambda v: gpuaug.RandAugment(magnitude=v), "magnitude"),
    (lambda v: gpuaug.AugMix(alpha=v), "alpha"),
])
@pytest.mark.parametrize("bad", [NAN, INF])
def test_non_finite_constructor_arguments(make, name, bad):
    with raises(ValueError, name):  # at construction, not at the first call
        make(bad)


def test_rand_augment_magnitude_std_inf_is_timms_uniform():
    assert gpuaug.RandAugment(magnitude_std=INF).magnitude_std == INF
    with raises(ValueError, "magnitude_std"):
        gpuaug.RandAugment(magnitude_std=NAN)


def test_bits_must_be_integers():
    with raises(ValueError, "bits"):
        F.posterize(X, torch.tensor([1.5, 2.0]))
    with raises(ValueError, "bits"):
        F.posterize(X, 2.5)
    with raises(ValueError, "bits"):
        F.posterize(X, [3, 4.5])
    with raises(TypeError, "bits"):
        F.posterize(X, "1.0")
    assert torch.equal(F.posterize(X, torch.tensor([2.0, 3.0])), F.posterize(X, torch.tensor([2, 3])))


def test_shear_takes_one_angle_per_sample():
    with raises(ValueError, "angle"):
        F.shear_x(X, torch.zeros(2, 2))
    with raises(ValueError, "angle"):
        F.shear_y(X, torch.zeros(3))


def test_messages_name_the_argument():
    with raises(TypeError, "factor"):
        F.adjust_brightness(X, None)
    with raises(TypeError, "factor"):
        F.adjust_sharpness(X, None)
    with raises(ValueError, "factor"):
        F.scale(X, factor=0.0)
    with raises(TypeError, "factor"):
        F.scale(X, factor=None)
    with raises(TypeError, "threshold"):
        F.solarize(X, "128")
    with raises(TypeError, "mask_fill"):
        F.warp_masks(torch.zeros(2, 9, 11), torch.eye(3), (9, 11), mask_fill=None)
    with raises(ValueError, "mask_fill"):
        F.warp_masks(torch.zeros(2, 9, 11), torch.eye(3), (9, 11), mask_fill=NAN)
    with raises(TypeError, "masks"):
        F.warp_masks(torch.zeros(2, 9, 11, dtype=torch.complex64), torch.eye(3), (9, 11))
    with raises(TypeError, "keypoints"):
        F.warp_keypoints(torch.zeros(2, 1, 2, dtype=torch.bool), torch.eye(3))


def test_value_checks_are_skipped_off_the_host_path():
    # what a CUDA tensor does: no read (a sync); numbers are still checked everywhere
    bad = torch.tensor([NAN, 1.0])
    assert readable(bad)
    with raises(ValueError, "angle"):
        per_sample(bad, 2, "angle", bad.device)
    with backend.backend("triton"):
        assert not readable(bad)
        assert torch.isnan(per_sample(bad, 2, "angle", bad.device)).any()
        with raises(ValueError, "angle"):
            per_sample(NAN, 2, "angle", bad.device)
        with raises(TypeError, "angle"):  # dtypes are metadata: checked everywhere
            per_sample(torch.ones(2, dtype=torch.complex64), 2, "angle", bad.device)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_normalize_to_a_narrower_dtype_leaves_a_float32_input_alone(dtype):
    # found by the fuzz: the CPU path computed float32 -> float16/bfloat16 in place in the input
    x = torch.rand(3, 3, 5, 4)
    keep = x.clone()
    y = F.normalize(x, (0.4, 0.5, 0.6), (0.2, 0.3, 0.25), dtype=dtype)
    assert torch.equal(x, keep)
    want = (keep - torch.tensor([0.4, 0.5, 0.6]).view(3, 1, 1)) / torch.tensor([0.2, 0.3, 0.25]).view(3, 1, 1)
    assert torch.allclose(y.float(), want, atol=2e-2)


def test_inputs_are_not_modified_by_the_checks():
    angle = torch.tensor([10.0, -5.0])
    keep = angle.clone()
    F.rotate(X, angle)
    assert torch.equal(angle, keep)
    assert math.isfinite(float(F.rotate(XF, 1e-3).sum()))
