"""The Triton kernels compile for a GPU (sm_90, Hopper) on a machine without one.

The interpreter (tests/test_kernels_<family>.py under TRITON_INTERPRET=1) runs the kernels' logic on the CPU
but never lowers them: layout, type and inline-assembly errors only show up when Triton compiles for a real
target. ``triton.compile`` does that without a device (the pip wheel ships ptxas), so CI checks one variant
of each kernel per code path here. It also checks two properties of the generated code: contiguous uint8
rows are loaded with vector instructions (the pixel count specialised on divisibility by 16), and the PIL-
exact blends use a separately rounded multiply (no FMA).
"""

from __future__ import annotations

import os
import re

import pytest

if os.environ.get("TRITON_INTERPRET", "0").strip() not in ("", "0"):
    pytest.skip("kernels are interpreted in this run (TRITON_INTERPRET=1): nothing to compile",
                allow_module_level=True)
triton = pytest.importorskip("triton", reason="triton is not installed")
try:
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
except ImportError:  # pragma: no cover - other Triton layouts
    pytest.skip("this Triton has no ASTSource/GPUTarget API", allow_module_level=True)

from gpuaug.kernels import add as ka  # noqa: E402
from gpuaug.kernels import blur as kb  # noqa: E402
from gpuaug.kernels import color as kc  # noqa: E402
from gpuaug.kernels import erase as ke  # noqa: E402
from gpuaug.kernels import histogram as kh  # noqa: E402
from gpuaug.kernels import lut as kl  # noqa: E402
from gpuaug.kernels import normalize as kn  # noqa: E402
from gpuaug.kernels import pipeline as kp  # noqa: E402
from gpuaug.kernels import resize as kr  # noqa: E402
from gpuaug.kernels import warp as kw  # noqa: E402

TARGET = GPUTarget("cuda", 90, 32)


def compile_kernel(fn, pointers: dict, constexprs: dict, num_warps: int = 4, divisible: tuple = ()):
    """Compile ``fn`` with pointer element types ``pointers`` (other runtime args: i32, 16-divisible like a
    224x224 batch, sizes only when named in ``divisible``) and ``constexprs`` (stride 1 arguments are
    constexpr 1, as Triton specialises them)."""
    names = fn.arg_names
    sig, attrs = {}, {}
    for i, name in enumerate(names):
        if name in constexprs:
            sig[name] = "constexpr"
        elif name in pointers:
            sig[name] = "*" + pointers[name]
            attrs[(i,)] = [["tt.divisibility", 16]]
        else:
            sig[name] = "i32"
            if name in divisible or (name not in getattr(fn, "do_not_specialize", ())
                                     and name not in ("H", "W", "Ho", "Wo", "K")):
                attrs[(i,)] = [["tt.divisibility", 16]]
    const = {(names.index(k),): v for k, v in constexprs.items()}
    try:
        src = ASTSource(fn=fn, signature=sig, constexprs=const, attrs=attrs)
        return triton.compile(src, target=TARGET, options={"num_warps": num_warps})
    except (RuntimeError, FileNotFoundError) as e:
        if "ptxas" in str(e).lower() and "not found" in str(e).lower():
            pytest.skip(f"no ptxas for sm_90 here: {e}")
        raise


def global_accesses(kernel) -> list[str]:
    return re.findall(r"(?:ld|st)\.global[.a-z0-9:_]*", kernel.asm["ptx"])


@pytest.mark.parametrize("interp,mode,src,dst", [
    (1, 2, "u8", "u8"), (1, 0, "bf16", "bf16"), (0, 4, "fp16", "fp16"), (1, 3, "u8", "u8"),
    (0, 1, "fp32", "fp32"), (2, 0, "u8", "u8"), (2, 1, "u8", "u8"), (2, 2, "fp32", "fp32"),
    (2, 4, "u8", "u8"),
])
def test_warp_compiles(interp, mode, src, dst):
    k = compile_kernel(kw._warp_kernel, dict(src_ptr=src, dst_ptr=dst, inv_ptr="fp32", fill_ptr="fp32"),
                       dict(s_w=1, d_w=1, C=3, INTERP=interp, MODE=mode, SRC_U8=src == "u8", INT64=mode == 2,
                            TH=8, TW=128), divisible=("Wo",))
    if dst == "u8":
        stores = [a for a in global_accesses(k) if a.startswith("st")]
        assert any(".v" in a for a in stores), f"output stores not vectorised: {set(stores)}"


