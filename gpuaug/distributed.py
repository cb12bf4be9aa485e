"""Seeding for data-parallel training: ranks draw different augmentation parameters, a rerun draws the same.

Usage in each DDP process::

    from gpuaug.distributed import seed_everything
    torch.cuda.set_device(local_rank)
    gen = seed_everything(1234)                        # rank from torch.distributed or $RANK
    aug = RandAugment(2, 9, generator=gen)             # or generator=None: the global RNG is seeded too

A rank's seed is a fixed function of ``(base_seed, rank)``. DataLoader workers need nothing more: the
DataLoader derives each worker's torch, ``random`` and numpy seeds from the main process's torch RNG, which
is seeded here per rank, and ``gpuaug.loader.AugmentingCollate`` reseeds layer-held generators from it.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["get_rank", "rank_seed", "seed_everything"]

# Distinct odd multipliers spread neighbouring (seed, rank) pairs far apart in seed space.
_RANK_STRIDE = 0x9E3779B97F4A7C15


def get_rank() -> int:
    """The process's rank: ``torch.distributed`` if initialised, else ``$RANK``, else 0."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    return int(os.environ.get("RANK", "0"))


def rank_seed(base_seed: int, rank: int | None = None) -> int:
    """The 63-bit seed of ``rank`` in a run seeded with ``base_seed`` (distinct for distinct ranks)."""
    if rank is None:
        rank = get_rank()
    if not isinstance(base_seed, int) or isinstance(base_seed, bool):
        raise TypeError(f"base_seed must be an int, got {type(base_seed).__name__}")
    if rank < 0:
        raise ValueError(f"rank must be >= 0, got {rank}")
    return (base_seed + rank * _RANK_STRIDE) % (2**63)


def seed_everything(base_seed: int, rank: int | None = None, device: torch.device | str | None = None
                    ) -> torch.Generator:
    """Seed torch (CPU and every CUDA device), numpy and ``random`` for this rank; return a rank generator.

    The returned ``torch.Generator`` (on ``device``, default the current CUDA device when available: call
    ``torch.cuda.set_device(local_rank)`` first) is seeded with the rank's seed too: pass it to layers as
    ``generator=`` to keep augmentation draws apart from other randomness.
    """
    seed = rank_seed(base_seed, rank)
    torch.manual_seed(seed)  # also seeds every CUDA device
    np.random.seed(seed % (2**32))
    random.seed(seed)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen
