"""Adapters: each library's way of doing a case, configured so that its semantics match gpuaug's.

A peer ``build(case, device)`` returns an :class:`Impl` or raises :class:`Skip` with the reason
(library missing, op missing, or "semantics differ: not timed"). An Impl is split so that only the
library's own work is timed:

- ``prepare(x, params)``: not timed. Tensor libraries get the tensor as it is; PIL gets a list of
  ``PIL.Image`` (what a per-image pipeline has after decoding) and Python parameters.
- ``run(prepared)``: timed. It includes any conversion the library forces on a user who holds gpuaug's
  input and wants gpuaug's output (kornia works on float images in [0, 1]: uint8 in, uint8 out costs it
  a conversion each way).
- ``to_tensor(out)``: not timed, for the correctness check against gpuaug.

Semantics notes (checked once per case before timing, see ``cases.compare``):
- kornia ``warp_affine`` takes the same forward matrix as gpuaug; ``align_corners=False`` puts pixel
  centres at integer coordinates with ``padding_mode="reflection"`` = half-sample ``reflect`` (verified
  against scipy ``reflect``); with the default ``align_corners=True`` its reflection is whole-sample
  ``mirror``, which would compare something else.
- kornia ``adjust_brightness`` ADDS its factor and ``adjust_contrast`` multiplies; the PIL/torchvision
  meanings are ``adjust_brightness_accumulative``, ``adjust_contrast_with_mean_subtraction`` and
  ``adjust_saturation_with_gray_subtraction``; ``adjust_hue`` takes radians (gpuaug: turns).
- kornia ``solarize`` inverts ``x >= threshold`` as PIL does, threshold in [0, 1]; it compares in the
  image's dtype, so a float16 image is given to it as float32 (gpuaug compares in float32).
  ``posterize`` and ``equalize`` index with ``(x * 255).long()`` (truncation): exact for float32 inputs
  k/255, but about half of the float16 levels land one below; gpuaug quantizes floats with round(x * 255),
  so kornia gets ``round(x * 255) / 255`` in float32 there (that pass is timed as kornia's).
- kornia has erase only as the random ``RandomErasing`` layer: invariants checked, not equality.
- PIL has no reflect fill: the PIL warp pads each image with numpy's ``symmetric`` (= reflect) pad and
  then resamples with ``Image.transform`` (pixel centres at +0.5 in PIL's coordinates).
- PIL has no hue op: hue goes through ``convert("HSV")`` as torchvision's PIL path does.
- triton-augment (CUDA only) has no hue and no reflect fill: only the pipeline (its fused
  crop/affine/flip/colour/normalize kernel) is comparable.
"""

from __future__ import annotations

import importlib
import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageOps

from benchmarks.cases import IMAGENET_MEAN, IMAGENET_STD, Case, gpuaug_fn


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


def _tensor_impl(library: str, fn, **kw) -> Impl:
    return Impl(library, run=lambda xp: fn(*xp), **kw)


# ----------------------------------------------------------------------------------------------- gpuaug
class Gpuaug:
    name = "gpuaug"

    def available(self, device) -> str | None:
        try:
            import gpuaug.functional  # noqa: F401
        except ImportError as e:  # pragma: no cover
            return f"gpuaug not importable: {e}"
        return None

    def build(self, case: Case, device) -> Impl:
        try:
            fn = gpuaug_fn(case, device)
        except (AttributeError, ImportError, TypeError) as e:
            raise Skip(f"gpuaug API missing for {case.op}: {e}") from e
        return _tensor_impl(self.name, fn)


