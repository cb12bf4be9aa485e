"""The table of constants the plan's parameter kernel reads (``kernels/_draws.py`` documents each record):
host-side, built once per plan from the layers' settings, with the column of every draw laid out as the
layer's eager ``draw`` consumes them (checked against ``spec.ncols``)."""

from __future__ import annotations

import math

import torch

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
GEO_RECORD = 24
K_BETA = 32  # Johnk candidates per Beta draw (layers.base.Sampler.beta)



def _bern_col(p: float, c: int) -> tuple[float, int, int]:
    """(p, column or -1, columns used) of ``Sampler.bernoulli(p)`` at column ``c``."""
    return (p, c, 1) if 0.0 < p < 1.0 else (p, -1, 0)


def pack(spec) -> tuple[list[float], dict]:
    """The table of constants the parameter kernel reads, and the kernel's constexprs. Column offsets
    follow each layer's eager draw; the total is checked against ``spec.ncols``."""
    hp: list[float] = [0.0] * 8  # header: 4 geometric offsets, policy, mix
    meta = {}
    used = 0
    for j, st in enumerate(spec.geo):
        o = len(hp)
        hp[j] = float(o)
        rec = [0.0] * GEO_RECORD
        t = st.layer
        p, ca, n = _bern_col(t.p, st.col)
        c = st.col + n
        h, w = st.in_size
        ho, wo = st.out_size
        rec[0:6] = [p, ca, h, w, ho, wo]
        if st.code == 1:  # RandomResizedCrop
            fw, fh, fx, fy = t.fallback_box(h, w)
            rec[6:18] = [t.scale[0], t.scale[1], math.log(t.ratio[0]), math.log(t.ratio[1]), c, c + 10,
                         c + 20, c + 21, fw, fh, fx, fy]
            c += 22
        elif st.code == 4:  # RandomRotation
            cx, cy = t.pivot((h, w))
            rec[6:11] = [t.degrees[0], t.degrees[1], c, cx, cy]
            c += 1
        elif st.code == 5:  # RandomAffine
            cx, cy = t.pivot((h, w))
            rec[6:9] = [t.degrees[0], t.degrees[1], c]
            c += 1
            rec[11] = rec[12] = rec[15] = rec[20] = rec[21] = -1
            if t.translate is not None:
                rec[9:13] = [t.translate[0] * w, t.translate[1] * h, c, c + 1]
                c += 2
            if t.scale is not None:
                rec[13:16] = [t.scale[0], t.scale[1], c]
                c += 1
            if t.shear is not None:
                rec[16:22] = [*t.shear, c, c + 1]
                c += 2
            rec[22:24] = [cx, cy]
        elif st.code == 6:  # RandomCrop
            left, top, ph, pw = t._padded((h, w))
            rec[6:14] = [left, top, ph, pw, c, c + 1, float((pw - wo) // 2), float((ph - ho) // 2)]
            c += 2
        hp.extend(rec)
        _check_columns(t, c - st.col, st.ncols)
        meta[f"G{j}"] = st.code
        used = c
    for j in range(len(spec.geo), 4):
        meta[f"G{j}"] = 0
    if len(spec.geo) > 4:
        raise AssertionError("at most 4 geometric layers (Spec.compile_plan folds more into fewer)")
    meta["NSLOT"] = spec.slots
    if spec.policy is not None:
        hp[4] = float(len(hp))
        used = _pack_policy(spec, hp)
    meta["MIX"] = spec.mix is not None
    if spec.mix is not None:
        hp[5] = float(len(hp))
        used = _pack_mix(spec, hp)
    if used != spec.ncols:
        raise AssertionError(f"packed {used} columns, the plan draws {spec.ncols}")
    return hp, meta


def _pack_policy(spec, hp: list[float]) -> int:
    st = spec.policy
    pol = st.layer
    code = st.code
    S = spec.slots
    p, ca, n = _bern_col(pol.p, st.col)
    c = st.col + n
    h, w = st.in_size
    rec = [0.0] * 26
    rec[0:6] = [p, ca, code, len(pol.ops), h, w]
    rec[11] = 0.0
    rec[16] = -1.0
    rec[14] = -1.0
    interps = [INTERPOLATIONS.index(name) for name in pol.interpolations] + [0, 0]
    rec[17:21] = [len(pol.interpolations), *interps[:3]]
    if code == 3:  # AutoAugment: sub (1), sign (2), active (2)
        rec[25] = c
        rec[13] = c + 1
        rec[14] = c + 3
        c += 5
    elif code == 2:  # TrivialAugmentWide: op, bin, sign (active: p = 1, no column)
        rec[6], rec[7], rec[8], rec[21] = c, c + 1, 3, pol.num_magnitude_bins
        rec[13] = c + 2
        rec[15] = 1.0
        c += 3
    else:  # RandAugment / TimmRandAugment: ops, f, sign, active, interp
        rec[6] = c
        c += S
        mag, levels, mmax, std = pol.magnitude, pol.levels, pol.upper, pol.magnitude_std
        rec[7] = c
        if std == 0:
            rec[8] = 0
        elif math.isinf(std):
            rec[8] = 1
            c += S
        else:
            rec[8] = 2
            c += 2 * S
        rec[9:13] = [mag, levels, 0.0 if math.isinf(std) else std, mmax]
        rec[13] = c
        c += S
        rec[15] = pol.op_prob
        if 0.0 < pol.op_prob < 1.0:
            rec[14] = c
            c += S
        if len(pol.interpolations) > 1:
            rec[16] = c
            c += S
    table = pol.table(torch.device("cpu"))
    rec[22] = float(len(hp) + len(rec))
    rows = table.tolist()
    sub = []
    if code == 3:
        sub = [v for row in pol._sub_rows for v in row]
        rec[24] = float(len(pol._sub_rows[0]) // 2)
    rec[23] = rec[22] + len(rows) * len(pol.ops)
    hp.extend(rec)
    hp.extend(v for row in rows for v in row)
    hp.extend(sub)
    _check_columns(pol, c - st.col, st.ncols)
    return c


def _pack_mix(spec, hp: list[float]) -> int:
    st = spec.mix
    mixer = st.layer
    p, ca, n = _bern_col(mixer.p, st.col)
    c = st.col + n
    h, w = st.in_size
    rec = [0.0] * 16
    rec[0:5] = [p, ca, st.code, h, w]
    rec[5] = -1.0
    rec[8] = rec[10] = -1.0
    beta_cols = 2 * K_BETA + 2
    if st.code == 3:  # MixUpCutMix: switch, lam_mix, lam_cut, box
        if mixer.mixup_alpha > 0 and mixer.cutmix_alpha > 0:
            sw, cs, nn = _bern_col(mixer.switch_prob, c)
            rec[5:7] = [cs, sw]
            c += nn
        else:
            rec[6] = 1.0 if mixer.cutmix_alpha > 0 else 0.0
        if mixer.mixup_alpha > 0:
            rec[7:9] = [mixer.mixup_alpha, c]
            c += beta_cols
        if mixer.cutmix_alpha > 0:
            rec[9:11] = [mixer.cutmix_alpha, c]
            c += beta_cols
        rec[11:13] = [c, c + 1]
        c += 2
    elif st.code == 1:  # CutMix: lam, box
        rec[9:11] = [mixer.alpha, c]
        c += beta_cols
        rec[11:13] = [c, c + 1]
        c += 2
    else:  # MixUp: lam
        rec[7:9] = [mixer.alpha, c]
        c += beta_cols
    rec[13:16] = [mixer.label_smoothing, spec.num_classes, 0.0 if mixer.partner == "roll" else 1.0]
    hp.extend(rec)
    _check_columns(mixer, c - st.col, st.ncols)
    return c


def _check_columns(layer, packed: int, drawn: int) -> None:
    if packed != drawn:
        raise AssertionError(f"{type(layer).__name__}: packed {packed} columns, the layer draws {drawn}")
