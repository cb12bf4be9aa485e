"""gpuaug itself, the reference every other peer is checked against.

gpuaug's side of each op is written with the case (``cases.gpuaug_fn``, public API names of
CONTRACT.md), since the correctness check of every peer calls it too; this peer's table runs it for
every op of the case table. A missing gpuaug API is a skip with the reason here (the runner reports it as
an error: gpuaug must run every case).
"""

from __future__ import annotations

from benchmarks.cases import OPS, Case, gpuaug_fn
from benchmarks.peers import Impl, Peer, Skip, tensor_impl

NAME = "gpuaug"


def gpuaug_op(case: Case, device) -> Impl:
    try:
        fn = gpuaug_fn(case, device)
    except (AttributeError, ImportError, TypeError) as e:
        raise Skip(f"gpuaug API missing for {case.op}: {e}") from e
    return tensor_impl(NAME, fn)


ADAPTERS = dict.fromkeys(OPS, gpuaug_op)


class Gpuaug(Peer):
    name = NAME
    adapters = ADAPTERS

    def available(self, device) -> str | None:
        try:
            import gpuaug.functional  # noqa: F401
        except ImportError as e:  # pragma: no cover
            return f"gpuaug not importable: {e}"
        return None
