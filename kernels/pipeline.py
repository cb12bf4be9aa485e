"""Triton kernels of a compiled plan (``gpuaug/plan/spec.py``): drop-ins for ``gpuaug._torch.pipeline``.

``pipeline_params(block, labels, spec) -> (P, soft_labels, hists)``: ONE launch turns the block of
uniforms into every per-sample parameter (``_draws``: each layer's eager draw, column for column), writes
the rows ``P``, the soft labels of the mixer, and zeroes the histogram buffers of the passes.
``pipeline_stats(src, P, spec, hists)``: the histograms slot 0's samples need (a policy first).
``pipeline_pass(src, P, hists, spec, k, final) -> out``: the geometric run (``k = -1``), policy slot ``k``
or nothing (``k = -2``): each program handles a 2-D tile (``tile_2d``: rows of up to 128 pixels; the output
width specialised on divisibility by 16, so rows load and store as vectors) of ONE sample, so every branch
on the sample's op is uniform per program and a sample runs only the op it drew. It writes the histograms
the next slot's samples need (per-program ``tl.histogram`` + 256 atomics), and on the last pass mixes (the
partner's pixel is recomputed with the partner's op), normalizes, casts and lays out the batch in its one
store.

Bytes a pass moves (the floor): read the input once (the warp's footprints and sharpness's 3 x 3 from
cache), write the output once; the last pass reads the partner's pixels only inside a CutMix box and for
MixUp samples.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from gpuaug._checks import empty_output

from . import _common as common
from . import _draws as D
from ._common import round_half_even, skip_launch, tile_2d, tile_for, wrap
from ._pack import INTERPOLATIONS, K_BETA, pack
from .warp import sample_channel, source_position

FILL_MODES = ("constant", "edge", "reflect", "mirror", "wrap")
_BS = 64  # samples per program of the parameter kernel


def _hp(spec, device) -> tuple[torch.Tensor, dict]:
    """The constants on the device, built once per plan and device (kept in ``spec.cache``: the one
    host-to-device copy happens when the plan is first run, not per batch)."""
    key = ("hp", str(device))
    if key not in spec.cache:
        hp, meta = pack(spec)
        spec.cache[key] = (torch.tensor(hp, dtype=torch.float32).to(device), meta)
    return spec.cache[key]


# ------------------------------------------------------------------------------------------------- params


@triton.jit(do_not_specialize=["B", "u_s", "p_s", "soft_s", "K", "mix_col"])
def _params_kernel(
    u_ptr, hp, p_ptr, lab_ptr, soft_ptr, hist_ptr,
    B, u_s, p_s, soft_s, K, mix_col,
    G0: tl.constexpr, G1: tl.constexpr, G2: tl.constexpr, G3: tl.constexpr, NSLOT: tl.constexpr,
    MIX: tl.constexpr, HIST: tl.constexpr, K_BETA: tl.constexpr, BS: tl.constexpr, BK: tl.constexpr,
    BH: tl.constexpr,
):
    i = tl.program_id(0)
    offs = i * BS + tl.arange(0, BS)
    m = offs < B
    offs64 = offs.to(tl.int64)
    u = u_ptr + offs64 * u_s
    row = p_ptr + offs64 * p_s
    GEO: tl.constexpr = G0 != 0
    if GEO:  # the geometric run: the layers' forward matrices composed in order (Compose), inverted
        a, b, c, d, e, f = D.geo_layer(u, m, hp, D.hpi(hp, 0), G0)
        if G1 != 0:
            a2, b2, c2, d2, e2, f2 = D.geo_layer(u, m, hp, D.hpi(hp, 1), G1)
            a, b, c, d, e, f = D.matmul(a, b, c, d, e, f, a2, b2, c2, d2, e2, f2)
        if G2 != 0:
            a2, b2, c2, d2, e2, f2 = D.geo_layer(u, m, hp, D.hpi(hp, 2), G2)
            a, b, c, d, e, f = D.matmul(a, b, c, d, e, f, a2, b2, c2, d2, e2, f2)
        if G3 != 0:
            a2, b2, c2, d2, e2, f2 = D.geo_layer(u, m, hp, D.hpi(hp, 3), G3)
            a, b, c, d, e, f = D.matmul(a, b, c, d, e, f, a2, b2, c2, d2, e2, f2)
        ia, ib, ie, ic, id_, if_ = D.invert(a, b, c, d, e, f)
        tl.store(row + 0, ia, mask=m)
        tl.store(row + 1, ib, mask=m)
        tl.store(row + 2, ie, mask=m)
        tl.store(row + 3, ic, mask=m)
        tl.store(row + 4, id_, mask=m)
        tl.store(row + 5, if_, mask=m)
    if NSLOT > 0:
        o = D.hpi(hp, 4)
        apply = D.bernoulli(u, m, D.hpf(hp, o), D.hpi(hp, o + 1))
        for k in tl.static_range(NSLOT):
            kind, arg, interp, ia, ib, ie, ic, id_, if_ = D.policy_slot(u, m, hp, o, apply, k, NSLOT)
            base = row + 6 * GEO + 9 * k
            tl.store(base + 0, kind, mask=m)
            tl.store(base + 1, arg, mask=m)
            tl.store(base + 2, interp, mask=m)
            tl.store(base + 3, ia, mask=m)
            tl.store(base + 4, ib, mask=m)
            tl.store(base + 5, ie, mask=m)
            tl.store(base + 6, ic, mask=m)
            tl.store(base + 7, id_, mask=m)
            tl.store(base + 8, if_, mask=m)
    if MIX:
        o = D.hpi(hp, 5)
        mode, partner, x0, y0, x1, y1, lam, own = D.mixer(u, m, hp, o, offs, B, K_BETA)
        base = row + mix_col
        tl.store(base + 0, mode, mask=m)
        tl.store(base + 1, partner.to(tl.float32), mask=m)
        tl.store(base + 2, x0, mask=m)
        tl.store(base + 3, y0, mask=m)
        tl.store(base + 4, x1, mask=m)
        tl.store(base + 5, y1, mask=m)
        tl.store(base + 6, lam, mask=m)
        tl.store(base + 7, own, mask=m)
        # soft labels: (1 - s) one-hot + s / K, mixed with the partner's by the own weight (timm)
        ls = D.hpf(hp, o + 13)
        off = ls / K
        on = 1.0 - ls + off
        mine = tl.load(lab_ptr + offs64, mask=m, other=0)
        theirs = tl.load(lab_ptr + partner.to(tl.int64), mask=m, other=0)
        for k0 in range(0, K, BK):
            cls = k0 + tl.arange(0, BK)
            y_me = tl.where(mine[:, None] == cls[None, :], on, off)
            y_them = tl.where(theirs[:, None] == cls[None, :], on, off)
            v = own[:, None] * y_me + (1.0 - own[:, None]) * y_them
            tl.store(soft_ptr + offs64[:, None] * soft_s + cls[None, :], v,
                     mask=m[:, None] & (cls[None, :] < K))
    if HIST > 0:  # the passes' histogram buffers (HIST int32 per sample), zeroed for this block of samples
        zero = tl.zeros([BS, BH], dtype=tl.int32)
        for h0 in range(0, HIST, BH):
            cols = h0 + tl.arange(0, BH)
            tl.store(hist_ptr + offs64[:, None] * HIST + cols[None, :], zero,
                     mask=m[:, None] & (cols[None, :] < HIST))


def _hist_shape(spec) -> tuple[int, int, int, int]:
    b, c = spec.shape[:2]
    return (spec.slots, b, c + 1, 256)


def pipeline_params(block: torch.Tensor, labels: torch.Tensor | None, spec):
    """(P (B, width) float32, soft labels (B, K) float32 or None, histogram buffers zeroed): one launch."""
    b = spec.shape[0]
    dev = block.device
    P = torch.empty((b, spec.width), dtype=torch.float32, device=dev)
    soft = None if spec.mix is None else torch.empty((b, spec.num_classes), dtype=torch.float32, device=dev)
    hs = _hist_shape(spec)
    hists = torch.empty((hs[1], hs[0], hs[2], hs[3]), dtype=torch.int32, device=dev).transpose(0, 1)
    if b == 0 or skip_launch(P):
        return P, soft, (hists.zero_() if b else hists)
    hp, meta = _hp(spec, dev)
    block = block.contiguous()
    lab = labels.to(device=dev, dtype=torch.int64).contiguous() if labels is not None else P
    per = hs[0] * hs[2] * hs[3]
    wrap(_params_kernel)[(triton.cdiv(b, _BS),)](
        block, hp, P, lab, soft if soft is not None else P, hists,
        b, block.stride(0), P.stride(0), soft.stride(0) if soft is not None else 0,
        spec.num_classes or 1, spec.mix_col,
        **meta, HIST=per, K_BETA=K_BETA, BS=_BS, BK=64, BH=256, num_warps=4,
    )
    return P, soft, hists


# -------------------------------------------------------------------------------------------------- passes
# kinds (registry.KINDS): 0 identity, 1-5 geometric, 6 brightness, 7 saturation, 8 contrast, 9 sharpness,
# 10 posterize, 11 solarize, 12 solarize_add, 13 autocontrast, 14 equalize, 15 invert


@triton.jit
def _load(p_c, oy, ox, s_h, s_w, m):
    return tl.load(p_c + oy * s_h + ox * s_w, mask=m, other=0).to(tl.float32)


@triton.jit
def _warp3(p_s, s_c, p_inv, ox, oy, H, W, s_h, s_w, m, f0, f1, f2, C: tl.constexpr, MODE: tl.constexpr,
           INTERP: tl.constexpr, INT64: tl.constexpr):
    sx, sy = source_position(p_inv, ox, oy, H, W, MODE, INTERP)
    v0 = sample_channel(p_s, sx, sy, H, W, s_h, s_w, m, f0, MODE, INTERP, True, INT64)
    v1 = v0
    v2 = v0
    if C == 3:
        v1 = sample_channel(p_s + s_c, sx, sy, H, W, s_h, s_w, m, f1, MODE, INTERP, True, INT64)
        v2 = sample_channel(p_s + 2 * s_c, sx, sy, H, W, s_h, s_w, m, f2, MODE, INTERP, True, INT64)
    return v0, v1, v2


@triton.jit
def _table_value(v, kind, arg, p_hist, cidx, C: tl.constexpr):
    """A uint8 pointwise op on the values ``v`` (float32 0..255) of channel ``cidx``: PIL's formulas, the
    same float32 arithmetic as the table builders of ``_torch/lut.py`` (equalize and autocontrast from the
    channel's histogram, contrast from the gray one's rounded mean)."""
    if kind == 6:  # brightness: blend with black
        r = tl.minimum(tl.maximum(arg * v, 0.0), 255.0)
        r = tl.floor(r)
    elif kind == 10:  # posterize
        bits = arg.to(tl.int32)
        mask = (255 >> (8 - bits)) << (8 - bits)
        r = (v.to(tl.int32) & mask).to(tl.float32)
    elif kind == 11:  # solarize
        r = tl.where(v >= arg, 255.0 - v, v)
    elif kind == 12:  # solarize_add (threshold 128)
        r = tl.where(v < 128.0, tl.minimum(tl.maximum(v + arg, 0.0), 255.0), v)
        r = round_half_even(r)
    elif kind == 15:  # invert
        r = 255.0 - v
    elif kind == 8:  # contrast: blend with the rounded mean of the gray image
        bins = tl.arange(0, 256)
        hg = tl.load(p_hist + C * 256 + bins).to(tl.int64)
        n = tl.sum(hg, axis=0)
        s = tl.sum(hg * bins, axis=0)
        mean = ((2 * s + n) // tl.maximum(2 * n, 1)).to(tl.float32)
        r = tl.floor(tl.minimum(tl.maximum(mean + arg * (v - mean), 0.0), 255.0))
    elif kind == 14:  # equalize: PIL's table from the histogram, gathered
        bins = tl.arange(0, 256)
        h = tl.load(p_hist + cidx * 256 + bins).to(tl.int64)
        total = tl.sum(h, axis=0)
        last = tl.max(tl.where(h > 0, bins, -1), axis=0)
        h_last = tl.sum(tl.where(bins == last, h, 0), axis=0)
        step = (total - h_last) // 255
        before = tl.cumsum(h, axis=0) - h
        lut = (step // 2 + before) // tl.maximum(step, 1)
        lut = tl.where(step > 0, tl.minimum(lut, 255), bins).to(tl.float32)
        r = tl.reshape(tl.gather(lut, tl.reshape(v.to(tl.int32), [v.numel]), axis=0), v.shape)
    else:  # autocontrast (13): the present range stretched to 0..255, float64 as PIL
        bins = tl.arange(0, 256)
        ha = tl.load(p_hist + cidx * 256 + bins)  # (names unique per branch: Triton merges them by type)
        lo = tl.min(tl.where(ha > 0, bins, 256), axis=0).to(tl.float64)
        hi = tl.max(tl.where(ha > 0, bins, -1), axis=0).to(tl.float64)
        ok = hi > lo
        scale = 255.0 / tl.where(ok, hi - lo, 1.0)
        vd = v.to(tl.float64)
        y = tl.where(ok, vd * scale + (-lo * scale), vd)
        r = tl.minimum(tl.maximum(tl.where(y < 0, -tl.floor(-y), tl.floor(y)), 0.0), 255.0).to(tl.float32)
    return r


@triton.jit
def _luma(r, g, b):
    """PIL's ``convert("L")``: (19595 R + 38470 G + 7471 B + 0x8000) >> 16, as float32."""
    return ((19595 * r.to(tl.int32) + 38470 * g.to(tl.int32) + 7471 * b.to(tl.int32) + 0x8000) >> 16).to(
        tl.float32)


