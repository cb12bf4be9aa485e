"""``python -m gpuaug bench``: the feeding check's report, its verdict logic, and the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from gpuaug.cli import main
from gpuaug.feeding import verdict

try:
    import gpuaug.layers
    import gpuaug.policies  # noqa: F401

    HAS_LAYERS = True
except ImportError:
    HAS_LAYERS = False
LOUD = ["--device", "cpu", "--steps", "2", "--warmup", "0", "--batch-size", "4", "--size", "32",
        "--workers", "0"] + ([] if HAS_LAYERS else ["--policy", "none", "--no-mix"])
TINY = [*LOUD, "--quiet"]


def _check_report(out) -> dict:
    rep = json.loads((out / "report.json").read_text())
    assert set(rep["img_per_s"]) == {"loader", "augment", "model", "full"}
    assert all(v > 0 for v in rep["img_per_s"].values())
    assert set(rep["ms_per_batch"]) == set(rep["img_per_s"])
    v = rep["verdict"]
    assert isinstance(v["input_bound"], bool) and 0 <= v["wait_fraction"] <= 1
    assert v["headline"].startswith(("INPUT-BOUND", "NOT INPUT-BOUND"))
    assert isinstance(v["advice"], list) and v["advice"]
    cfg = rep["config"]
    assert cfg["batch_size"] == 4 and cfg["size"] == 32 and cfg["device"] == "cpu"
    assert rep["torch"] == torch.__version__ and rep["wall_s"] > 0
    with Image.open(out / "report.png") as im:
        assert im.mode == "RGB" and im.width >= 600
        # bars and samples make a picture, not a blank page
        assert np.asarray(im).std() > 20
    return rep


def test_bench_tiny_run_writes_report(tmp_path, capsys):
    assert main(["bench", *TINY, "--out", str(tmp_path / "r")]) == 0
    rep = _check_report(tmp_path / "r")
    printed = capsys.readouterr().out
    assert rep["verdict"]["headline"] in printed and "img/s" in printed


def test_bench_folder_dataset(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("cats", "dogs"):
        (tmp_path / "data" / c).mkdir(parents=True)
        for i in range(3):
            a = rng.integers(0, 256, (40 + 3 * i, 50, 3), dtype=np.uint8)
            Image.fromarray(a).save(tmp_path / "data" / c / f"{i}.png")
    assert main(["bench", *TINY, "--workers", "1", "--data", str(tmp_path / "data"),
                 "--out", str(tmp_path / "r")]) == 0
    rep = _check_report(tmp_path / "r")
    assert rep["config"]["num_classes"] == 2
    # a folder smaller than one batch still runs (sampled with replacement into full batches)
    assert main(["bench", *TINY, "--batch-size", "16", "--data", str(tmp_path / "data"),
                 "--out", str(tmp_path / "r2")]) == 0


@pytest.mark.skipif(not HAS_LAYERS, reason="gpuaug layers not importable")
def test_bench_with_pipeline_config(tmp_path):
    cfg = tmp_path / "pipe.json"
    cfg.write_text(json.dumps([{"name": "RandomResizedCrop", "size": 24}, "RandomHorizontalFlip"]))
    assert main(["bench", *TINY, "--pipeline", str(cfg), "--out", str(tmp_path / "r")]) == 0
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    assert rep["config"]["pipeline"] == str(cfg)
    with Image.open(tmp_path / "r" / "report.png") as im:
        assert im.height > 300


@pytest.mark.skipif(not HAS_LAYERS, reason="gpuaug layers not importable")
def test_preview_command(tmp_path, capsys):
    out = tmp_path / "p.png"
    assert main(["preview", "--size", "40", "--images", "2", "--draws", "3", "--mix", "--out", str(out)]) == 0
    with Image.open(out) as im:
        # 2 rows, original + 3 draws: wider than tall, at least 4 cells of 40 px across
        assert im.width >= 4 * 40 and 2 * 40 <= im.height < im.width
    assert "wrote" in capsys.readouterr().out
    assert main(["preview", "--policy", "banana", "--out", str(out)]) == 2


def test_bench_bad_arguments(tmp_path, capsys):
    assert main(["bench", *TINY, "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    assert "--data" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "--batch-size", "0"])
    with pytest.raises(SystemExit):
        main(["bench", "--device", "tpu"])


def _bad_folder(root, good: int = 3):
    """class folders with ``good`` good JPEGs each, plus a truncated JPEG and a 0-byte PNG."""
    rng = np.random.default_rng(1)
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(good):
            Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(root / c / f"{i}.jpg")
    if good:
        data = (root / "a" / "0.jpg").read_bytes()
    else:
        buf = __import__("io").BytesIO()
        Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(buf, "JPEG")
        data = buf.getvalue()
    (root / "a" / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "b" / "empty.png").write_bytes(b"")
    return [str(root / "a" / "truncated.jpg"), str(root / "b" / "empty.png")]


@pytest.mark.parametrize("workers", ["0", "1"])
def test_bench_skips_unreadable_images(tmp_path, capfd, workers):
    bad = _bad_folder(tmp_path / "data")
    assert main(["bench", *TINY, "--workers", workers, "--data", str(tmp_path / "data"),
                 "--out", str(tmp_path / "r")]) == 0
    out, err = capfd.readouterr()
    assert "Traceback" not in err
    for path in bad:  # one line each, naming the file, wherever it was found (main process or worker)
        assert sum(path in line for line in err.splitlines()) == 1, err
    rep = _check_report(tmp_path / "r")
    assert sorted(rep["skipped_images"]) == sorted(bad)
    assert "skipped 2 unreadable image file(s)" in out


def test_folder_dataset_counts_unreadable_files_across_workers(tmp_path, capfd):
    from gpuaug.feeding.datasets import FolderDataset

    bad = _bad_folder(tmp_path, good=2)
    ds = FolderDataset(tmp_path, 16)
    items = list(torch.utils.data.DataLoader(ds, batch_size=None, num_workers=1))  # read in a worker
    assert len(items) == len(ds) == 6 and all(x.shape == (16, 16, 3) for x, _ in items)
    # each replacement is a readable file with its own label
    assert sorted(ds.skipped) == sorted(bad)
    assert capfd.readouterr().err.count("skipping unreadable image") == 2


def test_bench_stops_with_one_line_when_nothing_is_readable(tmp_path, capfd):
    _bad_folder(tmp_path / "data", good=0)
    assert main(["bench", *TINY, "--data", str(tmp_path / "data"), "--out", str(tmp_path / "r")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert err[-1].startswith("gpuaug bench: --data") and "none of its 2 images" in err[-1]


@pytest.mark.parametrize("argv, word", [
    (["bench", "--steps", "x"], "--steps"),
    (["bench", "--batch-size", "0"], "--batch-size"),
    (["bench", "--device", "tpu"], "tpu"),
    (["preview", "--size", "-3"], "--size"),
    (["nonsense"], "nonsense"),
])
def test_argument_errors_are_one_line(argv, word, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and word in err[0] and "usage:" not in err[0], err


@pytest.mark.skipif(not HAS_LAYERS, reason="gpuaug policies not importable")
@pytest.mark.parametrize("command", ["bench", "preview"])
def test_bad_policy_names_the_value_once(command, capsys, tmp_path):
    assert main([command, "--policy", "nonsense", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].count("nonsense") == 1, err


def test_bench_suite_flag_is_gone(capsys):
    # the benchmark suite is `python benchmarks/run.py` in a source checkout, not a CLI flag
    with pytest.raises(SystemExit) as e:
        main(["bench", "--suite", "--size", "32"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "--suite is gone" in err[-1] and "benchmarks/run.py" in err[-1]


def test_import_gpuaug_stays_light():
    """``import gpuaug`` leaves the feeding check and PIL's drawing code unimported; the version comes from
    the installed package's metadata ("0+unknown" without it)."""
    code = """if True:
        import importlib.metadata as m
        import sys

        import gpuaug

        heavy = ("gpuaug.feeding", "gpuaug.feeding.models", "PIL.ImageDraw", "PIL.ImageFont")
        assert not [k for k in heavy if k in sys.modules], [k for k in heavy if k in sys.modules]
        assert gpuaug.__version__ == m.version("gpuaug"), gpuaug.__version__
        assert gpuaug.build_hook is sys.modules["gpuaug.loader"].build_hook

        def missing(name):
            raise m.PackageNotFoundError(name)

        m.version = missing
        for k in [k for k in sys.modules if k == "gpuaug" or k.startswith("gpuaug.")]:
            del sys.modules[k]
        import gpuaug

        assert gpuaug.__version__ == "0+unknown", gpuaug.__version__
        print("ok")
    """
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


