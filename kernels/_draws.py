"""Device functions deriving a compiled plan's parameters from its block of uniforms: each mirrors one
layer's eager ``draw`` (the same columns, in the same order, the same float32 arithmetic) and its matrix.

Vectors run over a program's samples (``m``: the mask of real samples); ``u`` points at each sample's row
of the block; ``hp`` is the plan's table of constants (``kernels/pipeline.py`` packs it). Trigonometry is
float32 (``tl.cos``/``tl.sin``) and the matrix algebra float64, as the eager builders (which take their
cosines in float64: matrices agree to about 1e-7).
"""

from __future__ import annotations

import triton
import triton.language as tl

from ._common import round_half_even

PI = tl.constexpr(3.141592653589793)


@triton.jit
def col(u, c, m):
    """Column ``c`` of the block (a uniform per sample)."""
    return tl.load(u + c, mask=m, other=0.5)


@triton.jit
def hpf(hp, o):
    return tl.load(hp + o)


@triton.jit
def hpi(hp, o):
    return tl.load(hp + o).to(tl.int32)


@triton.jit
def bernoulli(u, m, p, c):
    """``Sampler.bernoulli(p)``: ``u < p`` from column ``c``; no column (``c < 0``) when p is 0 or 1."""
    x = col(u, tl.maximum(c, 0), m)
    return tl.where(c >= 0, x < p, (x * 0.0 + p) >= 1.0)


@triton.jit
def randint(u, m, c, n):
    """``Sampler.randint(0, n)`` from column ``c``: ``floor(u n)``, at most ``n - 1``."""
    return tl.minimum(tl.floor(col(u, c, m) * n), n - 1.0)


@triton.jit
def normal(u, m, c1, c2):
    """``Sampler.normal()``: Box-Muller from columns ``c1`` and ``c2``."""
    u1 = tl.maximum(col(u, c1, m), 1e-30)
    return tl.sqrt(-2.0 * tl.log(u1)) * tl.cos(col(u, c2, m) * 6.283185307179586)


@triton.jit
def beta(u, m, a, c, K: tl.constexpr):
    """``Sampler.beta(a)``: Johnk's method over ``K`` candidates (columns ``c .. c + K`` and
    ``c + K .. c + 2K``), the first accepted wins, else the normal approximation (columns ``c + 2K``,
    ``c + 2K + 1``)."""
    pick = tl.zeros_like(col(u, c, m))
    found = pick != pick
    for k in range(K):
        lu = tl.log(tl.maximum(col(u, c + k, m), 1e-30)) / a
        lv = tl.log(tl.maximum(col(u, c + K + k, m), 1e-30)) / a
        ok = (tl.exp(lu) + tl.exp(lv)) <= 1.0
        mx = tl.maximum(lu, lv)
        cand = tl.exp(lu - mx) / (tl.exp(lu - mx) + tl.exp(lv - mx))
        pick = tl.where(ok & ~found, cand, pick)
        found = found | ok
    z = normal(u, m, c + 2 * K, c + 2 * K + 1)
    approx = tl.minimum(tl.maximum(0.5 + z * tl.sqrt(1.0 / (4.0 * (2.0 * a + 1.0))), 0.0), 1.0)
    return tl.where(found, pick, approx)


@triton.jit
def affine(angle, tx, ty, scale, shx, shy, cx, cy):
    """``functional.affine_matrix`` (torchvision's RotateScaleShear; angle counter-clockwise on screen,
    shear in degrees) about ``(cx, cy)``: the forward matrix ``(a, b, c, d, e, f)``, float64."""
    rot = (-angle * (PI / 180.0)).to(tl.float32)
    sx = (shx * (PI / 180.0)).to(tl.float32)
    sy = (shy * (PI / 180.0)).to(tl.float32)
    cos_rs = tl.cos(rot - sy).to(tl.float64)
    sin_rs = tl.sin(rot - sy).to(tl.float64)
    cos_sy = tl.cos(sy).to(tl.float64)
    tan_sx = (tl.sin(sx) / tl.cos(sx)).to(tl.float64)
    s = scale.to(tl.float64)
    a = cos_rs / cos_sy * s
    b = (-cos_rs * tan_sx / cos_sy - tl.sin(rot).to(tl.float64)) * s
    c = sin_rs / cos_sy * s
    d = (-sin_rs * tan_sx / cos_sy + tl.cos(rot).to(tl.float64)) * s
    cx = cx.to(tl.float64)
    cy = cy.to(tl.float64)
    e = cx + tx.to(tl.float64) - (a * cx + b * cy)
    f = cy + ty.to(tl.float64) - (c * cx + d * cy)
    return a, b, c, d, e, f


