"""What the kernel tests (tests/test_kernels_<family>.py) share: the module-level skip, the inputs, and
``check_primitive``, the one check of a Triton kernel against the torch-path primitive of the same name.

Importing this module skips the importing test module where the kernels cannot run: they need a CUDA
device, or ``TRITON_INTERPRET=1`` in the environment before ``triton`` is imported (CPU tensors then run
through Triton's interpreter). Import it before ``gpuaug.kernels``:

    TRITON_INTERPRET=1 GPUAUG_BACKEND=triton pytest tests/test_kernels_warp.py -q

Interpreted Triton is slow: images stay tiny (13x17 .. 97x101) and the cases few.
"""

from __future__ import annotations

import importlib
import os

import pytest
import torch

INTERPRET = os.environ.get("TRITON_INTERPRET", "0").strip() not in ("", "0")
if not (INTERPRET or torch.cuda.is_available()):
    pytest.skip(
        "the Triton kernels need a CUDA device, or TRITON_INTERPRET=1 in the environment before triton is "
        "imported (CPU tensors then run through Triton's interpreter)",
        allow_module_level=True,
    )
pytest.importorskip("triton", reason="triton is not installed")

from helpers import max_abs_diff, photo_batch  # noqa: E402

from gpuaug import backend  # noqa: E402
from gpuaug._checks import empty_output, memory_format_of  # noqa: E402

DEVICE = torch.device("cpu" if INTERPRET else "cuda")
LAYOUTS = ("contiguous", "channels_last", "strided")
#: one float ulp-ish per output dtype: check_primitive's default float tolerance is (ULP, REL) of the
#: output dtype. Triton's interpreter truncates float32 -> float16/bfloat16 casts; a GPU rounds to nearest.
ULP = {torch.float32: 1e-6, torch.float16: 1e-3, torch.bfloat16: 8e-3}
REL = {torch.float32: 0.0, torch.float16: 2**-10, torch.bfloat16: 2**-7}
#: erase boxes, (B = 2, K = 3, 4) x0, y0, x1, y1
BOXES = [
    [[2, 3, 9, 20], [0, 0, 0, 5], [15, 11, 40, 40]],  # overhanging, empty (x0 == x1), bottom-right
    [[-3, -2, 4, 4], [10, 10, 5, 12], [1.5, 2.5, 6.2, 7.0]],  # negative start, inverted, fractional
]


def layout(x: torch.Tensor, kind: str) -> torch.Tensor:
    """The same values in another memory layout: plain, channels_last, or a non-contiguous view."""
    if kind == "contiguous":
        return x.contiguous()
    if kind == "channels_last":
        return x.contiguous(memory_format=torch.channels_last)
    b, c, h, w = x.shape
    big = torch.zeros((b, c + 1, h + 3, 2 * w + 1), dtype=x.dtype, device=x.device)
    view = big[:, 1:, 2 : h + 2, 1 : 2 * w + 1 : 2]  # offset, row gap, column step 2
    view.copy_(x)
    assert not view.is_contiguous() and not view.is_contiguous(memory_format=torch.channels_last)
    return view


def photos(b=2, size=(13, 17), gray=False) -> torch.Tensor:
    return photo_batch(b, size, gray=gray).to(DEVICE)


