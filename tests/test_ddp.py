"""DDP seeding: 2 ranks under torchrun (gloo, CPU) draw different parameters; a rerun draws the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from gpuaug.distributed import rank_seed, seed_everything

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    import torch.distributed as dist
    from gpuaug.distributed import seed_everything
    from gpuaug.loader import BatchHook

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    gen = seed_everything(int(sys.argv[2]), device="cpu")
    x = (torch.arange(2 * 3 * 20 * 24) % 251).to(torch.uint8).reshape(2, 3, 20, 24)
    try:
        from gpuaug.policies import RandAugment
    except ImportError:
        RandAugment = None
    if RandAugment is not None:
        # through a real policy: its own generator and the global one both come from the rank's seed
        aug = RandAugment(2, 9, generator=gen)
        out = BatchHook(aug)(x).flatten()[::97].tolist()
        draws = {"policy_out": [round(v, 4) for v in out], "global": torch.rand(4).tolist()}
    else:
        draws = {"gen": torch.rand(4, generator=gen).tolist(), "global": torch.rand(4).tolist()}
    if RandAugment is not None:
        # DataLoader workers on each rank: augmentation in the worker (host fallback), own generator
        from gpuaug.loader import AugmentingCollate
        data = [(x[0].permute(1, 2, 0).numpy(), 0)] * 4
        dl = torch.utils.data.DataLoader(data, batch_size=4, num_workers=1,
                                         collate_fn=AugmentingCollate(RandAugment(2, 9, generator=gen)))
        draws["worker"] = [round(v, 4) for v in next(iter(dl))[0].flatten()[::97].tolist()]
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, {"rank": rank, **draws})
    if rank == 0:
        with open(sys.argv[1], "w") as f:
            json.dump(gathered, f)
    dist.destroy_process_group()
    """
)


def _run(tmp_path, name: str, seed: int) -> list[dict]:
    script = tmp_path / "ddp_draws.py"
    script.write_text(SCRIPT)
    out = tmp_path / f"{name}.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--nnodes", "1",
           "--master_port", "0", "--rdzv_backend", "c10d", "--rdzv_endpoint", "127.0.0.1:0",
           str(script), str(out), str(seed)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_two_ranks_draw_differently_and_reproducibly(tmp_path):
    first = _run(tmp_path, "a", 1234)
    assert [d["rank"] for d in first] == [0, 1]
    r0, r1 = ({k: v for k, v in d.items() if k != "rank"} for d in first)
    for key in r0:
        assert r0[key] != r1[key], f"ranks drew the same {key}"
    assert _run(tmp_path, "b", 1234) == first
    assert _run(tmp_path, "c", 99)[0] != first[0]


def test_rank_seeds_distinct_and_stable():
    seeds = [rank_seed(0, r) for r in range(64)] + [rank_seed(1, r) for r in range(64)]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s < 2**63 for s in seeds)
    assert rank_seed(5, 3) == rank_seed(5, 3)
    with pytest.raises(ValueError, match="rank"):
        rank_seed(0, -1)
    with pytest.raises(TypeError, match="base_seed"):
        rank_seed(1.5, 0)


def test_seed_everything_reproduces_global_and_generator_draws():
    g = seed_everything(7, rank=1, device="cpu")
    a = (torch.rand(3), torch.rand(3, generator=g))
    g = seed_everything(7, rank=1, device="cpu")
    b = (torch.rand(3), torch.rand(3, generator=g))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    g = seed_everything(7, rank=0, device="cpu")
    assert not torch.equal(torch.rand(3), a[0])