@triton.jit
def to_f32(a, b, c, d, e, f):
    return a.to(tl.float32), b.to(tl.float32), c.to(tl.float32), d.to(tl.float32), e.to(tl.float32), \
        f.to(tl.float32)


@triton.jit
def gate(apply, a, b, c, d, e, f):
    """The identity where the sample is not selected."""
    return (tl.where(apply, a, 1.0), tl.where(apply, b, 0.0), tl.where(apply, c, 0.0),
            tl.where(apply, d, 1.0), tl.where(apply, e, 0.0), tl.where(apply, f, 0.0))


@triton.jit
def matmul(a, b, c, d, e, f, a2, b2, c2, d2, e2, f2):
    """``M2 @ M1`` of two float32 affines (M1 first), in float32 (Compose composes float32 matrices)."""
    return (a2 * a + b2 * c, a2 * b + b2 * d, c2 * a + d2 * c, c2 * b + d2 * d, a2 * e + b2 * f + e2,
            c2 * e + d2 * f + f2)


@triton.jit
def invert(a, b, c, d, e, f):
    """The inverse (output -> source) of a float32 forward affine, in float64 (``functional._invert``);
    a singular matrix maps everything to (-2, -2)."""
    a = a.to(tl.float64)
    b = b.to(tl.float64)
    c = c.to(tl.float64)
    d = d.to(tl.float64)
    e = e.to(tl.float64)
    f = f.to(tl.float64)
    det = a * d - b * c
    ia = d / det
    ib = -b / det
    ic = -c / det
    id_ = a / det
    ie = -(ia * e + ib * f)
    if_ = -(ic * e + id_ * f)
    ok = (ia == ia) & (ib == ib) & (ic == ic) & (id_ == id_) & (ie == ie) & (if_ == if_)
    ok = ok & (tl.abs(ia) < 1e300) & (tl.abs(ib) < 1e300) & (tl.abs(ic) < 1e300) & (tl.abs(id_) < 1e300)
    ok = ok & (tl.abs(ie) < 1e300) & (tl.abs(if_) < 1e300)
    return (tl.where(ok, ia, 0.0).to(tl.float32), tl.where(ok, ib, 0.0).to(tl.float32),
            tl.where(ok, ie, -2.0).to(tl.float32), tl.where(ok, ic, 0.0).to(tl.float32),
            tl.where(ok, id_, 0.0).to(tl.float32), tl.where(ok, if_, -2.0).to(tl.float32))


# ----------------------------------------------------------------------------------------- geometric layers
# record: p, c_apply, H, W, Ho, Wo, then the layer's own fields from offset 6


