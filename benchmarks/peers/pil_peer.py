"""PIL: one image at a time (``ImageOps``, ``ImageEnhance``, ``Image.transform``), 8-bit images only.

PIL is given a list of ``PIL.Image`` (what a per-image pipeline holds after decoding) and Python
parameters; converting the result back for the check is not timed.

Semantics notes (checked once per case before timing, see ``cases.compare``):
- PIL has no reflect fill: the PIL warp pads each image with numpy's ``symmetric`` (= reflect) pad and
  then resamples with ``Image.transform`` (pixel centres at +0.5 in PIL's coordinates). PIL truncates its
  bilinear results to uint8 where gpuaug rounds: all within one level (``cases.PEER_TOLERANCE``).
- PIL has no hue op: hue goes through ``convert("HSV")`` as torchvision's PIL path does.
- erase: ``Image.paste`` of a colour into the box (exact).
- cutmix, randaugment, pipeline: random; torchvision's RandAugment op list and magnitudes written on PIL
  (also used by ``bench_policies.py`` and ``bench_loader.py``), the pipeline per image ending in a float32
  normalized array; invariants checked.
"""

from __future__ import annotations

import math
import random

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageOps

from benchmarks.cases import IMAGENET_MEAN, IMAGENET_STD, Case
from benchmarks.peers import Impl, Peer, Skip, semantics_differ

NAME = "PIL"


def _pils(x: torch.Tensor) -> list[Image.Image]:
    a = x.detach().cpu().permute(0, 2, 3, 1).contiguous().numpy()
    return [Image.fromarray(im, "RGB") for im in a]


def _stack(ims) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.asarray(im) for im in ims])).permute(0, 3, 1, 2).contiguous()


def _pyparams(p: dict) -> dict:
    return {k: v.detach().cpu().tolist() for k, v in p.items()}


def _prepare(x: torch.Tensor, p: dict):
    return _pils(x), _pyparams(p)


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


def _rot_scale_inv(angle: float, scale: float, s: int) -> tuple:
    from benchmarks.cases import forward_matrix

    m = forward_matrix(torch.tensor([angle]), torch.tensor([scale]), torch.zeros(1, 2), (s, s))[0]
    return pil_affine_data(_invert(m.double().numpy()))


# ------------------------------------------------------------------------------------------- adapters
def _per_image(fn) -> Impl:
    """``fn(image, i, params)`` on each image of the batch, a uint8 batch back for the check."""
    return Impl(
        NAME,
        prepare=_prepare,
        run=lambda ip: [fn(im, i, ip[1]) for i, im in enumerate(ip[0])],
        to_tensor=_stack,
        host=True,
    )


def warp(case: Case, device) -> Impl:
    s = case.size
    return _per_image(lambda im, i, p: pil_warp_reflect(im, np.asarray(p["matrix"][i], dtype=np.float64), s))


def color_jitter(case: Case, device) -> Impl:
    def run(im, i, p):
        im = ImageEnhance.Brightness(im).enhance(p["brightness"][i])
        im = ImageEnhance.Contrast(im).enhance(p["contrast"][i])
        im = ImageEnhance.Color(im).enhance(p["saturation"][i])
        return pil_hue(im, p["hue"][i])

    return _per_image(run)


def posterize(case: Case, device) -> Impl:
    return _per_image(lambda im, i, p: ImageOps.posterize(im, int(p["bits"][i])))


def solarize(case: Case, device) -> Impl:
    return _per_image(lambda im, i, p: ImageOps.solarize(im, int(round(p["threshold"][i]))))


def equalize(case: Case, device) -> Impl:
    return _per_image(lambda im, i, p: ImageOps.equalize(im))


def erase(case: Case, device) -> Impl:
    def run(im, i, p):
        im = im.copy()
        im.paste(tuple(int(round(v)) for v in p["value"][i]), tuple(int(v) for v in p["boxes"][i][0]))
        return im

    return _per_image(run)


def cutmix(case: Case, device) -> Impl:
    rng, s = random.Random(0), case.size

    def run(ip):
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
        NAME,
        prepare=_prepare,
        run=run,
        host=True,
        check="invariants",
        to_tensor=lambda o: (_stack(o[0]), torch.from_numpy(o[1])),
    )


def randaugment(case: Case, device) -> Impl:
    rng = random.Random(0)
    return Impl(
        NAME,
        prepare=_prepare,
        host=True,
        check="invariants",
        to_tensor=_stack,
        run=lambda ip: [pil_randaugment_one(im, 2, 9, rng) for im in ip[0]],
        note="torchvision's RandAugment ops on PIL",
    )


def pipeline(case: Case, device) -> Impl:
    rng, s = random.Random(0), case.size

    def run(ip):
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

    return Impl(NAME, prepare=_prepare, run=run, host=True, check="invariants")


def resize(case: Case, device) -> Impl:
    from benchmarks.cases import resize_side

    side = resize_side(case.size)
    return Impl(NAME, run=lambda ip: [im.resize((side, side), Image.BILINEAR) for im in ip[0]],
                prepare=_prepare, to_tensor=_stack, host=True)


ADAPTERS = {
    "warp": warp,
    "color_jitter": color_jitter,
    "posterize": posterize,
    "solarize": solarize,
    "equalize": equalize,
    "erase": erase,
    "cutmix": cutmix,
    "randaugment": randaugment,
    "pipeline": pipeline,
    "resize": resize,
    # ImageFilter.GaussianBlur(radius) is an extended box-blur approximation of sigma = radius
    "gaussian_blur": semantics_differ("ImageFilter.GaussianBlur approximates with box blurs"),
}


class Pil(Peer):
    name = NAME
    adapters = ADAPTERS

    def accepts(self, case: Case) -> None:
        if case.dtype != "uint8":
            raise Skip("PIL works on 8-bit images only")
