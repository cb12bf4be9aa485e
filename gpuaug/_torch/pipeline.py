"""A compiled plan's primitives on the torch path (mirror of ``kernels/pipeline.py``), the reference the
kernels are tested against; the layout of the rows and the passes: ``gpuaug/plan/spec.py``.

``pipeline_params(block, labels, spec) -> (P, soft_labels, hists)``: the per-sample rows from the
uniforms, by the layers' own eager draws on the same columns (``spec.draw``) and their own matrix and
argument code; ``hists``: the passes' histogram buffers (slots, B, C + 1, 256), zeroed.
``pipeline_stats(src, P, spec, hists)``: the histograms slot 0 needs, into ``hists[0]``.
``pipeline_pass(src, P, hists, spec, k, final) -> out``: one pass (``k`` -1 the geometric run, -2 nothing,
else policy slot ``k``, reading ``hists[k]``), the histograms of its output for slot ``k + 1`` into
``hists[k + 1]``, and on the last pass the mixer and the epilogue.
"""

from __future__ import annotations

import torch

from gpuaug._torch import _common as K
from gpuaug._torch.color import adjust_saturation, adjust_sharpness, grayscale
from gpuaug._torch.erase import paste
from gpuaug._torch.histogram import histogram
from gpuaug._torch.lut import (
    apply_lut,
    autocontrast_lut,
    brightness_lut,
    contrast_lut,
    equalize_lut,
    identity_lut,
    invert_lut,
    mean_from_histogram,
    posterize_lut,
    solarize_add_lut,
    solarize_lut,
)
from gpuaug._torch.normalize import normalize
from gpuaug._torch.warp import INTERPOLATIONS, warp

# registry.KINDS codes the passes branch on (kept in step by tests/test_plan.py)
IDENTITY, SHEAR_X, SHEAR_Y, TRANSLATE_X, TRANSLATE_Y, ROTATE = 0, 1, 2, 3, 4, 5
BRIGHTNESS, SATURATION, CONTRAST, SHARPNESS, POSTERIZE, SOLARIZE, SOLARIZE_ADD = 6, 7, 8, 9, 10, 11, 12
AUTOCONTRAST, EQUALIZE, INVERT = 13, 14, 15
GEOMETRIC = (SHEAR_X, SHEAR_Y, TRANSLATE_X, TRANSLATE_Y, ROTATE)
NEEDS_STATS = (CONTRAST, AUTOCONTRAST, EQUALIZE)


def invert_affine(m: torch.Tensor) -> torch.Tensor:
    """float32 (B, 6) inverse (output -> source) of forward (B, 3, 3) / (B, 2, 3) affines, closed form in
    float64 (as ``functional.geometry``)."""
    m = m.to(torch.float64)
    a, b, c = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    d, e, f = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    det = a * e - b * d
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    return torch.stack((ia, ib, -(ia * c + ib * f), id_, ie, -(id_ * c + ie * f)), -1).float()


