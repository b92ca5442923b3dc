"""``ganmetrics-train``: train, export and sweep the GANs of "The GAN Landscape".

A thin layer over :mod:`ganmetrics_train.train`, :mod:`ganmetrics_train.sweep` and
:mod:`ganmetrics_train.config`. Bad input (an unknown name, a missing data folder, an existing
output folder) prints one line on stderr and exits with code 2; a diverged run prints one line and
exits with code 1; any other failure exits with code 1.

Examples::

    ganmetrics-train run --arch resnet19 --norm ln --loss ns --penalty gp --lambda 10 \\
        --lr 2e-4 --beta1 0.5 --beta2 0.999 --n-disc 5 --dataset celeba-hq-128 \\
        --data-dir data/celeba-hq-128 --out runs/x
    ganmetrics-train run --preset sndcgan-cifar10-sn --data-dir data/cifar10 --out runs/sn
    ganmetrics-train run --out runs/sn --resume
    ganmetrics-train export runs/sn -o sn.pt --best
    ganmetrics-train sweep --arch sndcgan --dataset cifar10 --data-dir data/cifar10 \\
        --norm sn --grid table1a --seeds 5 --out runs/sweep
    ganmetrics-train presets
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import yaml

from ganmetrics.errors import InputError
from ganmetrics_train.config import (
    ABLATIONS,
    ARCHITECTURES,
    D_NORMALIZATIONS,
    DATASETS,
    G_NORMALIZATIONS,
    LOSSES,
    PENALTIES,
    PRESETS,
    build_config,
    load_config_file,
    load_run_config,
    normalize_overrides,
)

_NAMES = {
    "arch": ARCHITECTURES,
    "loss": LOSSES,
    "penalty": PENALTIES,
    "norm": D_NORMALIZATIONS,
    "g_norm": G_NORMALIZATIONS,
    "dataset": DATASETS,
}


def _options(options: list[Callable]) -> Callable:
    def decorate(function: Callable) -> Callable:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


_MODEL_OPTIONS = [
    click.option("--arch", help=f"Architecture: {', '.join(ARCHITECTURES)}."),
    click.option("--loss", help=f"Loss (section 2.1): {', '.join(LOSSES)}."),
    click.option("--penalty", help=f"Discriminator penalty: {', '.join(PENALTIES)}."),
    click.option("--norm", help=f"Discriminator normalization: {', '.join(D_NORMALIZATIONS)}."),
    click.option("--g-norm", help="Generator normalization (default bn; wn when --norm wn)."),
    click.option(
        "--ablations",
        help=f"ResNet ablations (Appendix D), comma-separated: {', '.join(ABLATIONS)}.",
    ),
    click.option("--dataset", help=f"Data set: {', '.join(DATASETS)}."),
    click.option("--data-dir", help="Folder of the data set."),
    click.option(
        "--dataset-option",
        "dataset_option",
        multiple=True,
        metavar="KEY=VALUE",
        help="Extra data set option, e.g. num_images=512 (procedural). Repeatable.",
    ),
    click.option("--image-size", type=int, help="Image side (derived from the data set)."),
    click.option("--batch-size", type=int, help="Batch size (64 in the study)."),
    click.option("--z-dim", type=int, help="Latent dimension (128)."),
    click.option("--steps", type=int, help="Discriminator steps (200K CIFAR10, 100K others)."),
]
_HYPER_OPTIONS = [
    click.option("--lambda", "lambda_", type=float, help="Penalty strength lambda (Table 1)."),
    click.option("--lr", type=float, help="Adam learning rate for G and D (Table 1)."),
    click.option("--beta1", type=float, help="Adam beta1 (Table 1)."),
    click.option("--beta2", type=float, help="Adam beta2 (Table 1)."),
    click.option("--n-disc", type=int, help="Discriminator steps per generator step (Table 1)."),
    click.option("--seed", type=int, help="Seed of weights, data order and noise."),
]
_RUNTIME_OPTIONS = [
    click.option(
        "--eval-every", type=int, help="Evaluate every N steps and at the end (0: never)."
    ),
    click.option("--eval-num-real", type=int, help="Test images for FID (protocol count)."),
    click.option("--eval-num-fake", type=int, help="Generated images for FID (protocol count)."),
    click.option("--eval-metrics", help="Comma-separated: fid,is,kid,msssim."),
    click.option("--checkpoint-every", type=int, help="Checkpoint every N steps."),
    click.option("--keep-checkpoints", type=int, help="Periodic checkpoints to keep (3)."),
    click.option(
        "--deterministic/--no-deterministic",
        default=None,
        help="torch.use_deterministic_algorithms(True).",
    ),
    click.option("--device", help="cpu, cuda, cuda:N or auto."),
    click.option("--amp-bf16/--no-amp-bf16", default=None, help="bf16 autocast (CUDA only)."),
    click.option(
        "--compile/--no-compile", "compile_", default=None, help="torch.compile (CUDA only)."
    ),
    click.option("--ema-decay", type=float, help="EMA of G's weights (off by default)."),
    click.option("--ema-start-step", type=int, help="Step from which the EMA averages."),
    click.option("--num-workers", type=int, help="Data loading worker processes."),
    click.option("--log-every", type=int, help="TensorBoard scalars every N steps."),
    click.option("--sample-every", type=int, help="Sample grid every N steps (0: off)."),
    click.option("--num-samples", type=int, help="Images in a sample grid (64)."),
]


def _collect_overrides(values: dict[str, Any]) -> dict[str, Any]:
    """Only the flags the user gave (click passes None for the others)."""
    overrides: dict[str, Any] = {}
    for key, value in values.items():
        if value is None or (key == "dataset_option" and not value):
            continue
        if key == "compile_":
            overrides["compile"] = value
        elif key == "dataset_option":
            options = {}
            for item in value:
                if "=" not in item:
                    raise InputError(f"--dataset-option {item!r}: expected KEY=VALUE")
                name, raw = item.split("=", 1)
                options[name.strip()] = yaml.safe_load(raw)
            overrides["dataset_options"] = options
        else:
            overrides[key] = value
    for key, allowed in _NAMES.items():
        if key in overrides and overrides[key] not in allowed:
            flag = "--" + key.replace("_", "-")
            raise InputError(
                f"{flag} {overrides[key]!r}: unknown; choose one of {', '.join(allowed)}"
            )
    return overrides


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def cli() -> None:
    """Train, export and sweep the GANs of "The GAN Landscape" (Kurach, Lucic et al. 2019)."""


@cli.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="YAML file of settings (flags override it).",
)
@click.option("--preset", help="A best setting of Tables 7-9 (see `ganmetrics-train presets`).")
@_options(_MODEL_OPTIONS + _HYPER_OPTIONS + _RUNTIME_OPTIONS)
@click.option("--out", help="Run folder (checkpoints, samples, scores.jsonl, TensorBoard).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--overwrite", is_flag=True, help="Delete the run in --out and start over.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(config_file, preset, out, resume, overwrite, quiet, **flags) -> None:
    """Train one model (resumable)."""
    from ganmetrics_train.train import train

    overrides = _collect_overrides(flags)
    if out is not None:
        overrides["out"] = out
    stored = None
    if resume:
        run_dir = overrides.get("out") or (
            load_config_file(config_file).get("out") if config_file else None
        )
        if run_dir and (Path(run_dir) / "config.json").is_file():
            stored = load_run_config(run_dir)
    config = build_config(preset=preset, config_file=config_file, overrides=overrides, base=stored)
    result = train(config, resume=resume, overwrite=overwrite, progress=not quiet)
    summary = {
        "run_dir": str(result.run_dir),
        "step": result.step,
        "config_hash": result.config_hash,
        "metrics": (result.last_scores or {}).get("metrics"),
        "best_fid": result.best_fid,
        "best_step": result.best_step,
        "generator": str(result.generator_path),
    }
    click.echo(json.dumps(summary))


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Where to write the export (default RUN_DIR/generator.pt).",
)
@click.option(
    "--best",
    is_flag=True,
    help="Export best.pt (lowest FID) instead of the latest checkpoint; written to "
    "best_generator.pt unless -o is given.",
)
def export(run_dir: str, output: str | None, best: bool) -> None:
    """Write the generator of RUN_DIR in the ganmetrics.generator/1 format."""
    from ganmetrics_train.checkpoint import export_generator

    click.echo(str(export_generator(run_dir, output, best=best)))


@cli.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="YAML file of the fixed settings (flags override it).",
)
@_options(_MODEL_OPTIONS + _RUNTIME_OPTIONS)
@click.option(
    "--grid",
    default="table1a",
    show_default=True,
    help="table1a (Table 1a cross product) or random:N (N draws from Table 1b).",
)
@click.option("--seeds", type=int, default=5, show_default=True, help="Seeds per setting.")
@click.option(
    "--sampler-seed", type=int, default=0, show_default=True, help="Seed of the random:N sampler."
)
@click.option("--out", required=True, help="Sweep folder: OUT/<setting>/seed<k>/.")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Run locally or as Ray remote tasks (needs ray).",
)
@click.option(
    "--max-parallel",
    type=int,
    default=1,
    show_default=True,
    help="Runs at the same time (local: processes).",
)
@click.option(
    "--gpus-per-run",
    type=float,
    default=0.0,
    show_default=True,
    help="GPUs each Ray task reserves.",
)
@click.option("--dry-run", is_flag=True, help="List the runs without training.")
def sweep(
    config_file,
    grid,
    seeds,
    sampler_seed,
    out,
    engine,
    max_parallel,
    gpus_per_run,
    dry_run,
    **flags,
) -> None:
    """Train every setting of Table 1a (or random Table 1b draws) with several seeds."""
    from ganmetrics_train import sweep as sweep_lib

    base: dict[str, Any] = {}
    if config_file is not None:
        base.update(load_config_file(config_file))
    base.update(normalize_overrides(_collect_overrides(flags), "sweep"))
    for key in ("lr", "beta1", "beta2", "n_disc", "lambda_", "seed", "out"):
        base.pop(key, None)
    if dry_run:
        runs = sweep_lib.expand_sweep(base, grid, seeds, out, sampler_seed)
        for item in runs:
            click.echo(f"{item.run_dir}\t{json.dumps(item.setting.values)}")
        click.echo(f"{len(runs)} runs ({len(runs) // seeds} settings x {seeds} seeds)")
        return
    _, markdown = sweep_lib.sweep(
        base,
        grid,
        seeds,
        out,
        engine=engine,
        max_parallel=max_parallel,
        sampler_seed=sampler_seed,
        progress=False,
        gpus_per_run=gpus_per_run,
    )
    click.echo(markdown)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the presets as JSON.")
def presets(as_json: bool) -> None:
    """List the paper's best settings (Tables 7-9) usable as `run --preset NAME`."""
    if as_json:
        click.echo(
            json.dumps(
                {
                    name: {
                        "table": p.table,
                        "median_fid": p.median_fid,
                        "best_fid": p.best_fid,
                        **p.settings,
                    }
                    for name, p in PRESETS.items()
                },
                indent=2,
            )
        )
        return
    header = (
        f"{'NAME':34} {'TABLE':8} {'MEDIAN':>7} {'BEST':>7} {'LR':>7} {'B1':>4} {'B2':>6} "
        f"{'NDIS':>4} {'LAMBDA':>6} NORM/PENALTY"
    )
    click.echo(header)
    for name, p in PRESETS.items():
        s = p.settings
        best = "-" if p.best_fid is None else f"{p.best_fid:.2f}"
        lam = "-" if s["lambda_"] is None else f"{s['lambda_']:g}"
        click.echo(
            f"{name:34} {p.table:8} {p.median_fid:7.2f} {best:>7} {s['lr']:7.4f} {s['beta1']:4.1f} "
            f"{s['beta2']:6.3f} {s['n_disc']:4d} {lam:>6} {s['norm']}/{s['penalty']}"
        )
    click.echo("All presets use the non-saturating loss; steps follow section 2.6 of the paper.")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn errors into one-line messages and exit codes."""
    from ganmetrics_train.train import TrainingDiverged

    try:
        cli.main(args=argv, prog_name="ganmetrics-train", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        return InputError.exit_code
    except TrainingDiverged as exc:
        click.echo(f"error: {exc}", err=True)
        return TrainingDiverged.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted; resume with --resume", err=True)
        return 130
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
