"""The host path (gpuaug on CPU tensors) against per-image libraries, one process, calls interleaved.

    python benchmarks/bench_host.py [--n 64] [--size 224] [--reps 7] [--threads 1,all] [--json auto]

Two cases on the same n photos (random crops of the bundled photos, uint8, 224², drawn once):

- ``chain``, per image: rotate by an angle in ±30° (bilinear, black fill), equalize, posterize 4,
  solarize 128, brightness and contrast factors in 0.6-1.4; parameters random per image, drawn once
  outside timing, the same for every library.
  - gpuaug: the batch on the host path: one warp (``F.rotate``), then ONE fused table per image and
    channel for the five pointwise ops (``pointwise_chain``: one histogram pass, one gray-mean pass for
    contrast, one table pass).
  - PIL: ``Image.rotate``, ``ImageOps.equalize/posterize/solarize``, ``ImageEnhance.Brightness/Contrast``.
  - OpenCV: ``warpAffine``, ``equalizeHist`` per channel, ``LUT`` (posterize, solarize),
    ``convertScaleAbs`` (brightness), ``addWeighted`` with the ``RGB2GRAY`` mean (contrast).
  - Albumentations 2: its functionals (``warp_affine``, ``equalize(mode="pil")``, ``posterize``,
    ``solarize``, ``adjust_brightness_torchvision``, ``adjust_contrast_torchvision``).
- ``randaugment``: ``gpuaug.from_string("rand-m9-n2-mstd0.5", interpolation="bilinear", fill=128)``
  against timm's PIL ``rand_augment_transform`` of the same string with bilinear resampling and fill 128
  (timm's own default draws bilinear or bicubic per call). timm's ``auto_augment.py`` is loaded from the
  installed files (``pip install --no-deps timm``): importing the package needs torchvision. Random on
  both sides: checked for shape and dtype only. The op lists differ slightly (timm has SolarizeAdd and
  Invert, torchvision's list Identity): an op per image and slot at p 0.5 on both sides.

Threads: each ``--threads`` value T runs every library with T threads: gpuaug with
``gpuaug.set_num_threads(T)`` and ``torch.set_num_threads(T)`` (and, as "gpuaug torch1", with torch's
own threads at 1), the per-image libraries on a pool of T threads over the images (PIL and OpenCV
release the GIL); ``all`` is ``os.cpu_count()``. Every
(library, threads) pair runs once per round, rounds repeated ``--reps`` times; medians give img/s, and
the process CPU time per call over its wall time says how many cores the call kept busy (on a shared
machine, fewer than the threads asked for when other work holds the cores).
Before timing, the chain's outputs are compared with PIL's (the rotation alone, gpuaug's pointwise chain
on PIL's rotated images, the whole chain); a difference is reported, not fatal: the libraries round
differently (PIL truncates its bilinear results, OpenCV's equalizeHist is not PIL's equalize).
``--json auto`` writes ``benchmarks/results/<device>-host-<T>thread-<date>.json``, one file per thread
count, all from the one interleaved run (with the machine's load average before and after);
``python benchmarks/render.py`` puts them into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import pathlib
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageOps

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gpuaug  # noqa: E402
from gpuaug.samples import sample_crops  # noqa: E402

RA_SPEC = "rand-m9-n2-mstd0.5"

# ------------------------------------------------------------------------------------------------ chain


def pil_one(im, a, b, c):
    im = im.rotate(a, Image.BILINEAR)
    im = ImageOps.equalize(im)
    im = ImageOps.posterize(im, 4)
    im = ImageOps.solarize(im, 128)
    im = ImageEnhance.Brightness(im).enhance(b)
    return ImageEnhance.Contrast(im).enhance(c)


def pil_chain(ims, angles, bright, contrast):
    """The chain on a list of PIL images (kept for scripts that import it)."""
    return [pil_one(*args) for args in zip(ims, angles, bright, contrast)]


def _opencv():
    import cv2

    posterize = np.array([i & 0xF0 for i in range(256)], np.uint8)
    solarize = np.array([255 - i if i >= 128 else i for i in range(256)], np.uint8)

    def one(a, angle, b, c):
        h, w = a.shape[:2]
        m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)  # counter-clockwise, as PIL
        y = cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=(0, 0, 0))
        y = cv2.merge([cv2.equalizeHist(ch) for ch in cv2.split(y)])
        y = cv2.LUT(cv2.LUT(y, posterize), solarize)
        y = cv2.convertScaleAbs(y, alpha=b)
        mean = float(cv2.cvtColor(y, cv2.COLOR_RGB2GRAY).mean())
        return cv2.addWeighted(y, c, y, 0.0, (1.0 - c) * mean)

    return one, f"OpenCV {cv2.__version__}"


def _albumentations():
    import albumentations
    import cv2
    from albumentations.augmentations.geometric import functional as fgeo
    from albumentations.augmentations.pixel import functional as fpix

    def one(a, angle, b, c):
        h, w = a.shape[:2]
        m = np.vstack([cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0), [0.0, 0.0, 1.0]])
        y = fgeo.warp_affine(a, m, cv2.INTER_LINEAR, 0, cv2.BORDER_CONSTANT, (h, w))
        y = fpix.equalize(y, mode="pil", by_channels=True)
        y = fpix.posterize(y, 4)
        y = fpix.solarize(y, 128 / 255)
        y = fpix.adjust_brightness_torchvision(y, np.float64(b))
        return fpix.adjust_contrast_torchvision(y, c)

    return one, f"Albumentations {albumentations.__version__}"


def gpuaug_chain(x, angles, bright, contrast):
    import gpuaug.functional as F

    steps = [("equalize", None), ("posterize", 4), ("solarize", 128), ("brightness", bright),
             ("contrast", contrast)]
    return F.pointwise_chain(F.rotate(x, angles, interpolation="bilinear"), steps)


# ------------------------------------------------------------------------------------------ randaugment


def load_timm_auto_augment():
    """timm's ``data/auto_augment.py`` as a module, loaded from the installed files (the package import
    needs torchvision); None where timm is not installed."""
    try:
        dist = importlib.metadata.distribution("timm")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = pathlib.Path(dist.locate_file("timm/data/auto_augment.py"))
    spec = importlib.util.spec_from_file_location("timm_auto_augment", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------------------------------------- running


def _diff(a: torch.Tensor, b: torch.Tensor) -> dict:
    d = (a.to(torch.int16) - b.to(torch.int16)).abs()
    return {"mean": round(float(d.float().mean()), 4), "max": int(d.max()),
            "frac_gt_1": round(float((d > 1).float().mean()), 5)}


def to_tensor(arrays) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.asarray(a) for a in arrays])).permute(0, 3, 1, 2).contiguous()


def _per_image(fn, args, pool):
    """``[fn(*a) for a in args]``, on ``pool`` (contiguous slices, one per thread) when given."""
    if pool is None:
        return [fn(*a) for a in args]
    k = pool._max_workers
    parts = [args[len(args) * i // k: len(args) * (i + 1) // k] for i in range(k)]
    out = []
    for part in pool.map(lambda p: [fn(*a) for a in p], parts):
        out.extend(part)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=64, help="photos per batch (default 64)")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--reps", type=int, default=7, help="interleaved rounds (median)")
    ap.add_argument("--threads", default="1,all", help="comma list of thread counts; 'all' = os.cpu_count()")
    ap.add_argument("--cases", default="chain,randaugment")
    ap.add_argument("--json", default=None, help="write the results here ('auto': benchmarks/results/...)")
    args = ap.parse_args(argv)
    threads = sorted({os.cpu_count() if t.strip() == "all" else int(t) for t in args.threads.split(",")})
    cases = args.cases.split(",")

    crops = sample_crops(args.n, args.size, seed=0, scale=(0.25, 1.0), ratio=(1.0, 1.0))
    ims = [Image.fromarray(a) for a in crops]
    x = to_tensor(crops)
    rng = np.random.default_rng(1)
    angles, bright, contrast = (rng.uniform(lo, hi, args.n) for lo, hi in ((-30, 30), (0.6, 1.4), (0.6, 1.4)))
    ta, tb, tc = (torch.tensor(v, dtype=torch.float32) for v in (angles, bright, contrast))
    pa, pb, pc = (v.tolist() for v in (angles, bright, contrast))
    versions = {"gpuaug": gpuaug.__version__, "PIL": Image.__version__}
    runs = {}  # (case, library) -> fn(pool_or_None)
    checks = {}
    skipped = []

    if "chain" in cases:
        pil_args = list(zip(ims, pa, pb, pc))
        arr_args = list(zip(crops, pa, pb, pc))
        runs[("chain", "gpuaug")] = lambda pool: gpuaug_chain(x, ta, tb, tc)
        runs[("chain", "PIL")] = lambda pool: _per_image(pil_one, pil_args, pool)
        ref = to_tensor(_per_image(pil_one, pil_args, None))
        # the chain amplifies one level after the rotation (a posterize step, the solarize threshold), so
        # the rotation and the pointwise part are compared on their own too
        import gpuaug.functional as F

        rot_pil = [im.rotate(a, Image.BILINEAR) for im, a in zip(ims, pa)]
        checks["chain/gpuaug rotate vs PIL rotate"] = _diff(F.rotate(x, ta), to_tensor(rot_pil))
        steps = [("equalize", None), ("posterize", 4), ("solarize", 128), ("brightness", tb),
                 ("contrast", tc)]
        pw = F.pointwise_chain(to_tensor(rot_pil), steps)
        pw_ref = to_tensor([pil_one(im, 0.0, b, c) for im, b, c in zip(rot_pil, pb, pc)])
        checks["chain/gpuaug pointwise vs PIL on PIL's rotated images"] = _diff(pw, pw_ref)
        checks["chain/gpuaug vs PIL"] = _diff(gpuaug_chain(x, ta, tb, tc), ref)
        for name, make in (("OpenCV", _opencv), ("Albumentations", _albumentations)):
            try:
                fn, version = make()
            except ImportError as e:
                skipped.append({"library": name, "reason": f"not installed ({e})"})
                continue
            versions[name] = version
            runs[("chain", name)] = lambda pool, fn=fn: _per_image(fn, arr_args, pool)
            checks[f"chain/{name} vs PIL"] = _diff(to_tensor(_per_image(fn, arr_args, None)), ref)

    if "randaugment" in cases:
        policy = gpuaug.from_string(RA_SPEC, interpolation="bilinear", fill=128)
        runs[("randaugment", "gpuaug")] = lambda pool: policy(x)
        out = policy(x)
        assert out.shape == x.shape and out.dtype == x.dtype
        timm = load_timm_auto_augment()
        if timm is None:
            skipped.append({"library": "timm", "reason": "not installed (pip install --no-deps timm)"})
        else:
            versions["timm"] = importlib.metadata.version("timm")
            random.seed(0)
            ra = timm.rand_augment_transform(RA_SPEC, {"interpolation": Image.BILINEAR,
                                                       "img_mean": (128, 128, 128)})
            runs[("randaugment", "timm")] = lambda pool: _per_image(ra, [(im,) for im in ims], pool)
            got = _per_image(ra, [(im,) for im in ims], None)
            assert all(g.size == im.size and g.mode == im.mode for g, im in zip(got, ims))

    for k, v in checks.items():
        print(f"check {k}: mean |diff| {v['mean']:.3f}, max {v['max']}, {100 * v['frac_gt_1']:.2f}% > 1")

    load0 = os.getloadavg()[0]  # other work on the machine disturbs the thread scaling most: recorded
    pools = {t: (ThreadPoolExecutor(t) if t > 1 else None) for t in threads}
    # gpuaug with T > 1 threads also runs with torch's intra-op threads at 1 ("gpuaug torch1"): the host
    # kernels take their threads from gpuaug's pool, and torch's OpenMP regions on the small table math
    # cost a scheduler quantum each when another process holds a core
    variants = [(case, lib, t, t) for (case, lib) in runs for t in threads]
    variants += [(case, lib, t, 1) for (case, lib) in runs for t in threads if lib == "gpuaug" and t > 1]
    times = {v: [] for v in variants}
    cpu = {v: [] for v in variants}  # process CPU time: the cores a call kept busy (cpu / wall)
    torch_threads = torch.get_num_threads()
    for _ in range(args.reps):
        for case, lib, t, tt in variants:
            torch.set_num_threads(tt)
            gpuaug.set_num_threads(t)
            t0, c0 = time.perf_counter(), time.process_time()
            runs[(case, lib)](pools[t])
            times[(case, lib, t, tt)].append(time.perf_counter() - t0)
            cpu[(case, lib, t, tt)].append(time.process_time() - c0)
    gpuaug.set_num_threads(None)
    torch.set_num_threads(torch_threads)

    rows = []
    for (case, lib, t, tt), ts in times.items():
        med = statistics.median(ts)
        cpu_ms = 1000 * statistics.median(cpu[(case, lib, t, tt)])
        if tt != t:
            lib = f"{lib} torch1"
        rows.append({"op": case, "library": lib, "threads": t, "batch": args.n, "size": args.size,
                     "dtype": "uint8", "img_per_s": args.n / med, "ms": 1000 * med, "cpu_ms": cpu_ms,
                     "gbps": None})
    by = {(r["op"], r["library"], r["threads"]): r["img_per_s"] for r in rows}
    busy = {(r["op"], r["library"], r["threads"]): r["cpu_ms"] / r["ms"] for r in rows}
    print(f"{args.n} photos at {args.size}², {args.reps} interleaved rounds, median; threads {threads}")
    for case in cases:
        for t in threads:
            g = by.get((case, "gpuaug", t))
            libs = {k[1] for k in by if k[0] == case}
            for lib in sorted(libs, key=lambda s: (not s.startswith("gpuaug"), s)):
                v = by.get((case, lib, t))
                if v is None:
                    continue
                rel = "" if lib.startswith("gpuaug") else f"  gpuaug / {lib} = {g / v:.2f}"
                cores = busy[(case, lib, t)]
                print(f"{case:12s} {t} thread(s) {lib:15s} {v:8.1f} img/s  ({cores:.2f} cores busy){rel}")
        if len(threads) > 1 and (case, "gpuaug", threads[0]) in by:
            one, t = by[(case, "gpuaug", threads[0])], threads[-1]
            print(f"{case:12s} gpuaug {t} threads / {threads[0]}: {by[(case, 'gpuaug', t)] / one:.2f}; "
                  f"with torch at 1 thread: {by[(case, 'gpuaug torch1', t)] / one:.2f}")
    from benchmarks.device import header

    result = {**header("cpu"), "threads": threads, "versions": versions,
              "timer": f"interleaved perf_counter rounds, median of {args.reps}",
              "loadavg_1min": {"before": load0, "after": os.getloadavg()[0]},
              # "agreement", not the suite's "checks" (which render.py reads as pass / fail per case)
              "agreement": [{"name": k, **v} for k, v in checks.items()], "skipped": skipped, "rows": rows}
    if args.json:
        # one file per thread count (render.py shows one table per file); all measured in this one run
        for t in threads:
            part = {**result, "threads": t, "device": f"{result['device']}-host-{t}thread",
                    "run_threads": threads, "rows": [r for r in rows if r["threads"] == t]}
            path = args.json
            if path == "auto":
                here = os.path.dirname(os.path.abspath(__file__))
                path = os.path.join(here, "results", f"{part['device']}-{result['date']}.json")
            elif len(threads) > 1:
                path = f"{os.path.splitext(path)[0]}-{t}thread.json"
            with open(path, "w") as fh:
                json.dump(part, fh, indent=1)
            print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
