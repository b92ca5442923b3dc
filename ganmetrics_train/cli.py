"""``ganmetrics-train``: train, export, plot and sweep the GANs of "The GAN Landscape".

A thin layer over :mod:`ganmetrics_train.train`, :mod:`ganmetrics_train.sweep` and
:mod:`ganmetrics_train.config`. Bad input (an unknown name, a missing data folder, an existing
output folder) prints one line on stderr and exits with code 2, and so does a CPU run projected
beyond a day without ``--yes`` (:mod:`ganmetrics_train.pace`, after a checkpoint); a diverged run
prints one line and exits with code 1; any other failure exits with code 1. A first SIGINT or
SIGTERM stops a run at a checkpoint and prints the ``--resume`` command, exit code 130 or 143
(:mod:`ganmetrics_train.interrupt`).

Examples::

    ganmetrics-train run --arch resnet19 --norm ln --loss ns --penalty gp --lambda 10 \\
        --lr 2e-4 --beta1 0.5 --beta2 0.999 --n-disc 5 --dataset celeba-hq-128 \\
        --data-dir data/celeba-hq-128 --out runs/x
    ganmetrics-train run --preset sndcgan-cifar10-sn --data-dir data/cifar10 --out runs/sn
    ganmetrics-train run --out runs/sn --resume
    ganmetrics-train export runs/sn --out sn.pt --best
    ganmetrics-train plot runs/sn --out sn.png
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

from ganmetrics.cli import show_warnings_as_lines, usage_error_line
from ganmetrics.errors import InputError
from ganmetrics.metrics import METRICS
from ganmetrics_train import sweep as sweep_lib
from ganmetrics_train.cli_options import out_option, with_default
from ganmetrics_train.config import (
    ABLATIONS,
    ARCHITECTURES,
    D_NORMALIZATIONS,
    DATASETS,
    DISC_CALLS,
    G_NORMALIZATIONS,
    LOSSES,
    PENALTIES,
    PRESETS,
    build_config,
    load_config_file,
    load_run_config,
    normalize_overrides,
    user_facing_names,
)
from ganmetrics_train.study.cli import reproduce_command, study


class _Names(click.Choice):
    """A choice among names owned elsewhere; a wrong one is the one-line error naming the flag."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value in self.choices:
            return value
        flag = param.opts[0] if param is not None else "value"
        raise InputError(f"{flag} {value!r}: unknown; choose one of {', '.join(self.choices)}")


