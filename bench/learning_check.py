"""The learning stage of ``bench/gpu_check.sh`` (issue 13): the trainer shown to learn at GPU speed.

SNDCGAN (Table 3 of "The GAN Landscape", Kurach, Lucic et al. 2019), non-saturating loss, spectral
norm in D, Adam lr 2e-4, beta 0.5/0.999, n_disc 1, batch 64, on the built-in procedural set at
32 px with the whole training set resident on the device (no image crosses from the host per step).
At a few points it writes a sample grid (PNG) and the procedural judge's scores
(:func:`ganmetrics.judge_procedural`: quality, modes, coverage), and stops before a point that
the rate so far says would end past ``--limit`` seconds of training (100 s in the GPU check).
``--cpu`` (the smoke run) trains a few steps at 16 px with the test-only width 0.25, to check the
script, not to measure.

    python bench/learning_check.py --out bench/results/learning
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from ganmetrics_train.config import build_config
from ganmetrics_train.data import TrainingBatches
from ganmetrics_train.evaluation import judge_metrics
from ganmetrics_train.run_logging import image_grid, save_png
from ganmetrics_train.train import Trainer, derive_seed

#: Steps at which the GPU run judges its samples and writes a grid.
GPU_POINTS = (0, 250, 500, 1000, 2000, 3000, 4000, 6000, 8000)
CPU_POINTS = (0, 2, 4)


def learning_stage(device: str, out: Path, limit: float, cpu: bool) -> dict:
    """Train, judge at :data:`GPU_POINTS` (or :data:`CPU_POINTS`) until ``limit`` seconds."""
    points = CPU_POINTS if cpu else GPU_POINTS
    settings = {
        "arch": "sndcgan",
        "loss": "ns",
        "norm": "sn",
        "dataset": "procedural",
        "image_size": 16 if cpu else 32,
        "dataset_options": {"num_images": 512} if cpu else {},
        "batch_size": 8 if cpu else 64,
        "lr": 2e-4,
        "beta1": 0.5,
        "beta2": 0.999,
        "n_disc": 1,
        "seed": 0,
        "steps": points[-1],
        "eval_every": 0,
        "checkpoint_every": 0,
        "sample_every": 0,
        "log_every": 50,
        "device": device,
        **({"width": 0.25} if cpu else {}),
    }
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="learning-check-") as scratch:
        config = build_config(overrides={**settings, "out": str(Path(scratch) / "run")})
        trainer = Trainer(config, progress=False, tensorboard=False, announce=False)
        try:
            trainer.batches.close()
            trainer.batches = TrainingBatches(
                trainer.train_source,
                config.batch_size,
                seed=derive_seed(config.seed, "data"),
                device=trainer.device,
            )
            return _train_and_judge(trainer, points, out, limit, settings)
        finally:
            trainer.close()


def _train_and_judge(trainer: Trainer, points, out: Path, limit: float, settings: dict) -> dict:
    started = time.perf_counter()
    judged = []
    for point in points:
        elapsed = time.perf_counter() - started
        if trainer.step and elapsed * point / trainer.step > limit:
            break  # the next point would end past the limit at the rate so far
        trainer.run(point)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize(trainer.device)
        elapsed = time.perf_counter() - started
        scores = judge_metrics(trainer.config, trainer.sampling_generator())
        grid = out / f"samples_step_{point:05d}.png"
        save_png(grid, image_grid(trainer.generate(trainer.sample_z[:64])))
        judged.append({"step": point, "train_s": round(elapsed, 2), **scores, "grid": grid.name})
        print(json.dumps(judged[-1]), file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    return {
        "settings": {k: v for k, v in settings.items() if k != "device"},
        "judged": judged,
        "steps": trainer.step,
        "seconds": round(seconds, 2),
        "steps_per_s": round(trainer.step / max(seconds, 1e-9), 2),
    }


def markdown(result: dict) -> str:
    rows = [
        f"| {j['step']} | {j['train_s']:.1f} | {j['judge_quality']:.3f} | {j['judge_modes']} | "
        f"{j['judge_coverage']:.3f} | {j['grid']} |"
        for j in result.get("judged", [])
    ]
    size = result.get("settings", {}).get("image_size")
    return "\n".join(
        [
            f"Learning (SNDCGAN NS+SN, procedural {size} px, data on the device): "
            f"{result.get('steps')} D steps in {result.get('seconds')} s",
            "",
            "| step | s | judge quality | modes | coverage | grid |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="a few tiny steps on the CPU (smoke)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/learning"))
    parser.add_argument("--limit", type=float, default=100.0, help="seconds of training")
    args = parser.parse_args(argv)
    device = "cpu" if args.cpu or not torch.cuda.is_available() else "cuda"
    result = learning_stage(device, args.out, args.limit, cpu=device == "cpu")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