def pipeline_params(block: torch.Tensor, labels: torch.Tensor | None, spec) -> tuple:
    """(P (B, spec.width) float32, soft labels (B, num_classes) float32 or None, zeroed histograms)."""
    b = spec.shape[0]
    dev = block.device
    drawn = spec.draw(block)
    P = torch.zeros((b, spec.width), dtype=torch.float32, device=dev)
    if spec.geo:
        m = torch.eye(3, dtype=torch.float32, device=dev).expand(b, 3, 3)
        for st, p in zip(spec.geo, drawn["geo"]):
            m = st.layer.matrix(p, st.in_size) @ m
        P[:, 0:6] = invert_affine(m)
    if spec.policy is not None:
        pol, p = spec.policy.layer, drawn["policy"]
        kinds = pol.op_kinds(p)
        names = pol.interpolations
        for k in range(spec.slots):
            c0 = spec.slot(k)
            arg = pol.slot_args(p, k, spec.size, 1.0)
            code = torch.full((b,), float(INTERPOLATIONS.index(names[0])), device=dev)
            for i, n in enumerate(names[1:], 1):  # the policy's i-th interpolation -> the passes' code
                code = torch.where(p["interp"][:, k] == i, float(INTERPOLATIONS.index(n)), code)
            is_ = {n: kinds[:, k] == i for i, n in enumerate(_KINDS) if i in GEOMETRIC}
            P[:, c0] = kinds[:, k].float()
            P[:, c0 + 1] = arg
            P[:, c0 + 2] = code
            P[:, c0 + 3:c0 + 9] = invert_affine(pol._matrix(is_, arg, spec.size, None))
    soft = None
    if spec.mix is not None:
        mixer, p = spec.mix.layer, drawn["mix"]
        h, w = spec.size
        a = p["apply"]
        cut = a & p["cutmix"] if "cutmix" in p else (a if spec.mix.code == 1 else torch.zeros_like(a))
        mixup = a & ~cut if spec.mix.code != 1 else torch.zeros_like(a)
        box = torch.where(cut[:, None], p["box"], 0.0) if "box" in p else torch.zeros(b, 4, device=dev)
        lam = torch.where(mixup, p["lam"], 1.0) if "lam" in p else torch.ones(b, device=dev)
        area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
        own = torch.where(cut, 1.0 - area / float(h * w), lam)
        c0 = spec.mix_col
        P[:, c0] = torch.where(cut, 1.0, torch.where(mixup, 2.0, 0.0))
        P[:, c0 + 1] = p["partner"].float()
        P[:, c0 + 2:c0 + 6] = box.trunc()
        P[:, c0 + 6] = lam
        P[:, c0 + 7] = own
        y = torch.nn.functional.one_hot(labels.long(), spec.num_classes).to(torch.float32)
        if mixer.label_smoothing > 0:
            y = y * (1.0 - mixer.label_smoothing) + mixer.label_smoothing / y.shape[1]
        soft = own[:, None] * y + (1.0 - own[:, None]) * y[p["partner"]]
    c = spec.shape[1]
    hists = torch.zeros((b, spec.slots, c + 1, 256), dtype=torch.int32, device=dev).transpose(0, 1)
    return P, soft, hists


_KINDS = ("identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate")


# ------------------------------------------------------------------------------------------------- passes


def stats(img: torch.Tensor, need: torch.Tensor) -> torch.Tensor:
    """int32 (B, C + 1, 256): the histogram of each channel and of the gray image (ITU-R 601-2, PIL's
    integer luma; the channel itself for C = 1) for the samples in ``need``, zeros for the others."""
    b, c = img.shape[:2]
    gray = img if c == 1 else grayscale(img)
    h = torch.cat([histogram(img), histogram(gray)], 1)
    return torch.where(need[:, None, None], h, 0)


def _tables(kind, arg, hist, c, device) -> torch.Tensor:
    """uint8 (B, C, 256) tables of the slot's pointwise op per sample (identity for other kinds)."""
    b = kind.shape[0]
    one = torch.ones_like(arg)
    t = identity_lut(b, c, device)

    def put(code, table):
        return torch.where((kind == code)[:, None, None], table.expand(b, c, 256), t)

    t = put(POSTERIZE, posterize_lut(torch.where(kind == POSTERIZE, arg, 8.0)))
    t = put(SOLARIZE, solarize_lut(torch.where(kind == SOLARIZE, arg, 256.0)))
    t = put(SOLARIZE_ADD, solarize_add_lut(torch.where(kind == SOLARIZE_ADD, arg, 0.0), 128.0 * one))
    t = put(INVERT, invert_lut(b, device))
    t = put(BRIGHTNESS, brightness_lut(torch.where(kind == BRIGHTNESS, arg, 1.0)))
    if hist is not None:
        t = put(EQUALIZE, equalize_lut(hist[:, :c]))
        t = put(AUTOCONTRAST, autocontrast_lut(hist[:, :c]))
        mean = mean_from_histogram(hist[:, c:])
        t = put(CONTRAST, contrast_lut(torch.where(kind == CONTRAST, arg, 1.0), mean))
    return t


