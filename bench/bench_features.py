"""Feature extraction and end-to-end FID against torch-fidelity, measured in the same run.

1. Features: images/s of ganmetrics' extractor vs torch-fidelity's ``FeatureExtractorInceptionV3``
   on the same uint8 batches and the same weights, and the largest absolute pool3 difference
   (also both against a float64 forward pass, to show what float32 rounding alone costs).
2. End to end: ``ganmetrics fid`` on two image folders vs ``fidelity --fid`` (torch-fidelity's
   CLI), cold, then ganmetrics again with a warm feature cache.

Weights: ``$GANMETRICS_INCEPTION_WEIGHTS`` if set (use the standard file for reportable numbers),
else seeded random weights (same architecture and cost, so speed ratios carry over).

    python bench/bench_features.py --num 512 --size 32
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganmetrics.features import FastInception, FeatureExtractor
from ganmetrics.inception import (
    build_torch_fidelity_inception,
    calibration_images,
    make_random_inception_weights,
)
from ganmetrics.sources import ArraySource


def timed(function, repeats: int = 1) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def torch_fidelity_features(model, images: np.ndarray, batch_size: int) -> np.ndarray:
    outputs = []
    with torch.no_grad():  # what torch-fidelity's own extraction loop uses
        for start in range(0, len(images), batch_size):
            pool3, _ = model(torch.from_numpy(images[start : start + batch_size]))
            outputs.append(pool3.numpy())
    return np.concatenate(outputs)


def write_folder(folder: Path, images: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        Image.fromarray(image.transpose(1, 2, 0)).save(folder / f"{index:05d}.png")


def run_cli(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=512, help="images per set")
    parser.add_argument("--size", type=int, default=32, help="image side (32: CIFAR-10)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--skip-cli", action="store_true", help="no end-to-end CLI runs")
    parser.add_argument("--skip-features", action="store_true", help="no in-process feature runs")
    parser.add_argument(
        "--skip-peer-cli",
        action="store_true",
        help="end to end: only ganmetrics cold vs warm (for large --num)",
    )
    parser.add_argument("--out", default="bench/results/features.json")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ganmetrics-bench-"))
    weights = os.environ.get("GANMETRICS_INCEPTION_WEIGHTS")
    if not weights:
        weights = str(make_random_inception_weights(workdir / "random.pth", seed=0))
    images = calibration_images(args.num, args.size, seed=3)

    results: dict = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "num_images": args.num,
        "image_size": args.size,
    }
    if not args.skip_features:
        results["features"] = measure_features(weights, images, args.batch_size)

    if not args.skip_cli:
        results["end_to_end"] = measure_cli(workdir, weights, images, args.num, args.size,
                                            with_peer=not args.skip_peer_cli)  # fmt: skip
    report(results, args)


def measure_features(weights: str, images: np.ndarray, batch_size: int) -> dict:
    reference = build_torch_fidelity_inception(weights)
    extractor = FeatureExtractor(weights, device="cpu", batch_size=batch_size, num_workers=0)
    warm = images[:batch_size]
    torch_fidelity_features(reference, warm, batch_size)
    extractor.extract(ArraySource(warm))
    num = len(images)
    t_theirs, theirs = timed(lambda: torch_fidelity_features(reference, images, batch_size))
    t_ours, ours = timed(lambda: extractor.extract(ArraySource(images)).pool3)
    exact = FastInception(reference, torch.float64).eval()
    with torch.inference_mode():
        truth = torch.cat([exact(torch.from_numpy(images[i : i + 64]))[0]
                           for i in range(0, min(len(images), 128), 64)]).numpy()  # fmt: skip
    probe = len(truth)
    return {
        "torch_fidelity_images_per_s": num / t_theirs,
        "ganmetrics_images_per_s": num / t_ours,
        "speedup": t_theirs / t_ours,
        "max_abs_diff_vs_torch_fidelity": float(np.abs(ours - theirs).max()),
        "max_abs_pool3": float(np.abs(theirs).max()),
        "max_abs_diff_ours_vs_float64": float(np.abs(ours[:probe] - truth).max()),
        "max_abs_diff_torch_fidelity_vs_float64": float(np.abs(theirs[:probe] - truth).max()),
    }


def measure_cli(workdir: Path, weights: str, images: np.ndarray, num: int, size: int,
                with_peer: bool) -> dict:  # fmt: skip
    real, fake = workdir / "real", workdir / "fake"
    write_folder(real, images)
    write_folder(fake, calibration_images(num, size, seed=4))
    env = dict(os.environ, GANMETRICS_CACHE=str(workdir / "cache"),
               GANMETRICS_INCEPTION_WEIGHTS=weights)  # fmt: skip
    ours_cli = [sys.executable, "-m", "ganmetrics.cli", "fid", "--real", str(real),
                "--fake", str(fake), "--quiet"]  # fmt: skip
    measured: dict = {}
    if with_peer:
        theirs_cli = [sys.executable, "-m", "torch_fidelity.fidelity", "--fid", "--input1",
                      str(fake), "--input2", str(real), "--feature-extractor-weights-path",
                      weights, "--silent", "--cpu", "--no-cache"]  # fmt: skip
        measured["torch_fidelity_cli_s"] = run_cli(theirs_cli, env)
    measured["ganmetrics_cold_s"] = run_cli(ours_cli, env)
    measured["ganmetrics_warm_cache_s"] = run_cli(ours_cli, env)
    measured["warm_vs_cold"] = measured["ganmetrics_cold_s"] / measured["ganmetrics_warm_cache_s"]
    if with_peer:
        measured["speedup_cold_vs_torch_fidelity"] = (
            measured["torch_fidelity_cli_s"] / measured["ganmetrics_cold_s"]
        )
    return measured


def report(results: dict, args: argparse.Namespace) -> None:
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print("| measure | torch-fidelity | ganmetrics | ratio |")
    print("|---|---|---|---|")
    feats = results.get("features")
    if feats:
        print(f"| features, images/s ({args.num} × {args.size}px, CPU) | "
              f"{feats['torch_fidelity_images_per_s']:.2f} | "
              f"{feats['ganmetrics_images_per_s']:.2f} | {feats['speedup']:.2f}× |")  # fmt: skip
        print(f"| max abs pool3 difference | — | {feats['max_abs_diff_vs_torch_fidelity']:.2e} | "
              f"(pool3 up to {feats['max_abs_pool3']:.2f}) |")  # fmt: skip
        print(f"| max abs diff vs float64 forward | "
              f"{feats['max_abs_diff_torch_fidelity_vs_float64']:.2e} | "
              f"{feats['max_abs_diff_ours_vs_float64']:.2e} | |")  # fmt: skip
    e2e = results.get("end_to_end")
    if e2e:
        peer = e2e.get("torch_fidelity_cli_s")
        ratio = e2e.get("speedup_cold_vs_torch_fidelity")
        print(f"| `fid` of two folders of {args.num}, cold (s) | "
              f"{'—' if peer is None else f'{peer:.1f}'} | {e2e['ganmetrics_cold_s']:.1f} | "
              f"{'' if ratio is None else f'{ratio:.2f}×'} |")  # fmt: skip
        print(f"| `fid` again, warm cache (s) | — | {e2e['ganmetrics_warm_cache_s']:.1f} | "
              f"{e2e['warm_vs_cold']:.1f}× faster than cold |")  # fmt: skip


if __name__ == "__main__":
    main()
