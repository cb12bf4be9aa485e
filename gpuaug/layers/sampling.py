"""Per-sample random draws: the ``Sampler`` every layer's ``draw`` uses (from a generator, or column by column
from a compiled plan's block of uniforms), Gamma/Dirichlet draws, and the settings version compiled plans
are keyed on."""

from __future__ import annotations

import math

import torch


def _check_device(generator: torch.Generator | None, device: torch.device) -> None:
    # A torch.Generator lives on one device: a CPU generator cannot drive CUDA sampling (and drawing on
    # the CPU then copying would cost a host->device copy per call), so the two must match.
    if generator is None:
        return
    g = generator.device
    if g.type != device.type or (
        g.index is not None and device.index is not None and g.index != device.index
    ):
        raise ValueError(
            f"generator is on {g} but the image is on {device}: parameters are drawn on the image's device, "
            f"create the generator there (torch.Generator(device={str(device)!r}))"
        )


_SETTINGS = [0]  # bumped whenever any layer's public attribute is assigned


def settings_version() -> int:
    """A number that changes whenever a setting of any layer is assigned (``layer.magnitude = 12``): what
    compiled plans are keyed on (assign settings; a list mutated in place is not seen)."""
    return _SETTINGS[0]


class Sampler:
    """Per-sample draws of ``n`` values on ``device`` from ``generator`` (``None``: the global one).

    With ``block`` (an ``(n, K)`` float tensor of uniforms in [0, 1)), every draw consumes the next columns
    of the block instead, in the order the draws are made: ``uniform``/``bernoulli`` one column per value,
    ``randint`` one (``floor(u (hi - lo)) + lo``), ``normal`` two (Box-Muller). A compiled plan draws ONE
    block for the whole pipeline and derives every parameter from it (on the device, in a kernel that
    consumes the columns in this same order); ``cursor`` counts the columns consumed so far.
    """

    def __init__(self, generator: torch.Generator | None, n: int, device: torch.device,
                 block: torch.Tensor | None = None):
        _check_device(generator, device)
        self.generator, self.n, self.device = generator, n, device
        # no ``generator=None`` argument: torch.compile cannot trace torch.rand(symbolic size, generator=None)
        self._gen = {} if generator is None else {"generator": generator}
        self.block, self.cursor = block, 0

    def _columns(self, *tail: int) -> torch.Tensor:
        k = math.prod(tail)
        cols = self.block[:, self.cursor:self.cursor + k]
        if cols.shape[1] != k:  # (a plan counts the columns of its layers first)
            raise RuntimeError(f"a block of {self.block.shape[1]} uniforms is too small for the draws")
        self.cursor += k
        return cols.reshape(self.n, *tail)

    def uniform(self, lo: float, hi: float, *tail: int) -> torch.Tensor:
        if self.block is None:
            u = torch.rand((self.n, *tail), device=self.device, **self._gen)
        else:
            u = self._columns(*tail)
        return u * (hi - lo) + lo if (lo, hi) != (0.0, 1.0) else u

    def randint(self, lo: int, hi: int, *tail: int) -> torch.Tensor:
        """Integers in ``[lo, hi)``."""
        if self.block is None:
            return torch.randint(lo, hi, (self.n, *tail), device=self.device, **self._gen)
        return (self._columns(*tail) * (hi - lo)).floor().to(torch.int64).clamp_max(hi - lo - 1) + lo

    def bernoulli(self, p: float, *tail: int) -> torch.Tensor:
        if p >= 1.0:
            return torch.ones((self.n, *tail), dtype=torch.bool, device=self.device)
        if p <= 0.0:
            return torch.zeros((self.n, *tail), dtype=torch.bool, device=self.device)
        return self.uniform(0.0, 1.0, *tail) < p

    def normal(self, *tail: int) -> torch.Tensor:
        if self.block is None:
            return torch.randn((self.n, *tail), device=self.device, **self._gen)
        u1, u2 = self._columns(*tail), self._columns(*tail)
        return torch.sqrt(-2.0 * torch.log(u1.clamp_min(1e-30))) * torch.cos((2.0 * math.pi) * u2)

    def beta(self, a: float) -> torch.Tensor:
        """Symmetric Beta(a, a) per sample, without host sync: Johnk's method with 32 candidates per
        sample, the first accepted one wins. For ``a <= 1`` (the mixup/cutmix range) acceptance is
        >= 1/2 per candidate, so a miss has probability < 2**-32; a miss (possible for large ``a``) falls
        back to the normal approximation. torch's own Beta/Gamma samplers take no generator. (A plan draws
        66 columns per Beta: kept small, the block is the plan's one random draw.)"""
        k = 32
        u = self.uniform(0.0, 1.0, k).clamp_min(1e-30).log() / a
        v = self.uniform(0.0, 1.0, k).clamp_min(1e-30).log() / a
        x, y = u.exp(), v.exp()
        s = x + y
        ok = s <= 1.0
        # x / (x + y) in log space for stability when both are tiny (a << 1)
        m = torch.maximum(u, v)
        cand = torch.exp(u - m) / (torch.exp(u - m) + torch.exp(v - m))
        first = torch.argmax(ok.to(torch.uint8), dim=1, keepdim=True)
        pick = cand.gather(1, first)[:, 0]
        approx = (0.5 + self.normal() * math.sqrt(1.0 / (4.0 * (2.0 * a + 1.0)))).clamp(0.0, 1.0)
        return torch.where(ok.any(dim=1), pick, approx)


def _gamma(s: Sampler, a: float, tail: tuple[int, ...]) -> torch.Tensor:
    """Gamma(a, 1) draws of shape (n, *tail): Marsaglia-Tsang with 16 candidates per draw, the first
    accepted one wins (acceptance >= 0.95 per candidate for a >= 1, so a miss has probability < 1e-20;
    a miss takes the mean). a < 1: Gamma(a + 1) * U ** (1 / a)."""
    aa = a + 1.0 if a < 1.0 else a
    d = aa - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    x = s.normal(*tail, 16)
    v = (1.0 + c * x) ** 3
    u = s.uniform(0.0, 1.0, *tail, 16).clamp_min(1e-30)
    ok = (v > 0) & (torch.log(u) < 0.5 * x * x + d - d * v + d * torch.log(v.clamp_min(1e-30)))
    first = torch.argmax(ok.to(torch.uint8), dim=-1, keepdim=True)
    g = torch.where(ok.any(-1), d * v.gather(-1, first)[..., 0], aa)
    if a < 1.0:
        g = g * s.uniform(0.0, 1.0, *tail).clamp_min(1e-30) ** (1.0 / a)
    return g


def dirichlet(s: Sampler, alpha: float, k: int) -> torch.Tensor:
    """Symmetric Dirichlet(alpha) weights (n, k): normalised Gamma draws (torch's takes no generator)."""
    g = _gamma(s, alpha, (k,)).clamp_min(1e-30)
    return g / g.sum(-1, keepdim=True)
