"""Render every ``benchmarks/results/*.json`` into Markdown tables and PNG plots in ``benchmarks/README.md``.

    python benchmarks/render.py            # rewrites the block between the results markers of the README

The plot is drawn with PIL (no matplotlib): one bar per library and case, img/s on a log scale.
"""

from __future__ import annotations

import glob
import json
import math
import os
import sys

from PIL import Image, ImageDraw, ImageFont

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable from the checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.cases import OPS  # noqa: E402  (the suite's case order)

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
README = os.path.join(HERE, "README.md")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
ORDER = ["gpuaug", "torch.compile", "kornia", "triton-augment", "torchvision", "OpenCV", "Albumentations",
         "timm", "PIL"]
COLORS = {
    "gpuaug": (31, 119, 180),
    "torch.compile": (148, 103, 189),
    "kornia": (255, 127, 14),
    "triton-augment": (44, 160, 44),
    "torchvision": (214, 39, 40),
    "OpenCV": (23, 190, 207),
    "Albumentations": (188, 189, 34),
    "timm": (227, 119, 194),
    "PIL": (127, 127, 127),
}


def _normalize(result: dict) -> dict:
    """Tolerate other writers of results/*.json (other benchmark scripts): size as ``[H, W]``, missing
    ``gbps`` / ``frac_copy`` / ``copy_gbps``."""
    rows = []
    for r in result.get("rows", []):
        r = dict(r)
        size = r.get("size")
        if isinstance(size, (list, tuple)):
            r["size"] = size[0] if len(size) == 2 and size[0] == size[1] else "x".join(map(str, size))
        rows.append(r)
    return {**result, "rows": rows}


def _size_label(s) -> str:
    return f"{s}²" if isinstance(s, int) else str(s)


def _size_key(s) -> float:
    if isinstance(s, int):
        return s * s
    try:
        return math.prod(int(v) for v in str(s).split("x"))
    except ValueError:
        return 0


def _gbps(v) -> str:
    return f"{v} GB/s" if v is not None else "not measured"


def _libs(rows) -> list[str]:
    seen = {r["library"] for r in rows}
    return [lib for lib in ORDER if lib in seen] + sorted(seen - set(ORDER))


def _cases(rows) -> list[tuple]:
    keys = {(r["op"], r["batch"], r["size"], r["dtype"]) for r in rows}
    def order(k):
        return (_size_key(k[2]), k[3], k[1], OPS.index(k[0]) if k[0] in OPS else 99, k[0])

    return sorted(keys, key=order)


def table(result: dict) -> str:
    rows = result["rows"]
    libs = _libs(rows)
    # the reference column: "gpuaug", or the first gpuaug variant another script wrote ("gpuaug-torch")
    variants = [lib for lib in libs if lib.startswith("gpuaug")]
    ref = "gpuaug" if "gpuaug" in libs else (variants[0] if variants else "")
    by = {(r["op"], r["batch"], r["size"], r["dtype"], r["library"]): r for r in rows}
    head = ["op", "batch", "size", "dtype", *[f"{lib} img/s" for lib in libs]]
    head += [f"{ref or 'gpuaug'} GB/s", "% of copy"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for op, b, s, d in _cases(rows):
        g = by.get((op, b, s, d, ref))
        cells = [op, str(b), _size_label(s), d]
        for lib in libs:
            r = by.get((op, b, s, d, lib))
            if r is None:
                cells.append("–")
            elif lib == ref or g is None:
                cells.append(f"{r['img_per_s']:,.0f}")
            else:
                cells.append(f"{r['img_per_s']:,.0f} (gpuaug ×{g['img_per_s'] / r['img_per_s']:.1f})")
        if g:
            gbps, frac = g.get("gbps"), g.get("frac_copy")
            cells.append(f"{gbps:.2f}" if gbps is not None else "–")
            cells.append(f"{100 * frac:.1f}" if frac is not None else "–")
        else:
            cells += ["–", "–"]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def skipped(result: dict) -> str:
    """One line per library-level skip and per distinct case-level reason."""
    seen, lines = set(), []
    for s in result.get("skipped", []):
        where = f"{s['op']}" if "op" in s else "all cases"
        key = (s["library"], s["reason"], "op" in s and s["op"])
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"- {s['library']} ({where}): {s['reason']}")
    for c in result.get("checks", []):
        if not c["ok"]:
            lines.append(
                f"- {c['library']} ({c['op']} B={c['batch']} {c['size']}² {c['dtype']}): check failed, "
                f"not timed: {c['detail']}"
            )
    return "\n".join(lines)