@pytest.mark.slow
def test_python_m_gpuaug_demo(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "gpuaug", "demo", *LOUD, "--out", str(tmp_path / "d")],
                       capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "INPUT-BOUND" in r.stdout
    assert "model" in r.stderr  # tqdm progress bars go to stderr
    _check_report(tmp_path / "d")


# --------------------------------------------------------------------------------------------- verdict
def test_verdict_input_bound_slow_loader():
    v = verdict(400.0, 1000.0, 380.0, augment_ips=5000.0, device="cuda", workers=2, cpu_count=16)
    assert v["input_bound"] and v["wait_fraction"] == pytest.approx(0.62)
    assert "62%" in v["headline"] and v["headline"].startswith("INPUT-BOUND")
    text = " ".join(v["advice"])
    assert "2.5x too slow" in text and "--workers" in text


def test_verdict_not_input_bound():
    v = verdict(3000.0, 1000.0, 990.0, device="cuda", workers=8, cpu_count=16)
    assert not v["input_bound"] and v["wait_fraction"] == pytest.approx(0.01)
    assert v["headline"].startswith("NOT INPUT-BOUND") and "3.0x" in v["headline"]
    assert not any("--workers" in a for a in v["advice"])
    # thin headroom is said out loud
    assert "thin" in " ".join(verdict(1200.0, 1000.0, 1000.0)["advice"])


