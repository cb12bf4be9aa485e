"""Policies: per-sample op choice, reachability, torchvision magnitudes against PIL, replay, strings.

Oracles: PIL (ImageOps / ImageEnhance / Image.transform) implementing torchvision's ``_apply_op`` on PIL
images, with magnitudes computed here from torchvision's ``_augmentation_space`` formulas; binomial
bounds for frequencies.
"""

from __future__ import annotations

import math

import pytest
import torch
from helpers import photo_batch, pil_map
from PIL import Image, ImageEnhance, ImageOps

from gpuaug import backend
from gpuaug.layers.base import Sampler, dirichlet
from gpuaug.policies import (
    OPS,
    AugMix,
    AutoAugment,
    RandAugment,
    TimmRandAugment,
    TrivialAugmentWide,
    from_string,
)
from gpuaug.policies import registry as R

H, W = 23, 31


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def batch():
    return photo_batch(4, (H, W))


def tv_magnitude(name: str, index: int, bins: int, wide: bool = False) -> float:
    """torchvision's _augmentation_space value at ``index`` (images W x H), written out independently."""
    lin = lambda top: float(torch.linspace(0.0, top, bins)[index])  # noqa: E731
    if name in ("ShearX", "ShearY"):
        return lin(0.99 if wide else 0.3)
    if name == "TranslateX":
        return lin(32.0 if wide else 150.0 / 331.0 * W)
    if name == "TranslateY":
        return lin(32.0 if wide else 150.0 / 331.0 * H)
    if name == "Rotate":
        return lin(135.0 if wide else 30.0)
    if name in ("Brightness", "Color", "Contrast", "Sharpness"):
        return lin(0.99 if wide else 0.9)
    if name == "Posterize":
        return float(8 - (torch.arange(bins) / ((bins - 1) / (6 if wide else 4))).round().int()[index])
    if name == "Solarize":
        return float(torch.linspace(255.0, 0.0, bins)[index])
    return 0.0


def pil_op(im: Image.Image, name: str, m: float) -> Image.Image:
    """torchvision's _apply_op on a PIL image (nearest, fill 0)."""
    fill = 0 if im.mode == "L" else (0, 0, 0)
    aff = lambda data: im.transform(im.size, Image.AFFINE, data, Image.NEAREST, fillcolor=fill)  # noqa: E731
    if name == "ShearX":
        return aff((1, m, 0, 0, 1, 0))
    if name == "ShearY":
        return aff((1, 0, 0, m, 1, 0))
    if name == "TranslateX":
        return aff((1, 0, -int(m), 0, 1, 0))
    if name == "TranslateY":
        return aff((1, 0, 0, 0, 1, -int(m)))
    if name == "Rotate":
        return im.rotate(m, Image.NEAREST, fillcolor=fill)
    if name == "Brightness":
        return ImageEnhance.Brightness(im).enhance(1 + m)
    if name == "Color":
        return ImageEnhance.Color(im).enhance(1 + m)
    if name == "Contrast":
        return ImageEnhance.Contrast(im).enhance(1 + m)
    if name == "Sharpness":
        return ImageEnhance.Sharpness(im).enhance(1 + m)
    if name == "Posterize":
        return ImageOps.posterize(im, int(m))
    if name == "Solarize":
        return ImageOps.solarize(im, m)
    if name == "AutoContrast":
        return ImageOps.autocontrast(im)
    if name == "Equalize":
        return ImageOps.equalize(im)
    if name == "Invert":
        return ImageOps.invert(im)
    return im


def forced_params(policy, name: str, f: float, b: int, signs) -> dict:
    """Params that make every sample of ``policy`` run op ``name`` once at fraction ``f``."""
    idx = policy.ops.index(name)
    return {
        "apply": torch.ones(b, dtype=torch.bool),
        "ops": torch.full((b, 1), idx),
        "f": torch.full((b, 1), f),
        "sign": torch.tensor(signs, dtype=torch.float32).view(b, 1),
        "active": torch.ones(b, 1, dtype=torch.bool),
    }


GEOMETRIC = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")


