"""``python -m gpuaug``: ``bench`` (the feeding check), ``demo`` (a quick bench), ``preview``, ``profile``
(launches, bytes and host time of a pipeline on the CUDA code path).

``python -m gpuaug`` alone runs ``bench``.
"""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line (``prog: error: ...``), not the usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive(v: str) -> int:
    try:
        n = int(v)
    except ValueError:
        n = 0
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {v!r}")
    return n


def _non_negative(v: str) -> int:
    try:
        n = int(v)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {v!r}")
    return n


def _bench_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="where the model trains and augmentation runs (auto: cuda if available)")
    p.add_argument("--batch-size", type=_positive, help="images per batch (default 256 on CUDA, 32 on CPU)")
    p.add_argument("--steps", type=_positive, help="timed batches per phase (default 30 on CUDA, 10 on CPU)")
    p.add_argument("--warmup", type=_non_negative, help="untimed batches per phase (default 5 / 2)")
    p.add_argument("--workers", type=_non_negative,
                   help="DataLoader worker processes (default min(8, cores) on CUDA, 1 on the CPU)")
    p.add_argument("--policy", default="rand-m9-n2",
                   help="augmentation policy: timm-style 'rand-m9-n2[-mstd0.5]', 'trivial', 'auto' or 'none'")
    p.add_argument("--pipeline", help="a pipeline config (.yaml/.json, see gpuaug.config) replacing "
                                      "RandomResizedCrop + RandomHorizontalFlip + --policy")
    p.add_argument("--no-mix", dest="mix", action="store_false", help="no CutMix/MixUp")
    p.add_argument("--size", type=_positive, help="training image size (default 224 on CUDA, 128 on the CPU)")
    p.add_argument("--data", help="an ImageFolder-style folder (class sub-folders of images) instead of the "
                                  "bundled sample photos")
    p.add_argument("--model", help="'tiny', 'small', 'resnet50' (built in) or a torchvision model name "
                                   "(default resnet50 on CUDA, tiny on the CPU)")
    p.add_argument("--out", default="gpuaug-report", help="folder for report.json and report.png")
    p.add_argument("--threads", type=_positive, help="torch CPU threads (torch.set_num_threads)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m gpuaug",
        description="gpuaug: batched image augmentation on the GPU. 'bench' tells whether your training "
                    "step waits for data.")
    sub = parser.add_subparsers(dest="command", metavar="{bench,demo,preview,profile}")
    bench = sub.add_parser("bench", help="the feeding check: is the model waiting for data?")
    _bench_args(bench)
    demo = sub.add_parser("demo", help="a quick feeding check (few steps)")
    _bench_args(demo)
    prev = sub.add_parser("preview", help="a PNG grid of bundled photos under random draws of a pipeline")
    prev.add_argument("--policy", default="rand-m9-n2",
                      help="policy after RandomResizedCrop + RandomHorizontalFlip (as for bench)")
    prev.add_argument("--pipeline", help="a pipeline config (.yaml/.json, see gpuaug.config) instead")
    prev.add_argument("--mix", action="store_true", help="add CutMix/MixUp (timm's recipe)")
    prev.add_argument("--size", type=_positive, default=160)
    prev.add_argument("--images", type=_positive, default=4, help="rows: how many sample photos")
    prev.add_argument("--draws", type=_positive, default=4, help="columns: random draws per photo")
    prev.add_argument("--out", default="gpuaug-preview.png")
    prev.add_argument("--seed", type=int, default=0)
    prof = sub.add_parser("profile", help="kernel launches, global bytes per image and host time of one "
                                          "batch on the CUDA code path (runs through Triton's interpreter)")
    what = prof.add_mutually_exclusive_group()
    what.add_argument("--preset", choices=("readme", "ra-cutmix"), default="readme",
                      help="readme: build_hook('rand-m9-n2-mstd0.5', ...) with CutMix/MixUp and bf16 output "
                           "(default); ra-cutmix: BatchHook(RandAugment(2, 9), CutMix, bf16)")
    what.add_argument("--policy", help="build_hook(POLICY, ...): crop, flip, the policy, CutMix/MixUp, bf16")
    what.add_argument("--config", help="build_hook(pipeline=CONFIG) (a .yaml/.json pipeline file)")
    prof.add_argument("--batch-size", type=_positive, default=256)
    prof.add_argument("--size", type=_positive, default=224)
    prof.add_argument("--bytes-batch", type=_positive, default=2, help="batch the bytes are counted on")
    prof.add_argument("--bytes-size", type=_positive, default=None,
                      help="image size the bytes are counted on (default: --size; per-sample buffers such "
                           "as histograms weigh more per image on small images)")
    prof.add_argument("--gpu", choices=("H100", "H200", "A100"), default="H200")
    prof.add_argument("--json", help="also write the numbers to this file")
    return parser


