"""The differentiable float path (docs/contract.md "Gradients"): ``torch.autograd.gradcheck`` (analytic
gradients against finite differences, float64 on the CPU) for every op that is differentiable in principle,
to the image and to the tensor parameters; the differentiable formulation gives the fast path's values;
layers and policies keep ``grad_fn``; uint8 images with parameters that require grad take the fast path."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd import gradcheck

import gpuaug
import gpuaug.functional as F

B, C, H, W = 2, 3, 5, 6


def _img(c: int = C, dtype=torch.float64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    # values away from 0 and 1: no clamp kink within the finite-difference step
    return (0.15 + 0.7 * torch.rand(B, c, H, W, generator=g, dtype=torch.float64)).to(dtype)


def _p(*values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def _check(fn, *inputs):
    inputs = [t.detach().requires_grad_(t.is_floating_point()) for t in inputs]
    out = fn(*inputs)
    assert out.grad_fn is not None
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def _matrix() -> torch.Tensor:
    a = [0.31, -0.52]
    m = torch.zeros(B, 3, 3, dtype=torch.float64)
    for i, t in enumerate(a):
        m[i, 0, 0], m[i, 0, 1], m[i, 1, 0], m[i, 1, 1] = math.cos(t), -math.sin(t), math.sin(t), math.cos(t)
        m[i, :2, 2] = torch.tensor([0.37 + i, -0.21])
    m[:, 2, 2] = 1
    return m


# ------------------------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("fill_mode", F.FILL_MODES)
def test_warp_affine_bilinear_gradcheck(fill_mode):
    _check(lambda x, m: F.warp_affine(x, m, (4, 7), fill_mode=fill_mode, fill=0.3), _img(), _matrix())


def test_warp_affine_nearest_gradients_reach_the_image():
    # nearest: a gather, linear in the image; the positions are piecewise constant in the matrix
    _check(lambda x: F.warp_affine(x, _matrix(), interpolation="nearest", fill=0.5), _img())
    for mode in F.FILL_MODES:
        _check(lambda x, mode=mode: F.warp_affine(x, _matrix(), interpolation="nearest", fill_mode=mode),
               _img())


def test_affine_gradcheck_every_parameter():
    def fn(x, angle, translate, scale, shear, center):
        return F.affine(x, angle, translate, scale, shear, center, fill_mode="reflect")

    _check(fn, _img(), _p(10.3, -23.1), _p([0.7, -1.2], [0.3, 0.4]), _p(1.1, 0.83),
           _p([5.3, -4.1], [2.2, 7.7]), _p([2.1, 1.7], [3.3, 2.4]))


@pytest.mark.parametrize("op, param", [
    (F.rotate, _p(17.3, -41.0)),
    (F.translate, _p([0.4, -1.3], [2.2, 0.6])),
    (F.shear_x, _p(11.3, -7.9)),
    (F.shear_y, _p(-13.1, 8.2)),
    (F.scale, _p(1.17, 0.71)),
])
def test_geometric_wrappers_gradcheck(op, param):
    _check(lambda x, p: op(x, p, fill_mode="edge"), _img(), param)


def test_resized_crop_gradcheck_image_and_boxes():
    boxes = _p([0.6, 0.3, 4.7, 4.1], [1.2, 0.4, 5.3, 3.9])
    _check(lambda x, b: F.resized_crop(x, b, (4, 3)), _img(), boxes)


def test_flips_keep_the_graph():
    _check(F.hflip, _img())
    _check(F.vflip, _img())


# ---------------------------------------------------------------------------------------------- color


@pytest.mark.parametrize("op, factor", [
    (F.adjust_brightness, _p(1.07, 0.83)),
    (F.adjust_contrast, _p(1.13, 0.71)),
    (F.adjust_saturation, _p(1.21, 0.64)),
    (F.adjust_sharpness, _p(1.18, 0.55)),
    (F.adjust_hue, _p(0.13, -0.27)),
])
def test_color_ops_gradcheck_image_and_factor(op, factor):
    _check(op, _img(), factor)


@pytest.mark.parametrize("op", [F.adjust_brightness, F.adjust_contrast, F.adjust_sharpness])
def test_gray_images(op):
    _check(op, _img(1), _p(1.1, 0.9))


def test_grayscale_gradcheck():
    _check(F.rgb_to_grayscale, _img())
    _check(lambda x: F.rgb_to_grayscale(x, 3), _img())


def test_normalize_gradcheck_image_mean_std():
    _check(lambda x, m, s: F.normalize(x, m, s), _img(), _p(0.48, 0.45, 0.41), _p(0.23, 0.22, 0.26))
    _check(lambda x, m, s: F.normalize(x, m, s), _img(), _p([0.4], [0.5]), _p([0.3], [0.2]))  # (B, 1)


@pytest.mark.parametrize("steps", [
    [("invert", None)],
    [("solarize", 0.5)],
    [("solarize_add", (0.1, 0.6))],
    [("autocontrast", None)],
    [("brightness", 1.1), ("contrast", 0.9), ("invert", None, torch.tensor([True, False]))],
])
def test_pointwise_chain_gradcheck(steps):
    _check(lambda x: F.pointwise_chain(x, steps), _img())


@pytest.mark.parametrize("op", [lambda x: F.posterize(x, 3), F.equalize])
def test_quantizing_ops_have_a_zero_gradient(op):
    # as torch.round: a grad_fn, and the derivative of a piecewise-constant map, zero
    x = _img().requires_grad_()
    y = op(x)
    assert y.grad_fn is not None
    (g,) = torch.autograd.grad(y.sum(), x)
    assert torch.equal(g, torch.zeros_like(x))


def test_erase_and_paste_gradcheck():
    boxes = torch.tensor([[[1.0, 1.0, 4.0, 3.0]], [[0.0, 2.0, 2.0, 5.0]]])
    _check(lambda x: F.erase(x, boxes, 0.5), _img())
    _check(lambda x: F.erase_noise(x, boxes, 7), _img())
    _check(lambda x: F.paste(x, torch.tensor([1, 0]), boxes[:, 0]), _img())


def test_mixup_gradcheck():
    layer = gpuaug.MixUp(num_classes=3, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 2])
    params = layer.sample((B, C, H, W))
    assert 0 < float(params["lam"].min()) < 1
    _check(lambda x: layer.apply(x, params, labels)[0], _img())


# ------------------------------------------------------------------------- the two paths, layers, dtypes


FAST_VS_DIFF = {
    "rotate": lambda x, p: F.rotate(x, p * 30, fill_mode="wrap"),
    "affine": lambda x, p: F.affine(x, p * 20, (1.5, -0.5), 1.2, (7.0, -3.0), fill=0.2),
    "nearest": lambda x, p: F.rotate(x, p * 30, interpolation="nearest", fill_mode="mirror"),
    "resized_crop": lambda x, p: F.resized_crop(x, (1.0, 2.0, 9.0, 8.0), (13, 5)),
    "brightness": lambda x, p: F.adjust_brightness(x, p + 0.5),
    "contrast": lambda x, p: F.adjust_contrast(x, p + 0.5),
    "saturation": lambda x, p: F.adjust_saturation(x, p + 0.5),
    "sharpness": lambda x, p: F.adjust_sharpness(x, p + 0.5),
    "hue": lambda x, p: F.adjust_hue(x, p - 0.5),
    "grayscale": lambda x, p: F.rgb_to_grayscale(x, 3),
    "normalize": lambda x, p: F.normalize(x, (0.4, 0.5, 0.6), (0.2, 0.3, 0.25)),
    "chain": lambda x, p: F.pointwise_chain(x, [("solarize", 0.6), ("autocontrast", None), ("posterize", 4),
                                               ("equalize", None), ("contrast", p + 0.5)]),
}


@pytest.mark.parametrize("name", list(FAST_VS_DIFF))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_differentiable_path_equals_fast_path(name, dtype):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, 11, 9, generator=g).to(dtype).contiguous(memory_format=torch.channels_last)
    p = torch.rand(3, generator=g)
    fast = FAST_VS_DIFF[name](x, p)
    slow = FAST_VS_DIFF[name](x.clone().requires_grad_(), p)
    assert slow.grad_fn is not None and fast.grad_fn is None
    assert slow.dtype == fast.dtype and slow.shape == fast.shape
    assert slow.is_contiguous(memory_format=torch.channels_last) == fast.is_contiguous(
        memory_format=torch.channels_last)
    tol = 1e-5 if dtype == torch.float32 else 1e-2  # (float16 / bfloat16: an ulp of the result)
    diff = (slow.float() - fast.float()).abs()
    assert torch.allclose(slow.float(), fast.float(), atol=tol, rtol=0 if dtype == torch.float32 else tol), \
        diff.max()


def _layers():
    return {
        "RandomAffine": gpuaug.RandomAffine(20, (0.1, 0.1), (0.8, 1.2), 10, interpolation="bilinear"),
        "RandomRotation": gpuaug.RandomRotation(30),
        "RandomResizedCrop": gpuaug.RandomResizedCrop(7),
        "RandomCrop": gpuaug.RandomCrop(6, padding=2),
        "flips": gpuaug.Compose([gpuaug.RandomHorizontalFlip(), gpuaug.RandomVerticalFlip()]),
        "ColorJitter": gpuaug.ColorJitter(0.4, 0.4, 0.4, 0.1),
        "RandomGrayscale": gpuaug.RandomGrayscale(0.5),
        "RandomSharpness": gpuaug.RandomSharpness(2.0, p=1.0),
        "RandomErasing": gpuaug.RandomErasing(1.0),
        "RandomErasing-random": gpuaug.RandomErasing(1.0, value="random"),
        # (posterize and equalize: zero gradients, test_quantizing_ops_have_a_zero_gradient)
        "pointwise": gpuaug.Compose([gpuaug.RandomBrightness(0.3), gpuaug.RandomContrast(0.3),
                                     gpuaug.RandomSolarize(0.5), gpuaug.RandomAutocontrast(),
                                     gpuaug.RandomInvert()]),
        "Normalize": gpuaug.Normalize((0.5, 0.4, 0.3), (0.2, 0.2, 0.2)),
        "RandAugment": gpuaug.RandAugment(3, 9),
        "TrivialAugmentWide": gpuaug.TrivialAugmentWide(),
        "AutoAugment": gpuaug.AutoAugment(),
        "AugMix": gpuaug.AugMix(),
    }




@pytest.mark.parametrize("name", list(_layers()))
def test_layers_and_policies_keep_grad_fn(name):
    layer = _layers()[name]
    x = torch.rand(6, 3, 12, 10, requires_grad=True)
    torch.manual_seed(3)
    y = layer(x)
    assert y.grad_fn is not None, name
    (g,) = torch.autograd.grad((y.float() * torch.rand_like(y.float())).sum(), x)
    assert torch.isfinite(g).all()
    assert g.abs().sum() > 0
    # the same draw on a plain tensor: the same values (the fast path; a floating sample that did not
    # draw posterize is not quantized, so the policies too)
    torch.manual_seed(3)
    ref = layer(x.detach())
    assert torch.allclose(y.detach(), ref, atol=1e-5), (y.detach() - ref).abs().max()


@pytest.mark.parametrize("name", ["CutMix", "MixUp", "MixUpCutMix"])
def test_mixing_layers_keep_grad_fn(name):
    layer = getattr(gpuaug, name)(num_classes=4)
    x = torch.rand(6, 3, 12, 10, requires_grad=True)
    y, soft = layer(x, torch.tensor([0, 1, 2, 3, 0, 1]))
    assert y.grad_fn is not None
    (g,) = torch.autograd.grad(y.sum(), x)
    assert torch.isfinite(g).all()


def test_uint8_image_with_parameters_that_require_grad():
    # the result is uint8 (no gradient): the fast path, under no_grad, not a RuntimeError from out=
    x = torch.randint(0, 256, (2, 3, 8, 9), dtype=torch.uint8)
    angle = torch.tensor([10.0, 20.0], requires_grad=True)
    y = F.rotate(x, angle)
    assert y.dtype == torch.uint8 and y.grad_fn is None
    assert torch.equal(y, F.rotate(x, angle.detach()))
    f = torch.tensor([1.2, 0.8], requires_grad=True)
    for op in (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_sharpness):
        assert torch.equal(op(x, f), op(x, f.detach()))
    assert F.normalize(x, torch.tensor([0.5], requires_grad=True), 0.2).grad_fn is not None


def test_no_grad_mode_takes_the_fast_path():
    x = torch.rand(2, 3, 8, 9, requires_grad=True)
    with torch.no_grad():
        y = F.rotate(x, torch.tensor([10.0, 20.0], requires_grad=True))
    assert y.grad_fn is None and not y.requires_grad