class Compiled:
    """``torch.compile`` of gpuaug's torch path (the vectorized host path, backend "torch").

    One compiled function per op and device, with dynamic shapes, reused across sizes and batches, so
    the suite compiles once per op instead of once per case.
    A compile that fails makes the case a skip with the reason, not a failed check.
    """

    name = "torch.compile"

    def __init__(self, enabled: bool = True, reason: str = "", layers: bool = False):
        self.enabled, self.reason, self.layers = enabled, reason, layers
        self._cache: dict = {}

    def available(self, device) -> str | None:
        if not self.enabled:
            return self.reason or "disabled"
        return None

    def build(self, case: Case, device) -> Impl:
        from benchmarks.cases import RANDOM_OPS
        from gpuaug.backend import backend

        if case.op in RANDOM_OPS and not self.layers:
            raise Skip(
                "random layers are compiled only with --compile-layers (the compile took 40-140 s per "
                "layer on a 2-core CPU; graph breaks at the generator)"
            )
        key = (case.op, str(device))
        if key not in self._cache:
            try:
                fn = gpuaug_fn(case, device)
            except (AttributeError, ImportError, TypeError) as e:
                raise Skip(f"gpuaug API missing for {case.op}: {e}") from e
            self._cache[key] = torch.compile(fn, dynamic=True)
        compiled = self._cache[key]

        def run(xp):
            with backend("torch"):  # dispatch happens at trace time: trace and run the torch path
                try:
                    return compiled(*xp)
                except Exception as e:  # noqa: BLE001 - a compiler failure is a skip with its reason
                    raise Skip(f"torch.compile failed: {type(e).__name__}: {str(e)[:200]}") from e

        return Impl(self.name, run=run, note="inductor")


# ----------------------------------------------------------------------------------------------- kornia
def _to_unit(x: torch.Tensor, f32: bool = False) -> torch.Tensor:
    if x.dtype == torch.uint8:
        return x.float() / 255
    return x.float() if f32 else x


def _levels(x: torch.Tensor) -> torch.Tensor:
    """float32 in [0, 1] on exact 8-bit levels k/255: gpuaug's posterize/equalize act on the value
    quantized to 256 levels (round), kornia's truncate ``x * 255``, which is one level low for about half
    of the float16 levels."""
    if x.dtype == torch.uint8:
        return x.float() / 255
    return (x.float() * 255).round_().clamp_(0, 255) / 255


def _from_unit(y: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    if dtype == torch.uint8:
        return (y * 255).round_().clamp_(0, 255).to(torch.uint8)
    return y.to(dtype)


class Kornia:
    name = "kornia"

    def available(self, device) -> str | None:
        try:
            importlib.import_module("kornia")
        except ImportError:
            return "kornia is not installed (pip install 'gpuaug[bench]')"
        return None

    def build(self, case: Case, device) -> Impl:
        import kornia
        import kornia.augmentation as KA

        E = kornia.enhance
        dt = case.torch_dtype
        op = case.op
        if op == "warp":

            def warp(x, p):
                xf = x.float() if x.dtype == torch.uint8 else x
                y = kornia.geometry.transform.warp_affine(
                    xf,
                    p["matrix"].to(xf.dtype),
                    (case.size, case.size),
                    mode="bilinear",
                    padding_mode="reflection",
                    align_corners=False,
                )
                return y.round_().clamp_(0, 255).to(torch.uint8) if x.dtype == torch.uint8 else y

            return _tensor_impl(self.name, warp)
        if op == "color_jitter":

            def color_jitter(x, p):
                y = _to_unit(x)
                y = E.adjust_brightness_accumulative(y, p["brightness"].to(y.dtype))
                y = E.adjust_contrast_with_mean_subtraction(y, p["contrast"].to(y.dtype))
                y = E.adjust_saturation_with_gray_subtraction(y, p["saturation"].to(y.dtype))
                y = E.adjust_hue(y, (p["hue"] * 2 * math.pi).to(y.dtype))
                return _from_unit(y, dt)

            return _tensor_impl(self.name, color_jitter)
        if op == "posterize":
            return _tensor_impl(self.name, lambda x, p: _from_unit(E.posterize(_levels(x), p["bits"]), dt))
        if op == "solarize":

            def solarize(x, p):
                y = _to_unit(x, True)  # compare in float32, as gpuaug does (a float16 threshold rounds)
                thr = p["threshold"] / (255 if x.dtype == torch.uint8 else 1)
                return _from_unit(E.solarize(y, thr), dt)

            return _tensor_impl(self.name, solarize)
        if op == "equalize":
            return _tensor_impl(self.name, lambda x, p: _from_unit(E.equalize(_levels(x)), dt))
        if op == "erase":
            layer = KA.RandomErasing(scale=(0.04, 0.25), ratio=(0.4, 2.5), value=0.0, p=1.0)
            return _tensor_impl(
                self.name,
                lambda x, p: _from_unit(layer(_to_unit(x)), dt),
                check="invariants",
                note="RandomErasing layer (kornia has no erase with given boxes)",
            )
        if op == "cutmix":
            layer = KA.RandomCutMixV2(p=1.0, use_correct_lambda=True, data_keys=["input", "class"])

            def cutmix(x, p):
                y, mix = layer(_to_unit(x), p["labels"])
                # kornia returns (label, partner label, lambda) rows; the soft labels gpuaug returns:
                m = mix[0]
                soft = torch.zeros(x.shape[0], 1000, device=x.device)
                soft.scatter_add_(1, m[:, :1].long(), 1 - m[:, 2:])
                soft.scatter_add_(1, m[:, 1:2].long(), m[:, 2:])
                return _from_unit(y, dt), soft

            return _tensor_impl(self.name, cutmix, check="invariants")
        if op == "randaugment":
            layer = KA.auto.RandAugment(n=2, m=9)
            return _tensor_impl(
                self.name, lambda x, p: _from_unit(layer(_to_unit(x)), dt), check="invariants"
            )
        if op == "pipeline":
            seq = KA.AugmentationSequential(
                KA.RandomAffine(degrees=30, scale=(0.8, 1.2), p=1.0, align_corners=False),
                KA.RandomHorizontalFlip(p=0.5),
                KA.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, p=1.0),
                KA.Normalize(mean=torch.tensor(IMAGENET_MEAN), std=torch.tensor(IMAGENET_STD), p=1.0),
            )
            return _tensor_impl(self.name, lambda x, p: seq(_to_unit(x, True)), check="invariants")
        raise Skip(f"no kornia adapter for {op}")