def _run_bench(args, quick: bool) -> int:
    from gpuaug.feeding import BenchConfig, format_summary, run_bench, write_report

    cfg = BenchConfig(device=args.device, batch_size=args.batch_size, steps=args.steps, warmup=args.warmup,
                      workers=args.workers, policy=args.policy, pipeline=args.pipeline, mix=args.mix,
                      size=args.size, data=args.data, out=args.out, threads=args.threads, model=args.model,
                      seed=args.seed, progress=not args.quiet)
    if quick:
        cfg.steps = cfg.steps or 3
        cfg.warmup = 1 if cfg.warmup is None else cfg.warmup
    t0 = time.perf_counter()
    try:
        report = run_bench(cfg)
        write_report(report, cfg.out)
    except (ValueError, TypeError, OSError) as e:
        print(f"gpuaug bench: {_one_line(e)}", file=sys.stderr)
        return 2
    print(format_summary(report))
    print(f"(took {time.perf_counter() - t0:.1f} s)")
    return 0


def _one_line(e: BaseException) -> str:
    """An error as one line. An error raised in a DataLoader worker comes back with the worker's traceback
    in its message: its last line is the original error."""
    lines = [ln for ln in str(e).strip().splitlines() if ln.strip()]
    if len(lines) > 1 and lines[0].startswith("Caught "):
        return lines[-1].strip()
    return " ".join(ln.strip() for ln in lines) or type(e).__name__


def _run_preview(args) -> int:
    import torch

    from gpuaug import layers as L
    from gpuaug.loader import parse_policy
    from gpuaug.preview import preview
    from gpuaug.samples import sample_batch

    torch.manual_seed(args.seed)
    try:
        if args.pipeline:
            from gpuaug.config import from_config

            pipeline = from_config(args.pipeline)
        else:
            steps = [L.RandomResizedCrop(args.size, scale=(0.25, 1.0)), L.RandomHorizontalFlip()]
            policy = parse_policy(args.policy)
            steps += [policy] if policy is not None else []
            if args.mix:
                steps.append(L.MixUpCutMix(num_classes=args.images))
            pipeline = L.Compose(steps)
        images = sample_batch(args.images, (args.size, args.size), seed=None)  # whole photos, resized
        preview(pipeline, images, draws=args.draws, path=args.out)
    except (ValueError, TypeError, OSError) as e:
        print(f"gpuaug preview: {_one_line(e)}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {args.images} photos x (original + {args.draws} draws) of {pipeline!r}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "bench")
    parser = _parser()
    if argv[0] == "bench" and "--suite" in argv:
        parser.error("bench --suite is gone: in a source checkout the benchmark suite is "
                     "'python benchmarks/run.py'")
    args = parser.parse_args(argv)
    if args.command in ("bench", "demo"):
        return _run_bench(args, quick=args.command == "demo")
    if args.command == "profile":
        return _run_profile(args, argv)
    return _run_preview(args)


def _run_profile(args, argv: list[str]) -> int:
    import os

    if os.environ.get("TRITON_INTERPRET", "0") in ("", "0") or os.environ.get("GPUAUG_BACKEND") != "triton":
        if "triton" in sys.modules:  # too late to switch the interpreter on in this process
            import subprocess

            env = {**os.environ, "TRITON_INTERPRET": "1", "GPUAUG_BACKEND": "triton"}
            return subprocess.call([sys.executable, "-m", "gpuaug", *argv], env=env)
        os.environ["TRITON_INTERPRET"] = "1"
        os.environ["GPUAUG_BACKEND"] = "triton"
    import json

    import torch

    from gpuaug import backend, profile

    backend.set_backend("triton")
    try:
        make, what = profile.build_pipeline(args.preset, args.policy, args.config, torch.bfloat16)
        make(args.size)  # argument errors now, before the long run
    except (ValueError, TypeError, OSError) as e:
        print(f"gpuaug profile: {_one_line(e)}", file=sys.stderr)
        return 2
    r = profile.run(make, args.batch_size, args.size, args.bytes_batch, args.bytes_size or args.size)
    print(profile.format_report(r, what, args.gpu))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"pipeline": what, **r}, f, indent=2)
    return 0
