"""The host fallback (gpuaug batched on the CPU) against per-image PIL transforms, one thread, one run.

    python benchmarks/bench_loader.py [--n 64] [--size 224] [--reps 5] [--threads 1] [--json PATH]

Pipeline, same semantics on both sides, per image: RandomHorizontalFlip(0.5), then RandAugment(num_ops=2,
magnitude=9) over torchvision's 14 ops (nearest interpolation, black fill), then to float32 CHW and
normalize with the ImageNet mean/std. Input: a list of HWC uint8 arrays of one size, as a DataLoader
worker holds them after decoding.

- PIL: what a torchvision-style per-sample pipeline does in each worker: ``Image.fromarray``, flip,
  two random ops (``Image.transform``/``rotate``, ``ImageOps``, ``ImageEnhance``), ``np.asarray`` ->
  float -> normalize, then the collate stack.
- gpuaug: ``AugmentingCollate``'s work on the same list: stack into one uint8 batch, run
  ``BatchHook(Compose([RandomHorizontalFlip(), RandAugment(2, 9)]))`` on the whole batch.

Both run interleaved (PIL, gpuaug, PIL, gpuaug, ...) in one process with ``torch.set_num_threads(1)``
(one worker's core); the medians give img/s and the ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time

import numpy as np
import torch
from PIL import Image, ImageOps

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.peers.pil_peer import pil_randaugment_one  # noqa: E402

MEAN = np.array((0.485, 0.456, 0.406), np.float32)
STD = np.array((0.229, 0.224, 0.225), np.float32)


def pil_pipeline(arrays, rng: random.Random, num_ops: int = 2, magnitude: int = 9) -> torch.Tensor:
    out = []
    for a in arrays:
        im = Image.fromarray(a)
        if rng.random() < 0.5:
            im = ImageOps.mirror(im)
        im = pil_randaugment_one(im, num_ops, magnitude, rng)
        x = (np.asarray(im, np.float32) / 255.0 - MEAN) / STD
        out.append(torch.from_numpy(x.transpose(2, 0, 1)))
    return torch.stack(out)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write the result rows here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from gpuaug.feeding import SampleDataset
    from gpuaug.layers import Compose, RandomHorizontalFlip
    from gpuaug.loader import BatchHook, as_uint8_batch

    arrays = list(SampleDataset(args.n, args.size).images)
    from gpuaug.policies import RandAugment

    augment = Compose([RandomHorizontalFlip(), RandAugment(num_ops=2, magnitude=9)])
    hook = BatchHook(augment)
    rng = random.Random(0)
    torch.manual_seed(0)

    # sanity before timing: same shapes, dtypes and value ranges from both
    a, b = pil_pipeline(arrays[:8], rng), hook(arrays[:8])
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    lo, hi = float((0 - MEAN.max()) / STD.min()), float((1 - MEAN.min()) / STD.min())
    assert lo - 1e-3 <= float(b.min()) and float(b.max()) <= hi + 1e-3

    # gpuaug's parts, for the breakdown: stacking, each layer, the fused uint8 -> normalized float pass
    batch = as_uint8_batch(arrays)
    flip, policy = augment.transforms[0], augment.transforms[1]
    convert = BatchHook()
    cases = {
        "PIL": lambda: pil_pipeline(arrays, rng),
        "gpuaug": lambda: hook(arrays),
        "gpuaug: stack": lambda: as_uint8_batch(arrays),
        "gpuaug: flip": lambda: flip(batch),
        "gpuaug: randaugment": lambda: policy(batch),
        "gpuaug: convert": lambda: convert(batch),
    }
    times = {k: [] for k in cases}
    for _ in range(args.reps + 1):  # the first round is warm-up; cases interleaved round by round
        for k, fn in cases.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    rows = []
    for lib, ts in times.items():
        med = statistics.median(ts[1:])
        rows.append({"op": "flip+randaugment(2,9)+normalize", "library": lib,
                     "batch": args.n, "size": args.size, "dtype": "uint8->float32",
                     "img_per_s": round(args.n / med, 1), "ms": round(1000 * med, 2), "gbps": None})
    ratio = rows[1]["img_per_s"] / rows[0]["img_per_s"]
    print(f"threads {args.threads}, {args.n} images {args.size}x{args.size}, {args.reps} reps (medians)")
    for r in rows:
        print(f"  {r['library']:>20}: {r['img_per_s']:8.1f} img/s  ({r['ms']:.1f} ms per {args.n})")
    print(f"  ratio gpuaug / PIL (whole pipeline): {ratio:.2f}x")
    result = {"device": "cpu", "threads": args.threads, "torch": torch.__version__, "rows": rows,
              "ratio": round(ratio, 3) if math.isfinite(ratio) else None}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