def test_lut_and_histogram_compile_vectorised():
    k = compile_kernel(kl._lut_kernel, dict(src_ptr="u8", dst_ptr="u8", lut_ptr="u8"),
                       dict(s_w=1, d_w=1, C=3, SRC_FLAT=True, DST_FLAT=True, INT64=False, BLOCK=2048), 8)
    acc = global_accesses(k)
    assert any(a.startswith("ld") and ".v" in a for a in acc), set(acc)
    assert any(a.startswith("st") and ".v" in a for a in acc), set(acc)
    compile_kernel(kl._equalize_lut_kernel, dict(hist_ptr="i32", lut_ptr="u8"), {}, 1)
    for atomics in (False, True):
        k = compile_kernel(kh._histogram_kernel, dict(src_ptr="u8", hist_ptr="i32"),
                           dict(s_w=1, C=3, SRC_FLAT=True, INT64=False, PER_PIXEL_ATOMICS=atomics,
                                BLOCK=4096), 8)
        assert any(a.startswith("ld") and ".v" in a for a in global_accesses(k))


@pytest.mark.parametrize("noise,dtype", [(False, "u8"), (True, "u8"), (False, "bf16")])
def test_erase_and_paste_compile(noise, dtype):
    compile_kernel(ke._erase_kernel, dict(src_ptr=dtype, dst_ptr=dtype, box_ptr="fp32",
                                          value_ptr="fp32" if dtype == "u8" else dtype, seed_ptr="i32"),
                   dict(s_w=1, d_w=1, C=3, NOISE=noise, IS_U8=dtype == "u8", SRC_FLAT=True, DST_FLAT=True,
                        INT64=False, BLOCK=2048), 8)
    compile_kernel(ke._paste_kernel, dict(src_ptr=dtype, dst_ptr=dtype, partner_ptr="i64", box_ptr="fp32"),
                   dict(s_w=1, d_w=1, C=3, SRC_FLAT=True, DST_FLAT=True, INT64=True, BLOCK=2048), 8)


@pytest.mark.parametrize("mode,dtype,lut", [(0, "fp16", False), (1, "u8", True), (1, "fp32", False),
                                            (2, "u8", False), (2, "bf16", False)])
def test_gray_kernels_compile(mode, dtype, lut):
    k = compile_kernel(kc._gray_kernel, dict(src_ptr=dtype, dst_ptr=dtype, lut_ptr="u8", factor_ptr="fp32",
                                             part_ptr="i32" if dtype == "u8" else "fp32"),
                       dict(s_w=1, d_w=1, C=3, MODE=mode, HAS_LUT=lut, IS_U8=dtype == "u8", EXACT=True,
                            SRC_FLAT=True, DST_FLAT=True, INT64=False, BLOCK=2048), 8)
    if mode == 2 and dtype == "u8":
        ptx = k.asm["ptx"]
        assert "mul.rn.f32" in ptx and "fma.rn.f32" not in ptx  # PIL's separate multiply and add


@pytest.mark.parametrize("dtype", ["u8", "fp32"])
def test_sharpness_and_hue_compile(dtype):
    k = compile_kernel(kc._sharpness_kernel, dict(src_ptr=dtype, dst_ptr=dtype, factor_ptr="fp32"),
                       dict(d_w=1, C=3, IS_U8=dtype == "u8", EXACT=True, DST_FLAT=True, INT64=False,
                            BLOCK=1024))
    if dtype == "u8":
        assert "fma.rn.f32" not in k.asm["ptx"]
    compile_kernel(kc._hue_kernel, dict(src_ptr=dtype, dst_ptr=dtype, delta_ptr="fp32"),
                   dict(s_w=1, d_w=1, IS_U8=dtype == "u8", SRC_FLAT=True, DST_FLAT=True, INT64=False,
                        BLOCK=2048), 8)


@pytest.mark.parametrize("src,dst", [("u8", "fp32"), ("u8", "bf16"), ("fp16", "fp16")])
def test_normalize_compiles_vectorised(src, dst):
    pointers = dict(src_ptr=src, dst_ptr=dst, scale_ptr="fp32", shift_ptr="fp32")
    k = compile_kernel(kn._normalize_kernel, pointers,
                       dict(s_w=1, d_w=1, C=3, SRC_FLAT=True, DST_FLAT=True, INT64=False, BLOCK=2048), 8)
    acc = global_accesses(k)
    assert any(a.startswith("ld") and ".v" in a for a in acc), set(acc)