def test_verdict_suggests_gpu_and_lighter_policy():
    cpu = verdict(100.0, 300.0, 90.0, device="cpu", aug_where="workers", workers=1, cpu_count=2,
                  gpu_available=True)
    assert any("--device cuda" in a for a in cpu["advice"])
    slow_aug = verdict(500.0, 2000.0, 480.0, augment_ips=600.0, device="cuda", workers=8, cpu_count=8)
    assert any("--policy" in a for a in slow_aug["advice"])
    # every core already loading: no "raise --workers"
    assert not any("--workers" in a for a in slow_aug["advice"])


def test_verdict_no_overlap_case():
    v = verdict(2000.0, 1000.0, 500.0, device="cpu", workers=0, cpu_count=2)
    assert v["input_bound"] and "do not overlap" in " ".join(v["advice"])
    assert "--workers 1" in " ".join(v["advice"])


def test_verdict_threshold_and_errors():
    assert not verdict(1000.0, 1000.0, 960.0)["input_bound"]
    assert verdict(1000.0, 1000.0, 940.0)["input_bound"]
    assert verdict(1000.0, 1000.0, 1100.0)["wait_fraction"] == 0.0
    with pytest.raises(ValueError, match="model_ips"):
        verdict(1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="full_ips"):
        verdict(1.0, 1.0, float("nan"))


@pytest.mark.skipif(not HAS_LAYERS, reason="gpuaug policies not importable")
def test_parse_policy():
    from gpuaug.loader import parse_policy

    assert parse_policy("none") is None
    from gpuaug.policies import AutoAugment, TimmRandAugment, TrivialAugmentWide

    ra = parse_policy("rand-m7-n3-mstd0.5")
    assert isinstance(ra, TimmRandAugment)
    assert ra.num_ops == 3 and ra.magnitude == 7 and ra.magnitude_std == 0.5
    assert isinstance(parse_policy("trivial"), TrivialAugmentWide)
    assert isinstance(parse_policy("auto"), AutoAugment)
    with pytest.raises(ValueError, match="policy 'rand-q3'"):
        parse_policy("rand-q3")
    with pytest.raises(ValueError, match="policy 'banana'"):
        parse_policy("banana")


def test_models():
    from gpuaug.feeding.models import build_model

    for name in ("small", "tiny"):
        m = build_model(name, 5)
        out = m(torch.rand(2, 3, 40, 48))
        assert out.shape == (2, 5)
        out.sum().backward()
        assert all(p.grad is not None for p in m.parameters())
    with pytest.raises(ValueError, match="model"):
        build_model("no_such_model_xyz", 5)
    # the built-in ResNet-50 has torchvision's architecture: its published parameter count
    assert sum(p.numel() for p in build_model("resnet50", 1000).parameters()) == 25_557_032
