"""Benchmark of the MS-SSIM diversity score ("The GAN Landscape", Kurach et al. 2019, section 2.4:
5 batches of 64 images, all b(b-1)/2 pairs per batch) at 128 x 128 on the CPU.

Compares
* ``msssim_diversity`` (per-image statistics shared, one filtered product per pair), float64 and
  float32;
* ``ms_ssim`` on all pairs at once (vectorised, but every pair recomputes both images' statistics);
* the naive Python double loop calling ``ms_ssim`` once per pair (pytorch-msssim itself refuses
  128 px: its 11-px window at every scale needs sides > 160).

Prints a markdown table and writes ``bench/results/msssim.json``. Usage::

    python bench/bench_msssim.py [--side 128] [--num-batches 5] [--batch-size 64]
                                 [--naive-batches N] [--threads T]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from ganmetrics.atomic import write_json
from ganmetrics.msssim import ms_ssim, msssim_diversity

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "msssim.json"


def make_images(count: int, side: int, seed: int) -> np.ndarray:
    """uint8 (count, 3, side, side) images with structure at several scales: blurred noise plus a
    shared smooth pattern, so that pairs are neither identical nor independent noise."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0.0, 255.0, size=(count, 3, side + 4, side + 4))
    blurred = sum(noise[:, :, i : i + side, j : j + side] for i in range(5) for j in range(5)) / 25
    ramp = np.linspace(0.0, 255.0, side)[None, None, :, None] * np.ones((1, 3, 1, side))
    return np.clip(np.rint(0.5 * blurred + 0.5 * ramp), 0, 255).astype(np.uint8)


def naive_pair_loop(images: np.ndarray, num_batches: int, batch_size: int) -> list[float]:
    per_batch = []
    for batch_index in range(num_batches):
        batch = torch.from_numpy(images[batch_index * batch_size : (batch_index + 1) * batch_size])
        scores = [
            float(ms_ssim(batch[i : i + 1], batch[j : j + 1])[0])
            for i in range(batch_size)
            for j in range(i + 1, batch_size)
        ]
        per_batch.append(float(np.mean(scores)))
    return per_batch


def all_pairs_at_once(images: np.ndarray, num_batches: int, batch_size: int) -> list[float]:
    first, second = torch.triu_indices(batch_size, batch_size, offset=1)
    per_batch = []
    for batch_index in range(num_batches):
        batch = torch.from_numpy(images[batch_index * batch_size : (batch_index + 1) * batch_size])
        per_batch.append(float(ms_ssim(batch[first], batch[second]).mean()))
    return per_batch


def timed(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=128)
    parser.add_argument("--num-batches", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--naive-batches",
        type=int,
        default=None,
        help="batches for the slow per-pair loop (default: all); its time is scaled up",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    num_batches, batch_size = args.num_batches, args.batch_size
    naive_batches = min(args.naive_batches or num_batches, num_batches)
    images = make_images(num_batches * batch_size, args.side, args.seed)
    pairs_per_batch = batch_size * (batch_size - 1) // 2
    total_pairs = num_batches * pairs_per_batch
    load_before = os.getloadavg()

    rows = []
    shared64, seconds = timed(msssim_diversity, images, num_batches, batch_size)
    rows.append(("msssim_diversity (shared statistics, float64)", total_pairs, seconds,
                 shared64.score, list(shared64.per_batch)))  # fmt: skip
    shared32, seconds = timed(
        lambda: msssim_diversity(images, num_batches, batch_size, dtype=torch.float32)
    )
    rows.append(("msssim_diversity (shared statistics, float32)", total_pairs, seconds,
                 shared32.score, list(shared32.per_batch)))  # fmt: skip
    gathered, seconds = timed(all_pairs_at_once, images, num_batches, batch_size)
    rows.append(("ms_ssim on all pairs at once (no sharing, float64)", total_pairs, seconds,
                 float(np.mean(gathered)), gathered))  # fmt: skip
    naive, seconds = timed(naive_pair_loop, images, naive_batches, batch_size)
    naive_pairs = naive_batches * pairs_per_batch
    rows.append(("naive loop, ms_ssim per pair (float64)", naive_pairs, seconds,
                 float(np.mean(naive)), naive))  # fmt: skip

    naive_seconds_per_pair = rows[-1][2] / naive_pairs
    header = (
        f"MS-SSIM diversity, {num_batches} x {batch_size} images of {args.side}x{args.side}, "
        f"CPU, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average before {load_before[0]:.1f}"
    )
    print(header)
    print()
    print("| method | pairs | seconds | pairs / s | speed-up vs naive | score |")
    print("|---|---:|---:|---:|---:|---:|")
    records = []
    for name, pairs, seconds, score, per_batch in rows:
        speedup = naive_seconds_per_pair * pairs / seconds
        print(
            f"| {name} | {pairs} | {seconds:.2f} | {pairs / seconds:.0f} | {speedup:.1f}x | "
            f"{score:.6f} |"
        )
        records.append(
            {
                "method": name,
                "pairs": pairs,
                "seconds": seconds,
                "pairs_per_second": pairs / seconds,
                "speedup_vs_naive": speedup,
                "score": score,
                "per_batch": per_batch,
            }
        )
    max_diff_naive = max(
        abs(a - b) for a, b in zip(shared64.per_batch[:naive_batches], naive, strict=True)
    )
    max_diff_float32 = abs(shared64.score - shared32.score)
    print()
    print(f"max |per-batch difference| shared float64 vs naive loop: {max_diff_naive:.2e}")
    print(f"|score difference| float64 vs float32: {max_diff_float32:.2e}")
    write_json(
        RESULTS_PATH,
        {
            "benchmark": "msssim_diversity",
            "side": args.side,
            "num_batches": num_batches,
            "batch_size": batch_size,
            "naive_batches": naive_batches,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_before": list(load_before),
            "load_average_after": list(os.getloadavg()),
            "max_per_batch_difference_vs_naive": max_diff_naive,
            "score_difference_float32": max_diff_float32,
            "results": records,
        },
    )
    print(f"wrote {RESULTS_PATH}")


if __name__ == "__main__":
    main()
