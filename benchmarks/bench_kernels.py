"""Time each Triton kernel (gpuaug.kernels) against the device's copy bandwidth and the torch path.

    python benchmarks/bench_kernels.py                  # GPU: batch 256, 3x224x224 uint8 (issue 3's setting)
    python benchmarks/bench_kernels.py --sweep          # + BLOCK / num_warps sweep per kernel family
    python benchmarks/bench_kernels.py --no-compile     # skip the torch path under torch.compile
    TRITON_INTERPRET=1 python benchmarks/bench_kernels.py --smoke   # CPU, interpreter, tiny: it runs

Method (../shared/MEASURING.md): every kernel is first checked against the torch-path primitive on the same
input (the max abs difference goes into its row), then timed with ``triton.testing.do_bench`` (median) with
the input batch rotated among several copies so the L2 cache does not flatter it. A large device-to-device
copy is timed in the same run; each row's GB/s (the bytes the op must move, counted below, over the time)
is reported as a fraction of it. Rows: the kernel ("gpuaug-triton"), the torch path ("gpuaug-torch"), the
torch path under torch.compile ("gpuaug-torch-compile"), and kornia where installed and equal in output.
Writes ``benchmarks/results/<device>-<date>-kernels.json`` (``--out`` to change), keys per MEASURING.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from benchmarks.device import copy_gbps, header  # noqa: E402

INTERPRET = os.environ.get("TRITON_INTERPRET", "0").strip() not in ("", "0")
# torch.compile costs tens of seconds per case: only these cases get a compiled torch-path row.
COMPILED = {"warp_bilinear_reflect", "apply_lut", "equalize_photo", "erase", "paste", "adjust_hue",
            "adjust_sharpness"}
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, 1 rep: checks that every case runs")
    ap.add_argument("--sweep", action="store_true", help="also time BLOCK x num_warps for each kernel family")
    ap.add_argument("--no-compile", action="store_true", help="skip the torch path under torch.compile")
    ap.add_argument("--ops", default=None, help="comma list of case names (default: all)")
    ap.add_argument("--out", default=None, help="results JSON path")
    return ap.parse_args(argv)


def timer(device: torch.device, smoke: bool):
    """seconds per call of fn(i) (i = rotation index): do_bench median on CUDA, perf_counter otherwise."""

    def run(fn, n_rot: int) -> float:
        state = {"i": 0}

        def call():
            state["i"] = (state["i"] + 1) % n_rot
            fn(state["i"])

        if device.type == "cuda":
            import triton.testing

            return triton.testing.do_bench(call, warmup=25, rep=200, return_mode="median") * 1e-3
        call()
        times = []
        for _ in range(1 if smoke else 5):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    return run


def make_cases(batch: int, size: int, device: torch.device, n_rot: int):
    """name -> (bytes the op must move, kernel call, torch-path call); peers likewise with a peer call.
    Every call takes the rotation index of its input batch."""
    from gpuaug.kernels import color as kc
    from gpuaug.kernels import erase as ke
    from gpuaug.kernels import histogram as kh
    from gpuaug.kernels import lut as kl
    from gpuaug.kernels import normalize as kn
    from gpuaug.kernels import warp as kw

    from gpuaug._torch import color as tcolor
    from gpuaug._torch import erase as terase
    from gpuaug._torch import histogram as thist
    from gpuaug._torch import lut as tlut
    from gpuaug._torch import normalize as tnorm
    from gpuaug._torch import warp as tw
    from gpuaug._torch.lut import equalize_lut  # the torch path's table builder
    from gpuaug.samples import sample_batch

    g = torch.Generator(device="cpu").manual_seed(0)
    b, c, s = batch, 3, size
    n = b * c * s * s
    imgs = [torch.randint(0, 256, (b, c, s, s), dtype=torch.uint8, generator=g).to(device)
            for _ in range(n_rot)]
    # Photos for the histogram: real images pile counts into few bins (atomic contention random data hides).
    # Square crops of 16-100 % of a photo's area (40-100 % of the side), resized to s x s.
    photos = [sample_batch(b, s, seed=r, scale=(0.16, 1.0), ratio=(1.0, 1.0)).to(device)
              for r in range(n_rot)]
    imgs_cl = [x.contiguous(memory_format=torch.channels_last) for x in imgs]
    # per-sample rotation +-30 deg, scale 0.9-1.1, shift +-10 % about the centre: inverse maps
    ang = (torch.rand(b, generator=g) * 60 - 30) * math.pi / 180
    sc = torch.rand(b, generator=g) * 0.2 + 0.9
    cx = (s - 1) / 2
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    t = (torch.rand(b, 2, generator=g) - 0.5) * 0.2 * s
    inv = torch.stack([torch.stack([cos, -sin, cx - cos * (cx + t[:, 0]) + sin * (cx + t[:, 1])], 1),
                       torch.stack([sin, cos, cx - sin * (cx + t[:, 0]) - cos * (cx + t[:, 1])], 1)], 1)
    inv = inv.to(device)
    # resized crop: a random box of 25-100 % of the area, resampled to s x s
    frac = torch.rand(b, generator=g) * 0.75 + 0.25
    side = frac.sqrt() * (s - 1)
    x0 = torch.rand(b, generator=g) * (s - 1 - side)
    y0 = torch.rand(b, generator=g) * (s - 1 - side)
    k = side / (s - 1)
    z = torch.zeros(b)
    crop = torch.stack([torch.stack([k, z, x0], 1), torch.stack([z, k, y0], 1)], 1).to(device)
    fill = torch.full((b, c), 114.0, device=device)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device)
    std = torch.tensor([0.229, 0.224, 0.225], device=device)
    lut = torch.randint(0, 256, (b, c, 256), dtype=torch.uint8, generator=g).to(device)
    bw = torch.randint(s // 8, s // 2, (b, 1), generator=g)
    bx = torch.randint(0, s // 2, (b, 2), generator=g)
    box = torch.cat([bx, bx + bw], 1).float().to(device)  # (B, 4): about 1/16 .. 1/4 of the image
    boxes = box[:, None]
    partner = torch.randperm(b, generator=g).to(device)
    seed = torch.randint(0, 2**31 - 1, (b,), generator=g).to(device)
    zeros = torch.zeros(b, c, device=device)
    factor = (torch.rand(b, generator=g) * 1.6 + 0.2).to(device)
    scale = (1.0 / (255.0 * std)).expand(b, c).contiguous()
    shift = (-mean / std).expand(b, c).contiguous()
    cl = torch.channels_last
    hists = [thist.histogram(p) for p in photos]
    hue = (torch.rand(b, generator=g) - 0.5).to(device)

    u8 = 2 * n  # one read + one write of a uint8 batch
    cases = {
        "warp_bilinear_reflect": (u8, lambda i: kw.warp(imgs[i], inv, [s, s], "bilinear", "reflect", fill),
                                  lambda i: tw.warp(imgs[i], inv, [s, s], "bilinear", "reflect", fill)),
        "warp_bilinear_constant_cl": (
            u8, lambda i: kw.warp(imgs_cl[i], inv, [s, s], "bilinear", "constant", fill),
            lambda i: tw.warp(imgs_cl[i], inv, [s, s], "bilinear", "constant", fill)),
        "warp_nearest_constant": (u8, lambda i: kw.warp(imgs[i], inv, [s, s], "nearest", "constant", fill),
                                  lambda i: tw.warp(imgs[i], inv, [s, s], "nearest", "constant", fill)),
        # reads about the crop's area (25-100 %, mean 62.5 %) and writes the full output
        "resized_crop_bilinear": (int(n * (1 + 0.625)),
                                  lambda i: kw.warp(imgs[i], crop, [s, s], "bilinear", "edge", fill),
                                  lambda i: tw.warp(imgs[i], crop, [s, s], "bilinear", "edge", fill)),
        "apply_lut": (u8, lambda i: kl.apply_lut(imgs[i], lut), lambda i: tlut.apply_lut(imgs[i], lut)),
        "histogram": (n, lambda i: kh.histogram(imgs[i]), lambda i: thist.histogram(imgs[i])),
        "histogram_photo": (n, lambda i: kh.histogram(photos[i]), lambda i: thist.histogram(photos[i])),
        # equalize = histogram (read) + table + apply (read + write): the "<= 1.5x a one-pass op"
        "equalize_photo": (u8 + n,
                           lambda i: kl.apply_lut(photos[i], kl.equalize_lut(kh.histogram(photos[i]))),
                           lambda i: tlut.apply_lut(photos[i], equalize_lut(thist.histogram(photos[i])))),
        "equalize_lut": (b * c * 1280, lambda i: kl.equalize_lut(hists[i]), lambda i: equalize_lut(hists[i])),
        "erase": (u8, lambda i: ke.erase(imgs[i], boxes, zeros),
                  lambda i: terase.erase(imgs[i], boxes, zeros)),
        "erase_noise": (u8, lambda i: ke.erase_noise(imgs[i], boxes, seed), None),
        "paste": (u8, lambda i: ke.paste(imgs[i], partner, box),
                  lambda i: terase.paste(imgs[i], partner, box)),
        "grayscale": (n + n // 3, lambda i: kc.grayscale(photos[i]), lambda i: tcolor.grayscale(photos[i])),
        "gray_mean": (n, lambda i: kc.gray_mean(photos[i]), lambda i: tcolor.gray_mean(photos[i])),
        "adjust_saturation": (u8, lambda i: kc.adjust_saturation(photos[i], factor),
                              lambda i: tcolor.adjust_saturation(photos[i], factor)),
        "adjust_sharpness": (u8, lambda i: kc.adjust_sharpness(photos[i], factor),
                             lambda i: tcolor.adjust_sharpness(photos[i], factor)),
        "adjust_hue": (u8, lambda i: kc.adjust_hue(photos[i], hue),
                       lambda i: tcolor.adjust_hue(photos[i], hue)),
        "normalize_f32": (5 * n, lambda i: kn.normalize(imgs[i], scale, shift, torch.float32),
                          lambda i: tnorm.normalize(imgs[i], scale, shift, torch.float32)),
        "normalize_f32_to_cl": (5 * n, lambda i: kn.normalize(imgs[i], scale, shift, torch.float32, cl),
                                lambda i: tnorm.normalize(imgs[i], scale, shift, torch.float32, cl)),
        "copy_batch": (u8, lambda i: imgs[i].clone(), None),
    }
    peers = {}
    try:  # kornia: float32 only; warp_affine bilinear with zero padding == our constant fill 0
        import kornia

        f32 = [x.float() for x in imgs]
        fwd = torch.linalg.inv(torch.cat([inv, torch.tensor([0, 0, 1.0], device=device).expand(b, 1, 3)], 1))
        peers["warp_bilinear_zero_f32"] = (
            2 * 4 * n, lambda i: kw.warp(f32[i], inv, [s, s], "bilinear", "constant", zeros),
            lambda i: tw.warp(f32[i], inv, [s, s], "bilinear", "constant", zeros),
            lambda i: kornia.geometry.transform.warp_affine(f32[i], fwd[:, :2], (s, s), mode="bilinear",
                                                            padding_mode="zeros", align_corners=True))
    except Exception as e:  # noqa: BLE001 - kornia is optional
        print(f"kornia: not timed ({type(e).__name__}: {e})")
    return cases, peers


def max_diff(a, b) -> float:
    return float((a.float() - b.float()).abs().max()) if a.numel() else 0.0


def main(argv=None) -> int:
    args = parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() and not INTERPRET else "cpu")
    if device.type == "cpu" and not INTERPRET:
        print("no CUDA device: run on a GPU, or with TRITON_INTERPRET=1 --smoke to check the script runs")
        return 2
    smoke = args.smoke or device.type == "cpu"
    batch, size = (2, 16) if smoke else (args.batch, args.size)
    n_rot = 1 if smoke else max(2, math.ceil(4 * 50e6 / (batch * 3 * size * size)))  # > 4x an H100's L2
    time_fn = timer(device, smoke)
    copy = copy_gbps(device, smoke)
    result = {**header(device, copy), "rows": [],
              "timer": "triton.testing.do_bench median" if device.type == "cuda" else "perf_counter (smoke)",
              "note": f"{batch}x3x{size}x{size} uint8, input rotated over {n_rot} batches"
              + (" (Triton interpreter)" if INTERPRET else "")}
    print(f"{result['device']}: copy {copy:.1f} GB/s (read + write); torch {torch.__version__}, "
          f"triton {result['triton']}")
    cases, peers = make_cases(batch, size, device, n_rot)
    wanted = set(args.ops.split(",")) if args.ops else None

    def row(op, lib, nbytes, seconds, diff=None):
        gbps = nbytes / seconds / 1e9
        r = {"op": op, "library": lib, "batch": batch, "size": size, "dtype": "uint8",
             "img_per_s": round(batch / seconds, 1), "ms": round(seconds * 1e3, 4), "gbps": round(gbps, 2),
             "frac_copy": round(gbps / copy, 4), "max_diff": diff}
        result["rows"].append(r)
        print(f"{op:28s} {lib:22s} {r['ms']:9.3f} ms {gbps:8.1f} GB/s {100 * gbps / copy:6.1f}% of copy"
              + (f"  max diff {diff:g}" if diff is not None else ""))

    def with_histogram_atomics(fn):
        def call(i):
            saved, kh.ALGORITHM = kh.ALGORITHM, "atomics"
            try:
                return fn(i)
            finally:
                kh.ALGORITHM = saved
        return call

    from gpuaug.kernels import histogram as kh

    for op in ("histogram", "histogram_photo"):
        nbytes, kern, ref = cases[op]
        cases[op + "_atomics"] = (nbytes, with_histogram_atomics(kern), ref)
    all_cases = {**{k: (*v, None) for k, v in cases.items()}, **peers}
    for op, (nbytes, kern, ref, peer) in all_cases.items():
        if wanted and op not in wanted:
            continue
        diff = max_diff(kern(0), ref(0)) if ref is not None else None
        if diff is not None and diff > 1.0:  # uint8 kernels agree within 1 level, float ones far closer
            print(f"WARNING {op}: kernel and torch path differ by {diff:g}: check before trusting its time")
        row(op, "torch" if op == "copy_batch" else "gpuaug-triton", nbytes, time_fn(kern, n_rot), diff)
        if smoke:
            continue
        if ref is not None:
            row(op, "gpuaug-torch", nbytes, time_fn(ref, n_rot))
            if not args.no_compile and op in COMPILED:
                try:
                    compiled = torch.compile(ref)
                    d = max_diff(compiled(0), ref(0))
                    row(op, "gpuaug-torch-compile", nbytes, time_fn(compiled, n_rot), d)
                except Exception as e:  # noqa: BLE001 - report and go on
                    print(f"{op}: torch.compile failed: {type(e).__name__}: {str(e)[:200]}")
        if peer is not None:
            d = max_diff(peer(0), ref(0))
            if d > 1e-3 * 255:
                print(f"{op}: kornia differs from the torch path by {d:g}: not timed")
            else:
                row(op, "kornia", nbytes, time_fn(peer, n_rot), d)

    if args.sweep:
        sweep(cases, time_fn, n_rot, copy, result)

    out = args.out or os.path.join(RESULTS, f"{result['device']}-{result['date']}-kernels.json")
    if smoke and not args.out:
        out = os.path.join(os.environ.get("TMPDIR", "/tmp"), os.path.basename(out))  # smoke: not a result
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {out}")
    return 0


def sweep(cases, time_fn, n_rot, copy, result):
    """BLOCK x num_warps for each kernel family: the best goes into kernels/_common.py CONFIG by hand."""
    from gpuaug.kernels import _common

    family = {"warp_bilinear_reflect": "warp", "apply_lut": "lut", "histogram": "histogram",
              "erase": "erase", "paste": "paste"}
    result["sweep"] = []
    for op, fam in family.items():
        nbytes, kern = cases[op][0], cases[op][1]
        saved = _common.CONFIG[fam]
        best = None
        for block in (256, 512, 1024, 2048, 4096, 8192):
            for warps in (2, 4, 8, 16):
                if block < 32 * warps:
                    continue
                _common.CONFIG[fam] = (block, warps)
                try:
                    s = time_fn(kern, n_rot)
                except Exception as e:  # noqa: BLE001 - e.g. out of shared memory / registers
                    print(f"sweep {fam} {block}/{warps}: {type(e).__name__}")
                    continue
                gbps = nbytes / s / 1e9
                result["sweep"].append({"family": fam, "block": block, "num_warps": warps,
                                        "ms": round(s * 1e3, 4), "frac_copy": round(gbps / copy, 4)})
                if best is None or s < best[0]:
                    best = (s, block, warps)
        _common.CONFIG[fam] = saved
        if best:
            print(f"sweep {fam}: best BLOCK={best[1]} num_warps={best[2]} {best[0] * 1e3:.3f} ms "
                  f"(current {saved})")


if __name__ == "__main__":
    sys.exit(main())
