"""Benchmark cases: what each op is, its inputs and parameters, and gpuaug's side of it.

A case is (op, batch, size, dtype). Inputs are real photos (the bundled samples, random crops), never
zeros. Every deterministic op takes per-sample parameters drawn ONCE per input batch, outside the timed
call, so gpuaug and each peer time the same work on the same parameters and their outputs can be
compared. Random layers (CutMix, RandAugment, the pipeline) are timed as layers, parameter sampling
included, on every side; their outputs can only be checked for invariants (shape, dtype, range).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

OPS = (
    "warp",
    "color_jitter",
    "posterize",
    "solarize",
    "equalize",
    "erase",
    "cutmix",
    "randaugment",
    "pipeline",
    "resize",
    "gaussian_blur",
    "channel_shift",
)

# What each op does (the README prints this table).
DESCRIBE = {
    "warp": "warp_affine, per-sample rotation ±30°, scale 0.9-1.1, translate ±10 %, bilinear, reflect",
    "color_jitter": "brightness, contrast, saturation (0.6-1.4) then hue (±0.1 turn), per-sample factors",
    "posterize": "posterize, per-sample bits 1..8",
    "solarize": "solarize, per-sample threshold 0..255",
    "equalize": "histogram equalization per image and channel",
    "erase": "erase one per-sample box (20-50 % of each side) with a per-sample colour",
    "cutmix": "CutMix layer on (img, labels), 1000 classes (random; invariants checked)",
    "randaugment": "RandAugment(num_ops=2, magnitude=9) layer (random; invariants checked)",
    "pipeline": "RandomAffine(30°, scale 0.8-1.2) + hflip + ColorJitter(0.4, 0.4, 0.4) + Normalize",
    "resize": "resize to 7/8 of the side (timm's eval ratio), bilinear with PIL's antialiasing",
    "gaussian_blur": "gaussian_blur, kernel 9 x 9, per-sample sigma 0.5-2.0, mirror border",
    "channel_shift": "channel_shift, per-sample per-channel shift ±40 levels, clamped",
}

# Ops whose output is random on every side: peers are checked for invariants, not for equality.
RANDOM_OPS = {"cutmix", "randaugment", "pipeline"}

# Tolerance of a peer against gpuaug, in 0..255 units: (max abs diff, mean abs diff). Why each value:
# - posterize, solarize, equalize, erase: integer ops, exact on uint8 (PIL is the oracle of docs/contract.md).
# - warp: both sides sample bilinearly at the same points and round to nearest; one level where the two
#   float computations land on either side of a .5, two at most.
# - color_jitter: four ops in a row. gpuaug and PIL truncate to uint8 after every blend (PIL's
#   convention, about -0.5 level each), kornia stays in float and rounds once: measured about 1.3 levels
#   mean, up to 11 at a few pixels (hue through HSV). A wrong formula (additive brightness, saturation in
#   HSV, hue in radians taken as turns) is tens of levels off on average, far outside these bounds.
TOLERANCE = {
    "warp": (2.0, 0.05),
    "color_jitter": (12.0, 2.0),
    "posterize": (0.0, 0.0),
    "solarize": (0.0, 0.0),
    "equalize": (0.0, 0.0),
    "erase": (0.0, 0.0),
    # - resize: PIL rounds its fixed-point horizontal pass to uint8 before the vertical one (docs/contract.md:
    #   within 2, mean < 0.5); torchvision's uint8 path is PIL's.
    # - gaussian_blur: the same taps summed in another order: one level where a sum lands on .5.
    # - channel_shift: an add and a clamp, exact.
    "resize": (2.0, 0.5),
    "gaussian_blur": (1.0, 0.05),
    "channel_shift": (0.0, 0.0),
}
# Per-library exceptions: PIL's bilinear resampling truncates to uint8 instead of rounding (measured:
# every value within one level, half of them one below), so its mean difference is about 0.5 level.
# PIL's hue goes through 8-bit HSV (H, S and V each rounded to 256 levels): on the bundled photos its
# round trip alone (hue delta 0) is up to 6 levels off gpuaug's float HSV, and a hue turn of 0.05-0.1 up to
# 13 (the motorcycle photo), so color_jitter's max bound for PIL is 20; its mean bound stays the one that
# catches a wrong formula.
PEER_TOLERANCE = {("warp", "PIL"): (2.0, 0.6), ("color_jitter", "PIL"): (20.0, 2.0)}
# float16 inputs: gpuaug quantizes to 256 levels where the op needs it and computes in float16/float32,
# so allow about one more level.
FLOAT_SLACK = {
    "warp": (1.0, 0.1),
    "color_jitter": (2.0, 0.2),
    "posterize": (1.0, 0.05),
    "solarize": (1.0, 0.05),
    "equalize": (1.0, 0.05),
    "erase": (1.0, 0.0),
    "resize": (1.0, 0.1),
    "gaussian_blur": (1.0, 0.1),
    "channel_shift": (1.0, 0.05),
}

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DTYPES = {"uint8": torch.uint8, "float16": torch.float16, "float32": torch.float32}


@dataclass(frozen=True)
class Case:
    op: str
    batch: int
    size: int
    dtype: str  # "uint8" | "float16" | "float32"

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def name(self) -> str:
        return f"{self.op} B={self.batch} {self.size}² {self.dtype}"

    def tolerance(self, library: str = "") -> tuple[float, float] | None:
        """(max, mean) abs difference allowed against gpuaug in 0..255 units; None: invariants only."""
        if self.op in RANDOM_OPS:
            return None
        tol = PEER_TOLERANCE.get((self.op, library), TOLERANCE[self.op])
        if self.dtype != "uint8":
            tol = (tol[0] + FLOAT_SLACK[self.op][0], tol[1] + FLOAT_SLACK[self.op][1])
        return tol

    def bytes_moved(self) -> int:
        """Bytes the op must move: the input read once, the output written once (MEASURING.md)."""
        n = self.batch * 3 * self.size * self.size
        elem = torch.empty((), dtype=self.torch_dtype).element_size()
        # the pipeline ends in Normalize: float32 out of uint8, the input's float dtype otherwise
        out_elem = 4 if self.op == "pipeline" and self.dtype == "uint8" else elem
        out_n = self.batch * 3 * resize_side(self.size) ** 2 if self.op == "resize" else n
        return n * elem + out_n * out_elem


def resize_side(size: int) -> int:
    """The ``resize`` case's output side: 7/8 of the input's (224 from 256, timm's eval crop ratio)."""
    return size * 7 // 8


def grid(ops, batches, sizes, dtypes) -> list[Case]:
    return [Case(op, b, s, d) for s in sizes for d in dtypes for b in batches for op in ops]


# ---------------------------------------------------------------------------------------------- inputs
@functools.lru_cache(maxsize=16)
def _photo_batch(batch: int, size: int, seed: int) -> torch.Tensor:
    """uint8 ``(B, 3, S, S)`` square crops of the bundled photos (30-70 % of a photo's area) resized to
    ``size``: ``gpuaug.samples``. Cached: every op of a (batch, size) shares its inputs, and resizing
    hundreds of crops costs about a second at 512²."""
    from gpuaug.samples import sample_batch

    return sample_batch(batch, size, seed=seed, scale=(0.3, 0.7), ratio=(1.0, 1.0))


def make_input(case: Case, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A ``(B, 3, S, S)`` batch of random crops of real photos, in the case's dtype, on ``device``
    (a fresh tensor: callers may modify it)."""
    x = _photo_batch(case.batch, case.size, seed).to(device, copy=True)
    if case.dtype != "uint8":
        x = x.to(case.torch_dtype) / 255
    return x


def draw_params(case: Case, seed: int, device: torch.device | str = "cpu") -> dict:
    """Per-sample parameters of a deterministic op, drawn on the CPU (same on every device), then moved."""
    g = torch.Generator().manual_seed(10_000 + seed)
    b, s = case.batch, case.size
    top = 1.0 if case.dtype != "uint8" else 255.0

    def u(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(shape or (b,), generator=g)

    p: dict = {}
    if case.op == "warp":
        p["matrix"] = forward_matrix(u(-30, 30), u(0.9, 1.1), u(-0.1, 0.1, b, 2) * s, (s, s))
    elif case.op == "color_jitter":
        p.update(brightness=u(0.6, 1.4), contrast=u(0.6, 1.4), saturation=u(0.6, 1.4), hue=u(-0.1, 0.1))
    elif case.op == "posterize":
        p["bits"] = torch.randint(1, 9, (b,), generator=g)
    elif case.op == "solarize":
        p["threshold"] = torch.randint(0, 256, (b,), generator=g).float() / 255 * top
    elif case.op == "erase":
        wh = (u(0.2, 0.5, b, 2) * s).round()
        xy = (torch.rand(b, 2, generator=g) * (s - wh + 1)).floor()
        p["boxes"] = torch.cat([xy, xy + wh], 1).reshape(b, 1, 4)
        p["value"] = torch.randint(0, 256, (b, 3), generator=g).float() / 255 * top
    elif case.op == "cutmix":
        p["labels"] = torch.randint(0, 1000, (b,), generator=g)
    elif case.op == "gaussian_blur":
        p["sigma"] = u(0.5, 2.0)
    elif case.op == "channel_shift":
        p["shift"] = u(-40.0, 40.0, b, 3) / 255 * top
    return {k: v.to(device) for k, v in p.items()}


def forward_matrix(
    angle_deg: torch.Tensor, scale: torch.Tensor, translate: torch.Tensor, size: tuple[int, int]
) -> torch.Tensor:
    """(B, 2, 3) float32 forward maps (source -> output pixel coordinates, docs/contract.md): rotation by
    ``angle`` degrees counter-clockwise on screen (as PIL's ``Image.rotate``; y points down) and scaling
    about the image centre, then a translation in pixels."""
    h, w = size
    a = angle_deg.double() * math.pi / 180
    cos, sin = torch.cos(a) * scale.double(), torch.sin(a) * scale.double()
    cx, cy = (w - 1) / 2, (h - 1) / 2
    m = torch.zeros(angle_deg.shape[0], 2, 3, dtype=torch.float64)
    # Counter-clockwise on screen with y down: x' = cos x + sin y, y' = -sin x + cos y (about the centre).
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = cos, sin, -sin, cos
    m[:, 0, 2] = cx - cos * cx - sin * cy + translate[:, 0].double()
    m[:, 1, 2] = cy + sin * cx - cos * cy + translate[:, 1].double()
    return m.float()


# ---------------------------------------------------------------------------------------------- gpuaug
def _layer(name: str):
    """A public layer class by name, from ``gpuaug``, ``gpuaug.layers`` or ``gpuaug.policies``."""
    import importlib

    for mod in ("gpuaug", "gpuaug.layers", "gpuaug.policies"):
        try:
            where = importlib.import_module(mod)
        except ImportError:
            continue
        if hasattr(where, name):
            return getattr(where, name)
    raise AttributeError(f"gpuaug has no {name} (looked in gpuaug, gpuaug.layers, gpuaug.policies)")


def gpuaug_pipeline(size: int, generator: torch.Generator | None = None):
    """The ``pipeline`` case as gpuaug layers."""
    kw = {"generator": generator} if generator is not None else {}
    compose = _layer("Compose")
    return compose(
        [
            _layer("RandomAffine")(degrees=30, scale=(0.8, 1.2), interpolation="bilinear", **kw),
            _layer("RandomHorizontalFlip")(p=0.5, **kw),
            _layer("ColorJitter")(brightness=0.4, contrast=0.4, saturation=0.4, **kw),
            _layer("Normalize")(mean=IMAGENET_MEAN, std=IMAGENET_STD),
        ]
    )


def gpuaug_fn(case: Case, device: torch.device | str = "cpu"):
    """gpuaug's side of a case: ``fn(x, params) -> output`` through the public API (docs/contract.md)."""
    import gpuaug.functional as F

    op = case.op
    if op == "warp":
        return lambda x, p: F.warp_affine(x, p["matrix"], interpolation="bilinear", fill_mode="reflect")
    if op == "color_jitter":

        def color_jitter(x, p):
            x = F.adjust_brightness(x, p["brightness"])
            x = F.adjust_contrast(x, p["contrast"])
            x = F.adjust_saturation(x, p["saturation"])
            return F.adjust_hue(x, p["hue"])

        return color_jitter
    if op == "posterize":
        return lambda x, p: F.posterize(x, p["bits"])
    if op == "solarize":
        return lambda x, p: F.solarize(x, p["threshold"])
    if op == "equalize":
        return lambda x, p: F.equalize(x)
    if op == "erase":
        return lambda x, p: F.erase(x, p["boxes"], p["value"])
    if op == "resize":
        return lambda x, p: F.resize(x, resize_side(case.size))
    if op == "gaussian_blur":
        return lambda x, p: F.gaussian_blur(x, 9, p["sigma"])
    if op == "channel_shift":
        return lambda x, p: F.channel_shift(x, p["shift"])
    g = torch.Generator(device=device).manual_seed(0)
    if op == "cutmix":
        layer = _layer("CutMix")(num_classes=1000, generator=g)
        return lambda x, p: layer(x, p["labels"])
    if op == "randaugment":
        layer = _layer("RandAugment")(num_ops=2, magnitude=9, generator=g)
        return lambda x, p: layer(x)
    if op == "pipeline":
        layer = gpuaug_pipeline(case.size, g)
        return lambda x, p: layer(x)
    raise ValueError(f"unknown op {op!r}; expected one of {OPS}")


# ---------------------------------------------------------------------------------------------- checks
def as_255(t: torch.Tensor) -> torch.Tensor:
    """An image tensor in 0..255 float64 units, on the CPU, for comparisons."""
    t = t.detach().cpu()
    return t.double() if t.dtype == torch.uint8 else t.double() * 255


def compare(case: Case, ref, out, library: str = "") -> tuple[bool, str]:
    """Check a peer's output against gpuaug's. Deterministic ops: abs difference within the op's
    tolerance. Random ops: invariants of the output (shape, dtype, finite, value range)."""
    tol = case.tolerance(library)
    if tol is None:
        return invariants(case, ref, out)
    ref, out = _image(ref), _image(out)
    if tuple(out.shape) != tuple(ref.shape):
        return False, f"shape {tuple(out.shape)} != gpuaug's {tuple(ref.shape)}"
    if out.dtype != ref.dtype:
        return False, f"dtype {out.dtype} != gpuaug's {ref.dtype}"
    d = (as_255(out) - as_255(ref)).abs()
    mx, mean = float(d.max()), float(d.mean())
    ok = mx <= tol[0] + 1e-6 and mean <= tol[1] + 1e-9
    return ok, f"max|d|={mx:.3g} mean|d|={mean:.3g} (tol {tol[0]:g}/{tol[1]:g})"


def _image(o):
    return o[0] if isinstance(o, (tuple, list)) else o


def invariants(case: Case, ref, out) -> tuple[bool, str]:
    img = _image(out)
    want_shape = (case.batch, 3, case.size, case.size)
    if tuple(img.shape) != want_shape:
        return False, f"invariants: shape {tuple(img.shape)} != {want_shape}"
    want_dtype = torch.float32 if case.op == "pipeline" else case.torch_dtype
    if case.op == "pipeline" and img.dtype.is_floating_point and case.dtype != "uint8":
        want_dtype = img.dtype  # Normalize of a float16 image may stay float16
    if img.dtype != want_dtype:
        return False, f"invariants: dtype {img.dtype} != {want_dtype}"
    v = img.detach().cpu().float()
    if not torch.isfinite(v).all():
        return False, "invariants: non-finite values"
    if case.op == "pipeline":
        lo, hi = float(v.min()), float(v.max())
        bound = (1 - min(IMAGENET_MEAN)) / min(IMAGENET_STD) + 1e-3
        if lo < -bound or hi > bound:
            return False, f"invariants: normalized values outside ±{bound:.2f}: [{lo:.2f}, {hi:.2f}]"
    elif case.dtype != "uint8" and (float(v.min()) < 0 or float(v.max()) > 1):
        return False, "invariants: float values outside [0, 1]"
    if case.op == "cutmix":
        labels = out[1] if isinstance(out, (tuple, list)) and len(out) > 1 else None
        if labels is None:
            return False, "invariants: no labels returned"
        labels = labels.detach().cpu().float()
        if labels.dim() == 2:  # soft labels (B, classes): each row a distribution
            if labels.shape[0] != case.batch or not torch.allclose(
                labels.sum(1), torch.ones(case.batch), atol=1e-4
            ):
                return False, f"invariants: soft labels shape {tuple(labels.shape)} or row sums wrong"
    return True, "invariants ok (random op)"