@pytest.mark.parametrize("wide", [False, True], ids=["standard", "wide"])
@pytest.mark.parametrize("name", R.RANDAUGMENT_OPS + ("Invert",))
def test_each_op_matches_torchvision_semantics_on_pil(name, wide, batch):
    bins, index = 31, 9 if not wide else 23
    policy = TrivialAugmentWide(num_magnitude_bins=bins) if wide else RandAugment(magnitude=index)
    if name not in policy.ops:
        policy = AutoAugment("svhn")  # Invert lives in AutoAugment's space
        bins, index = 10, 0
    signs = [1, -1, 1, -1]
    y = policy.apply(batch, forced_params(policy, name, index / (bins - 1), 4, signs))
    m = tv_magnitude(name, index, bins, wide and isinstance(policy, TrivialAugmentWide))
    signed = OPS[name].signed
    for i in range(4):
        mi = m * signs[i] if signed else m
        expect = pil_map(lambda im, mi=mi: pil_op(im, name, mi), batch[i : i + 1])[0]
        diff = (y[i].int() - expect.int()).abs()
        if name in GEOMETRIC:
            # nearest: only ties at exactly half a pixel may round the other way
            assert (diff > 0).any(0).float().mean() < 0.03, (name, i)
        else:
            assert diff.max() <= (2 if name == "Color" else 1), (name, i, int(diff.max()))


def test_every_op_reachable_and_chosen_per_sample():
    for policy in (
        RandAugment(generator=gen(1)),
        TrivialAugmentWide(generator=gen(2)),
        AutoAugment("imagenet", generator=gen(3)),
        AutoAugment("cifar10", generator=gen(4)),
        AutoAugment("svhn", generator=gen(5)),
    ):
        params = policy.sample((3000, 3, 8, 8))
        ops = params["ops"]
        assert set(ops.flatten().tolist()) == set(range(len(policy.ops))), type(policy).__name__
        # per sample: a batch of 64 holds many different ops in the same slot
        assert len(set(ops[:64, 0].tolist())) >= min(6, len(policy.ops))


def test_randaugment_uniform_choice():
    policy = RandAugment(num_ops=2, generator=gen(6))
    n = 14000
    ops = policy.sample((n, 3, 4, 4))["ops"]
    counts = torch.bincount(ops.flatten(), minlength=14).float()
    p = 1 / 14
    assert (counts - 2 * n * p).abs().max() < 6 * math.sqrt(2 * n * p * (1 - p))


def test_autoaugment_subpolicies_and_probabilities():
    policy = AutoAugment("cifar10", generator=gen(7))
    n = 20000
    params = policy.sample((n, 3, 4, 4))
    subs = R.AUTOAUGMENT_POLICIES["cifar10"]
    names = [policy.ops[i] for i in params["ops"][:200].flatten().tolist()]
    for k, sub in enumerate(params["sub"][:100].tolist()):
        assert (names[2 * k], names[2 * k + 1]) == (subs[sub][0][0], subs[sub][1][0])
    # the per-slot probability of the chosen sub-policy: sum over samples is a Poisson-binomial count
    probs = torch.tensor([[s[0][1], s[1][1]] for s in subs])[params["sub"]]
    k = params["active"].float().sum()
    mean, var = probs.sum(), (probs * (1 - probs)).sum()
    assert abs(float(k - mean)) < 6 * math.sqrt(float(var))


def test_trivialaugment_magnitude_bins_uniform():
    policy = TrivialAugmentWide(num_magnitude_bins=31, generator=gen(8))
    f = policy.sample((31000, 3, 4, 4))["f"][:, 0]
    bins = torch.round(f * 30).long()
    assert torch.allclose(f * 30, bins.float(), atol=1e-5)
    counts = torch.bincount(bins, minlength=31).float()
    assert (counts - 1000).abs().max() < 6 * math.sqrt(1000 * (30 / 31))


def test_per_sample_results_equal_single_sample_runs(batch):
    """Each sample's output depends only on its own op: running the batch equals running each sample alone
    with its own parameters (no op is decided for the whole batch)."""
    x = batch.repeat(4, 1, 1, 1)
    for policy in (
        RandAugment(num_ops=2, magnitude=12, generator=gen(9)),
        TrivialAugmentWide(generator=gen(10)),
        AutoAugment("svhn", generator=gen(11)),
        AugMix(generator=gen(23)),
    ):
        params = policy.sample(x.shape)  # (the eager layer: forward may run a compiled plan, test_plan.py)
        y = policy.apply(x, params)
        assert len(set(params["ops"][:, 0].tolist())) > 3
        for i in range(x.shape[0]):
            single = {k: v[i : i + 1] for k, v in params.items()}
            assert torch.equal(policy.apply(x[i : i + 1], single), y[i : i + 1]), (type(policy).__name__, i)