@triton.jit
def _smooth(p_c, oy, ox, H, W, s_h, s_w, m, v):
    """PIL's SMOOTH (1 1 1 / 1 5 1 / 1 1 1, / 13) of one channel, rounded as PIL; border pixels kept."""
    inner = m & (ox > 0) & (oy > 0) & (ox < W - 1) & (oy < H - 1)
    s = v * 4.0
    for dy in tl.static_range(3):
        for dx in tl.static_range(3):
            s += _load(p_c, oy + (dy - 1), ox + (dx - 1), s_h, s_w, inner)
    return tl.where(inner, tl.floor((s * 2.0 + 13.5) * (1.0 / 26.0)), v)


@triton.jit
def _op_value(p_s, s_c, H, W, s_h, s_w, ox, oy, m, row, hist_b, fill_ptr,
              C: tl.constexpr, OP: tl.constexpr, MODE: tl.constexpr, INTERP: tl.constexpr,
              INT64: tl.constexpr):
    """The three channel values (float32, uint8 levels) of one sample's pass at output pixels (ox, oy):
    ``OP`` 0 the input as it is, 1 the geometric run (a warp through the row's first matrix), 2 the sample's
    slot op (the row points at its slot: kind, arg, interpolation, inverse matrix). Every branch is on this
    sample's own scalar, uniform in the program."""
    f0 = round_half_even(tl.load(fill_ptr + 0))
    f1 = f0
    f2 = f0
    if C == 3:
        f1 = round_half_even(tl.load(fill_ptr + 1))
        f2 = round_half_even(tl.load(fill_ptr + 2))
    if OP == 1:
        v0, v1, v2 = _warp3(p_s, s_c, row, ox, oy, H, W, s_h, s_w, m, f0, f1, f2, C, MODE, INTERP, INT64)
    else:
        v0 = _load(p_s, oy, ox, s_h, s_w, m)
        v1 = v0
        v2 = v0
        if C == 3:
            v1 = _load(p_s + s_c, oy, ox, s_h, s_w, m)
            v2 = _load(p_s + 2 * s_c, oy, ox, s_h, s_w, m)
        if OP == 2:
            kind = tl.load(row + 0)
            arg = tl.load(row + 1)
            if (kind >= 1) & (kind <= 5):
                interp = tl.load(row + 2)
                if interp == 0:
                    v0, v1, v2 = _warp3(p_s, s_c, row + 3, ox, oy, H, W, s_h, s_w, m, f0, f1, f2, C, MODE, 0,
                                        INT64)
                elif interp == 1:
                    v0, v1, v2 = _warp3(p_s, s_c, row + 3, ox, oy, H, W, s_h, s_w, m, f0, f1, f2, C, MODE, 1,
                                        INT64)
                else:
                    v0, v1, v2 = _warp3(p_s, s_c, row + 3, ox, oy, H, W, s_h, s_w, m, f0, f1, f2, C, MODE, 2,
                                        INT64)
            elif kind == 7:  # saturation ("Color"): blend with the gray image
                if C == 3:
                    g = _luma(v0, v1, v2)
                    v0 = tl.floor(tl.minimum(tl.maximum((v0 - g) * arg + g, 0.0), 255.0))
                    v1 = tl.floor(tl.minimum(tl.maximum((v1 - g) * arg + g, 0.0), 255.0))
                    v2 = tl.floor(tl.minimum(tl.maximum((v2 - g) * arg + g, 0.0), 255.0))
            elif kind == 9:  # sharpness: blend with the SMOOTH image (border pixels kept)
                g0 = _smooth(p_s, oy, ox, H, W, s_h, s_w, m, v0)
                v0 = tl.floor(tl.minimum(tl.maximum((v0 - g0) * arg + g0, 0.0), 255.0))
                if C == 3:
                    g1 = _smooth(p_s + s_c, oy, ox, H, W, s_h, s_w, m, v1)
                    g2 = _smooth(p_s + 2 * s_c, oy, ox, H, W, s_h, s_w, m, v2)
                    v1 = tl.floor(tl.minimum(tl.maximum((v1 - g1) * arg + g1, 0.0), 255.0))
                    v2 = tl.floor(tl.minimum(tl.maximum((v2 - g2) * arg + g2, 0.0), 255.0))
            elif kind >= 6:
                v0 = _table_value(v0, kind, arg, hist_b, 0, C)
                if C == 3:
                    v1 = _table_value(v1, kind, arg, hist_b, 1, C)
                    v2 = _table_value(v2, kind, arg, hist_b, 2, C)
    return v0, v1, v2


