"""The host path (gpuaug on CPU tensors) against per-image PIL on the same chain, one thread, one run.

    python benchmarks/bench_host.py [--n 64] [--size 224] [--reps 7] [--threads 1]

Chain, per image: rotate by an angle in ±30° (bilinear, black fill), equalize, posterize 4, solarize 128,
brightness and contrast factors in 0.6-1.4, all parameters random per image (drawn once, outside timing).

- PIL: one image at a time (``Image.rotate``, ``ImageOps``, ``ImageEnhance``) on a list of PIL images.
- gpuaug: the whole batch on the host path, the fastest honest way the library offers: one warp for the
  rotation (``gpuaug.functional.rotate``), then ONE fused lookup table per image and channel for the five
  pointwise ops (``gpuaug.functional.pointwise_chain``: one histogram pass serves equalize, one extra
  read serves contrast's grey mean, the pixels are touched once).

Both run interleaved (PIL, gpuaug, PIL, gpuaug, ...) in one process with ``torch.set_num_threads(1)``;
the medians give img/s and the ratio. Before timing, both outputs are compared (mean and max abs
difference; the rotation convention must match PIL's: counter-clockwise on screen about the centre).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageOps

from gpuaug.samples import sample_crops


def pil_chain(ims, angles, bright, contrast):
    out = []
    for im, a, b, c in zip(ims, angles, bright, contrast):
        im = im.rotate(a, Image.BILINEAR)
        im = ImageOps.equalize(im)
        im = ImageOps.posterize(im, 4)
        im = ImageOps.solarize(im, 128)
        im = ImageEnhance.Brightness(im).enhance(b)
        out.append(ImageEnhance.Contrast(im).enhance(c))
    return out


def _pointwise(y: torch.Tensor, bright: torch.Tensor, contrast: torch.Tensor) -> torch.Tensor:
    """equalize, posterize 4, solarize 128, brightness, contrast: one fused table per image and channel."""
    try:
        from gpuaug.functional import pointwise_chain
    except ImportError:  # no fused chain: the ops one by one
        import gpuaug.functional as F

        y = F.equalize(y)
        y = F.posterize(y, 4)
        y = F.solarize(y, 128)
        y = F.adjust_brightness(y, bright)
        return F.adjust_contrast(y, contrast)
    steps = [("equalize", None), ("posterize", 4), ("solarize", 128)]
    return pointwise_chain(y, [*steps, ("brightness", bright), ("contrast", contrast)])


def gpuaug_chain(x: torch.Tensor, angles: torch.Tensor, bright: torch.Tensor, contrast: torch.Tensor):
    import gpuaug.functional as F

    return _pointwise(F.rotate(x, angles, interpolation="bilinear"), bright, contrast)


def _diff(a: torch.Tensor, b: torch.Tensor) -> dict:
    d = (a.to(torch.int16) - b.to(torch.int16)).abs()
    return {"mean": float(d.float().mean()), "max": int(d.max()), "frac_gt_1": float((d > 1).float().mean())}


def _show(d: dict) -> str:
    pct = 100 * d["frac_gt_1"]
    return f"mean |diff| {d['mean']:.3f} levels, max {d['max']}, {pct:.2f}% of values differ by > 1"


def to_tensor(ims) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.asarray(im) for im in ims])).permute(0, 3, 1, 2).contiguous()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=64, help="photos per batch (default 64)")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--reps", type=int, default=7, help="interleaved timed runs per side (median)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    # n distinct real photos: random square crops (25-100 % of a photo's area), resized with PIL bilinear
    crops = sample_crops(args.n, args.size, seed=0, scale=(0.25, 1.0), ratio=(1.0, 1.0))
    ims = [Image.fromarray(a) for a in crops]
    x = to_tensor(ims)
    rng = np.random.default_rng(1)
    angles = rng.uniform(-30, 30, args.n)
    bright = rng.uniform(0.6, 1.4, args.n)
    contrast = rng.uniform(0.6, 1.4, args.n)
    ta, tb, tc = (torch.tensor(v, dtype=torch.float32) for v in (angles, bright, contrast))
    pa, pb, pc = (v.tolist() for v in (angles, bright, contrast))

    # Same images? (before any timing) In three parts, because the chain amplifies the smallest
    # difference: one level after the rotation can move a value across a posterize step (16 levels) or
    # the solarize threshold (up to 255). So: the rotation alone; gpuaug's fused pointwise chain on PIL's
    # rotated images (same input: must agree exactly, or to a level where PIL rounds); the whole chain.
    import gpuaug.functional as F

    rot_pil = [im.rotate(a, Image.BILINEAR) for im, a in zip(ims, pa)]
    d_rot = _diff(F.rotate(x, ta, interpolation="bilinear"), to_tensor(rot_pil))
    print(f"check rotate vs PIL rotate: {_show(d_rot)} (PIL truncates, gpuaug rounds; the border ring, where "
          f"PIL does not blend toward the fill, accounts for the rest)")
    no_rotation = [0.0] * args.n  # PIL's rotate(0) is a copy
    d_pw = _diff(_pointwise(to_tensor(rot_pil), tb, tc), to_tensor(pil_chain(rot_pil, no_rotation, pb, pc)))
    print(f"check pointwise chain (equalize..contrast) vs PIL on the same rotated images: {_show(d_pw)}")
    d_all = _diff(gpuaug_chain(x, ta, tb, tc), to_tensor(pil_chain(ims, pa, pb, pc)))
    print(f"check whole chain vs PIL: {_show(d_all)} (rotation differences amplified by posterize/solarize)")
    stats = {"rotate": d_rot, "pointwise": d_pw, "chain": d_all}

    t_pil, t_gpu = [], []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        pil_chain(ims, pa, pb, pc)
        t_pil.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        gpuaug_chain(x, ta, tb, tc)
        t_gpu.append(time.perf_counter() - t0)
    ips_pil = args.n / statistics.median(t_pil)
    ips_gpu = args.n / statistics.median(t_gpu)
    ratio = ips_gpu / ips_pil
    print(
        f"{args.n} photos at {args.size}x{args.size}, torch.set_num_threads({args.threads}), "
        f"{args.reps} interleaved runs, median"
    )
    print(f"PIL per image : {ips_pil:8.1f} img/s")
    print(f"gpuaug (host) : {ips_gpu:8.1f} img/s")
    print(f"ratio gpuaug / PIL: {ratio:.2f}")
    return {"pil_img_per_s": ips_pil, "gpuaug_img_per_s": ips_gpu, "ratio": ratio, "checks": stats}


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