def as_dtype(u8: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A uint8 batch in ``dtype``: itself, or scaled to [0, 1]."""
    return u8 if dtype == torch.uint8 else (u8.float() / 255).to(dtype)


def random_inverse(b: int, shift: float = 6.0, gen_seed: int = 1) -> torch.Tensor:
    """Per-sample (B, 2, 3) output->source maps: rotation/shear/scale around identity plus a shift, so the
    samples leave the image on every side (all fill modes are exercised) and no coordinate is a tie."""
    g = torch.Generator().manual_seed(gen_seed)
    a = torch.eye(2).expand(b, 2, 2) + 0.45 * torch.randn(b, 2, 2, generator=g)
    t = shift * torch.randn(b, 2, 1, generator=g) + 0.123
    return torch.cat([a, t], 2).to(DEVICE)


def primitive(name: str):
    """``(kernel, reference)``: ``gpuaug.kernels.<family>.<name>`` and ``gpuaug._torch.<family>.<name>``."""
    family = backend.PRIMITIVES[name]
    kernel = getattr(importlib.import_module(f"gpuaug.kernels.{family}"), name)
    reference = getattr(importlib.import_module(f"gpuaug._torch.{family}"), name)
    return kernel, reference


def _tensors(args) -> dict[int, torch.Tensor]:
    return {i: a for i, a in enumerate(args) if isinstance(a, torch.Tensor)}


def _assert_unmodified(args, before: dict[int, torch.Tensor], who: str) -> None:
    for i, t in before.items():
        assert torch.equal(args[i], t), f"{who} modified its argument {i}"


def _expected_strides(img: torch.Tensor, out: torch.Tensor, memory_format) -> tuple[int, ...]:
    """The strides of the image output ``out``: those of ``empty_output(img, size, dtype)``; by hand (the same
    ``torch.empty``) where the channel count changes (grayscale) or the primitive takes ``memory_format``."""
    fmt = memory_format if memory_format is not None else memory_format_of(img)
    if out.shape[1] == img.shape[1] and fmt == memory_format_of(img):
        return empty_output(img, tuple(out.shape[-2:]), out.dtype).stride()
    return torch.empty(out.shape, device="meta", memory_format=fmt).stride()


def _assert_matches(out: torch.Tensor, ref: torch.Tensor, atol, rtol, int_tol: int, what: str) -> None:
    assert out.dtype == ref.dtype and out.shape == ref.shape, (
        f"{what}: kernel {out.dtype} {tuple(out.shape)}, reference {ref.dtype} {tuple(ref.shape)}")
    if not out.dtype.is_floating_point:  # uint8 images, int32 counts, uint8 tables: bitwise
        if int_tol == 0:
            assert torch.equal(out, ref), f"{what}: max diff {max_abs_diff(out, ref)}"
        else:
            assert max_abs_diff(out, ref) <= int_tol, f"{what}: max diff {max_abs_diff(out, ref)} > {int_tol}"
        return
    atol = ULP[out.dtype] if atol is None else atol
    rtol = REL[out.dtype] if rtol is None else rtol
    if atol == 0 and rtol == 0:
        assert torch.equal(out, ref), f"{what}: not bitwise equal, max diff {(out - ref).abs().max()}"
    else:
        torch.testing.assert_close(out.float(), ref.float(), atol=atol, rtol=rtol,
                                   msg=lambda m: f"{what}: {m}")


def check_primitive(
    name: str,
    *args,
    atol: float | None = None,
    rtol: float | None = None,
    int_tol: int = 0,
    out_dtype: torch.dtype | None = None,
    memory_format: torch.memory_format | None = None,
    check_empty: bool = True,
) -> torch.Tensor:
    """Run primitive ``name`` as Triton kernel and as torch-path reference on ``args``; return the kernel's
    output (for the caller's own oracle checks). Checked (after torchvision v2's ``check_kernel``):

    - the kernel's output equals the reference's: bitwise for integer outputs (uint8 images, counts,
      tables; ``int_tol`` allows a max abs difference), floats within ``atol``/``rtol`` (default one ulp of
      the output dtype: ``ULP``/``REL``; ``atol=0, rtol=0`` is bitwise);
    - neither call modifies its inputs (compared with clones taken before the calls);
    - dtype and device are kept: the kernel's output is on the first argument's device, in ``out_dtype``
      (default: the first argument's dtype for image outputs), the reference's dtype and shape;
    - memory format: an image output (B, C', H', W') has the strides of ``gpuaug._checks.empty_output`` for
      the input image (in ``memory_format`` where the primitive takes one), in the kernel and the reference;
      other outputs are contiguous;
    - no output shares memory with an input;
    - the empty batch: every argument with the first argument's batch size sliced to B = 0 gives, in both,
      an empty output of the right shape and dtype, on the device (``check_empty=False`` to skip).
    """
    kernel, reference = primitive(name)
    first = args[0]
    before = {i: t.clone() for i, t in _tensors(args).items()}
    out = kernel(*args)
    _assert_unmodified(args, before, f"kernel {name}")
    ref = reference(*args)
    _assert_unmodified(args, before, f"reference {name}")

    assert out.device == first.device and ref.device == first.device, f"{name}: device not kept"
    image = out.dim() == 4 and first.dim() == 4
    want_dtype = out_dtype if out_dtype is not None else first.dtype if image else None
    if want_dtype is not None:
        assert out.dtype == want_dtype, f"kernel {name}: dtype {out.dtype}, expected {want_dtype}"
    _assert_matches(out, ref, atol, rtol, int_tol, f"{name} kernel vs torch path")
    if image:
        strides = _expected_strides(first, out, memory_format)
        assert out.stride() == strides, f"kernel {name}: strides {out.stride()}, expected {strides}"
        assert ref.stride() == strides, f"reference {name}: strides {ref.stride()}, expected {strides}"
    else:
        assert out.is_contiguous() and ref.is_contiguous(), f"{name}: output not contiguous"
    for i, t in _tensors(args).items():
        if t.numel() and out.numel():
            assert out.untyped_storage().data_ptr() != t.untyped_storage().data_ptr(), (
                f"kernel {name}: output shares memory with argument {i}")

    if check_empty and first.shape[0] > 0:
        b = first.shape[0]
        empty = [a[:0] if isinstance(a, torch.Tensor) and a.dim() and a.shape[0] == b else a for a in args]
        for who, fn in (("kernel", kernel), ("reference", reference)):
            e = fn(*empty)
            assert e.shape == (0, *out.shape[1:]) and e.dtype == out.dtype and e.device == first.device, (
                f"{who} {name} on an empty batch: {e.dtype} {tuple(e.shape)} on {e.device}")
    return out
