"""The feeding check: is the training step waiting for data?

``run_bench(BenchConfig(...))`` measures, on one device, in one process:

- **loader**: the input pipeline alone (DataLoader -> copy -> augmentation -> ready batch), img/s;
- **augment**: the augmentation hook alone on a batch already on the device, img/s;
- **model**: one training step alone (forward, backward, optimizer step) on a resident batch, img/s;
- **full**: the real loop (input pipeline feeding the training step), img/s;

then :func:`verdict` turns the four numbers into plain words, and :func:`write_report` writes
``report.json`` and ``report.png`` (throughput bars + a grid of augmented samples).

Modules: :mod:`~gpuaug.feeding.datasets` (the data), :mod:`~gpuaug.feeding.run` (the timed phases),
:mod:`~gpuaug.feeding.verdict`, :mod:`~gpuaug.feeding.report`, :mod:`~gpuaug.feeding.models` (the models
it trains). ``import gpuaug`` does not import this package (``python -m gpuaug bench`` does).
"""

from gpuaug.feeding.datasets import FolderDataset, SampleDataset
from gpuaug.feeding.report import format_summary, render_png, write_report
from gpuaug.feeding.run import BenchConfig, run_bench
from gpuaug.feeding.verdict import WAIT_THRESHOLD, verdict
from gpuaug.loader.hook import build_hook, parse_policy  # their home is gpuaug.loader; kept here too

__all__ = [
    "WAIT_THRESHOLD",
    "BenchConfig",
    "FolderDataset",
    "SampleDataset",
    "build_hook",
    "format_summary",
    "parse_policy",
    "render_png",
    "run_bench",
    "verdict",
    "write_report",
]