@triton.jit
def rrc(u, m, hp, o):
    """RandomResizedCrop: 10 tries of (area fraction, log ratio), the first that fits, else the fallback
    box; offsets uniform; resized to (Ho, Wo). Fields: s0 s1 lr0 lr1 c_scale c_logr c_ux c_uy fw fh fx0
    fy0."""
    apply = bernoulli(u, m, hpf(hp, o), hpi(hp, o + 1))
    h = hpf(hp, o + 2)
    w = hpf(hp, o + 3)
    ho = hpf(hp, o + 4)
    wo = hpf(hp, o + 5)
    s0 = hpf(hp, o + 6)
    s1 = hpf(hp, o + 7)
    lr0 = hpf(hp, o + 8)
    lr1 = hpf(hp, o + 9)
    c_scale = hpi(hp, o + 10)
    c_logr = hpi(hp, o + 11)
    area = h * w
    zero = tl.zeros_like(col(u, c_scale, m))
    cw = zero
    ch = zero
    found = zero != zero
    for t in tl.static_range(10):
        target = (col(u, c_scale + t, m) * (s1 - s0) + s0) * area
        ar = tl.exp(col(u, c_logr + t, m) * (lr1 - lr0) + lr0)
        tw = round_half_even(tl.sqrt_rn(target * ar))
        th = round_half_even(tl.sqrt_rn(target / ar))
        ok = (tw > 0) & (th > 0) & (tw <= w) & (th <= h)
        cw = tl.where(ok & ~found, tw, cw)
        ch = tl.where(ok & ~found, th, ch)
        found = found | ok
    cw = tl.where(found, cw, hpf(hp, o + 14))
    ch = tl.where(found, ch, hpf(hp, o + 15))
    x0 = tl.where(found, tl.floor(col(u, hpi(hp, o + 12), m) * (w - cw + 1.0)), hpf(hp, o + 16))
    y0 = tl.where(found, tl.floor(col(u, hpi(hp, o + 13), m) * (h - ch + 1.0)), hpf(hp, o + 17))
    x0 = tl.where(apply, x0, 0.0).to(tl.float64)
    y0 = tl.where(apply, y0, 0.0).to(tl.float64)
    bw = tl.where(apply, cw, w).to(tl.float64)
    bh = tl.where(apply, ch, h).to(tl.float64)
    sx = wo.to(tl.float64) / bw
    sy = ho.to(tl.float64) / bh
    zero64 = zero.to(tl.float64)
    return to_f32(sx, zero64, zero64, sy, (0.5 - x0) * sx - 0.5, (0.5 - y0) * sy - 0.5)


@triton.jit
def flip(u, m, hp, o, VERTICAL: tl.constexpr):
    """RandomHorizontalFlip (x -> W - 1 - x) / RandomVerticalFlip (y -> H - 1 - y)."""
    apply = bernoulli(u, m, hpf(hp, o), hpi(hp, o + 1))
    h = hpf(hp, o + 2)
    w = hpf(hp, o + 3)
    one = tl.full(apply.shape, 1.0, tl.float32)
    zero = one * 0.0
    if VERTICAL:
        return gate(apply, one, zero, zero, -one, zero, zero + (h - 1.0))
    return gate(apply, -one, zero, zero, one, zero + (w - 1.0), zero)


@triton.jit
def rotation(u, m, hp, o):
    """RandomRotation: angle uniform in [d0, d1] counter-clockwise about (cx, cy). Fields: d0 d1 c_angle
    cx cy."""
    apply = bernoulli(u, m, hpf(hp, o), hpi(hp, o + 1))
    d0 = hpf(hp, o + 6)
    d1 = hpf(hp, o + 7)
    angle = col(u, hpi(hp, o + 8), m) * (d1 - d0) + d0
    zero = angle * 0.0
    a, b, c, d, e, f = affine(angle, zero, zero, zero + 1.0, zero, zero, zero + hpf(hp, o + 9),
                              zero + hpf(hp, o + 10))
    a, b, c, d, e, f = to_f32(a, b, c, d, e, f)
    return gate(apply, a, b, c, d, e, f)


@triton.jit
def _maybe_uniform(u, m, c, lo, hi, default):
    """A uniform in [lo, hi] from column ``c``, or ``default`` where the layer draws none (``c < 0``)."""
    v = col(u, tl.maximum(c, 0), m) * (hi - lo) + lo
    return tl.where(c >= 0, v, default)


