"""``torch.compile`` on CPU tensors (docs/contract.md "torch.compile"): a compiled pipeline survives a
changing batch size with one dynamic graph, has at most 2 graph breaks, and gives the eager result.

The graph and the graph breaks come from Dynamo, whatever the backend: ``aot_eager`` (Dynamo, then AOT
autograd's tracing, no code generation) checks them in seconds. ``GPUAUG_TEST_INDUCTOR=1`` also runs the
default backend (inductor: C++ code generation, about a minute on 2 cores).
"""

from __future__ import annotations

import os

import pytest
import torch

import gpuaug

BACKENDS = ["aot_eager"] + (["inductor"] if os.environ.get("GPUAUG_TEST_INDUCTOR") else [])


def _pipeline():
    return gpuaug.Compose([gpuaug.RandomResizedCrop(16), gpuaug.RandomHorizontalFlip(),
                           gpuaug.ColorJitter(0.4, 0.4, 0.4, 0.1)])


def _batch(b: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, 3, 24, 20), dtype=torch.uint8, generator=g)


@pytest.mark.parametrize("which", ["pipeline", "RandAugment", "MixUpCutMix"])
def test_at_most_two_graph_breaks(which):
    torch._dynamo.reset()
    module = {"pipeline": _pipeline, "RandAugment": lambda: gpuaug.RandAugment(2, 9),
              "MixUpCutMix": lambda: gpuaug.MixUpCutMix(num_classes=4)}[which]()
    args = (_batch(4),) if which != "MixUpCutMix" else (_batch(4), torch.tensor([0, 1, 2, 3]))
    explained = torch._dynamo.explain(module)(*args)
    reasons = [str(r.reason).splitlines()[0] for r in explained.break_reasons]
    assert explained.graph_break_count <= 2, reasons


@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_pipeline_survives_changing_batch_sizes(backend, monkeypatch):
    torch._dynamo.reset()
    # inductor draws random numbers its own way unless told to call torch's generator
    monkeypatch.setattr(torch._inductor.config, "fallback_random", True)
    aug = _pipeline()
    compiled = torch.compile(aug, backend=backend)
    torch._dynamo.utils.counters.clear()
    frames = torch._dynamo.utils.counters["stats"]
    for b in (4, 6, 5, 9):
        x = _batch(b, seed=b)
        torch.manual_seed(b)
        y = compiled(x)
        torch.manual_seed(b)
        with gpuaug.backend.backend("torch"):  # compiled code traces the torch path, not the host kernels
            ref = aug(x)
        assert y.shape == (b, 3, 16, 16) and y.dtype == torch.uint8
        if backend == "aot_eager":
            assert torch.equal(y, ref)  # the same ops in the same order: bitwise
        else:  # generated code fuses float arithmetic differently: a few uint8 roundings differ
            assert (y.int() - ref.int()).abs().max() <= 3 and (y != ref).float().mean() < 0.01
    # the first size, then one graph with a symbolic batch size for all the others
    assert frames["unique_graphs"] <= 2


def test_compiled_layers_with_targets_and_float_input():
    torch._dynamo.reset()
    aug = gpuaug.Compose([gpuaug.RandomAffine(20, interpolation="bilinear"), gpuaug.RandomErasing(1.0),
                          gpuaug.Normalize(0.5, 0.25)])
    compiled = torch.compile(aug, backend="aot_eager")
    for b in (3, 5, 7):
        x = torch.rand(b, 3, 12, 10)
        boxes = torch.tensor([[1.0, 1.0, 6.0, 5.0]]).expand(b, 1, 4)
        torch.manual_seed(b)
        y, bx = compiled(x, boxes=boxes)
        torch.manual_seed(b)
        ry, rbx = aug(x, boxes=boxes)
        assert torch.allclose(y, ry, atol=1e-6) and torch.equal(bx, rbx)
