"""The benchmark runner: gpuaug against kornia, torchvision v2, triton-augment, torch.compile and PIL.

    python benchmarks/run.py                 # full suite on the GPU if there is one, else the CPU set
    python benchmarks/run.py --smoke         # tiny sizes, 2 reps: every case runs, every peer is correct
    python benchmarks/run.py --ops warp,equalize --batch 32 --size 224 --dtype uint8

Method (MEASURING.md):
- Every peer's output is checked against gpuaug's once, on the same input and parameters, before any
  timing; a peer that disagrees is reported and not timed.
- GPU: ``triton.testing.do_bench`` (warm-up, median), input batches rotated between calls so the L2
  cache does not flatter; a large device-to-device copy is timed in the same run, and each row's
  achieved GB/s (bytes the op must move / time) is reported as a fraction of it.
- CPU: one process, interleaved calls (A, B, C, A, B, C, ...), ``time.perf_counter``, median;
  ``torch.set_num_threads(N)`` (default 1: ratios per core, PIL is one image at a time on one core).
Results go to ``benchmarks/results/<device>-<yyyy-mm-dd>.json``; ``benchmarks/render.py`` renders them.
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

from benchmarks import cases as C  # noqa: E402
from benchmarks import peers as P  # noqa: E402
from benchmarks.device import copy_gbps, header, sync  # noqa: E402

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

GPU_SET = dict(batch=[32, 256], size=[32, 224, 512], dtype=["uint8", "float16"])
CPU_SET = dict(batch=[32, 64], size=[224], dtype=["uint8"])
SMOKE_SET = dict(batch=[4], size=[32], dtype=["uint8", "float16"])


def _csv(kind):
    return lambda s: [kind(v) for v in s.split(",") if v]


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    ap.add_argument(
        "--smoke", action="store_true", help="tiny sizes, few reps; checks correctness, not speed"
    )
    ap.add_argument("--ops", type=_csv(str), default=None, help=f"comma list of {','.join(C.OPS)}")
    ap.add_argument("--batch", type=_csv(int), default=None, help="comma list of batch sizes")
    ap.add_argument("--size", type=_csv(int), default=None, help="comma list of square image sizes")
    ap.add_argument("--dtype", type=_csv(str), default=None, help="comma list of uint8,float16,float32")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU default 1)")
    ap.add_argument("--libs", type=_csv(str), default=None, help="only these libraries (gpuaug always runs)")
    ap.add_argument(
        "--reps", type=int, default=None, help="timed calls per library (CPU; default 7, smoke 2)"
    )
    ap.add_argument(
        "--compile",
        default=None,
        action=argparse.BooleanOptionalAction,
        help="time torch.compile of gpuaug's torch path (default: on for CUDA, off on the CPU)",
    )
    ap.add_argument(
        "--compile-layers",
        action="store_true",
        help="torch.compile the random layers too (CutMix, RandAugment, pipeline; slow to compile)",
    )
    ap.add_argument(
        "--out",
        default=None,
        help="results JSON path (default benchmarks/results/<device>-<date>.json;"
        " smoke runs write only with --out)",
    )
    ap.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    ap.add_argument(
        "--append",
        action="store_true",
        help="merge into an existing results JSON of the same device and date (split a long run in parts)",
    )
    args = ap.parse_args(argv)
    bad = [o for o in (args.ops or []) if o not in C.OPS]
    if bad:
        ap.error(f"--ops: unknown {bad}; choose from {', '.join(C.OPS)}")
    bad = [d for d in (args.dtype or []) if d not in C.DTYPES]
    if bad:
        ap.error(f"--dtype: unknown {bad}; choose from {', '.join(C.DTYPES)}")
    return args


# ------------------------------------------------------------------------------------------- timing
def n_rotations(case: C.Case, device: torch.device) -> int:
    """Input batches to rotate through: on the GPU enough to exceed any L2 (~256 MB moved), on the CPU 2."""
    if device.type != "cuda":
        return 2
    return max(2, min(8, math.ceil((256 << 20) / max(case.bytes_moved(), 1))))


def time_cpu(impls: list, prepared: dict, reps: int, device) -> dict:
    """Interleaved A, B, C, A, B, C ... calls; median seconds per library."""
    times = {i.library: [] for i in impls}
    for r in range(reps):
        for impl in impls:
            obj = prepared[impl.library][r % len(prepared[impl.library])]
            sync(device)
            t0 = time.perf_counter()
            impl.run(obj)
            sync(device)
            times[impl.library].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def time_gpu(impl, objs: list, device, host_reps: int) -> float:
    """Median seconds per call: do_bench for device libraries, perf_counter for host (PIL) ones."""
    if impl.host:
        return time_cpu([impl], {impl.library: objs}, host_reps, device)[impl.library]
    import triton.testing

    k = [0]

    def call():
        k[0] += 1
        impl.run(objs[k[0] % len(objs)])

    return triton.testing.do_bench(call, warmup=25, rep=100, return_mode="median") * 1e-3


# ------------------------------------------------------------------------------------------- suite
def select_cases(args, device) -> list[C.Case]:
    base = SMOKE_SET if args.smoke else (GPU_SET if device.type == "cuda" else CPU_SET)
    return C.grid(
        args.ops or C.OPS, args.batch or base["batch"], args.size or base["size"], args.dtype or base["dtype"]
    )


def run_suite(args) -> dict:
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    threads = args.threads or (torch.get_num_threads() if device.type == "cuda" else 1)
    torch.set_num_threads(threads)
    reps = args.reps or (2 if args.smoke else 7)
    compile_ok, compile_reason = True, ""
    if args.compile is False:
        compile_ok, compile_reason = False, "disabled (--no-compile)"
    elif args.compile is None and device.type == "cpu" and not args.smoke:
        compile_ok, compile_reason = False, (
            "off on the CPU by default: the inductor C++ compile took 4-45 s per op at 32², and a --compile "
            "run of the 224² CPU set did not finish in 15 minutes on a 2-core machine (--compile includes it)"
        )
    elif args.smoke and not args.compile:
        compile_ok, compile_reason = False, "smoke mode: an inductor compile per case takes too long for CI"
    libs = P.all_peers(compile_ok, compile_reason, compile_layers=args.compile_layers)
    if args.libs:
        libs = [p for p in libs if p.name == "gpuaug" or p.name in args.libs]

    result = {
        **header(device),  # device, torch, triton, date, copy_gbps (measured below)
        "threads": threads,
        "mode": "smoke" if args.smoke else "full",
        "timer": "triton.testing.do_bench median"
        if device.type == "cuda"
        else "interleaved perf_counter median",
        "reps": reps,
        "rows": [],
        "checks": [],
        "skipped": [],
        "errors": [],
    }
    try:
        import kornia

        result["kornia"] = kornia.__version__
    except ImportError:
        pass
    print(
        f"device {result['device']}  torch {result['torch']}  triton {result['triton']}  "
        f"threads {threads} (torch.set_num_threads)  gpuaug backend {_backend_name()}"
    )
    copy = copy_gbps(device, args.smoke)
    result["copy_gbps"] = round(copy, 2)
    print(f"copy bandwidth: {copy:.1f} GB/s (read + write of a large tensor copy)")

    available = []
    for peer in libs:
        why = peer.available(device)
        if why:
            print(f"  skip {peer.name}: {why}")
            result["skipped"].append({"library": peer.name, "reason": why})
        else:
            available.append(peer)

    cases = select_cases(args, device)
    bar = _progress(cases, args.no_progress)
    for case in bar:
        _run_case(case, available, device, reps, result, copy)
    return result


def _backend_name() -> str:
    from gpuaug.backend import get_backend

    return get_backend()


def _progress(cases, off: bool):
    if off:
        return cases
    try:
        from tqdm import tqdm
    except ImportError:
        return cases
    return tqdm(cases, desc="cases", unit="case", file=sys.stderr, dynamic_ncols=True)


def _write(msg: str) -> None:
    try:
        from tqdm import tqdm

        tqdm.write(msg)
    except ImportError:
        print(msg)


def _run_case(case: C.Case, peers: list, device, reps: int, result: dict, copy: float) -> None:
    key = {"op": case.op, "batch": case.batch, "size": case.size, "dtype": case.dtype}
    n = n_rotations(case, device)
    inputs = [(C.make_input(case, seed, device), C.draw_params(case, seed, device)) for seed in range(n)]
    impls = []
    for peer in peers:
        try:
            impls.append(peer.build(case, device))
        except P.Skip as e:
            if peer.name == "gpuaug":
                result["errors"].append({**key, "library": "gpuaug", "error": str(e)})
                _write(f"{case.name}: gpuaug cannot run: {e}")
                return
            result["skipped"].append({**key, "library": peer.name, "reason": str(e)})
        except Exception as e:  # noqa: BLE001 - an adapter that breaks is reported, not fatal
            result["errors"].append({**key, "library": peer.name, "error": f"{type(e).__name__}: {e}"})
    ref_impl = impls[0]
    prepared, timed, ref = {}, [], None
    for impl in impls:
        try:
            objs = [impl.prepare(x, p) for x, p in inputs]
            t0 = time.perf_counter()
            out = impl.run(objs[0])  # the first call (compiles where the library compiles)
            sync(device)
            first = time.perf_counter() - t0
            if impl is ref_impl:
                ref = out
                ok, detail = C.invariants(case, out, out) if case.op in C.RANDOM_OPS else (True, "reference")
            else:
                ok, detail = (
                    C.compare(case, ref, impl.to_tensor(out), impl.library)
                    if impl.check == "equal"
                    else C.invariants(case, ref, impl.to_tensor(out))
                )
        except P.Skip as e:
            result["skipped"].append({**key, "library": impl.library, "reason": str(e)})
            _write(f"{case.name}: skip {impl.library}: {e}")
            continue
        except Exception as e:  # noqa: BLE001
            ok, detail, first = False, f"raised {type(e).__name__}: {str(e)[:300]}", 0.0
        result["checks"].append(
            {
                **key,
                "library": impl.library,
                "ok": bool(ok),
                "detail": detail,
                "first_call_s": round(first, 3),
            }
        )
        if not ok:
            _write(f"{case.name}: {impl.library} check FAILED, not timed: {detail}")
            if impl is ref_impl:
                return
            continue
        warm_rounds = 0 if impl.host else (2 if first > 1.0 else 1)  # a compiling library needs 2 to settle
        for _ in range(warm_rounds):
            for obj in objs[1:] + objs[:1]:
                impl.run(obj)  # warm every input
        prepared[impl.library] = objs
        timed.append(impl)
    if device.type == "cuda":
        secs = {i.library: time_gpu(i, prepared[i.library], device, min(reps, 3)) for i in timed}
    else:
        secs = time_cpu(timed, prepared, reps, device)
    moved = case.bytes_moved()
    lines = [
        f"{case.name}\n  {'library':<15} {'img/s':>12}  {'gpuaug is':>10}  {'ms':>9}  {'GB/s':>8}  "
        f"{'% of copy':>9}  check"
    ]
    base = secs.get("gpuaug")
    for impl in timed:
        s = secs[impl.library]
        gbps = moved / s / 1e9
        row = {
            **key,
            "library": impl.library,
            "img_per_s": round(case.batch / s, 1),
            "ms": round(s * 1e3, 4),
            "gbps": round(gbps, 3),
            "frac_copy": round(gbps / copy, 4) if copy else None,
            "check": next(c["detail"] for c in result["checks"][::-1] if c["library"] == impl.library),
        }
        result["rows"].append(row)
        # "gpuaug is x N": gpuaug's img/s over this library's (above 1: gpuaug is faster)
        ratio = "" if impl.library == "gpuaug" or not base else f"x{s / base:.2f}"
        lines.append(
            f"  {impl.library:<15} {row['img_per_s']:>12,.0f}  {ratio:>10}  {row['ms']:9.3f}  {gbps:8.2f}  "
            f"{100 * gbps / copy:9.1f}  {row['check']}"
        )
    _write("\n".join(lines))


def default_out(result: dict) -> str:
    return os.path.join(RESULTS_DIR, f"{result['device']}-{result['date']}.json")


def merge(path: str, new: dict) -> dict:
    """``new`` merged into the results file at ``path`` (same device): its rows replace equal cases."""
    with open(path) as f:
        old = json.load(f)
    if old.get("device") != new["device"]:
        raise SystemExit(f"--append: {path} is from {old.get('device')}, this run is on {new['device']}")

    def key(r):
        return (r.get("op"), r.get("batch"), r.get("size"), r.get("dtype"), r.get("library"))

    for field in ("rows", "checks", "skipped", "errors"):
        fresh = {key(r) for r in new.get(field, [])}
        new[field] = [r for r in old.get(field, []) if key(r) not in fresh] + new.get(field, [])
    return new


def main(argv=None) -> int:
    """Entry point of ``python benchmarks/run.py``. Returns 0, or 1 when gpuaug could not
    run a case or a peer's output disagreed with gpuaug's."""
    args = parse_args(argv)
    result = run_suite(args)
    out = args.out or (None if args.smoke else default_out(result))
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        if args.append and os.path.exists(out):
            result = merge(out, result)
        with open(out, "w") as f:
            json.dump(result, f, indent=1)
        print(f"wrote {out}")
        if not args.smoke and os.path.abspath(os.path.dirname(out)) == RESULTS_DIR:
            from benchmarks import render

            render.render()
            print(f"rendered {render.README}")
    failed = [c for c in result["checks"] if not c["ok"]]
    for c in failed:
        print(f"CHECK FAILED {c['op']} B={c['batch']} {c['size']} {c['dtype']} {c['library']}: {c['detail']}")
    for e in result["errors"]:
        print(f"ERROR {e['op']} B={e['batch']} {e['size']} {e['dtype']} {e['library']}: {e['error']}")
    return 1 if failed or result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