def test_cpu_subset_path_equals_full_batch_path(batch, monkeypatch):
    """The host-path shortcuts (compute only the samples that chose a stage, fuse pointwise slots) equal
    the device path (whole batch, identity parameters), bitwise."""
    x = batch.repeat(3, 1, 1, 1)
    policies = [RandAugment(num_ops=3, magnitude=15, generator=gen(12)), AugMix(generator=gen(24))]
    results = [p(x, return_params=True) for p in policies]
    monkeypatch.setattr(backend, "host_path", lambda t: False)
    for policy, (y, params) in zip(policies, results):
        assert torch.equal(policy.apply(x, params), y)


@pytest.mark.parametrize(
    "make",
    [
        lambda g: RandAugment(generator=g),
        lambda g: RandAugment(num_ops=3, magnitude=5, magnitude_std=1.0, op_prob=0.5, generator=g),
        lambda g: TrivialAugmentWide(generator=g),
        lambda g: AutoAugment("imagenet", generator=g),
    ],
)
def test_seed_replay_eval_and_dtypes(make, batch):
    a, b = make(gen(13)), make(gen(13))
    ya = a(batch)
    assert torch.equal(ya, b(batch))
    assert torch.equal(a.apply(batch, a.last_params), ya)
    assert not torch.equal(ya, batch)
    yf = a(batch.float() / 255)
    assert yf.dtype == torch.float32 and yf.shape == batch.shape
    gray = batch[:, :1].contiguous()
    assert a(gray).shape == gray.shape
    cl = batch.contiguous(memory_format=torch.channels_last)
    assert a(cl).is_contiguous(memory_format=torch.channels_last)
    a.eval()
    assert torch.equal(a(batch), batch)


def test_policy_moves_targets(batch):
    kp = torch.tensor([[[5.0, 6.0]]]).repeat(4, 1, 1)
    policy = RandAugment(num_ops=1, generator=gen(14))
    params = forced_params(policy, "TranslateX", 0.5, 4, [1, 1, -1, -1])
    y, kp2 = policy.apply(batch, params, keypoints=kp)
    shift = int(0.5 * 150 / 331 * W)
    torch.testing.assert_close(
        kp2[:, 0, 0], torch.tensor([5.0 + shift, 5.0 + shift, 5.0 - shift, 5.0 - shift])
    )


def test_magnitude_noise():
    policy = RandAugment(magnitude=9, num_magnitude_bins=11, magnitude_std=0.5, generator=gen(15))
    f = policy.sample((20000, 3, 4, 4))["f"] * 10
    assert abs(float(f.mean()) - 9) < 0.02 and abs(float(f.std()) - 0.5) < 0.02
    assert float(f.max()) <= 10.0
    policy = RandAugment(magnitude=9, num_magnitude_bins=11, magnitude_std=float("inf"), generator=gen(16))
    f = policy.sample((20000, 3, 4, 4))["f"] * 10
    assert 0 <= float(f.min()) and float(f.max()) <= 9 and abs(float(f.mean()) - 4.5) < 0.1


def test_augmix_against_pil():
    """Width 1, depth 1, forced Equalize / Posterize: m * img + (1 - m) * PIL(img), rounded."""
    x = photo_batch(4, (H, W))
    policy = AugMix(mixture_width=1, chain_depth=1)
    m = torch.tensor([0.2, 0.5, 0.7, 1.0])
    for name, pil in (("Equalize", ImageOps.equalize), ("Posterize", lambda im: ImageOps.posterize(im, 3))):
        # Posterize at bin 2 of 10: 4 - round(2 / 2.25) = 3 bits
        params = forced_params(policy, name, 2 / 9, 4, [1, 1, 1, 1])
        params.update(weights=torch.ones(4, 1), m=m)
        y = policy.apply(x, params)
        expect = m.view(-1, 1, 1, 1) * x.float() + (1 - m.view(-1, 1, 1, 1)) * pil_map(pil, x).float()
        assert (y.float() - expect.round()).abs().max() <= 1, name
    # p: unselected samples are returned exactly
    y, params = AugMix(p=0.5, generator=gen(20))(x.repeat(4, 1, 1, 1), return_params=True)
    off = ~params["apply"]
    assert off.any() and torch.equal(y[off], x.repeat(4, 1, 1, 1)[off])