def _font(size: int):
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def plot(result: dict, path: str) -> None:
    """Grouped horizontal bars: one group per case, one bar per library, img/s on a log10 axis."""
    rows = result["rows"]
    libs, cases = _libs(rows), _cases(rows)
    by = {(r["op"], r["batch"], r["size"], r["dtype"], r["library"]): r["img_per_s"] for r in rows}
    bar, gap, left, right, top = 9, 8, 250, 40, 70
    width = 1100
    height = top + len(cases) * (len(libs) * bar + gap) + 40
    vals = [v for v in by.values() if v > 0]
    lo = math.floor(math.log10(min(vals))) if vals else 0
    hi = math.ceil(math.log10(max(vals))) if vals else 1
    hi = max(hi, lo + 1)
    img = Image.new("RGB", (width, height), "white")
    dr = ImageDraw.Draw(img)
    f, fs = _font(13), _font(11)
    dr.text(
        (10, 8),
        f"{result['device']}  torch {result['torch']}  {result['date']}  "
        f"threads {result.get('threads', '?')}  img/s (log scale, longer is faster)",
        fill="black",
        font=f,
    )
    for i, lib in enumerate(libs):  # legend
        x = 10 + i * 150
        dr.rectangle([x, 32, x + 14, 44], fill=COLORS.get(lib, (0, 0, 0)))
        dr.text((x + 20, 31), lib, fill="black", font=fs)
    span = width - left - right

    def xpos(v):
        return left + span * (math.log10(v) - lo) / (hi - lo)

    for e in range(lo, hi + 1):  # grid
        x = xpos(10**e)
        dr.line([x, top - 8, x, height - 30], fill=(220, 220, 220))
        dr.text((x - 10, height - 26), f"1e{e}", fill="black", font=fs)
    y = top
    for op, b, s, d in cases:
        label = f"{op}  B={b} {_size_label(s)} {d}"
        dr.text((10, y + max(0, (len(libs) * bar - 12) // 2)), label, fill="black", font=fs)
        for lib in libs:
            v = by.get((op, b, s, d, lib))
            if v:
                dr.rectangle([left, y, max(left + 1, xpos(v)), y + bar - 2], fill=COLORS.get(lib, (0, 0, 0)))
            y += bar
        y += gap
    img.save(path, optimize=True)


def render(results_dir: str = RESULTS, readme: str = README) -> str:
    parts = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        with open(path) as fh:
            result = _normalize(json.load(fh))
        if result.get("mode") == "smoke" or not result.get("rows"):
            continue  # smoke runs say nothing about speed
        stem = os.path.splitext(os.path.basename(path))[0]
        png = os.path.join(results_dir, stem + ".png")
        plot(result, png)
        where = os.path.dirname(os.path.abspath(readme))
        rel_json, rel_png = os.path.relpath(path, where), os.path.relpath(png, where)
        extra = ", ".join(f"{k} {result[k]}" for k in ("kornia",) if k in result)
        parts.append(
            f"### {result['device']} — {result['date']}\n\n"
            f"torch {result['torch']}, triton {result['triton']}{', ' + extra if extra else ''}; "
            f"{result.get('threads', '?')} thread(s); timer: {result.get('timer', '?')}; "
            f"copy bandwidth {_gbps(result.get('copy_gbps'))}. Raw numbers: [`{rel_json}`]({rel_json}).\n"
            f"Cells: img/s; in brackets how many times faster gpuaug is than that library (<1: slower).\n\n"
            f"{table(result)}\n\n"
            + (f"Not timed:\n\n{skipped(result)}\n\n" if skipped(result) else "")
            + f"![{stem}]({rel_png})\n"
        )
    block = "\n".join(parts) if parts else "No results yet: run `python benchmarks/run.py`.\n"
    if os.path.exists(readme):
        with open(readme) as fh:
            text = fh.read()
        if BEGIN in text and END in text:
            pre, rest = text.split(BEGIN, 1)
            post = rest.split(END, 1)[1]
            with open(readme, "w") as fh:
                fh.write(f"{pre}{BEGIN}\n{block}{END}{post}")
            return block
    print("README has no results markers; printing the block instead", file=sys.stderr)
    print(block)
    return block


if __name__ == "__main__":
    render()