@triton.jit
def _count(v, m, p_h, n_masked):
    """Add the 256-bin histogram of the uint8 values ``v`` (a tile, masked lanes out) to ``p_h`` with
    atomics."""
    # masked lanes counted in bin 0 and taken off again (no histogram mask in older Triton)
    flat = tl.reshape(tl.where(m, v, 0.0).to(tl.int32), [v.numel])
    h = tl.histogram(flat, 256)
    bins = tl.arange(0, 256)
    h = tl.where(bins == 0, h - n_masked, h)
    tl.atomic_add(p_h + bins, h, sem="relaxed")


@triton.jit
def _blend(a, b, lam, omlam):
    """MixUp of uint8 values, as ``layers.mix.blend``: ``round(lam a + (1 - lam) b)``."""
    return round_half_even(tl.minimum(tl.maximum(a * lam + b * omlam, 0.0), 255.0))


@triton.jit(do_not_specialize=["H", "W", "Ho", "b0", "p_s", "hist_s", "slot_col", "next_col",
                               "mix_col"])
def _pass_kernel(
    src, dst, P, hist_in, hist_out, fill_ptr, scale_ptr, shift_ptr,
    H, W, Ho, Wo, b0, p_s, hist_s, slot_col, next_col, mix_col,
    s_b, s_c, s_h, s_w, d_b, d_c, d_h, d_w,
    C: tl.constexpr, OP: tl.constexpr, MODE: tl.constexpr, INTERP: tl.constexpr, STORE: tl.constexpr,
    NEXT_STATS: tl.constexpr, MIX: tl.constexpr, NORMALIZE: tl.constexpr, INT64: tl.constexpr,
    TH: tl.constexpr, TW: tl.constexpr,
):
    i_b, m_p, oy, ox = tile_2d(Ho, Wo, b0, INT64, TH, TW)
    row = P + i_b * p_s
    p_src = src + i_b * s_b
    if NEXT_STATS:  # the histograms the next slot needs (equalize, autocontrast, contrast), if it drew one
        nk = tl.load(row + next_col)
        need = (nk == 8) | (nk == 13) | (nk == 14)
        if not STORE:  # a stats-only pass reads nothing of a sample that needs no statistics
            m_p = tl.where(need, m_p, False)
    v0, v1, v2 = _op_value(p_src, s_c, H, W, s_h, s_w, ox, oy, m_p, row + slot_col,
                           hist_in + i_b * hist_s, fill_ptr, C, OP, MODE, INTERP, INT64)
    if NEXT_STATS:
        if need:
            n_masked = TH * TW - tl.sum(tl.sum(m_p.to(tl.int32), axis=1), axis=0)
            p_h = hist_out + i_b * hist_s
            _count(v0, m_p, p_h, n_masked)
            if C == 3:
                _count(v1, m_p, p_h + 256, n_masked)
                _count(v2, m_p, p_h + 512, n_masked)
                _count(_luma(v0, v1, v2), m_p, p_h + 768, n_masked)
            else:
                _count(v0, m_p, p_h + 256, n_masked)
    if STORE:
        if MIX:  # CutMix pastes the partner's pixels, MixUp blends them: its op recomputed here
            mrow = row + mix_col
            mode = tl.load(mrow + 0)
            lam = tl.load(mrow + 6)
            xf = ox.to(tl.float32)
            yf = oy.to(tl.float32)
            # (a scalar condition through tl.where: the interpreter cannot AND a scalar bool with a vector)
            inside = tl.where(mode == 1.0, (xf >= tl.load(mrow + 2)) & (xf < tl.load(mrow + 4)) &
                              (yf >= tl.load(mrow + 3)) & (yf < tl.load(mrow + 5)), False)
            q0 = tl.zeros_like(v0)
            q1 = q0
            q2 = q0
            if (mode == 2.0) | (tl.max(tl.max(inside.to(tl.int32), axis=1), axis=0) > 0):
                q = tl.load(mrow + 1).to(tl.int64)
                q0, q1, q2 = _op_value(src + q * s_b, s_c, H, W, s_h, s_w, ox, oy, m_p,
                                       P + q * p_s + slot_col, hist_in + q * hist_s, fill_ptr, C, OP, MODE,
                                       INTERP, INT64)
            omlam = 1.0 - lam
            v0 = _blend(tl.where(inside, q0, v0), q0, lam, omlam)
            v1 = _blend(tl.where(inside, q1, v1), q1, lam, omlam)
            v2 = _blend(tl.where(inside, q2, v2), q2, lam, omlam)
        p_dst = dst + i_b * d_b + oy * d_h + ox * d_w
        if NORMALIZE:
            v0 = v0 * tl.load(scale_ptr + 0) + tl.load(shift_ptr + 0)
            if C == 3:
                v1 = v1 * tl.load(scale_ptr + 1) + tl.load(shift_ptr + 1)
                v2 = v2 * tl.load(scale_ptr + 2) + tl.load(shift_ptr + 2)
        tl.store(p_dst, v0.to(dst.dtype.element_ty), mask=m_p)
        if C == 3:
            tl.store(p_dst + d_c, v1.to(dst.dtype.element_ty), mask=m_p)
            tl.store(p_dst + 2 * d_c, v2.to(dst.dtype.element_ty), mask=m_p)


