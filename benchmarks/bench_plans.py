"""Compiled plans on a GPU: issue 10's two pipelines (``python -m gpuaug profile`` presets) at batch 256,
224², uint8 in, bf16 channels_last out: the hook (a plan), the hook captured in a CUDA graph, and the same
hook with plans off (the layers one by one), beside the copy bandwidth and the profile's byte count.

    python benchmarks/bench_plans.py --out results.jsonl [--profile profile-readme.json ...]

One JSON object per line, written and flushed as each row is measured (a run cut short keeps its rows);
the first line is the machine (benchmarks/device.py). Times: ``triton.testing.do_bench`` medians.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the checkout
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks.device import copy_gbps, header  # noqa: E402

PRESETS = ("readme", "ra-cutmix")


@contextlib.contextmanager
def plans_off():
    """Every plan lookup answers "run eagerly": the layers one by one (the path before plans)."""
    from gpuaug.plan import cache

    real = cache.Plans.get

    def off(self, *args, **kwargs):
        self.reason = "plans off (benchmark)"
        return None

    cache.Plans.get = off
    try:
        yield
    finally:
        cache.Plans.get = real


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--in-size", type=int, default=256, help="decoded image size fed to the hook")
    ap.add_argument("--out", required=True, help="JSON lines file (appended)")
    ap.add_argument("--profile", nargs="*", default=[], help="JSONs of python -m gpuaug profile --json")
    args = ap.parse_args(argv)
    import triton.testing

    from gpuaug.loader import capture_hook
    from gpuaug.profile import build_pipeline
    from gpuaug.samples import sample_batch

    dev = torch.device("cuda")
    out = open(args.out, "a", buffering=1)  # line-buffered: each row survives a timeout

    def row(**kw):
        out.write(json.dumps(kw) + "\n")
        print(json.dumps(kw), flush=True)

    row(kind="machine", **header(dev, copy_gbps(dev)))
    for path in args.profile:
        with open(path) as f:
            row(kind="profile", file=path, **json.load(f))
    x = sample_batch(args.batch, args.in_size, seed=0).to(dev)
    y = torch.randint(0, 1000, (args.batch,), device=dev)
    n_img = 3 * args.size * args.size
    for preset in PRESETS:
        make, what = build_pipeline(preset, None, None, torch.bfloat16)
        for mode in ("plan", "graph", "eager"):
            hook = make(args.size)
            try:
                ctx = plans_off() if mode == "eager" else contextlib.nullcontext()
                with ctx:
                    fn = capture_hook(hook, x, y) if mode == "graph" else hook
                    fn(x, y)
                    ms = triton.testing.do_bench(lambda: fn(x, y), warmup=10, rep=200,  # noqa: B023
                                                 return_mode="median")
                row(kind="plan", pipeline=preset, what=what, mode=mode, batch=args.batch, size=args.size,
                    in_size=args.in_size, ms=ms, img_s=args.batch / (ms * 1e-3),
                    plan_reason=hook.plan_reason, out_gbps=args.batch * n_img * 2 / (ms * 1e-3) / 1e9)
            except Exception as e:  # a failing mode is a result too; the others still run
                row(kind="plan", pipeline=preset, mode=mode, error=f"{type(e).__name__}: {e}"[:500])
    out.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