# ----------------------------------------------------------------------------------------------- PIL
def _pils(x: torch.Tensor) -> list[Image.Image]:
    a = x.detach().cpu().permute(0, 2, 3, 1).contiguous().numpy()
    return [Image.fromarray(im, "RGB") for im in a]


def _stack(ims) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.asarray(im) for im in ims])).permute(0, 3, 1, 2).contiguous()


def _pyparams(p: dict) -> dict:
    return {k: v.detach().cpu().tolist() for k, v in p.items()}


def pil_hue(im: Image.Image, delta: float) -> Image.Image:
    """Hue rotation by ``delta`` turns through 8-bit HSV, as torchvision's PIL path does."""
    h, s, v = im.convert("HSV").split()
    nh = np.asarray(h, dtype=np.uint8) + np.array(delta * 255).astype(np.int16).astype(np.uint8)
    return Image.merge("HSV", (Image.fromarray(nh.astype(np.uint8), "L"), s, v)).convert("RGB")


def pil_affine_data(inv: np.ndarray, pad: float = 0.0) -> tuple:
    """PIL ``Image.transform(AFFINE)`` data from an inverse map in gpuaug's convention (integer pixel
    centres) for a source padded by ``pad``: PIL puts pixel centres at +0.5."""
    a, b, c = inv[0]
    d, e, f = inv[1]
    return (a, b, c + 0.5 + pad - 0.5 * (a + b), d, e, f + 0.5 + pad - 0.5 * (d + e))


def _invert(m: np.ndarray) -> np.ndarray:
    return np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]


def pil_warp_reflect(im: Image.Image, matrix: np.ndarray, size: int) -> Image.Image:
    pad = int(math.ceil(0.45 * size)) + 2
    big = Image.fromarray(np.pad(np.asarray(im), ((pad, pad), (pad, pad), (0, 0)), mode="symmetric"))
    return big.transform((size, size), Image.AFFINE, pil_affine_data(_invert(matrix), pad), Image.BILINEAR)