class _Option(click.Option):
    """An option that belongs to a titled section of ``--help``."""

    def __init__(self, *args: Any, section: str = "Options", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.section = section


class _SectionedCommand(click.Command):
    """``--help`` lists the options in sections, in the order they first appear."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                sections.setdefault(getattr(param, "section", "Options"), []).append(record)
        for title, records in sections.items():
            with formatter.section(title):
                formatter.write_dl(records)


def _section(title: str, *options: tuple[tuple[str, ...], dict[str, Any]]) -> list[Callable]:
    return [
        click.option(*decls, cls=_Option, section=title, **with_default(decls, kw))
        for decls, kw in options
    ]


def _options(options: list[Callable]) -> Callable:
    def decorate(function: Callable) -> Callable:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def _key_values(items: tuple[str, ...]) -> dict[str, Any]:
    options = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"--dataset-option {item!r}: expected KEY=VALUE")
        name, raw = item.split("=", 1)
        options[name.strip()] = yaml.safe_load(raw)
    return options


#: Options whose setting is not named like the option: option -> (setting, conversion). Every
#: other option is its setting's user-facing name (``--n-disc`` -> ``n_disc``, ``--lambda`` ->
#: ``lambda``), which :func:`ganmetrics_train.config.normalize_overrides` maps onto the field.
_OPTION_SETTINGS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "dataset_option": ("dataset_options", _key_values),
}


def _collect_overrides(values: dict[str, Any]) -> dict[str, Any]:
    """The settings of the flags the user gave (click passes None or () for the others)."""
    overrides: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or value == ():
            continue
        setting, convert = _OPTION_SETTINGS.get(name, (name, lambda v: v))
        overrides[setting] = convert(value)
    return overrides


_MODEL_OPTIONS = _section(
    "Model (sections 2.1-2.3 of the paper)",
    (("--arch",), {"type": _Names(ARCHITECTURES), "help": "Architecture (Tables 3-6)."}),
    (("--loss",), {"type": _Names(LOSSES), "help": "Loss (section 2.1)."}),
    (("--penalty",), {"type": _Names(PENALTIES), "help": "Discriminator penalty (section 2.2)."}),
    (("--norm",), {"type": _Names(D_NORMALIZATIONS), "help": "Discriminator normalization."}),
    (
        ("--g-norm",),
        {
            "type": _Names(G_NORMALIZATIONS),
            "help": "Generator normalization.",
        },
    ),
    (
        ("--ablations",),
        {"help": f"ResNet ablations (Appendix D), comma-separated: {', '.join(ABLATIONS)}."},
    ),
    (("--z-dim",), {"type": int, "help": "Latent dimension."}),
    (
        ("--disc-calls",),
        {
            "type": _Names(DISC_CALLS),
            "help": "split: D on the real and the fake batch separately, G step on the fake only "
            "(the paper's code); concat: one D call on both (compare_gan v3).",
        },
    ),
)
_DATA_OPTIONS = _section(
    "Data (section 2.5)",
    (("--dataset",), {"type": _Names(DATASETS), "help": "Data set."}),
    (
        ("--data-dir",),
        {"help": "Folder of the data set (required for every data set but procedural)."},
    ),
    (
        ("--dataset-option", "dataset_option"),
        {
            "multiple": True,
            "metavar": "KEY=VALUE",
            "help": "Extra data set option, e.g. num_images=512 (procedural). Repeatable.",
        },
    ),
    (("--image-size",), {"type": int, "help": "Image side."}),
)
_HYPER_OPTIONS = _section(
    "Hyperparameters (Table 1)",
    (("--lambda",), {"type": float, "help": "Penalty strength lambda."}),
    (("--lr",), {"type": float, "help": "Adam learning rate for G and D."}),
    (("--beta1",), {"type": float, "help": "Adam beta1."}),
    (("--beta2",), {"type": float, "help": "Adam beta2."}),
    (("--n-disc",), {"type": int, "help": "Discriminator steps per generator step."}),
)
_SCHEDULE = "Schedule (section 2.6)"
_SCHEDULE_OPTIONS = _section(
    _SCHEDULE,
    (("--batch-size",), {"type": int, "help": "Batch size (64 in the study)."}),
    (("--steps",), {"type": int, "help": "Discriminator steps."}),
)
_SEED_OPTIONS = _section(
    _SCHEDULE,
    (("--seed",), {"type": int, "help": "Seed of weights, data order and noise."}),
)
_EVAL_OPTIONS = _section(
    "Evaluation (section 4)",
    (
        ("--eval-every",),
        {"type": int, "help": "Evaluate every N steps and at the end (0: never)."},
    ),
    (("--eval-num-real",), {"type": int, "help": "Test images for FID (protocol count)."}),
    (("--eval-num-fake",), {"type": int, "help": "Generated images for FID (protocol count)."}),
    (("--eval-metrics",), {"help": f"Comma-separated, of {', '.join(METRICS)}."}),
    (
        ("--inception-weights",),
        {
            "type": click.Path(dir_okay=False),
            "help": "Inception weights file (default $GANMETRICS_INCEPTION_WEIGHTS, else "
            "downloaded once); `ganmetrics make-test-weights PATH` writes random test weights.",
        },
    ),
)
_RUNTIME_OPTIONS = _section(
    "Checkpoints, logging and hardware",
    (("--checkpoint-every",), {"type": int, "help": "Checkpoint every N steps."}),
    (("--keep-checkpoints",), {"type": int, "help": "Periodic checkpoints to keep."}),
    (("--log-every",), {"type": int, "help": "Losses (TensorBoard, losses.jsonl) every N steps."}),
    (("--sample-every",), {"type": int, "help": "Sample grid every N steps (0: off)."}),
    (("--num-samples",), {"type": int, "help": "Images in a sample grid."}),
    (("--ema-decay",), {"type": float, "help": "Decay of an EMA of G's weights."}),
    (("--ema-start-step",), {"type": int, "help": "Step from which the EMA averages."}),
    (
        ("--deterministic/--no-deterministic",),
        {"default": None, "help": "torch.use_deterministic_algorithms(True)."},
    ),
    (("--device",), {"help": "cpu, cuda, cuda:N or auto."}),
    (
        ("--amp-bf16/--no-amp-bf16",),
        {"default": None, "help": "bf16 autocast (CUDA only)."},
    ),
    (("--compile/--no-compile",), {"default": None, "help": "torch.compile (CUDA only)."}),
    (("--num-workers",), {"type": int, "help": "Data loading worker processes."}),
)
#: The settings of one run; a sweep sets the hyperparameters and the seed itself.
_RUN_SETTINGS = (
    _MODEL_OPTIONS
    + _DATA_OPTIONS
    + _HYPER_OPTIONS
    + _SCHEDULE_OPTIONS
    + _SEED_OPTIONS
    + _EVAL_OPTIONS
    + _RUNTIME_OPTIONS
)
_SWEEP_SETTINGS = (
    _MODEL_OPTIONS + _DATA_OPTIONS + _SCHEDULE_OPTIONS + _EVAL_OPTIONS + _RUNTIME_OPTIONS
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="ganmetrics", prog_name="ganmetrics-train")
def cli() -> None:
    """Train, export and sweep the GANs of "The GAN Landscape" (Kurach, Lucic et al. 2019)."""


_RUN_OPTIONS = _section(
    "Run",
    (
        ("--config", "config_file"),
        {"type": click.Path(dir_okay=False), "help": "YAML file of settings (flags override it)."},
    ),
    (("--preset",), {"help": "A best setting of Tables 7-9 (see `ganmetrics-train presets`)."}),
    (
        ("--out",),
        {
            "help": "Run folder (checkpoints, samples, scores.jsonl, TensorBoard).  "
            "[required unless --config sets out]"
        },
    ),
    (("--resume",), {"is_flag": True, "help": "Continue the run in --out from its checkpoint."}),
    (("--overwrite",), {"is_flag": True, "help": "Delete the run in --out and start over."}),
    (("--quiet",), {"is_flag": True, "help": "No progress bar or progress lines."}),
    (
        ("--yes",),
        {
            "is_flag": True,
            "help": "Train on when the first steps project more than a day on the CPU (without "
            "it such a run stops there, at a checkpoint, with exit code 2).",
        },
    ),
)


@cli.command(cls=_SectionedCommand)
@_options(_RUN_OPTIONS + _RUN_SETTINGS)
def run(config_file, preset, out, resume, overwrite, quiet, yes, **flags) -> None:
    """Train one model (resumable; a first Ctrl-C or SIGTERM stops it at a checkpoint)."""
    from ganmetrics_train.checkpoint import check_resumable
    from ganmetrics_train.interrupt import TrainingInterrupted
    from ganmetrics_train.train import train

    overrides = _collect_overrides(flags)
    if out is not None:
        overrides["out"] = out
    stored = None
    if resume:
        run_dir = overrides.get("out") or (
            load_config_file(config_file).get("out") if config_file else None
        )
        if run_dir:
            settings = set(overrides) - {"out"}
            check_resumable(Path(run_dir), given=bool(settings or preset or config_file))
        if run_dir and (Path(run_dir) / "config.json").is_file():
            stored = load_run_config(run_dir)
    config = build_config(preset=preset, config_file=config_file, overrides=overrides, base=stored)
    try:
        result = train(
            config,
            resume=resume,
            overwrite=overwrite,
            progress=not quiet,
            on_slow_cpu="warn" if yes else "stop",
        )
    except TrainingInterrupted as exc:
        exc.resume_flags = ("--yes",) if yes else ()
        raise
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
@out_option("Where to write the export (default RUN_DIR/generator.pt).")
@click.option(
    "--best",
    is_flag=True,
    help="Export best.pt (lowest FID) instead of the latest checkpoint; written to "
    "best_generator.pt unless -o is given.",
)
def export(run_dir: str, output: str | None, output_alias: str | None, best: bool) -> None:
    """Write the generator of RUN_DIR in the ganmetrics.generator/1 format."""
    from ganmetrics_train.checkpoint import export_generator

    click.echo(str(export_generator(run_dir, output or output_alias, best=best)))


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@out_option("PNG to write (default RUN_DIR/plot.png).")
def plot(run_dir: str, output: str | None, output_alias: str | None) -> None:
    """Draw RUN_DIR's scores (FID, IS, KID, MS-SSIM) and losses against steps, as one PNG."""
    from ganmetrics_train.plot import plot_run

    click.echo(str(plot_run(run_dir, output or output_alias)))


_SWEEP_OPTIONS = _section(
    "Sweep (section 2.6)",
    (
        ("--config", "config_file"),
        {
            "type": click.Path(dir_okay=False),
            "help": "YAML file of the fixed settings (flags override it).",
        },
    ),
    (
        ("--grid",),
        {
            "default": "table1a",
            "show_default": True,
            "help": "table1a (Table 1a cross product) or random:N (N draws from Table 1b).",
        },
    ),
    (("--seeds",), {"type": int, "default": 5, "show_default": True, "help": "Seeds per setting."}),
    (
        ("--sampler-seed",),
        {"type": int, "default": 0, "show_default": True, "help": "Seed of the random:N sampler."},
    ),
    (("--out",), {"required": True, "help": "Sweep folder: OUT/<setting>/seed<k>/."}),
    (
        ("--engine",),
        {
            "type": _Names(sweep_lib.ENGINES),
            "default": "local",
            "show_default": True,
            "help": "Run locally or as Ray remote tasks (needs ray).",
        },
    ),
    (
        ("--max-parallel",),
        {
            "type": int,
            "default": 1,
            "show_default": True,
            "help": "Runs at the same time (local: processes).",
        },
    ),
    (
        ("--gpus-per-run",),
        {
            "type": float,
            "default": 0.0,
            "show_default": True,
            "help": "GPUs each Ray task reserves.",
        },
    ),
    (("--dry-run",), {"is_flag": True, "help": "List the runs without training."}),
)


@cli.command(cls=_SectionedCommand)
@_options(_SWEEP_OPTIONS + _SWEEP_SETTINGS)
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
    base: dict[str, Any] = {}
    if config_file is not None:
        base.update(load_config_file(config_file))
    base.update(normalize_overrides(_collect_overrides(flags), "sweep"))
    base = {key: value for key, value in base.items() if key not in sweep_lib.SWEPT_FIELDS}
    if dry_run:
        runs = sweep_lib.expand_sweep(base, grid, seeds, out, sampler_seed)
        for item in runs:
            click.echo(f"{item.run_dir}\t{json.dumps(user_facing_names(item.setting.values))}")
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
                        **user_facing_names(p.settings),
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


cli.add_command(study)
cli.add_command(reproduce_command)


def _whole_summaries(group: click.Group) -> None:
    """Give every command the first line of its docstring as its ``--help`` summary, so that
    click never cuts a summary mid-phrase (it shortens a missing ``short_help`` to fit)."""
    for command in group.commands.values():
        if not command.short_help and command.help:
            command.short_help = command.help.strip().splitlines()[0].rstrip(".")
        if isinstance(command, click.Group):
            _whole_summaries(command)


_whole_summaries(cli)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn errors into one-line messages and exit codes."""
    from ganmetrics_train.interrupt import TrainingAborted, TrainingInterrupted
    from ganmetrics_train.train import TrainingDiverged

    show_warnings_as_lines()
    try:
        cli.main(args=argv, prog_name="ganmetrics-train", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        click.echo(usage_error_line(exc, "ganmetrics-train"), err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except TrainingInterrupted as exc:
        click.echo(exc.message(), err=True)
        return exc.exit_code
    except TrainingAborted as exc:
        click.echo(f"{exc}; steps since the last checkpoint are lost", err=True)
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
