"""The GPU path's instrument without a GPU: launches, global bytes and host time of one batch.

With backend ``triton``, CPU tensors take exactly the code path of CUDA tensors and the kernels run in
Triton's interpreter, so what is counted here is what a GPU would be asked to do:

- **launches**: every Triton kernel launch (by kernel name) and every torch op that launches a kernel on
  CUDA (by aten name; views and metadata ops launch nothing and are not counted);
- **global bytes**: for each Triton launch, the distinct bytes its programs load and store (a kernel that
  reads a pixel four times from cache is charged once: the DRAM floor of that launch); for each torch op,
  the bytes of its inputs and outputs;
- **host time**: the wall time of the Python side of a batch with every Triton launch stubbed (recorded,
  not run; Triton's own launcher, ~20 us a launch on a GPU, is not in it) and torch ops not watched: what
  the training step's thread spends issuing the batch;
- **host syncs** (ops that make the host wait for the device on CUDA: ``.item()``, ``bool(t)``,
  ``nonzero`` ...) and **host-built tensors** (``torch.tensor(list)``: a pageable host-to-device copy on
  CUDA, which also breaks CUDA-graph capture).

``python -m gpuaug profile`` runs a pipeline under :class:`Profile` and prints the table; it sets
``TRITON_INTERPRET=1`` itself (a fresh process is started when ``triton`` was imported without it).
"""

from __future__ import annotations

import collections
import contextlib
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

__all__ = ["GPUS", "Profile", "Report"]

#: peak DRAM bandwidth (bytes/s) of the GPUs the bandwidth-bound time is quoted for (vendor figures)
GPUS = {"H100": 3.35e12, "H200": 4.8e12, "A100": 2.0e12}
#: host-side cost of one kernel launch on a GPU, for the launch-bound estimate (CUDA launch + Python)
LAUNCH_S = 4e-6
#: host-side cost of Triton's own launcher per launch (argument binding, cache lookup), order of magnitude
LAUNCHER_S = 20e-6

# aten ops that launch no kernel (views, metadata, allocation without initialisation)
_NO_KERNEL = {
    "view", "_unsafe_view", "reshape", "expand", "as_strided", "permute", "transpose", "t", "slice", "select",
    "unsqueeze", "squeeze", "detach", "alias", "unbind", "split", "split_with_sizes", "chunk", "narrow",
    "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "_reshape_alias", "unflatten",
    "flatten", "view_as", "expand_as", "diagonal", "movedim", "lift_fresh", "set_", "resize_", "is_same_size",
    "_to_copy_noop", "sym_size", "sym_stride", "sym_numel", "sym_storage_offset", "stride", "size", "dim",
    "is_contiguous", "numel", "_local_scalar_dense", "lift_fresh_copy",
}
# aten ops that make the host wait for the device on CUDA
_SYNC = {"_local_scalar_dense", "nonzero", "masked_select", "unique", "_unique", "_unique2", "unique_dim",
         "unique_consecutive", "bincount", "repeat_interleave", "item", "equal", "is_nonzero"}
# aten ops that build a tensor from host data (a pageable host-to-device copy when the data goes to CUDA)
_HOST_BUILT = {"lift_fresh", "lift_fresh_copy"}


def _aten_name(func) -> str:
    name = getattr(func, "__name__", str(func))
    return name.split(".")[0]


def _distinct_bytes(t: torch.Tensor) -> int:
    """Bytes of the distinct elements of ``t`` (broadcast dimensions, stride 0, count once)."""
    if not isinstance(t, torch.Tensor) or t.layout != torch.strided:
        return 0
    n = 1
    for size, stride in zip(t.shape, t.stride()):
        if stride != 0:
            n *= size
    return n * t.element_size() if t.numel() else 0


@dataclass
class Report:
    """What one profiled call asked of the device."""

    triton: collections.Counter = field(default_factory=collections.Counter)  # kernel name -> launches
    torch_ops: collections.Counter = field(default_factory=collections.Counter)  # aten op -> launches
    read: collections.Counter = field(default_factory=collections.Counter)  # kernel / op -> bytes read
    written: collections.Counter = field(default_factory=collections.Counter)  # kernel / op -> bytes written
    syncs: collections.Counter = field(default_factory=collections.Counter)
    host_built: int = 0
    host_s: float | None = None

    @property
    def launches(self) -> int:
        return sum(self.triton.values()) + sum(self.torch_ops.values())

    @property
    def bytes_read(self) -> int:
        return sum(self.read.values())

    @property
    def bytes_written(self) -> int:
        return sum(self.written.values())


