"""The launch plumbing every kernel family shares (gpuaug.kernels._common): int64 in-sample offsets, batches
over CUDA's grid limit, the torch.library ops (schema, fake tensors, AOT tracing), backend dispatch, and no
host synchronization on CUDA. Each launch path is also checked against the torch path (check_primitive)."""

from __future__ import annotations

import importlib

import pytest
import torch
from kernel_checks import BOXES, DEVICE, check_primitive, layout, photos, primitive, random_inverse

# isort: split
import gpuaug.kernels._common as common
from gpuaug.kernels import add as kadd
from gpuaug.kernels import blur as kblur
from gpuaug.kernels import color as kcolor
from gpuaug.kernels import erase as kerase
from gpuaug.kernels import histogram as khist
from gpuaug.kernels import lut as klut
from gpuaug.kernels import normalize as knorm
from gpuaug.kernels import pipeline as kpipe
from gpuaug.kernels import resize as kresize
from gpuaug.kernels import warp as kwarp

from gpuaug import backend


def int64_cases() -> dict:
    """{case: (primitive, args, check_primitive tolerances)} on a small strided batch."""
    img = layout(photos(2, (13, 17)), "strided")
    inv = random_inverse(2)
    fill = torch.full((2, 3), 9.0, device=DEVICE)
    lut = torch.randint(0, 256, (2, 3, 256), dtype=torch.uint8, device=DEVICE)
    boxes = torch.tensor(BOXES, device=DEVICE)
    partner = torch.tensor([1, 0], device=DEVICE)
    return {
        "warp": ("warp", (img, inv, [11, 19], "bilinear", "reflect", fill), {"int_tol": 1}),
        "warp_n": ("warp", (img, inv, [11, 19], "nearest", "mirror", fill), {"int_tol": 1}),
        "lut": ("apply_lut", (img, lut), {}),
        "hist": ("histogram", (img,), {}),
        "erase": ("erase", (img, boxes, fill), {}),
        "paste": ("paste", (img, partner, boxes[:, 2]), {}),
        "gray": ("grayscale", (img,), {}),
        "saturation": ("adjust_saturation", (img, torch.tensor([0.3, 1.5], device=DEVICE)), {}),
        "sharpness": ("adjust_sharpness", (img, torch.tensor([0.3, 1.5], device=DEVICE)), {}),
        "hue": ("adjust_hue", (img, torch.tensor([0.3, -0.5], device=DEVICE)), {"int_tol": 1}),
        "normalize": ("normalize", (img, fill / 1000, -fill / 100, torch.float32),
                      {"out_dtype": torch.float32}),
    }


def chunk_cases() -> dict:
    """{case: (primitive, args, check_primitive tolerances)} on a batch of 5 (chunks of 2 when the grid limit
    is shrunk to 2)."""
    img = photos(5, (9, 11))
    inv = random_inverse(5)
    fill = torch.rand(5, 3, device=DEVICE) * 255
    lut = torch.randint(0, 256, (5, 1, 256), dtype=torch.uint8, device=DEVICE)
    boxes = torch.tensor([[[1, 1, 6, 5]], [[0, 2, 3, 9]], [[4, 4, 5, 5]], [[-1, -1, 20, 3]], [[2, 2, 2, 2]]],
                         device=DEVICE)
    partner = torch.tensor([4, 3, 2, 1, 0], device=DEVICE)  # partners in other chunks
    factor = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0], device=DEVICE)
    return {
        "warp": ("warp", (img, inv, [7, 8], "bilinear", "wrap", fill), {"int_tol": 1}),
        "lut": ("apply_lut", (img, lut), {}),
        "hist": ("histogram", (img,), {}),
        "erase": ("erase", (img, boxes, fill), {}),
        "paste": ("paste", (img, partner, boxes[:, 0]), {}),
        "gray_mean": ("gray_mean", (img, lut), {"atol": 0, "rtol": 0}),
        "sharpness": ("adjust_sharpness", (img, factor), {}),
        "normalize": ("normalize", (img, fill / 1000, -fill / 100, torch.bfloat16),
                      {"out_dtype": torch.bfloat16}),
    }


def test_needs_int64():
    huge_sample = torch.empty((2, 3, 30000, 30000), dtype=torch.uint8, device="meta")
    many_small = torch.empty((200000, 3, 100, 100), dtype=torch.uint8, device="meta")  # 6e9 elements
    assert common.needs_int64(huge_sample)
    assert not common.needs_int64(many_small)  # the sample base is int64 in every kernel anyway