# torchvision's RandAugment op list and magnitudes (31 bins), on PIL images: the classic CPU baseline.
def _ra_ops(m: int, w: int, h: int):
    bins = 31
    lin = lambda hi: hi * m / (bins - 1)  # noqa: E731
    return [
        ("Identity", 0.0, False),
        ("ShearX", lin(0.3), True),
        ("ShearY", lin(0.3), True),
        ("TranslateX", lin(150 / 331 * w), True),
        ("TranslateY", lin(150 / 331 * h), True),
        ("Rotate", lin(30.0), True),
        ("Brightness", lin(0.9), True),
        ("Color", lin(0.9), True),
        ("Contrast", lin(0.9), True),
        ("Sharpness", lin(0.9), True),
        ("Posterize", int(8 - round(m / ((bins - 1) / 4))), False),
        ("Solarize", 255.0 * (1 - m / (bins - 1)), False),
        ("AutoContrast", 0.0, False),
        ("Equalize", 0.0, False),
    ]


def pil_randaugment_one(im: Image.Image, num_ops: int, m: int, rng: random.Random) -> Image.Image:
    ops = _ra_ops(m, *im.size)
    for _ in range(num_ops):
        name, mag, signed = ops[rng.randrange(len(ops))]
        if signed and rng.random() < 0.5:
            mag = -mag
        if name == "ShearX":
            im = im.transform(im.size, Image.AFFINE, (1, mag, 0, 0, 1, 0), Image.NEAREST)
        elif name == "ShearY":
            im = im.transform(im.size, Image.AFFINE, (1, 0, 0, mag, 1, 0), Image.NEAREST)
        elif name == "TranslateX":
            im = im.transform(im.size, Image.AFFINE, (1, 0, -mag, 0, 1, 0), Image.NEAREST)
        elif name == "TranslateY":
            im = im.transform(im.size, Image.AFFINE, (1, 0, 0, 0, 1, -mag), Image.NEAREST)
        elif name == "Rotate":
            im = im.rotate(mag, Image.NEAREST)
        elif name in ("Brightness", "Color", "Contrast", "Sharpness"):
            im = getattr(ImageEnhance, name)(im).enhance(1 + mag)
        elif name == "Posterize":
            im = ImageOps.posterize(im, int(mag))
        elif name == "Solarize":
            im = ImageOps.solarize(im, mag)
        elif name == "AutoContrast":
            im = ImageOps.autocontrast(im)
        elif name == "Equalize":
            im = ImageOps.equalize(im)
    return im


