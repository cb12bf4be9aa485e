"""docs/contract.md "Images" dtype rules, checked uniformly over every public functional op."""

import pytest
import torch

import gpuaug.functional as F

OPS = {
    "warp_affine": lambda t: F.warp_affine(t, torch.tensor([[1.0, 0.2, 1.0], [0.0, 1.0, -2.0]])),
    "affine": lambda t: F.affine(t, angle=10, translate=(1, 2), scale=1.1, shear=(5, 0)),
    "rotate": lambda t: F.rotate(t, 30),
    "translate": lambda t: F.translate(t, (2, -1)),
    "shear_x": lambda t: F.shear_x(t, 10),
    "shear_y": lambda t: F.shear_y(t, 10),
    "scale": lambda t: F.scale(t, 1.2),
    "hflip": F.hflip,
    "vflip": F.vflip,
    "resized_crop": lambda t: F.resized_crop(t, [1, 1, 6, 7], (5, 4)),
    "posterize": lambda t: F.posterize(t, 3),
    "solarize": lambda t: F.solarize(t, 0.5 if t.is_floating_point() else 128),
    "solarize_add": lambda t: F.solarize_add(t, 0.1 if t.is_floating_point() else 30,
                                             0.5 if t.is_floating_point() else 128),
    "invert": F.invert,
    "equalize": F.equalize,
    "autocontrast": F.autocontrast,
    "adjust_brightness": lambda t: F.adjust_brightness(t, 1.3),
    "adjust_contrast": lambda t: F.adjust_contrast(t, 0.7),
    "adjust_saturation": lambda t: F.adjust_saturation(t, 0.4),
    "adjust_sharpness": lambda t: F.adjust_sharpness(t, 2.0),
    "adjust_hue": lambda t: F.adjust_hue(t, 0.2),
    "rgb_to_grayscale": F.rgb_to_grayscale,
    "normalize": lambda t: F.normalize(t, 0.5, 0.25),
    "erase": lambda t: F.erase(t, [1, 1, 4, 5]),
}


@pytest.mark.parametrize("dtype", [torch.bool, torch.int32, torch.int64, torch.complex64, torch.int8])
@pytest.mark.parametrize("name", list(OPS))
def test_other_dtypes_are_a_type_error_naming_the_dtype(name, dtype):
    x = torch.zeros(2, 3, 9, 11, dtype=dtype)
    with pytest.raises(TypeError, match=str(dtype).replace("torch.", "")):
        OPS[name](x)


@pytest.mark.parametrize("name", list(OPS))
def test_float64_on_the_cpu_keeps_its_dtype_and_tracks_float32(name):
    x = torch.rand(2, 3, 9, 11, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y64, y32 = OPS[name](x), OPS[name](x.float())
    assert y64.dtype == torch.float64
    assert torch.allclose(y64.float(), y32, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", list(OPS))
def test_float64_on_cuda_is_a_type_error(name):
    with pytest.raises(TypeError, match="float64"):
        OPS[name](torch.rand(2, 3, 9, 11, dtype=torch.float64, device="cuda"))


def test_non_tensor_image_is_a_type_error_naming_img():
    with pytest.raises(TypeError, match="img"):
        F.posterize([[1, 2], [3, 4]], 3)