def _slot(src, P, spec, k, hist) -> torch.Tensor:
    """Policy slot ``k`` on the uint8 batch ``src`` (B, C, H, W): each sample its own op."""
    b, c, h, w = src.shape
    c0 = spec.slot(k)
    kind = P[:, c0].round().long()
    arg = P[:, c0 + 1]
    interp = P[:, c0 + 2].round().long()
    inv = P[:, c0 + 3:c0 + 9].reshape(b, 2, 3)
    out = src
    geo = torch.zeros_like(kind, dtype=torch.bool)
    for g in GEOMETRIC:
        geo |= kind == g
    eye = torch.eye(2, 3, device=src.device).expand(b, 2, 3)
    fill = spec.constants(src.device)[1].expand(src.shape[:2])
    fill_mode = spec.policy.layer.fill_mode
    for code, name in enumerate(INTERPOLATIONS):
        sel = geo & (interp == code)
        if K.one_shot(src) or bool(sel.any()):  # (skipping an unused warp: a free read on the host only)
            warped = warp(src, torch.where(sel[:, None, None], inv, eye), (h, w), name, fill_mode, fill)
            out = torch.where(sel[:, None, None, None], warped, out)
    table_op = (kind >= BRIGHTNESS) & (kind != SATURATION) & (kind != SHARPNESS)
    tables = _tables(kind, arg, hist, c, src.device)
    out = torch.where(table_op[:, None, None, None], apply_lut(src, tables), out)
    if c == 3:
        out = torch.where((kind == SATURATION)[:, None, None, None],
                          adjust_saturation(src, torch.where(kind == SATURATION, arg, 1.0)), out)
    out = torch.where((kind == SHARPNESS)[:, None, None, None],
                      adjust_sharpness(src, torch.where(kind == SHARPNESS, arg, 1.0)), out)
    return out.contiguous()


def _next_need(P, spec, k) -> torch.Tensor | None:
    """Which samples' op in slot ``k + 1`` reads the statistics of this pass's output (None: no slot)."""
    if k + 1 >= spec.slots:
        return None
    kind = P[:, spec.slot(k + 1)].round().long()
    need = torch.zeros_like(kind, dtype=torch.bool)
    for s in NEEDS_STATS:
        need |= kind == s
    return need


def pipeline_stats(src: torch.Tensor, P: torch.Tensor, spec, hists: torch.Tensor) -> None:
    """The histograms of ``src`` that slot 0's samples need, into ``hists[0]`` (the policy comes first)."""
    hists[0].copy_(stats(src, _next_need(P, spec, -1)))


def pipeline_pass(src: torch.Tensor, P: torch.Tensor, hists: torch.Tensor, spec, k: int,
                  final: bool) -> torch.Tensor:
    """One pass: the geometric run (``k = -1``), slot ``k`` or nothing (``k = -2``) on ``src``; the
    histograms of the output for slot ``k + 1`` into ``hists[k + 1]`` (not on the last pass). ``final``: then
    the mixer (from the rows) and the epilogue (normalize, cast, layout) on the result."""
    b, c = src.shape[:2]
    hist = hists[k] if k >= 0 else None
    if k == -2:  # no geometric run and no policy: the mixer and the epilogue on the input
        out = src
    elif k < 0:
        out = warp(src, P[:, 0:6].reshape(b, 2, 3), spec.size, spec.geo_interpolation, spec.geo_fill_mode,
                   spec.constants(src.device)[0].expand(b, c))
    else:
        out = _slot(src, P, spec, k, hist)
    if not final:
        need = _next_need(P, spec, k)
        if need is not None:
            hists[k + 1].copy_(stats(out, need))
        return out
    if spec.mix is not None:
        c0 = spec.mix_col
        mode = P[:, c0].round().long()
        partner = P[:, c0 + 1].round().long()
        box = P[:, c0 + 2:c0 + 6]
        pasted = paste(out, partner, torch.where((mode == 1)[:, None], box, 0.0))
        lam = P[:, c0 + 6].view(-1, 1, 1, 1)
        # as MixUpCutMix: CutMix samples have lam 1, MixUp samples an empty box (paste == out there)
        mixed = (pasted.float() * lam + out[partner].float() * (1.0 - lam)).round_().clamp_(0, 255)
        out = mixed.to(torch.uint8)
    ep = spec.epilogue
    if ep is None:
        return out
    _, _, scale, shift = spec.constants(src.device)
    fmt = torch.channels_last if ep.channels_last else torch.contiguous_format
    return normalize(out, scale.expand(b, c), shift.expand(b, c), ep.dtype, fmt)