class _TorchOps(TorchDispatchMode):
    def __init__(self, report: Report, count_bytes: bool):
        super().__init__()
        self.report, self.count_bytes = report, count_bytes
        self.paused = False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.paused:  # the interpreter's own copies of kernel arguments: not the pipeline's work
            return func(*args, **kwargs)
        name = _aten_name(func)
        if getattr(func, "namespace", "") == "gpuaug":  # a registered kernel: its launches are counted
            return func(*args, **kwargs)
        r = self.report
        if name in _SYNC:
            r.syncs[name] += 1
        if name in _HOST_BUILT and args and isinstance(args[0], torch.Tensor) and args[0].dim() > 0:
            r.host_built += 1  # (a 0-d value written into a tensor is a fill on CUDA, not a copy)
        out = func(*args, **kwargs)
        if name not in _NO_KERNEL and not (name in ("copy_", "_to_copy", "clone") and _is_tiny(args)):
            r.torch_ops[name] += 1
            if self.count_bytes:
                ins = [a for a in tree_leaves((args, kwargs)) if isinstance(a, torch.Tensor)]
                outs = [o for o in tree_leaves(out) if isinstance(o, torch.Tensor)]
                r.read[f"torch.{name}"] += sum(_distinct_bytes(t) for t in ins)
                r.written[f"torch.{name}"] += sum(_distinct_bytes(t) for t in outs)
        return out


def _is_tiny(args) -> bool:
    """A copy of a 0-d host scalar: the CPU side of a Python number, no kernel on CUDA."""
    ts = [a for a in args if isinstance(a, torch.Tensor)]
    return bool(ts) and all(t.dim() == 0 for t in ts)


