"""Host-path throughput of the policy pipeline against per-image PIL, side by side in one run.

Pipeline: RandAugment(num_ops=2, magnitude=9) per sample + CutMix + Normalize on a batch of 64 uint8
224x224 photos. gpuaug: the vectorized torch host path on the whole batch. Baseline: torchvision's
RandAugment semantics (``_apply_op`` on PIL images: ImageOps / ImageEnhance / Image.transform, nearest,
fill 0) image by image, then ToTensor + Normalize per image and CutMix on the stacked batch (as
torchvision v2 does it). torchvision itself is not installable here, so its PIL path is written out.

Rounds alternate gpuaug, PIL, gpuaug, PIL ... in one process with ``torch.set_num_threads(threads)``;
the median round gives img/s for each and the ratio. Usage:

    python benchmarks/bench_policies.py [--batch 64] [--size 224] [--rounds 5] [--threads 1] [--breakdown]
                                        [--json PATH]
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
from PIL import Image

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gpuaug  # noqa: E402
from benchmarks.device import copy_gbps, header  # noqa: E402
from benchmarks.peers.pil_peer import pil_randaugment_one  # noqa: E402
from gpuaug.layers import Compose, CutMix, Normalize
from gpuaug.policies import RandAugment
from gpuaug.samples import sample_batch

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
class PilPipeline:
    """Per image: torchvision RandAugment on PIL, ToTensor + Normalize; then CutMix on the batch."""

    def __init__(self, num_ops=2, magnitude=9, num_classes=1000, seed=0):
        self.num_ops, self.magnitude, self.num_classes = num_ops, magnitude, num_classes
        self.rng = random.Random(seed)
        self.mean = torch.tensor(MEAN).view(3, 1, 1)
        self.std = torch.tensor(STD).view(3, 1, 1)

    def augment(self, images: list[Image.Image]) -> list[Image.Image]:
        return [pil_randaugment_one(im, self.num_ops, self.magnitude, self.rng) for im in images]

    def normalize(self, images: list[Image.Image]) -> torch.Tensor:
        out = []
        for im in images:
            t = torch.from_numpy(np.array(im)).permute(2, 0, 1).float().div_(255)  # ToTensor
            out.append((t - self.mean) / self.std)  # Normalize
        return torch.stack(out)

    def cutmix(self, x: torch.Tensor, labels: torch.Tensor):
        """torchvision v2 / timm CutMix: one lambda and box for the batch, partner = batch rolled by one."""
        b, _, h, w = x.shape
        lam = float(np.random.default_rng(self.rng.randrange(2**31)).beta(1.0, 1.0))
        r = math.sqrt(1.0 - lam)
        ch, cw = int(h * r), int(w * r)
        cy, cx = self.rng.randrange(h), self.rng.randrange(w)
        y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
        x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
        x[:, :, y0:y1, x0:x1] = x.roll(-1, 0)[:, :, y0:y1, x0:x1]
        lam = 1.0 - (y1 - y0) * (x1 - x0) / (h * w)
        y = torch.nn.functional.one_hot(labels, self.num_classes).float()
        return x, lam * y + (1 - lam) * y.roll(-1, 0)

    def __call__(self, images: list[Image.Image], labels: torch.Tensor, times: dict | None = None):
        t0 = time.perf_counter()
        images = self.augment(images)
        t1 = time.perf_counter()
        x = self.normalize(images)
        t2 = time.perf_counter()
        out = self.cutmix(x, labels)
        if times is not None:
            times["randaugment"].append(t1 - t0)
            times["normalize"].append(t2 - t1)
            times["cutmix"].append(time.perf_counter() - t2)
        return out


def run_ours(layers, x, labels, times: dict | None = None):
    """RandAugment, CutMix, Normalize one after the other (what Compose runs: nothing fuses across them)."""
    ra, cm, nm = layers
    t0 = time.perf_counter()
    y = ra(x)
    t1 = time.perf_counter()
    y, soft = cm(y, labels)
    t2 = time.perf_counter()
    y = nm(y)
    if times is not None:
        times["randaugment"].append(t1 - t0)
        times["cutmix"].append(t2 - t1)
        times["normalize"].append(time.perf_counter() - t2)
    return y, soft


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the rows to this JSON file")
    ap.add_argument("--breakdown", action="store_true", help="also time each stage on both sides")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    x = sample_batch(args.batch, args.size, seed=None)  # the whole photos, resized (bilinear)
    labels = torch.arange(args.batch) % 1000
    pil_images = [Image.fromarray(img.permute(1, 2, 0).contiguous().numpy()) for img in x]
    g = torch.Generator().manual_seed(0)
    layers = (
        RandAugment(num_ops=2, magnitude=9, generator=g),
        CutMix(num_classes=1000, generator=g),
        Normalize(list(MEAN), list(STD)),
    )
    pipeline = Compose(list(layers))
    theirs = PilPipeline()

    pipeline(x, labels=labels)  # warm up
    theirs(pil_images[:4], labels[:4])
    t_ours, t_pil = [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        out, soft = pipeline(x, labels=labels)
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref, ref_soft = theirs(pil_images, labels)
        t_pil.append(time.perf_counter() - t0)
    assert out.shape == ref.shape and out.dtype == ref.dtype and soft.shape == ref_soft.shape
    ours_ips = args.batch / statistics.median(t_ours)
    pil_ips = args.batch / statistics.median(t_pil)
    print(
        f"RandAugment(N=2, M=9) + CutMix + Normalize, batch {args.batch}, {args.size}x{args.size} uint8, "
        f"threads={args.threads}, {args.rounds} alternating rounds (median)"
    )
    print(f"  gpuaug host path : {ours_ips:8.1f} img/s   ({statistics.median(t_ours) * 1e3:.1f} ms/batch)")
    print(f"  per-image PIL    : {pil_ips:8.1f} img/s   ({statistics.median(t_pil) * 1e3:.1f} ms/batch)")
    print(f"  ratio gpuaug/PIL : {ours_ips / pil_ips:8.2f}x")
    if args.breakdown:
        stages = ("randaugment", "cutmix", "normalize")
        mine, pils = {k: [] for k in stages}, {k: [] for k in stages}
        for _ in range(args.rounds):
            run_ours(layers, x, labels, mine)
            theirs(pil_images, labels, pils)
        print("  stage            gpuaug ms    PIL ms   (medians; PIL normalize includes ToTensor)")
        for k in stages:
            print(
                f"  {k:14s} {statistics.median(mine[k]) * 1e3:10.1f} {statistics.median(pils[k]) * 1e3:9.1f}"
            )
    if args.json:
        rows = [
            {
                "op": "randaugment_cutmix_normalize",
                "library": lib,
                "batch": args.batch,
                "size": args.size,
                "dtype": "uint8",
                "img_per_s": ips,
                "ms": args.batch / ips * 1e3,
                "gbps": None,
            }
            for lib, ips in (("gpuaug-torch", ours_ips), ("pil", pil_ips))
        ]
        with open(args.json, "w") as fh:
            json.dump(
                {
                    **header("cpu", copy_gbps("cpu")),  # device, torch, triton, date, copy_gbps
                    "gpuaug": gpuaug.__version__,
                    "threads": args.threads,
                    "timer": f"alternating perf_counter rounds, median of {args.rounds}",
                    "rows": rows,
                },
                fh,
                indent=1,
            )


if __name__ == "__main__":
    main()