@triton.jit
def random_affine(u, m, hp, o):
    """RandomAffine (torchvision's, clockwise angle): angle; translate (rounded pixels); scale; shear x, y.
    Fields: d0 d1 c_angle mx my c_tx c_ty sc0 sc1 c_scale sh0 sh1 sh2 sh3 c_shx c_shy cx cy."""
    apply = bernoulli(u, m, hpf(hp, o), hpi(hp, o + 1))
    d0 = hpf(hp, o + 6)
    d1 = hpf(hp, o + 7)
    angle = col(u, hpi(hp, o + 8), m) * (d1 - d0) + d0
    mx = hpf(hp, o + 9)
    my = hpf(hp, o + 10)
    tx = round_half_even(_maybe_uniform(u, m, hpi(hp, o + 11), -mx, mx, 0.0))
    ty = round_half_even(_maybe_uniform(u, m, hpi(hp, o + 12), -my, my, 0.0))
    scale = _maybe_uniform(u, m, hpi(hp, o + 15), hpf(hp, o + 13), hpf(hp, o + 14), 1.0)
    shx = _maybe_uniform(u, m, hpi(hp, o + 20), hpf(hp, o + 16), hpf(hp, o + 17), 0.0)
    shy = _maybe_uniform(u, m, hpi(hp, o + 21), hpf(hp, o + 18), hpf(hp, o + 19), 0.0)
    zero = angle * 0.0
    a, b, c, d, e, f = affine(-angle, tx, ty, scale, shx, shy, zero + hpf(hp, o + 22), zero + hpf(hp, o + 23))
    a, b, c, d, e, f = to_f32(a, b, c, d, e, f)
    return gate(apply, a, b, c, d, e, f)


@triton.jit
def random_crop(u, m, hp, o):
    """RandomCrop: offsets uniform over the padded image, a shift by (left - ox, top - oy); not selected:
    the centre crop. Fields: left top ph pw c_ox c_oy ox_centre oy_centre."""
    apply = bernoulli(u, m, hpf(hp, o), hpi(hp, o + 1))
    ho = hpf(hp, o + 4)
    wo = hpf(hp, o + 5)
    ph = hpf(hp, o + 8)
    pw = hpf(hp, o + 9)
    ox = tl.floor(col(u, hpi(hp, o + 10), m) * (pw - wo + 1.0))
    oy = tl.floor(col(u, hpi(hp, o + 11), m) * (ph - ho + 1.0))
    ox = tl.where(apply, ox, hpf(hp, o + 12))
    oy = tl.where(apply, oy, hpf(hp, o + 13))
    zero = ox * 0.0
    a, b, c, d, e, f = affine(zero, hpf(hp, o + 6) - ox, hpf(hp, o + 7) - oy, zero + 1.0, zero, zero, zero,
                              zero)
    return to_f32(a, b, c, d, e, f)


@triton.jit
def geo_layer(u, m, hp, o, CODE: tl.constexpr):
    """The forward float32 matrix of one geometric layer (codes: ``gpuaug.plan.spec.GEO_CODES``)."""
    if CODE == 1:
        r = rrc(u, m, hp, o)
    elif CODE == 2:
        r = flip(u, m, hp, o, False)
    elif CODE == 3:
        r = flip(u, m, hp, o, True)
    elif CODE == 4:
        r = rotation(u, m, hp, o)
    elif CODE == 5:
        r = random_affine(u, m, hp, o)
    else:
        r = random_crop(u, m, hp, o)
    return r


# ------------------------------------------------------------------------------------------------- policies
# record: p c_apply code n_ops H W c_ops c_f f_mode magnitude levels std mmax c_sign c_active op_prob c_interp
#         n_interp interp0 interp1 interp2 bins table_off sub_off n_subs c_sub
# op table (``slots.TABLE_ROWS`` x n_ops): kind scale offset signed dir rounding size levels minimum maximum

@triton.jit
def _row(hp, t, r, n, op):
    return tl.load(hp + t + r * n + op.to(tl.int32))


