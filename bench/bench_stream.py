"""``ganmetrics.Stream``: its overhead over a bare forward pass, its memory at 50k images, and what
a loop's reduced-precision setting does to torchmetrics' FID and to ours.

1. Overhead: the same float batches in [-1, 1] (a tanh generator's output) through
   ``Stream.update`` (range check, exact ×255 mapping, rebatching, features kept on the device)
   vs the extractor's bare ``features_of_batches`` on the already converted uint8 batches,
   alternating the two ``--repeats`` times and keeping each one's best.
2. Memory at ``--memory-images`` (default 50k): the stream fed 2048-d features without a network
   (a stand-in extractor returns seeded random pool3/logits rows, so only the stream's own
   bookkeeping is measured), per-image mode (FID/KID/PRC, and with IS logits) vs
   ``fid_only_sums``; the resident-set growth of the process and the bytes the stream holds.
3. Precision: FID on the same uint8 images and weights file by torchmetrics'
   ``FrechetInceptionDistance`` and by ``ganmetrics.adapters.torchmetrics.FID``, once with the
   default float32 arithmetic and once after the "loop" lowered it (``--loop-precision``: on the
   CPU ``set_float32_matmul_precision("medium")`` with oneDNN's ``bf16`` fp32 mode, the CPU's
   counterpart of TF32; on CUDA ``allow_tf32`` for cuDNN and cuBLAS).

    python bench/bench_stream.py --num 64 --size 32 --json stream.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
import torch

from ganmetrics.features import FeatureExtractor
from ganmetrics.inception import calibration_images, make_random_inception_weights
from ganmetrics.stream import Stream


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def weights_path(workdir: str) -> str:
    path = os.environ.get("GANMETRICS_INCEPTION_WEIGHTS")
    if path:
        return path
    path = os.path.join(workdir, "random-inception.pth")
    if not os.path.exists(path):
        make_random_inception_weights(path, seed=1234)
    return path


def measure_overhead(weights: str, args) -> dict:
    device = args.device
    extractor = FeatureExtractor(weights, device=device, batch_size=args.batch, num_workers=0)
    uint8 = calibration_images(args.num, args.size, seed=5)
    floats = torch.from_numpy(uint8).to(device).float() / 127.5 - 1.0
    batches = [floats[i : i + args.batch] for i in range(0, args.num, args.batch)]
    converted = [torch.round((b.double() + 1) * 127.5).to(torch.uint8) for b in batches]

    def bare():
        return [p for p, _ in extractor.features_of_batches(converted)]

    def streamed():
        stream = Stream(("fid",), value_range=(-1, 1), extractor=extractor, device=device)
        for batch in batches:
            stream.update(batch)
        return stream

    bare(), streamed()  # warm-up: allocations, cuDNN plans
    best = {f"{name}_{clock}": float("inf") for name in ("bare", "stream")
            for clock in ("wall_s", "cpu_s")}  # fmt: skip
    for _ in range(args.repeats):
        for name, function in (("bare", bare), ("stream", streamed)):
            wall, cpu = time.perf_counter(), time.process_time()
            function()
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            best[f"{name}_wall_s"] = min(best[f"{name}_wall_s"], time.perf_counter() - wall)
            best[f"{name}_cpu_s"] = min(best[f"{name}_cpu_s"], time.process_time() - cpu)
    # on a shared CPU the process time is the fairer clock; on CUDA the wall clock
    clock = "wall_s" if device.startswith("cuda") else "cpu_s"
    return {"images": args.num, "size": args.size, "batch": args.batch, "device": device,
            **best, "overhead": best[f"stream_{clock}"] / best[f"bare_{clock}"] - 1,
            "overhead_clock": clock}  # fmt: skip


class _RandomFeatures:
    """A stand-in extractor: seeded random 2048-d pool3 and 1008-d logits, no network."""

    batch_size, num_workers, device = 256, 0, torch.device("cpu")

    def __init__(self):
        self.generator = np.random.default_rng(0)

    def describe(self) -> dict:
        return {"weights_sha256": "random-features", "standard_weights": False,
                "precision": "float32-exact", "network": "none", "device": "cpu"}  # fmt: skip

    def features_of_batches(self, batches):
        for batch in batches:
            n = len(batch)
            yield (self.generator.standard_normal((n, 2048), dtype=np.float32),
                   self.generator.standard_normal((n, 1008), dtype=np.float32))  # fmt: skip


def measure_memory(args) -> dict:
    rows = {}
    batch = torch.zeros(256, 3, 8, 8, dtype=torch.uint8)
    for name, metrics, sums in (("features (fid, kid, prc)", ("fid", "kid", "prc"), False),
                                ("features + IS logits", ("fid", "is", "kid"), False),
                                ("fid_only_sums", ("fid",), True)):  # fmt: skip
        before = rss_bytes()
        started = time.perf_counter()
        stream = Stream(metrics, extractor=_RandomFeatures(), fid_only_sums=sums)
        for start in range(0, args.memory_images, len(batch)):
            stream.update(batch[: args.memory_images - start])
        seconds = time.perf_counter() - started
        side = stream._sides["fake"]
        held = sum(t.numel() * t.element_size() for t in side.rows + (side.sums or []))
        rows[name] = {"images": len(stream), "held_MB": held / 2**20,
                      "rss_growth_MB": (rss_bytes() - before) / 2**20,
                      "update_s": seconds}  # fmt: skip
        del stream, side
    return rows


def _lowered_precision(device: str):
    """What a loop may leave behind: TF32 on CUDA, bf16 matmuls and convolutions on the CPU."""
    torch.set_float32_matmul_precision("medium")
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        for owner in (torch.backends.mkldnn.matmul, torch.backends.mkldnn.conv):
            owner.fp32_precision = "bf16"


def _default_precision(device: str):
    torch.set_float32_matmul_precision("highest")
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    else:
        for owner in (torch.backends.mkldnn.matmul, torch.backends.mkldnn.conv):
            owner.fp32_precision = "ieee"


def measure_precision(weights: str, args) -> dict:
    from torchmetrics.image.fid import FrechetInceptionDistance

    from ganmetrics.adapters.torchmetrics import FID

    real = torch.from_numpy(calibration_images(args.precision_images, args.size, seed=7))
    fake = torch.from_numpy(calibration_images(args.precision_images, args.size, seed=8))
    found = {}
    for setting, apply in (("float32", _default_precision), ("lowered", _lowered_precision)):
        apply(args.device)
        theirs = FrechetInceptionDistance(feature_extractor_weights_path=weights, antialias=False)
        theirs = theirs.to(args.device)
        theirs.update(real.to(args.device), real=True)
        theirs.update(fake.to(args.device), real=False)
        ours = FID(inception_weights=weights, device=args.device, batch_size=args.batch)
        ours.update(real.to(args.device), real=True)
        ours.update(fake.to(args.device))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found[setting] = {"torchmetrics": float(theirs.compute()),
                              "ganmetrics": float(ours.compute())}  # fmt: skip
    _default_precision(args.device)
    base, low = found["float32"], found["lowered"]
    return {**found, "images": args.precision_images,
            "torchmetrics_change": low["torchmetrics"] / base["torchmetrics"] - 1,
            "ganmetrics_change": low["ganmetrics"] / base["ganmetrics"] - 1,
            "agreement_float32": base["ganmetrics"] / base["torchmetrics"] - 1}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-images", type=int, default=50_000)
    parser.add_argument("--precision-images", type=int, default=32)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--stages", default="overhead,memory,precision")
    parser.add_argument("--workdir", default="/tmp")
    parser.add_argument("--json")
    args = parser.parse_args()
    weights = weights_path(args.workdir)
    results = {"machine": {"platform": platform.platform(), "torch": torch.__version__,
                           "threads": torch.get_num_threads(), "device": args.device}}  # fmt: skip
    stages = {"overhead": lambda: measure_overhead(weights, args),
              "memory": lambda: measure_memory(args),
              "precision": lambda: measure_precision(weights, args)}  # fmt: skip
    for name in args.stages.split(","):
        results[name] = stages[name]()
        print(json.dumps({name: results[name]}, indent=1), flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