@pytest.mark.parametrize("geo,nslot,mix", [((1, 2, 0, 0), 2, True), ((5, 3, 0, 0), 0, False),
                                           ((4, 6, 1, 2), 3, False), ((0, 0, 0, 0), 1, True)])
def test_plan_params_kernel_compiles(geo, nslot, mix):
    """Every geometric layer, policy slots and the mixer (Beta draws, one-hot labels, zeroed histograms)."""
    compile_kernel(kp._params_kernel, dict(u_ptr="fp32", hp="fp32", p_ptr="fp32", lab_ptr="i64",
                                           soft_ptr="fp32", hist_ptr="i32"),
                   dict(G0=geo[0], G1=geo[1], G2=geo[2], G3=geo[3], NSLOT=nslot, MIX=mix,
                        HIST=nslot * 4 * 256, K_BETA=32, BS=64, BK=64, BH=256))


@pytest.mark.parametrize("op,mode,interp,stats,mix,dst", [
    (1, 0, 1, True, False, "u8"), (1, 2, 2, False, True, "bf16"), (2, 0, 0, True, False, "u8"),
    (2, 4, 1, False, True, "fp32"), (0, 0, 0, True, False, "u8"), (0, 0, 0, False, True, "fp16"),
])
def test_plan_pass_kernel_compiles(op, mode, interp, stats, mix, dst):
    """A pass: the geometric run, a slot (every kind: warps, tables with tl.gather, histograms with atomics,
    sharpness), stats only; the epilogue (mix, normalize, cast)."""
    store = not (op == 0 and stats)
    k = compile_kernel(kp._pass_kernel, dict(src="u8", dst=dst, P="fp32", hist_in="i32", hist_out="i32",
                                             fill_ptr="fp32", scale_ptr="fp32", shift_ptr="fp32"),
                       dict(s_w=1, d_w=1, C=3, OP=op, MODE=mode, INTERP=interp, STORE=store, NEXT_STATS=stats,
                            MIX=mix, NORMALIZE=dst != "u8", INT64=False, TH=8, TW=128), divisible=("Wo",))
    # 2-D tiles, rows of 128 pixels, the width specialised on divisibility by 16 (224): vector stores
    stores = [a for a in global_accesses(k) if a.startswith("st.global") and "atom" not in a]
    assert not store or all(".v" in a for a in stores), set(stores)


@pytest.mark.parametrize("dtype,int64", [("u8", False), ("bf16", False), ("fp32", True)])
def test_resize_compiles(dtype, int64):
    k = compile_kernel(kr._resize_kernel, dict(src_ptr=dtype, dst_ptr=dtype),
                       dict(s_w=1, d_w=1, C=3, IS_U8=dtype == "u8", INT64=int64, TH=8, TW=128),
                       divisible=("Wo",))
    stores = [a for a in global_accesses(k) if a.startswith("st")]
    assert int64 or any(".v" in a for a in stores), set(stores)  # rows of 128 outputs: vector stores


@pytest.mark.parametrize("dtype,int64", [("u8", False), ("fp16", False), ("fp32", True)])
def test_blur_compiles_with_fp32_dots(dtype, int64):
    """Both passes as float32 dots (no TF32: uint8 results would cross rounding edges)."""
    k = compile_kernel(kb._blur_kernel, dict(src_ptr=dtype, dst_ptr=dtype, sigma_ptr="fp32"),
                       dict(s_w=1, d_w=1, C=3, IS_U8=dtype == "u8", INT64=int64, TO=kb.TO, CH=kb.CH))
    ptx = k.asm["ptx"]
    assert "tf32" not in ptx and "fma.rn.f32" in ptx


@pytest.mark.parametrize("noise,dtype", [(False, "u8"), (True, "u8"), (True, "bf16"), (False, "fp32")])
def test_add_compiles_vectorised(noise, dtype):
    k = compile_kernel(ka._add_kernel, dict(src_ptr=dtype, dst_ptr=dtype, shift_ptr="fp32", sigma_ptr="fp32",
                                            seed_ptr="i64", low_ptr="fp32", high_ptr="fp32"),
                       dict(s_w=1, d_w=1, C=3, NOISE=noise, IS_U8=dtype == "u8", SRC_FLAT=True, DST_FLAT=True,
                            INT64=False, BLOCK=2048), 8)
    acc = global_accesses(k)
    assert any(a.startswith("ld") and ".v" in a for a in acc), set(acc)
