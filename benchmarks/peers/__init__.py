"""Adapters: each library's way of doing a case, configured so that its semantics match gpuaug's.

One module per peer (``gpuaug_peer``, ``compiled_peer``, ``kornia_peer``, ``pil_peer``,
``torchvision_peer``, ``triton_augment_peer``), each with its semantics notes in its docstring and an
``ADAPTERS`` table ``{op: adapter}``, ``adapter(case, device) -> Impl``. Adding an op touches the case
table (``benchmarks/cases.py``) and one adapter per peer, nothing else.

A peer's ``build(case, device)`` looks the case's op up in its table and returns an :class:`Impl`, or
raises :class:`Skip` with the reason (library missing, op missing, or "semantics differ: not timed"). An
Impl is split so that only the library's own work is timed:

- ``prepare(x, params)``: not timed. Tensor libraries get the tensor as it is; PIL gets a list of
  ``PIL.Image`` (what a per-image pipeline has after decoding) and Python parameters.
- ``run(prepared)``: timed. It includes any conversion the library forces on a user who holds gpuaug's
  input and wants gpuaug's output (kornia works on float images in [0, 1]: uint8 in, uint8 out costs it
  a conversion each way).
- ``to_tensor(out)``: not timed, for the correctness check against gpuaug.

Semantics notes (checked once per case before timing, see ``cases.compare``): every peer is compared
with gpuaug on the same input and the same per-sample parameters; deterministic ops must agree within
the op's tolerance (``cases.TOLERANCE``), random layers (CutMix, RandAugment, the pipeline) are checked
for invariants only. An op whose only form in a library means something else is not timed: its adapter
raises ``Skip("semantics differ (...): not timed")`` (:func:`semantics_differ`). The notes that belong to
one library are in its module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from benchmarks.cases import Case


class Skip(Exception):
    """This peer does not run this case; the message says why."""


@dataclass
class Impl:
    library: str
    run: Callable[[Any], Any]
    prepare: Callable[[torch.Tensor, dict], Any] = lambda x, p: (x, p)
    to_tensor: Callable[[Any], Any] = lambda out: out
    check: str = "equal"  # "equal" (within the op's tolerance) or "invariants" (random output)
    host: bool = False  # runs on the CPU even for a CUDA case (time with perf_counter, not do_bench)
    note: str = ""


Adapter = Callable[[Case, Any], Impl]


def tensor_impl(library: str, fn, **kw) -> Impl:
    """An Impl of a tensor library: ``fn(x, params)`` on the input as it is."""
    return Impl(library, run=lambda xp: fn(*xp), **kw)


def semantics_differ(why: str) -> Adapter:
    """The adapter of an op the library has, but with other semantics: never timed."""

    def adapter(case: Case, device) -> Impl:
        raise Skip(f"semantics differ ({why}): not timed")

    return adapter


def to_unit(x: torch.Tensor, f32: bool = False) -> torch.Tensor:
    """An image in [0, 1] (float32 from uint8; float32 from float16 with ``f32``), for a float library."""
    if x.dtype == torch.uint8:
        return x.float() / 255
    return x.float() if f32 else x


def from_unit(y: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Back from [0, 1] to the case's dtype (uint8: rounded)."""
    if dtype == torch.uint8:
        return (y * 255).round_().clamp_(0, 255).to(torch.uint8)
    return y.to(dtype)


class Peer:
    """A library as a benchmark peer: ``available(device)`` says why it cannot run at all (None: it can),
    ``build(case, device)`` looks the op up in ``adapters``, the module's ``{op: adapter}`` table."""

    name = ""
    adapters: dict[str, Adapter] = {}

    def available(self, device) -> str | None:
        return None

    def accepts(self, case: Case) -> None:
        """Raise :class:`Skip` for a case this peer does not run whatever its op (e.g. PIL on float16)."""

    def missing(self, op: str) -> str:
        """The Skip reason for an op without an adapter."""
        return f"no {self.name} adapter for {op}"

    def build(self, case: Case, device) -> Impl:
        self.accepts(case)
        adapter = self.adapters.get(case.op)
        if adapter is None:
            raise Skip(self.missing(case.op))
        return adapter(case, device)


def all_peers(compile_enabled: bool = True, compile_reason: str = "", compile_layers: bool = False) -> list:
    compiled = Compiled(compile_enabled, compile_reason, compile_layers)
    return [Gpuaug(), Kornia(), TorchvisionV2(), TritonAugment(), compiled, Pil()]


def checked(case: Case, peer, device="cpu", seed: int = 0):
    """``peer``'s Impl for ``case`` and its prepared input, after checking its output against gpuaug's.

    Raises :class:`Skip` when the peer is unavailable or does not run the case, ``AssertionError`` when its
    output disagrees with gpuaug's (``cases.compare``) — then it must not be timed.
    """
    from benchmarks import cases as C

    why = peer.available(device)
    if why:
        raise Skip(why)
    x, p = C.make_input(case, seed, device), C.draw_params(case, seed, device)
    ref = C.gpuaug_fn(case, device)(x, p)  # gpuaug missing an API is an error here, not a skip
    impl = peer.build(case, device)
    obj = impl.prepare(x, p)
    out = impl.to_tensor(impl.run(obj))
    if impl.check == "equal":
        ok, detail = C.compare(case, ref, out, impl.library)
    else:
        ok, detail = C.invariants(case, ref, out)
    assert ok, f"{impl.library} disagrees with gpuaug on {case.name}: {detail}"
    return impl, obj


# The peers (after the shared names above, which their modules import).
from benchmarks.peers.compiled_peer import Compiled  # noqa: E402
from benchmarks.peers.gpuaug_peer import Gpuaug  # noqa: E402
from benchmarks.peers.kornia_peer import Kornia  # noqa: E402
from benchmarks.peers.pil_peer import Pil  # noqa: E402
from benchmarks.peers.torchvision_peer import TorchvisionV2  # noqa: E402
from benchmarks.peers.triton_augment_peer import TritonAugment  # noqa: E402

PEERS_BY_NAME = {cls.name: cls for cls in (Gpuaug, Kornia, TorchvisionV2, TritonAugment, Compiled, Pil)}
