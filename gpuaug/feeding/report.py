"""The feeding check's report: ``report.json``, ``report.png`` (throughput bars, the verdict, a grid of
augmented samples) and the printed summary."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from gpuaug.loader import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["format_summary", "render_png", "write_report"]


def _denormalize(x: torch.Tensor) -> np.ndarray:
    """Normalized ``(B, 3, H, W)`` -> ``(B, H, W, 3)`` uint8 for the sample grid."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).reshape(1, -1, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).reshape(1, -1, 1, 1)
    img = (x.float() * std + mean).clamp(0, 1).mul(255).round().to(torch.uint8)
    return img.permute(0, 2, 3, 1).cpu().numpy()


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        return ImageFont.load_default()


def _wrap(d: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """Greedy word wrap of ``text`` to ``width`` pixels."""
    lines, cur = [], ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if cur and d.textlength(trial, font=font) > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    return [*lines, cur] if cur else lines


def render_png(report: dict, samples: np.ndarray | None) -> Image.Image:
    """Throughput bars (img/s per phase) over the verdict, then a grid of augmented samples."""
    width, pad = 960, 24
    rates = report["img_per_s"]
    v = report["verdict"]
    font, big, small = _font(16), _font(20), _font(13)
    labels = {"loader": "input pipeline alone", "augment": "augmentation alone", "model": "model step alone",
              "full": "full training loop"}
    colors = {"loader": (70, 130, 180), "augment": (95, 160, 95), "model": (200, 120, 50),
              "full": (180, 60, 60) if v["input_bound"] else (60, 140, 60)}
    tile, cols = 108, 8
    n = 0 if samples is None else len(samples)
    rows = math.ceil(n / cols)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_lines = len(_wrap(measure, v["headline"], font, width - 2 * pad)) + sum(
        len(_wrap(measure, a, small, width - 2 * pad - 14)) for a in v["advice"])
    height = pad * 2 + 44 + 4 * 44 + 20 + 22 * text_lines + (rows * (tile + 6) + 50 if n else 0)
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    cfg = report["config"]
    title = (f"gpuaug feeding check: {report['device']}, batch {cfg['batch_size']}, {cfg['size']}px, "
             f"policy {cfg['policy']}, model {cfg['model']}")
    d.text((pad, pad), title, fill="black", font=big)
    top, label_w = pad + 44, 210
    vmax = max(rates.values())
    bar_w = width - 2 * pad - label_w - 130
    for i, k in enumerate(("loader", "augment", "model", "full")):
        y = top + i * 44
        d.text((pad, y + 8), labels[k], fill="black", font=font)
        w = max(2, int(bar_w * rates[k] / vmax))
        d.rectangle((pad + label_w, y, pad + label_w + w, y + 32), fill=colors[k])
        d.text((pad + label_w + w + 8, y + 8), f"{rates[k]:,.0f} img/s", fill="black", font=font)
    y = top + 4 * 44 + 10
    for line in _wrap(d, v["headline"], font, width - 2 * pad):
        d.text((pad, y), line, fill=colors["full"], font=font)
        y += 22
    for item in v["advice"]:
        for j, line in enumerate(_wrap(d, item, small, width - 2 * pad - 14)):
            d.text((pad + (0 if j == 0 else 14), y), ("- " if j == 0 else "") + line, fill=(60, 60, 60),
                   font=small)
            y += 20
    if n:
        y += 14
        d.text((pad, y - 4), "augmented samples (as the model sees them, denormalized):", fill="black",
               font=small)
        y += 18
        for i in range(n):
            r, col = divmod(i, cols)
            t = Image.fromarray(samples[i]).resize((tile, tile), Image.BILINEAR)
            img.paste(t, (pad + col * (tile + 6), y + r * (tile + 6)))
    return img


def write_report(report: dict, out: str | os.PathLike) -> dict:
    """Write ``report.json`` and ``report.png`` into ``out`` (created); return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    samples = report.pop("_samples", None)
    paths = {"json": str(out / "report.json"), "png": str(out / "report.png")}
    report["files"] = paths
    render_png(report, samples).save(paths["png"])
    with open(paths["json"], "w") as f:
        json.dump(report, f, indent=2)
    return paths


def format_summary(report: dict) -> str:
    """The lines printed at the end of ``python -m gpuaug bench``."""
    r, v, c = report["img_per_s"], report["verdict"], report["config"]
    lines = [
        f"device {report['device']} | batch {c['batch_size']} | {c['size']}px | policy {c['policy']} | "
        f"model {c['model']} | workers {c['workers']} | augmentation on {c['augmentation_runs_in']}",
        f"  input pipeline alone {r['loader']:>10,.0f} img/s",
        f"  augmentation alone   {r['augment']:>10,.0f} img/s",
        f"  model step alone     {r['model']:>10,.0f} img/s",
        f"  full training loop   {r['full']:>10,.0f} img/s",
        "",
        v["headline"],
        *("  - " + a for a in v["advice"]),
    ]
    if report.get("skipped_images"):
        lines.append(f"skipped {len(report['skipped_images'])} unreadable image file(s) under --data "
                     "(named above and in report.json)")
    if "files" in report:
        lines.append(f"report: {report['files']['json']}, {report['files']['png']}")
    return "\n".join(lines)
