"""The README's usage example runs as written (on the CPU, at a small size)."""

import pathlib
import re

import numpy as np
import torch

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_usage_example_runs_on_cpu():
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    # The example targets a GPU; run it on the CPU with a small batch so CI stays quick.
    code = code.replace('"cuda"', '"cpu"').replace("256", "8").replace("224", "48")
    code = code.replace("num_workers=8", "num_workers=0")
    rng = np.random.default_rng(0)
    dataset = [(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8), i % 10) for i in range(16)]
    scope = {"dataset": dataset}
    exec(compile(code, str(README), "exec"), scope)
    assert scope["img"].shape == (8, 3, 48, 48) and scope["img"].dtype == torch.uint8
    assert torch.allclose(scope["soft_labels"].sum(1), torch.ones(8))
    images, targets = next(iter(scope["feed"]))
    assert images.dtype == torch.bfloat16 and images.shape == (8, 3, 48, 48)
    assert images.is_contiguous(memory_format=torch.channels_last)
    assert targets.shape == (8, 1000)