def _launch_pass(src, P, hists, spec, op: int, k: int, final: bool, store: bool = True):
    """``op`` 0 copy (stats-only, or the epilogue alone), 1 the geometric run, 2 slot ``k``; the histograms
    for slot ``k + 1`` when it exists and this is not the last pass."""
    b, c, h, w = src.shape
    ho, wo = spec.size if op == 1 else (h, w)
    ep = spec.epilogue
    if not store:
        out = src
    elif final and ep is not None:
        fmt = torch.channels_last if ep.channels_last else torch.contiguous_format
        out = torch.empty((b, c, ho, wo), dtype=ep.dtype, device=src.device, memory_format=fmt)
    else:
        out = empty_output(src, (ho, wo))
    if b == 0 or skip_launch(out):
        return out
    geo_fill, pol_fill, scale, shift = spec.constants(src.device)
    if scale is None:  # (no epilogue: any pointers, never read)
        scale = shift = geo_fill
    nxt = k + 1
    next_stats = (not final) and 0 <= nxt < spec.slots
    hist_in = hists[max(k, 0)] if spec.slots else P  # (no slot reads or writes histograms: any pointer)
    hist_out = hists[nxt] if next_stats else hist_in
    policy_mode = spec.policy.layer.fill_mode if spec.policy is not None else "constant"
    fill_mode = spec.geo_fill_mode if op == 1 else policy_mode
    th, tw, warps = tile_for("pipeline", ho, wo)
    tiles = triton.cdiv(ho, th) * triton.cdiv(wo, tw)
    # samples indexed from lo, in the whole batch: the partner of a mix may be in another chunk
    for lo, hi in common.batch_chunks(b):
        wrap(_pass_kernel)[(tiles, hi - lo)](
            src, out, P, hist_in, hist_out, geo_fill if op == 1 else pol_fill, scale, shift,
            h, w, ho, wo, lo, P.stride(0), hist_in.stride(0), spec.slot(k) if op == 2 else 0,
            spec.slot(nxt) if next_stats else 0, spec.mix_col if spec.mix is not None else 0,
            *src.stride(), *out.stride(),
            C=c, OP=op, MODE=FILL_MODES.index(fill_mode), INTERP=INTERPOLATIONS.index(spec.geo_interpolation),
            STORE=store, NEXT_STATS=next_stats, MIX=store and final and spec.mix is not None,
            NORMALIZE=store and final and ep is not None, INT64=common.needs_int64(src, out), TH=th, TW=tw,
            num_warps=warps, enable_fp_fusion=False)
    return out


def pipeline_stats(src: torch.Tensor, P: torch.Tensor, spec, hists: torch.Tensor) -> None:
    """The histograms of ``src`` that slot 0's samples need, into ``hists[0]`` (a policy comes first)."""
    _launch_pass(src, P, hists, spec, 0, -1, False, store=False)


def pipeline_pass(src: torch.Tensor, P: torch.Tensor, hists: torch.Tensor, spec, k: int,
                  final: bool) -> torch.Tensor:
    """One pass (see the module docstring): ``k`` -1 the geometric run, -2 nothing (the epilogue alone), else
    policy slot ``k``; the histograms of its output for slot ``k + 1`` into ``hists[k + 1]``."""
    op = {-1: 1, -2: 0}.get(k, 2)
    return _launch_pass(src, P, hists, spec, op, k if op == 2 else -1, final)