def test_augmix_draws():
    policy = AugMix(severity=3, mixture_width=3, chain_depth=-1, alpha=1.0, generator=gen(21))
    params = policy.sample((6000, 3, 4, 4))
    w = params["weights"]
    torch.testing.assert_close(w.sum(1), torch.ones(6000))
    # Dirichlet(1, 1, 1): each weight is Beta(1, 2): mean 1/3, variance 1/18
    assert (w.mean(0) - 1 / 3).abs().max() < 6 * math.sqrt(1 / 18 / 6000)
    depth = params["active"].view(6000, 3, 3).sum(-1)
    assert set(depth.flatten().tolist()) == {1, 2, 3}
    bins = torch.round(params["f"] * 9)
    assert set(bins.flatten().tolist()) == {0.0, 1.0, 2.0}
    assert set(params["ops"].flatten().tolist()) == set(range(13))


def test_gamma_dirichlet_moments():
    s = Sampler(gen(22), 20000, torch.device("cpu"))
    for a in (0.3, 1.0, 4.0):
        w = dirichlet(s, a, 2)[:, 0]  # Beta(a, a)
        var = 1 / (4 * (2 * a + 1))
        assert abs(float(w.mean()) - 0.5) < 6 * math.sqrt(var / 20000)
        assert abs(float(w.var()) - var) < 0.1 * var


def test_from_string():
    """Strings build timm's policies (their meanings: tests/test_timm.py); the extensions torchvision's."""
    p = from_string("rand-m9-n2-mstd0.5")
    assert isinstance(p, TimmRandAugment)
    assert (p.num_ops, p.magnitude, p.magnitude_std, p.op_prob) == (2, 9, 0.5, 0.5)
    p = from_string("rand-m7-n3-mstd101-p1.0", interpolation="bilinear")
    assert (
        math.isinf(p.magnitude_std) and p.num_ops == 3 and p.op_prob == 1.0 and p.interpolation == "bilinear"
    )
    assert isinstance(from_string("trivialaugmentwide"), TrivialAugmentWide)
    assert from_string("autoaugment-svhn").policy == "svhn"
    a = from_string("augmix-m5-w4-d2-a0.5")
    assert (a.severity, a.mixture_width, a.chain_depth, a.alpha) == (5, 4, 2, 0.5)
    assert from_string("augmix").chain_depth == -1
    for bad in ("rand-m9-x3", "foo-m9", "rand-mx", "autoaugment-mnist"):
        with pytest.raises(ValueError, match="spec|policy"):
            from_string(bad)
    with pytest.raises(TypeError, match="spec"):
        from_string(3)