def _to_normalized(im: Image.Image) -> np.ndarray:
    a = np.asarray(im, dtype=np.float32) / 255
    return ((a - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(IMAGENET_STD, np.float32)).transpose(
        2, 0, 1
    )


class Pil:
    name = "PIL"

    def available(self, device) -> str | None:
        return None

    def build(self, case: Case, device) -> Impl:
        if case.dtype != "uint8":
            raise Skip("PIL works on 8-bit images only")
        op, s = case.op, case.size
        prep = lambda x, p: (_pils(x), _pyparams(p))  # noqa: E731

        def per_image(fn):
            return Impl(
                self.name,
                prepare=prep,
                run=lambda ip: [fn(im, i, ip[1]) for i, im in enumerate(ip[0])],
                to_tensor=_stack,
                host=True,
            )

        if op == "warp":

            def warp(im, i, p):
                return pil_warp_reflect(im, np.asarray(p["matrix"][i], dtype=np.float64), s)

            return per_image(warp)
        if op == "color_jitter":

            def color_jitter(im, i, p):
                im = ImageEnhance.Brightness(im).enhance(p["brightness"][i])
                im = ImageEnhance.Contrast(im).enhance(p["contrast"][i])
                im = ImageEnhance.Color(im).enhance(p["saturation"][i])
                return pil_hue(im, p["hue"][i])

            return per_image(color_jitter)
        if op == "posterize":
            return per_image(lambda im, i, p: ImageOps.posterize(im, int(p["bits"][i])))
        if op == "solarize":
            return per_image(lambda im, i, p: ImageOps.solarize(im, int(round(p["threshold"][i]))))
        if op == "equalize":
            return per_image(lambda im, i, p: ImageOps.equalize(im))
        if op == "erase":

            def erase(im, i, p):
                im = im.copy()
                im.paste(tuple(int(round(v)) for v in p["value"][i]), tuple(int(v) for v in p["boxes"][i][0]))
                return im

            return per_image(erase)
        rng = random.Random(0)
        if op == "cutmix":

            def cutmix(ip):
                ims, p = ip
                b = len(ims)
                soft = np.zeros((b, 1000), np.float32)
                out = []
                for i, im in enumerate(ims):
                    lam, j = rng.betavariate(1, 1), rng.randrange(b)
                    cw, ch = int(s * math.sqrt(1 - lam)), int(s * math.sqrt(1 - lam))
                    cx, cy = rng.randrange(s), rng.randrange(s)
                    box = (
                        max(cx - cw // 2, 0),
                        max(cy - ch // 2, 0),
                        min(cx + cw // 2, s),
                        min(cy + ch // 2, s),
                    )
                    im = im.copy()
                    im.paste(ims[j].crop(box), box[:2])
                    area = (box[2] - box[0]) * (box[3] - box[1]) / (s * s)
                    soft[i, p["labels"][i]] += 1 - area
                    soft[i, p["labels"][j]] += area
                    out.append(im)
                return out, soft

            return Impl(
                self.name,
                prepare=prep,
                run=cutmix,
                host=True,
                check="invariants",
                to_tensor=lambda o: (_stack(o[0]), torch.from_numpy(o[1])),
            )
        if op == "randaugment":
            return Impl(
                self.name,
                prepare=prep,
                host=True,
                check="invariants",
                to_tensor=_stack,
                run=lambda ip: [pil_randaugment_one(im, 2, 9, rng) for im in ip[0]],
                note="torchvision's RandAugment ops on PIL",
            )
        if op == "pipeline":

            def pipeline(ip):
                out = []
                for im in ip[0]:
                    a, sc = rng.uniform(-30, 30), rng.uniform(0.8, 1.2)
                    im = im.transform(im.size, Image.AFFINE, _rot_scale_inv(a, sc, s), Image.BILINEAR)
                    if rng.random() < 0.5:
                        im = im.transpose(Image.FLIP_LEFT_RIGHT)
                    for enh in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
                        im = enh(im).enhance(rng.uniform(0.6, 1.4))
                    out.append(_to_normalized(im))
                return torch.from_numpy(np.stack(out))

            return Impl(self.name, prepare=prep, run=pipeline, host=True, check="invariants")
        raise Skip(f"no PIL adapter for {op}")


def _rot_scale_inv(angle: float, scale: float, s: int) -> tuple:
    from benchmarks.cases import forward_matrix

    m = forward_matrix(torch.tensor([angle]), torch.tensor([scale]), torch.zeros(1, 2), (s, s))[0]
    return pil_affine_data(_invert(m.double().numpy()))


# ------------------------------------------------------------------------------------------ triton-augment
class TritonAugment:
    name = "triton-augment"

    def available(self, device) -> str | None:
        os.environ.setdefault("TRITON_AUGMENT_SUPPRESS_FIRST_RUN_MESSAGE", "1")
        try:
            importlib.import_module("triton_augment")
        except Exception as e:  # noqa: BLE001 - any import failure means: not available
            return f"triton-augment is not installed (pip install triton-augment): {type(e).__name__}"
        if torch.device(device).type != "cuda":
            return "triton-augment runs on CUDA tensors only"
        return None

    def build(self, case: Case, device) -> Impl:
        import triton_augment as ta

        if case.op == "pipeline":
            layer = ta.TritonFusedAugment(
                horizontal_flip_p=0.5,
                degrees=30,
                scale=(0.8, 1.2),
                interpolation=ta.InterpolationMode.BILINEAR,
                brightness=0.4,
                contrast=0.4,
                saturation=0.4,
                mean=IMAGENET_MEAN,
                std=IMAGENET_STD,
            )
            return _tensor_impl(
                self.name,
                lambda x, p: layer(_to_unit(x, True)),
                check="invariants",
                note="TritonFusedAugment",
            )
        reasons = {
            "color_jitter": "semantics differ (no hue op): not timed",
            "warp": "semantics differ (no reflect fill mode): not timed",
        }
        raise Skip(reasons.get(case.op, f"triton-augment has no {case.op}"))


# ----------------------------------------------------------------------------------------------- torchvision
class TorchvisionV2:
    name = "torchvision"

    def available(self, device) -> str | None:
        try:
            importlib.import_module("torchvision.transforms.v2")
        except Exception as e:  # noqa: BLE001
            return f"torchvision is not installed (no CPU wheel for this torch here): {type(e).__name__}"
        return None

    def build(self, case: Case, device) -> Impl:
        import torchvision.transforms.v2.functional as TF

        op, dt = case.op, case.torch_dtype
        if case.dtype == "float16":
            raise Skip("torchvision v2 pixel ops on float16: not compared")
        if op == "posterize":

            def posterize(x, p):
                return torch.stack(
                    [TF.posterize(x[i : i + 1], int(b))[0] for i, b in enumerate(p["bits"].tolist())]
                )

            return _tensor_impl(
                self.name, posterize, note="one call per distinct sample (no per-sample bits)"
            )
        if op == "solarize":

            def solarize(x, p):
                return torch.stack(
                    [TF.solarize(x[i : i + 1], t)[0] for i, t in enumerate(p["threshold"].tolist())]
                )

            return _tensor_impl(self.name, solarize, note="one call per sample (no per-sample threshold)")
        if op == "equalize":
            return _tensor_impl(self.name, lambda x, p: TF.equalize(x))
        if op == "color_jitter":

            def color_jitter(x, p):
                out = []
                for i in range(x.shape[0]):
                    y = TF.adjust_brightness(x[i : i + 1], float(p["brightness"][i]))
                    y = TF.adjust_contrast(y, float(p["contrast"][i]))
                    y = TF.adjust_saturation(y, float(p["saturation"][i]))
                    out.append(TF.adjust_hue(y, float(p["hue"][i])))
                return torch.cat(out).to(dt)

            return _tensor_impl(self.name, color_jitter, note="per-sample factors: one call per sample")
        if op == "erase":

            def erase(x, p):
                out = x.clone()
                for i, (box, val) in enumerate(zip(p["boxes"].tolist(), p["value"].tolist())):
                    x0, y0, x1, y1 = (int(v) for v in box[0])
                    v = torch.tensor(val, device=x.device).view(3, 1, 1).to(x.dtype)
                    out[i] = TF.erase(x[i], y0, x0, y1 - y0, x1 - x0, v)
                return out

            return _tensor_impl(self.name, erase, note="one call per sample (no batched boxes)")
        import torchvision.transforms.v2 as T

        # torchvision v2 layers draw ONE set of parameters per call (the whole batch shares it).
        if op == "cutmix":
            layer = T.CutMix(num_classes=1000)
            return _tensor_impl(self.name, lambda x, p: layer(x, p["labels"]), check="invariants")
        if op == "randaugment":
            layer = T.RandAugment(num_ops=2, magnitude=9)
            return _tensor_impl(self.name, lambda x, p: layer(x), check="invariants")
        if op == "pipeline":
            layer = T.Compose(
                [
                    T.RandomAffine(30, scale=(0.8, 1.2), interpolation=T.InterpolationMode.BILINEAR),
                    T.RandomHorizontalFlip(),
                    T.ColorJitter(0.4, 0.4, 0.4),
                    T.ToDtype(torch.float32, scale=True),
                    T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
                ]
            )
            return _tensor_impl(self.name, lambda x, p: layer(x), check="invariants")
        if op == "warp":
            raise Skip("semantics differ (torchvision's affine has no reflect fill): not timed")
        raise Skip(f"no torchvision v2 adapter for {op}")


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


PEERS_BY_NAME = {cls.name: cls for cls in (Gpuaug, Kornia, TorchvisionV2, TritonAugment, Compiled, Pil)}