@triton.jit
def policy_slot(u, m, hp, o, apply, k, S: tl.constexpr):
    """Slot ``k`` of ``S``: the op's kind (0 = identity where inactive), argument, interpolation code and
    the inverse matrix of a geometric op (the identity otherwise)."""
    code = hpi(hp, o + 2)
    n = hpf(hp, o + 3)
    h = hpf(hp, o + 4)
    w = hpf(hp, o + 5)
    c_f = hpi(hp, o + 7)
    f_mode = hpi(hp, o + 8)
    mag = hpf(hp, o + 9)
    levels = hpf(hp, o + 10)
    mmax = hpf(hp, o + 12)
    sign = tl.where(col(u, hpi(hp, o + 13) + k, m) < 0.5, 1.0, -1.0)
    if code == 3:  # AutoAugment: a sub-policy per sample, its ops, probabilities and magnitudes
        so = hpi(hp, o + 23)
        ns = hpf(hp, o + 24)
        sub = randint(u, m, hpi(hp, o + 25), ns).to(tl.int32)
        op = tl.load(hp + so + sub * 2 + k, mask=m, other=0.0)
        prob = tl.load(hp + so + (ns.to(tl.int32) + sub) * 2 + k, mask=m, other=0.0)
        f = tl.load(hp + so + (2 * ns.to(tl.int32) + sub) * 2 + k, mask=m, other=0.0)
        active = col(u, hpi(hp, o + 14) + k, m) <= prob
    else:
        op = randint(u, m, hpi(hp, o + 6) + k, n)
        if f_mode == 3:  # TrivialAugmentWide: a bin uniform in [0, bins)
            bins = hpf(hp, o + 21)
            f = randint(u, m, c_f + k, bins) / (bins - 1.0)
        else:
            if f_mode == 0:
                mg = tl.zeros_like(sign) + mag
            elif f_mode == 1:  # mstd inf: uniform in [0, m]
                mg = col(u, c_f + k, m) * mag
            else:
                mg = mag + hpf(hp, o + 11) * normal(u, m, c_f + k, c_f + S + k)
            f = tl.minimum(tl.maximum(mg, 0.0), mmax) / levels
        active = bernoulli(u, m, hpf(hp, o + 15), tl.where(hpi(hp, o + 14) >= 0, hpi(hp, o + 14) + k, -1))
    c_interp = hpi(hp, o + 16)
    idx = tl.where(c_interp >= 0, randint(u, m, tl.maximum(c_interp, 0) + k, hpf(hp, o + 17)), 0.0)
    interp = tl.where(idx == 0, hpf(hp, o + 18), tl.where(idx == 1, hpf(hp, o + 19), hpf(hp, o + 20)))
    # the registry's formula: offset U + dir sign R(scale f S), clipped (uint8 levels: U = 1)
    t = hpi(hp, o + 22)
    ni = hpi(hp, o + 3)
    kind = _row(hp, t, 0, ni, op)
    size = _row(hp, t, 6, ni, op)
    v = _row(hp, t, 1, ni, op) * f * tl.where(size == 1.0, w, tl.where(size == 2.0, h, 1.0))
    rounding = _row(hp, t, 5, ni, op)
    v = tl.where(rounding == 1.0, round_half_even(v), tl.where(rounding == 2.0, tl.where(v < 0, -tl.floor(-v),
                                                                                         tl.floor(v)), v))
    sg = tl.where(_row(hp, t, 3, ni, op) > 0, sign, 1.0)
    arg = _row(hp, t, 2, ni, op) + _row(hp, t, 4, ni, op) * sg * v
    arg = tl.minimum(tl.maximum(arg, _row(hp, t, 8, ni, op)), _row(hp, t, 9, ni, op))
    kind = tl.where(active & apply, kind, 0.0)
    # the op's matrix (slots.Policy._matrix): rotate about the centre; shear about the top-left corner,
    # source x + m (y + 1/2); translate a forward shift
    zero = arg * 0.0
    is_rot = kind == 5.0
    a, b, c, d, e, f6 = affine(tl.where(is_rot, arg, 0.0), zero, zero, zero + 1.0, zero, zero,
                               zero + (w - 1.0) / 2.0, zero + (h - 1.0) / 2.0)
    a, b, c, d, e, f6 = to_f32(a, b, c, d, e, f6)
    sx = tl.where(kind == 1.0, arg, 0.0)
    sy = tl.where(kind == 2.0, arg, 0.0)
    is_shear = (kind == 1.0) | (kind == 2.0)
    a = tl.where(is_shear, 1.0, a)
    b = tl.where(is_shear, -sx, b)
    c = tl.where(is_shear, -sy, c)
    d = tl.where(is_shear, 1.0, d)
    e = tl.where(is_shear, -0.5 * sx, e)  # (-1/2, -1/2) - lin @ (-1/2, -1/2)
    f6 = tl.where(is_shear, -0.5 * sy, f6)
    e = e + tl.where(kind == 3.0, arg, 0.0)
    f6 = f6 + tl.where(kind == 4.0, arg, 0.0)
    ia, ib, ie, ic, id_, if_ = invert(a, b, c, d, e, f6)
    return kind, arg, interp, ia, ib, ie, ic, id_, if_


