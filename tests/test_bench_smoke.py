"""The benchmark suite in smoke mode (CPU, tiny sizes, 2 reps): every case runs through gpuaug and every
available peer's output agrees with gpuaug's. Never asserts a speed."""

from __future__ import annotations

import json
import os
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks import cases as C  # noqa: E402
from benchmarks import peers as P  # noqa: E402
from benchmarks import render, run  # noqa: E402


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    threads = torch.get_num_threads()
    try:
        rc = run.main(["--smoke", "--device", "cpu", "--out", str(out), "--no-progress"])
    finally:
        torch.set_num_threads(threads)
    with open(out) as f:
        return rc, json.load(f)


def test_smoke_every_case_has_rows(smoke):
    rc, res = smoke
    assert not res["errors"], res["errors"]
    want = {
        (c.op, c.batch, c.size, c.dtype)
        for c in run.select_cases(run.parse_args(["--smoke"]), torch.device("cpu"))
    }
    assert len(want) == len(C.OPS) * 2
    got = {(r["op"], r["batch"], r["size"], r["dtype"]) for r in res["rows"] if r["library"] == "gpuaug"}
    assert got == want
    for r in res["rows"]:
        assert set(r) >= {"op", "library", "batch", "size", "dtype", "img_per_s", "ms", "gbps"}
    assert {"device", "torch", "triton", "date", "copy_gbps", "rows"} <= set(res)
    assert rc == 0


def test_smoke_every_peer_check_passes(smoke):
    rc, res = smoke
    failed = [c for c in res["checks"] if not c["ok"]]
    assert not failed, failed
    checked = {c["library"] for c in res["checks"] if c["library"] != "gpuaug"}
    assert "PIL" in checked  # PIL is always there: its uint8 comparisons ran
    try:
        import kornia  # noqa: F401

        assert "kornia" in checked
        # kornia's deterministic ops were compared for equality, not only for invariants
        assert any(c["library"] == "kornia" and c["detail"].startswith("max|d|") for c in res["checks"])
    except ImportError:
        assert any(s["library"] == "kornia" for s in res["skipped"])


def test_compare_catches_a_wrong_peer():
    """The correctness gate can fail: an output a few levels off, or a warp with the other pixel
    convention (kornia's default align_corners=True), is rejected."""
    case = C.Case("warp", 2, 32, "uint8")
    x, p = C.make_input(case, 0), C.draw_params(case, 0)
    ref = C.gpuaug_fn(case)(x, p)
    assert C.compare(case, ref, ref)[0]
    assert not C.compare(case, ref, (ref.int() + 3).clamp(0, 255).to(torch.uint8))[0]
    kornia = pytest.importorskip("kornia")
    wrong = (
        kornia.geometry.transform.warp_affine(
            x.float(), p["matrix"], (32, 32), padding_mode="reflection", align_corners=True
        )
        .round()
        .clamp(0, 255)
        .to(torch.uint8)
    )
    assert not C.compare(case, ref, wrong, "kornia")[0]
    impl = P.Kornia().build(case, "cpu")
    assert C.compare(case, ref, impl.run(impl.prepare(x, p)), "kornia")[0]


def test_render_table_and_plot(smoke, tmp_path):
    _, res = smoke
    res = dict(res, mode="full")  # a copy in a temporary folder, only to exercise the renderer
    (tmp_path / "x.json").write_text(json.dumps(res))
    readme = tmp_path / "README.md"
    readme.write_text(f"# t\n{render.BEGIN}\n{render.END}\n")
    block = render.render(str(tmp_path), str(readme))
    assert "| equalize | 4 | 32² | uint8 |" in block
    assert (tmp_path / "x.png").stat().st_size > 1000
    assert render.BEGIN in readme.read_text() and "gpuaug img/s" in readme.read_text()


def test_peer_tables():
    """Each peer is an ``{op: adapter}`` table over the case table's ops; an op a peer lacks, or has with
    other semantics, is a skip with the reason (no library import needed to say so)."""
    for name, cls in P.PEERS_BY_NAME.items():
        assert cls.name == name and set(cls().adapters) <= set(C.OPS), name
    assert set(P.Gpuaug().adapters) == set(C.OPS)
    case = C.Case("equalize", 2, 32, "uint8")
    with pytest.raises(P.Skip, match="triton-augment has no equalize"):
        P.TritonAugment().build(case, "cpu")
    with pytest.raises(P.Skip, match="semantics differ .*: not timed"):
        P.TorchvisionV2().build(C.Case("warp", 2, 32, "uint8"), "cpu")
    with pytest.raises(P.Skip, match="random layers are compiled only with --compile-layers"):
        P.Compiled().build(C.Case("cutmix", 2, 32, "uint8"), "cpu")
    with pytest.raises(P.Skip, match="8-bit"):
        P.Pil().build(C.Case("equalize", 2, 32, "float16"), "cpu")


def test_bench_host_smoke(tmp_path):
    """benchmarks/bench_host.py at a tiny size: every installed peer runs, gpuaug's fused pointwise chain
    equals PIL's exactly on the same (PIL-rotated) images, and one JSON per thread count is written."""
    from benchmarks import bench_host

    threads = torch.get_num_threads()
    try:
        res = bench_host.main(["--n", "3", "--size", "40", "--reps", "1", "--threads", "1,2",
                               "--json", str(tmp_path / "host.json")])
    finally:
        torch.set_num_threads(threads)
    checks = {c["name"]: c for c in res["agreement"]}
    assert checks["chain/gpuaug pointwise vs PIL on PIL's rotated images"]["max"] == 0
    libs = {(r["op"], r["library"], r["threads"]) for r in res["rows"]}
    assert {("chain", "gpuaug", 1), ("chain", "PIL", 2), ("chain", "gpuaug torch1", 2),
            ("randaugment", "gpuaug", 2)} <= libs
    assert all(r["img_per_s"] > 0 for r in res["rows"])
    for t in (1, 2):
        with open(tmp_path / f"host-{t}thread.json") as f:
            assert {r["threads"] for r in json.load(f)["rows"]} == {t}