@pytest.mark.parametrize(
    "make, exc, name",
    [
        (lambda: RandAugment(num_ops=-1), ValueError, "num_ops"),
        (lambda: RandAugment(magnitude=31), ValueError, "magnitude"),
        (lambda: RandAugment(num_magnitude_bins=1), ValueError, "num_magnitude_bins"),
        (lambda: RandAugment(interpolation="cubic"), ValueError, "interpolation"),
        (lambda: TimmRandAugment(interpolation=("bilinear", "lanczos")), ValueError, "interpolation"),
        (lambda: RandAugment(op_prob=2), ValueError, "op_prob"),
        (lambda: AutoAugment("mnist"), ValueError, "policy"),
        (lambda: TrivialAugmentWide(fill="x"), TypeError, "fill"),
        (lambda: AugMix(severity=11), ValueError, "severity"),
        (lambda: AugMix(chain_depth=0), ValueError, "chain_depth"),
        (lambda: AugMix(alpha=0), ValueError, "alpha"),
        (lambda: AugMix(all_ops=1), TypeError, "all_ops"),
    ],
)
def test_bad_arguments(make, exc, name):
    with pytest.raises(exc, match=name):
        make()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_forward_has_no_host_sync():
    """Every layer and policy: CUDA in, CUDA generator, torch.cuda.set_sync_debug_mode("error") silent."""
    from gpuaug import layers as L

    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    x = photo_batch(8, (H, W)).to(dev)
    labels = torch.arange(8, device=dev) % 3
    mods = [
        RandAugment(generator=g),
        TrivialAugmentWide(generator=g),
        AutoAugment("svhn", generator=g),
        AugMix(generator=g),
        L.Compose(
            [
                L.RandomResizedCrop(16, generator=g),
                L.RandomHorizontalFlip(generator=g),
                L.RandomAffine(10, translate=(0.1, 0.1), generator=g),
                L.ColorJitter(0.3, 0.3, 0.3, 0.1, generator=g),
                L.RandomBrightness(generator=g),
                L.RandomEqualize(generator=g),
                L.RandomPosterize(4, generator=g),
                L.RandomErasing(generator=g),
                L.RandomErasing(value="random", generator=g),
                L.RandomChoice([L.RandomInvert(generator=g), L.RandomGrayscale(generator=g)], generator=g),
                L.RandomApply([L.RandomSharpness(generator=g)], generator=g),
                L.MixUpCutMix(num_classes=3, generator=g),
                L.Normalize(0.5, 0.2),
            ]
        ),
    ]
    for m in mods:
        m(x, labels=labels) if isinstance(m, L.Compose) else m(x)  # warm up (lazy tables, kernels)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for m in mods:
            m(x, labels=labels) if isinstance(m, L.Compose) else m(x)
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_two_pointwise_slots_fused_equal_slot_by_slot_and_pil():
    """On the CPU a sample whose two ops are both pointwise runs them as one table chain (histogram and
    gray mean after the first op): equal bitwise to two one-op passes, and to PIL op after op."""
    names = ("Brightness", "Contrast", "Posterize", "Solarize", "AutoContrast", "Equalize")
    names += ("Color", "Identity")
    pairs = [(a, b) for a in names for b in names]
    n = len(pairs)
    x = photo_batch(n, (H, W))
    two, one = RandAugment(num_ops=2, magnitude=9), RandAugment(num_ops=1, magnitude=9)
    signs = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(n // 2 + 1, 1)[:n]
    params = {
        "apply": torch.ones(n, dtype=torch.bool),
        "ops": torch.tensor([[two.ops.index(a), two.ops.index(b)] for a, b in pairs]),
        "f": torch.full((n, 2), 9 / 30),
        "sign": signs,
        "active": torch.ones(n, 2, dtype=torch.bool),
    }
    y = two.apply(x, params)
    step = x
    for s in range(2):
        step = one.apply(step, {k: v if k == "apply" else v[:, s : s + 1] for k, v in params.items()})
    assert torch.equal(y, step)
    for i, (a, b) in enumerate(pairs):
        ma, mb = (
            tv_magnitude(nm, 9, 31) * (float(signs[i, j]) if OPS[nm].signed else 1.0)
            for j, nm in enumerate((a, b))
        )
        expect = pil_map(lambda im, a=a, b=b, ma=ma, mb=mb: pil_op(pil_op(im, a, ma), b, mb), x[i : i + 1])[0]
        assert (y[i].int() - expect.int()).abs().max() <= 3, (a, b)


def test_float_samples_are_not_quantized_by_what_others_drew(batch):
    """Issue 11 item 3: on floats off the 1/255 grid, a sample's result equals running its own ops alone,
    whatever the other samples drew (posterize is a step only where a sample drew it)."""
    x = (batch.repeat(3, 1, 1, 1).float() + 0.37) / 256.0  # no value on the 1/255 grid
    policy = RandAugment(num_ops=2, magnitude=9, generator=gen(12))
    params = policy.sample(x.shape)
    posterize = list(policy.ops).index("Posterize")
    y = policy.apply(x, params)
    for i in range(x.shape[0]):
        single = {k: v[i:i + 1] for k, v in params.items()}
        torch.testing.assert_close(policy.apply(x[i:i + 1], single), y[i:i + 1], atol=0, rtol=0)
    drew = ((params["ops"] == posterize) & params["active"]).any(1)
    assert drew.any() and not drew.all()  # the case the test is about
    # a sample that drew only Identity is exactly its input while its neighbour posterizes
    params["ops"][0], params["ops"][1] = 0, posterize
    params["active"][:2], params["apply"][:2] = True, True
    y = policy.apply(x, params)
    assert torch.equal(y[0], x[0]) and not torch.equal(y[1], x[1])