@pytest.mark.parametrize("case", list(int64_cases()))
def test_int64_code_path(monkeypatch, case):
    """Force the int64 in-sample indexing on small images: same results as the int32 path (and the torch
    path)."""
    name, args, tol = int64_cases()[case]
    before = primitive(name)[0](*args)
    forced = []  # every launcher takes its INT64 flag from common.layout -> common.needs_int64
    monkeypatch.setattr(common, "needs_int64", lambda *t: forced.append(t) or True)
    assert torch.equal(check_primitive(name, *args, **tol), before), case
    assert forced, f"{case} did not take the int64 path"


@pytest.mark.parametrize("case", list(chunk_cases()))
def test_batches_over_the_grid_limit_are_chunked(monkeypatch, case):
    """B > 65535 launches in chunks of samples; shrink the limit to 2 and compare with one launch."""
    name, args, tol = chunk_cases()[case]
    whole = primitive(name)[0](*args)
    monkeypatch.setattr(common, "MAX_GRID_B", 2)
    assert list(common.batch_chunks(5)) == [(0, 2), (2, 4), (4, 5)]
    chunks, batch_chunks = [], common.batch_chunks

    def spy(b):
        chunks.append(list(batch_chunks(b)))
        return iter(chunks[-1])

    monkeypatch.setattr(common, "batch_chunks", spy)
    assert torch.equal(check_primitive(name, *args, **tol), whole), case
    assert [(0, 2), (2, 4), (4, 5)] in chunks, f"{case} was not launched in chunks: {chunks}"


def op_cases() -> dict:
    """{op name: (registered launcher, args)} for every torch.library op of the kernels."""
    img = photos(2, (6, 7))
    fill = torch.rand(2, 3, device=DEVICE) * 255
    boxes = torch.tensor(BOXES, device=DEVICE)
    factor = torch.tensor([0.5, 2.0], device=DEVICE)
    return {
        "warp": (kwarp.warp, (img, random_inverse(2), [5, 4], "bilinear", "edge", fill)),
        "apply_lut": (klut.apply_lut,
                      (img, torch.randint(0, 256, (2, 1, 256), dtype=torch.uint8, device=DEVICE))),
        "histogram": (khist.histogram, (img,)),
        "equalize_lut": (klut.equalize_lut, (khist.histogram(img),)),
        "erase": (kerase.erase, (img, boxes, fill)),
        "erase_noise": (kerase.erase_noise, (img, boxes, torch.tensor([3, 4], device=DEVICE))),
        "paste": (kerase.paste, (img, torch.tensor([1, 1], device=DEVICE),
                                 torch.tensor([[1, 1, 3, 4], [0, 2, 9, 9]], device=DEVICE))),
        "grayscale": (kcolor.grayscale, (img,)),
        "gray_mean": (kcolor.gray_mean, (img, None)),
        "adjust_saturation": (kcolor.adjust_saturation, (img, factor)),
        "adjust_sharpness": (kcolor.adjust_sharpness, (img, factor)),
        "adjust_hue": (kcolor.adjust_hue, (img, factor - 1.0)),
        "normalize": (knorm._normalize_op, (img, fill, -fill, torch.float16, True)),
    }


