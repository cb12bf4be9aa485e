"""The verdict of the feeding check: a pure function of the four measured rates, in plain words."""

from __future__ import annotations

import math
import os

__all__ = ["WAIT_THRESHOLD", "verdict"]

# The model waits for data less than this fraction of its step: "not input-bound" (timing noise and the
# loader's own small overheads make a few percent indistinguishable from zero).
WAIT_THRESHOLD = 0.05


def verdict(loader_ips: float, model_ips: float, full_ips: float, *, augment_ips: float | None = None,
            device: str = "cpu", aug_where: str = "device", workers: int = 0, cpu_count: int | None = None,
            gpu_available: bool = False, threshold: float = WAIT_THRESHOLD) -> dict:
    """Plain-words diagnosis of four throughputs (images per second).

    ``wait_fraction`` = share of the full loop's step time spent beyond the model's own step,
    ``1 - full_ips / model_ips`` (clipped at 0): the time the model waits for data. Input-bound when it
    exceeds ``threshold``. ``aug_where``: ``"device"`` (augmentation in the training process, on
    ``device``), ``"workers"`` (in DataLoader workers, host fallback). Returns ``{"input_bound",
    "wait_fraction", "headline", "advice": [...]}``.
    """
    for name, v in (("loader_ips", loader_ips), ("model_ips", model_ips), ("full_ips", full_ips)):
        if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
            raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    cpu_count = cpu_count or os.cpu_count() or 1
    wait = max(0.0, 1.0 - full_ips / model_ips)
    bound = wait > threshold
    ratio = loader_ips / model_ips
    advice: list[str] = []
    if bound:
        headline = (f"INPUT-BOUND: the model waits for data {wait:.0%} of the step "
                    f"({full_ips:,.0f} img/s in the loop, {model_ips:,.0f} img/s if data were free).")
    else:
        headline = (f"NOT INPUT-BOUND: the model waits for data {wait:.0%} of the step; the input pipeline "
                    f"delivers {ratio:.1f}x what the model consumes "
                    f"({loader_ips:,.0f} vs {model_ips:,.0f} img/s).")
    aug_share = None
    if augment_ips:
        aug_share = model_ips / augment_ips  # augmentation time per batch over model time per batch
    if bound:
        if ratio < 1.0:
            advice.append(f"The input pipeline alone delivers {loader_ips:,.0f} img/s, "
                          f"{1 / ratio:.1f}x too slow for the model ({model_ips:,.0f} img/s).")
            want = min(cpu_count, max(workers + 1, math.ceil(max(workers, 1) / max(ratio, 1e-6))))
            if aug_where == "device" and augment_ips and augment_ips < model_ips:
                advice.append(f"Augmentation itself runs at {augment_ips:,.0f} img/s: lighten the policy "
                              "(e.g. --policy rand-m9-n1) or use the Triton backend on a GPU.")
            if aug_where == "workers":
                advice.append("The DataLoader workers (decode + augmentation on the CPU) are the limit"
                              + (f": raise --workers to {want} ({cpu_count} CPU cores here)"
                                 if workers < cpu_count else ", and every core already runs one") + ".")
                if gpu_available:
                    advice.append("Move augmentation to the GPU: --device cuda (gpuaug.loader.DeviceLoader "
                                  "augments whole batches there).")
                else:
                    advice.append("On a GPU machine, augmentation moves to the GPU "
                                  "(gpuaug.loader.DeviceLoader) and the workers only decode.")
            elif not (augment_ips and augment_ips < model_ips):
                if workers < cpu_count:
                    advice.append(f"Decoding/collating in the DataLoader is the limit: raise the workers "
                                  f"(--workers {want}; this machine has {cpu_count} CPU cores).")
                else:
                    advice.append("All CPU cores already load data: store images pre-resized (smaller JPEGs, "
                                  "uint8 arrays) or decode on the GPU.")
        else:
            advice.append(f"Loading alone ({loader_ips:,.0f} img/s) and the model alone "
                          f"({model_ips:,.0f} img/s) are each fast enough, but they do not overlap: they "
                          "compete for the same resources.")
            if device == "cpu":
                advice.append("On the CPU, loading and training share the cores: "
                              + ("use --workers 1 or more so loading runs beside the step, " if workers == 0
                                 else "")
                              + ("or train on a GPU (--device cuda)." if gpu_available
                                 else "a GPU would take the model off the CPU."))
            else:
                advice.append("Check that the DataLoader uses pin_memory=True and enough workers, and that "
                              "nothing in the step synchronizes with the host before the next batch is "
                              "queued.")
    else:
        if ratio < 1.5:
            advice.append(f"Headroom is thin ({ratio:.1f}x): a faster model or GPU would make the step wait; "
                          "keep --workers high enough.")
        advice.append("Nothing to change on the input side; to go faster, speed up the model step "
                      "(larger batch, bf16, channels_last, torch.compile).")
    if aug_share is not None and aug_where == "device":
        advice.append(f"Augmentation costs {aug_share:.0%} of a model step's time on {device}.")
    return {"input_bound": bound, "wait_fraction": round(wait, 4), "loader_over_model": round(ratio, 3),
            "augment_over_model_time": None if aug_share is None else round(aug_share, 4),
            "headline": headline, "advice": advice}
