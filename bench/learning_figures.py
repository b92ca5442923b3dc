"""The figures of ``docs/learning.md`` from finished (or stopped) runs: curves and sample grids.

For each trainer run folder it re-judges every kept checkpoint with
:func:`ganmetrics_train.evaluation.judge_metrics` (the same fixed z as the run's evaluations, so
one judge version scores every point) and reads FID from ``scores.jsonl``; for the independent loop
(``bench/differential_loop.py --save-samples DIR``) it judges the saved samples. It writes one
curve figure, copies sample grids of a few steps, and prints the numbers as JSON lines::

    python bench/learning_figures.py --run ns=runs/ns --run wgan_gp=runs/wgan \\
        --loop independent=runs/indep_samples --out docs/img --prefix learning
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np

JUDGE_KEYS = ("judge_quality", "judge_modes", "judge_colour_fd")


def judge_run(run_dir: Path) -> list[dict]:
    from ganmetrics_train import checkpoint as ckpt
    from ganmetrics_train.config import load_run_config, resolve_config
    from ganmetrics_train.evaluation import judge_metrics
    from ganmetrics_train.models import build_generator
    from ganmetrics_train.run_logging import read_jsonl

    config = resolve_config(load_run_config(run_dir).replace(device="cpu"))
    fids = {r["step"]: r["metrics"].get("fid") for r in read_jsonl(run_dir / "scores.jsonl")}
    rows = []
    for step, path in ckpt.list_checkpoints(run_dir):
        state = ckpt.load_checkpoint(path)
        generator = build_generator(**state["generator_config"])
        generator.load_state_dict(state.get("generator_ema") or state["generator"])
        rows.append({"step": step, "fid": fids.get(step), **judge_metrics(config, generator)})
    return [_step0(config), *rows]


def _step0(config) -> dict:
    """The untrained generator: the run's seed builds the same initial weights."""
    import torch

    from ganmetrics_train.evaluation import judge_metrics
    from ganmetrics_train.models import build_generator

    torch.manual_seed(config.seed)
    generator = build_generator(
        config.arch, config.image_size, z_dim=config.z_dim, norm=config.g_norm,
        ablations=config.ablations, width=config.width,
    )  # fmt: skip
    return {"step": 0, "fid": None, **judge_metrics(config, generator)}


def judge_loop(folder: Path) -> list[dict]:
    from ganmetrics.datasets.procedural_judge import judge_procedural

    rows = []
    for path in sorted(folder.glob("step_*.npy")):
        scores = judge_procedural(np.load(path))
        rows.append({"step": int(path.stem.split("_")[1]), "fid": None,
                     "judge_quality": scores.quality, "judge_modes": scores.modes,
                     "judge_colour_fd": scores.colour_fd})  # fmt: skip
    return rows


def draw(curves: dict[str, list[dict]], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [("judge_quality", "judge: share in distribution"), ("judge_modes", "judge: modes"),
              ("judge_colour_fd", "judge: colour FD (lower is better)"),
              ("fid", "FID, random Inception weights")]  # fmt: skip
    figure = Figure(figsize=(12, 2.8), dpi=80)
    FigureCanvasAgg(figure)
    for index, (key, title) in enumerate(panels):
        ax = figure.add_subplot(1, len(panels), index + 1)
        for name, rows in curves.items():
            points = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=name)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("D step", fontsize=8)
        ax.tick_params(labelsize=7)
        if key == "fid":
            ax.set_yscale("log")
    figure.axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", default=[], help="NAME=RUN_DIR (trainer)")
    parser.add_argument("--loop", action="append", default=[], help="NAME=SAMPLES_DIR")
    parser.add_argument("--grids", default="", help="NAME:STEP,STEP,...: sample grids to copy")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--prefix", default="learning")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    curves: dict[str, list[dict]] = {}
    runs = dict(item.split("=", 1) for item in args.run)
    for name, folder in runs.items():
        curves[name] = judge_run(Path(folder))
    for item in args.loop:
        name, folder = item.split("=", 1)
        curves[name] = judge_loop(Path(folder))
    for name, rows in curves.items():
        for row in rows:
            print(json.dumps({"run": name, **row}))
    args.out.mkdir(parents=True, exist_ok=True)
    draw(curves, args.out / f"{args.prefix}_curves.png")
    for spec in filter(None, args.grids.split(";")):
        name, steps = spec.split(":")
        for step in steps.split(","):
            source = Path(runs[name]) / "samples" / f"step_{int(step):06d}.png"
            if source.exists():
                shutil.copyfile(source, args.out / f"{args.prefix}_{name}_{int(step):05d}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