# ---------------------------------------------------------------------------------------------------- mixers
# record: p c_apply code H W c_switch switch_p alpha_mix c_beta_mix alpha_cut c_beta_cut c_cy c_cx smoothing K
#         partner(0 roll, 1 flip)

@triton.jit
def mixer(u, m, hp, o, offs, B, K_BETA: tl.constexpr):
    """``(mode, partner, x0, y0, x1, y1, lam, own)`` of CutMix / MixUp / MixUpCutMix (``_Mix._mix``)."""
    apply = bernoulli(u, m, hpf(hp, o), hpi(hp, o + 1))
    code = hpi(hp, o + 2)
    h = hpf(hp, o + 3)
    w = hpf(hp, o + 4)
    c_mix = hpi(hp, o + 8)
    c_cut = hpi(hp, o + 10)
    if code == 3:
        use_cut = bernoulli(u, m, hpf(hp, o + 6), hpi(hp, o + 5))
    else:
        use_cut = (offs * 0 + code) == 1
    # (alpha 0: that mixer draws no column; a positive dummy keeps the unused branch finite)
    a_mix = tl.maximum(hpf(hp, o + 7), 1e-3)
    a_cut = tl.maximum(hpf(hp, o + 9), 1e-3)
    lam_mix = tl.where(c_mix >= 0, beta(u, m, a_mix, tl.maximum(c_mix, 0), K_BETA), 1.0)
    lam_cut = tl.where(c_cut >= 0, beta(u, m, a_cut, tl.maximum(c_cut, 0), K_BETA), 1.0)
    # timm's rand_bbox (mix.cutmix_boxes)
    rat = tl.sqrt(tl.maximum(1.0 - lam_cut, 0.0))
    cut_h = tl.floor(h * rat)
    cut_w = tl.floor(w * rat)
    cy = tl.minimum(tl.floor(col(u, hpi(hp, o + 11), m) * h), h - 1.0)
    cx = tl.minimum(tl.floor(col(u, hpi(hp, o + 12), m) * w), w - 1.0)
    hh = tl.floor(cut_h / 2.0)
    hw = tl.floor(cut_w / 2.0)
    cut = apply & use_cut
    mix = apply & ~use_cut
    y0 = tl.where(cut, tl.minimum(tl.maximum(cy - hh, 0.0), h), 0.0)
    y1 = tl.where(cut, tl.minimum(tl.maximum(cy + hh, 0.0), h), 0.0)
    x0 = tl.where(cut, tl.minimum(tl.maximum(cx - hw, 0.0), w), 0.0)
    x1 = tl.where(cut, tl.minimum(tl.maximum(cx + hw, 0.0), w), 0.0)
    lam = tl.where(mix, lam_mix, 1.0)
    own = tl.where(cut, 1.0 - (x1 - x0) * (y1 - y0) / (h * w), lam)
    mode = tl.where(cut, 1.0, tl.where(mix, 2.0, 0.0))
    partner = tl.where(hpi(hp, o + 15) == 0, (offs + 1) % tl.maximum(B, 1), B - 1 - offs)
    return mode, partner, x0, y0, x1, y1, lam, own