@pytest.mark.parametrize("name", list(op_cases()))
def test_ops_registered_and_traceable(name):
    """torch.library ops: schema, fake tensors (torch.compile's shape propagation) and AOT tracing agree;
    the plain launcher (``op.launch``) gives the op's result."""
    fn, args = op_cases()[name]
    op = getattr(torch.ops.gpuaug, name).default
    torch.library.opcheck(op, args,
                          test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_dynamic"))
    if hasattr(fn, "launch"):
        assert torch.equal(fn.launch(*args), fn(*args))


#: the kernel module that defines each primitive (spelled out: checks backend.PRIMITIVES too)
KERNEL_MODULES = {
    kwarp: ("warp",),
    klut: ("apply_lut", "equalize_lut"),
    khist: ("histogram",),
    kerase: ("erase", "erase_noise", "paste"),
    kcolor: ("grayscale", "gray_mean", "adjust_saturation", "adjust_sharpness", "adjust_hue"),
    knorm: ("normalize",),
    kpipe: ("pipeline_params", "pipeline_stats", "pipeline_pass"),
    kresize: ("resize",),
    kblur: ("gaussian_blur",),
    kadd: ("channel_shift", "gaussian_noise"),
}


def test_every_primitive_has_a_kernel_module():
    assert sorted(n for names in KERNEL_MODULES.values() for n in names) == sorted(backend.PRIMITIVES)


@pytest.mark.parametrize("name", sorted(backend.PRIMITIVES))
def test_backend_dispatches_to_kernels(name):
    x = torch.zeros(1, 3, 4, 4, device=DEVICE)
    module = next(m for m, names in KERNEL_MODULES.items() if name in names)
    family = module.__name__.rsplit(".", 1)[1]
    assert module.__name__ == f"gpuaug.kernels.{backend.PRIMITIVES[name]}"
    with backend.backend("triton"):
        assert backend.op(name, x) is getattr(module, name)
    with backend.backend("torch"):
        assert backend.op(name, x) is getattr(importlib.import_module(f"gpuaug._torch.{family}"), name)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (sync debug mode: CUDA only)")
def test_no_host_sync_on_cuda():
    import gpuaug.functional as F

    img = photos(4, (37, 53)).cuda()
    inv = random_inverse(4).cuda()
    fill = torch.rand(4, 3, device="cuda") * 255
    lut = torch.randint(0, 256, (4, 3, 256), dtype=torch.uint8, device="cuda")
    factor = torch.tensor([0.0, 0.5, 1.2, 2.0], device="cuda")
    boxes = torch.tensor([[[1, 2, 9, 9]]] * 4, device="cuda", dtype=torch.float32)
    calls = [
        lambda: kwarp.warp(img, inv, [20, 30], "bilinear", "reflect", fill),
        lambda: klut.apply_lut(img, lut),
        lambda: khist.histogram(img),
        lambda: klut.apply_lut(img, klut.equalize_lut(khist.histogram(img))),
        lambda: kerase.erase(img, boxes, fill),
        lambda: kerase.erase_noise(img, boxes, torch.tensor([1, 2, 3, 4], device="cuda")),
        lambda: kerase.paste(img, torch.tensor([3, 2, 1, 0], device="cuda"), boxes[:, 0]),
        lambda: kcolor.grayscale(img),
        lambda: kcolor.gray_mean(img, lut),
        lambda: kcolor.adjust_saturation(img, factor),
        lambda: kcolor.adjust_sharpness(img, factor),
        lambda: kcolor.adjust_hue(img, factor - 1.0),
        lambda: knorm.normalize(img, fill, -fill, torch.float32),
    ]
    # a compiled plan: the README hook's batch (draw, parameters, passes, fused epilogue)
    import gpuaug

    hook = gpuaug.build_hook("rand-m9-n2-mstd0.5", 32, num_classes=10, dtype=torch.bfloat16)
    labels = torch.arange(4, device="cuda")
    calls.append(lambda: hook(img, labels))
    # The functional API on top (whatever of it exists), through the kernels.
    functional = [("warp_affine", (img, torch.eye(3, device="cuda")[:2].expand(4, 2, 3)), {}),
                  ("rotate", (img, torch.full((4,), 30.0, device="cuda")), {}),
                  ("posterize", (img, 3), {}), ("solarize", (img, 128), {}), ("equalize", (img,), {}),
                  ("autocontrast", (img,), {}), ("erase", (img, boxes), {}),
                  ("adjust_contrast", (img, 1.3), {}), ("adjust_saturation", (img, 0.5), {}),
                  ("adjust_sharpness", (img, 1.5), {}), ("rgb_to_grayscale", (img,), {}),
                  ("adjust_hue", (img, 0.2), {}), ("normalize", (img, [0.4, 0.5, 0.6], [0.2, 0.3, 0.25]), {})]
    for call in calls:
        call()  # compile / warm up outside the check
    skipped = []
    for name, args, kwargs in functional:  # the functional API on top, where it exists and takes these args
        fn = getattr(F, name, None)
        try:
            fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - not this test's subject; named in the warning below
            skipped.append(f"{name}: {type(e).__name__}: {e}")
            continue
        calls.append(lambda fn=fn, a=args, k=kwargs: fn(*a, **k))
    if skipped:
        import warnings

        warnings.warn("functional calls not checked for syncs: " + "; ".join(skipped), stacklevel=1)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        with backend.backend("auto"):
            for call in calls:
                call()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    torch.cuda.synchronize()