class _TritonLaunches:
    """Hooks Triton's interpreter: records each launch, and (``count_bytes``) the distinct global bytes its
    programs load and store; with ``stub`` the programs are not run at all."""

    def __init__(self, report: Report, count_bytes: bool, stub: bool, torch_ops: _TorchOps):
        self.report, self.count_bytes, self.stub, self.torch_ops = report, count_bytes, stub, torch_ops
        self._reads: list = []
        self._writes: list = []

    def _record(self, ptrs, mask, into: list) -> None:
        data = np.asarray(ptrs.data)
        m = np.broadcast_to(np.asarray(mask.data, dtype=bool), data.shape)
        size = max(1, ptrs.get_element_ty().primitive_bitwidth // 8)
        into.append((size, data[m].ravel()))

    @contextlib.contextmanager
    def active(self):
        from triton.runtime import interpreter as I

        b = I.interpreter_builder
        real_call = I.GridExecutor.__call__
        real_load, real_store = b.create_masked_load, b.create_masked_store
        real_rmw = b.create_atomic_rmw
        hooks = self

        def call(executor, *args, **kwargs):
            name = getattr(executor.fn, "__name__", "kernel")
            hooks.report.triton[name] += 1
            hooks._reads.clear()
            hooks._writes.clear()
            hooks.torch_ops.paused = True
            try:
                return real_call(executor, *args, **kwargs)
            finally:
                hooks.torch_ops.paused = False
                if hooks.count_bytes:
                    hooks.report.read[name] += _distinct(hooks._reads)
                    hooks.report.written[name] += _distinct(hooks._writes)

        def load(ptrs, mask, other, *a, **k):
            if hooks.count_bytes:
                hooks._record(ptrs, mask, hooks._reads)
            return real_load(ptrs, mask, other, *a, **k)

        def store(ptrs, value, mask, *a, **k):
            if hooks.count_bytes:
                hooks._record(ptrs, mask, hooks._writes)
            return real_store(ptrs, value, mask, *a, **k)

        def rmw(op, ptr, val, mask, *a, **k):
            if hooks.count_bytes:
                hooks._record(ptr, mask, hooks._reads)
                hooks._record(ptr, mask, hooks._writes)
            return real_rmw(op, ptr, val, mask, *a, **k)

        def stub_run(fn, *args, grid, warmup, **kwargs):
            # stubbed at the launch itself: the interpreter's argument handling (far slower than Triton's
            # launcher on a GPU) is not timed either
            if not warmup:
                hooks.report.triton[fn.fn.__name__] += 1

        real_run = I.InterpretedFunction.run
        if self.stub:
            I.InterpretedFunction.run = stub_run
        I.GridExecutor.__call__ = call
        b.create_masked_load, b.create_masked_store, b.create_atomic_rmw = load, store, rmw
        try:
            yield
        finally:
            I.InterpretedFunction.run = real_run
            I.GridExecutor.__call__ = real_call
            b.create_masked_load, b.create_masked_store, b.create_atomic_rmw = real_load, real_store, real_rmw


@contextlib.contextmanager
def _patched(obj, name, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def _plain(fn):
    return getattr(fn, "launch", fn)


def _distinct(parts: list) -> int:
    """Distinct bytes touched: unique addresses per element size, times the size."""
    by_size: dict[int, list] = collections.defaultdict(list)
    for size, addr in parts:
        by_size[size].append(addr)
    return sum(size * np.unique(np.concatenate(a)).size for size, a in by_size.items() if a)


class Profile:
    """``with Profile(count_bytes=True) as p: pipeline(x)`` then ``p.report``.

    ``count_bytes``: run the kernels in the interpreter and count their global bytes (slow: use small
    batches). ``stub``: record the launches without running any kernel (for the host time of large
    batches; outputs are then garbage). Needs backend ``triton`` and ``TRITON_INTERPRET=1``.
    """

    def __init__(self, count_bytes: bool = False, stub: bool = False, torch_ops: bool = True):
        from gpuaug.kernels._common import INTERPRET

        if not INTERPRET:
            raise RuntimeError("gpuaug.profile needs TRITON_INTERPRET=1 set before triton is imported")
        self.report = Report()
        self._torch = _TorchOps(self.report, count_bytes)
        self._triton = _TritonLaunches(self.report, count_bytes, stub, self._torch)
        self._stack = contextlib.ExitStack()
        self._watch_torch = torch_ops

    def __enter__(self) -> Profile:
        from gpuaug import backend

        if backend.get_backend() != "triton":
            raise RuntimeError("gpuaug.profile needs backend 'triton' (the CUDA code path)")
        # the plain launchers, not the registered torch ops: their own torch calls (argument copies, output
        # allocation) are seen and counted, and the op itself is not counted as a torch launch
        real_op = backend.op
        self._stack.enter_context(_patched(backend, "op", lambda name, t: _plain(real_op(name, t))))
        self._stack.enter_context(self._triton.active())
        if self._watch_torch:
            self._stack.enter_context(self._torch)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.report.host_s = time.perf_counter() - self._t0
        self._stack.close()


# ------------------------------------------------------------------------------------------- the command

PRESETS = {
    "readme": 'build_hook("rand-m9-n2-mstd0.5", size, num_classes=1000, dtype)',
    "ra-cutmix": "BatchHook(RandAugment(2, 9), CutMix(num_classes=1000), dtype)",
}


def build_pipeline(preset: str | None, policy: str | None, config: str | None, dtype: torch.dtype):
    """``(make, what)``: ``make(size)`` builds the hook to profile for images of ``size`` (crops resize to
    it), ``what`` describes it in one line."""
    from gpuaug import layers as L
    from gpuaug.loader import BatchHook, build_hook
    from gpuaug.policies import RandAugment

    if config is not None:
        return (lambda size: build_hook(size=size, num_classes=1000, dtype=dtype, pipeline=config),
                f"build_hook(pipeline={config!r})")
    if policy is not None:
        return (lambda size: build_hook(policy, size, num_classes=1000, dtype=dtype),
                f"build_hook({policy!r}, num_classes=1000, dtype={dtype})")
    if preset == "ra-cutmix":
        return (lambda size: BatchHook(RandAugment(2, 9), L.CutMix(num_classes=1000), dtype=dtype),
                f"BatchHook(RandAugment(2, 9), CutMix(num_classes=1000), dtype={dtype})")
    return (lambda size: build_hook("rand-m9-n2-mstd0.5", size, num_classes=1000, dtype=dtype),
            f'build_hook("rand-m9-n2-mstd0.5", num_classes=1000, dtype={dtype})')


def run(make, batch: int, size: int, bytes_batch: int, bytes_size: int, reps: int = 5, seed: int = 0) -> dict:
    """Profile one batch of the hook ``make(size)`` builds: bytes from running the kernels at
    ``bytes_batch`` x ``bytes_size`` (the interpreter is slow; bytes per image scale with the image),
    launches, syncs and host time (best of ``reps``, kernels stubbed) at ``batch`` x ``size``. Returns a
    plain dict (see :func:`format_report`)."""
    from gpuaug.samples import sample_batch

    torch.manual_seed(seed)
    hook = make(bytes_size)
    x = sample_batch(bytes_batch, bytes_size, seed=seed)
    y = torch.randint(0, 1000, (bytes_batch,))
    hook(x, y)  # first call: kernel modules import, plans compile (not what a batch costs)
    with Profile(count_bytes=True) as p:
        hook(x, y)
    counted = p.report
    n_img = x[0].numel()
    hook = make(size)
    xb = sample_batch(batch, size, seed=seed)
    yb = torch.randint(0, 1000, (batch,))
    with Profile(stub=True):
        hook(xb, yb)  # warm (compile for this shape) outside the timing
    with Profile(stub=True) as p:
        hook(xb, yb)
    best = p.report
    # host time: best of ``reps`` without watching torch ops (the dispatch mode costs more than the ops'
    # dispatch itself); torch ops do run on this CPU (a CUDA launch returns at once, so the small ones'
    # compute here, e.g. the block of uniforms, counts against us)
    host = []
    for _ in range(reps):
        with Profile(stub=True, torch_ops=False) as q:
            hook(xb, yb)
        host.append(q.report.host_s)
    best.host_s = min(host)
    return {
        "batch": batch, "size": size, "bytes_batch": bytes_batch, "bytes_size": bytes_size,
        "launches": best.launches, "triton": dict(best.triton), "torch": dict(best.torch_ops),
        "read_N": counted.bytes_read / bytes_batch / n_img,
        "written_N": counted.bytes_written / bytes_batch / n_img,
        "bytes_by_kernel_N": {k: (counted.read[k] + counted.written[k]) / bytes_batch / n_img
                              for k in set(counted.read) | set(counted.written)},
        "syncs": dict(best.syncs), "host_built": best.host_built, "host_ms": 1e3 * best.host_s,
    }


def format_report(r: dict, what: str, gpu: str = "H200") -> str:
    """The table ``python -m gpuaug profile`` prints; its last lines are the summary."""
    n_bytes = 3 * r["size"] * r["size"]
    per_batch = (r["read_N"] + r["written_N"]) * n_bytes * r["batch"]
    bw = per_batch / GPUS[gpu]
    top = sorted(r["bytes_by_kernel_N"].items(), key=lambda kv: -kv[1])[:8]
    by_count = sorted(r["torch"].items(), key=lambda kv: -kv[1])
    lines = [
        f"gpuaug profile: {what}",
        f"  batch {r['batch']} x 3x{r['size']}x{r['size']} uint8, CUDA code path (backend triton, Triton's "
        f"interpreter); bytes measured at batch {r['bytes_batch']} x {r['bytes_size']}px",
        "  Triton launches: " + (", ".join(f"{k} x{v}" for k, v in sorted(r["triton"].items())) or "none"),
        "  torch launches:  " + (", ".join(f"{k} x{v}" for k, v in by_count) or "none"),
        "  bytes per image by kernel (N = one uint8 image): "
        + ", ".join(f"{k} {v:.2f}" for k, v in top),
        "",
        f"launches per batch:      {r['launches']} ({sum(r['triton'].values())} Triton, "
        f"{sum(r['torch'].values())} torch)",
        f"global bytes per image:  {r['read_N'] + r['written_N']:.2f} N (read {r['read_N']:.2f} N, written "
        f"{r['written_N']:.2f} N; N = {n_bytes:,} B)",
        f"host time per batch:     {r['host_ms']:.3f} ms (this machine; kernels stubbed at the launch: "
        f"add Triton's launcher, ~{LAUNCHER_S * 1e6:.0f} us a launch on a GPU)",
        f"host syncs:              {sum(r['syncs'].values())}; host-built tensors (pageable copies on CUDA): "
        f"{r['host_built']}",
        f"on an {gpu} ({GPUS[gpu] / 1e12:.2f} TB/s): bandwidth-bound {1e3 * bw:.3f} ms per batch "
        f"({r['batch'] / bw:,.0f} img/s); {r['launches']} launches at ~{LAUNCH_S * 1e6:.0f} us: "
        f"{1e3 * r['launches'] * LAUNCH_S:.3f} ms",
    ]
    return "\n".join(lines)
