"""``ganmetrics-train study run | report | export | files``: studies of "The GAN Landscape".

Examples::

    ganmetrics-train study run mini --out studies/mini            # the miniature study, local Ray
    ganmetrics-train study run loss --data-dir data/celeba-hq-128 --out studies/loss
    ganmetrics-train study run loss --address auto --out /shared/studies/loss   # a Ray cluster
    ganmetrics-train study report studies/loss
    ganmetrics-train study export studies/loss -o studies/loss/export --format csv,parquet
    ganmetrics-train reproduce sndcgan-cifar10-sn --data-dir data/cifar-10-batches-py  # Table 7

Bad input prints one line and exits with code 2.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click
import yaml

from ganmetrics.errors import InputError
from ganmetrics_train.cli_options import out_option

EXPORT_FORMATS = ("csv", "parquet")


class StudyInputError(click.ClickException):
    """An :class:`InputError` shown as one line, exit code 2."""

    exit_code = InputError.exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True, file=file)


class StudyStopped(click.ClickException):
    """The study stopped on SIGINT/SIGTERM: one line, exit code 128 + the signal number."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"ganmetrics-train study: {self.message}", err=True, file=file)


def _one_line_errors(function: Callable) -> Callable:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except InputError as exc:
            raise StudyInputError(str(exc)) from None

    return wrapper


def _parse_sets(items: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {item!r}: expected KEY=VALUE, e.g. --set steps=1000")
        values[key.strip()] = yaml.safe_load(raw) if raw else None
    return values


def _engine_options(function: Callable) -> Callable:
    """The Ray options shared by `study run` and `reproduce`."""
    options = [
        click.option(
            "--address",
            help="Join a Ray cluster: auto, host:port or ray://host:port. "
            "Default: start Ray in this process on this machine's CPUs and GPUs.",
        ),
        click.option("--num-cpus", type=int, help="CPUs of the local Ray (default: all)."),
        click.option("--cpus-per-trial", type=float, help="CPUs each trial reserves (default 1)."),
        click.option(
            "--gpus-per-trial",
            type=float,
            help="GPUs each trial reserves (default 1 when the cluster has GPUs, else 0).",
        ),
        click.option(
            "--inception-weights",
            type=click.Path(dir_okay=False),
            help="Inception weights file for the trials' evaluations "
            "(default: $GANMETRICS_INCEPTION_WEIGHTS, else the download).",
        ),
        click.option("--retry-failed", is_flag=True, help="Rerun failed and diverged trials."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _run_on_ray(spec: Any, out: str, engine_flags: dict[str, Any]) -> Any:
    """Start (or join) Ray and run ``spec`` into ``out``; the StudyOutcome."""
    import os

    weights = engine_flags["inception_weights"]
    if weights is not None:
        if not os.path.isfile(weights):
            raise InputError(f"--inception-weights {weights}: no such file")
        os.environ["GANMETRICS_INCEPTION_WEIGHTS"] = os.path.abspath(weights)

    from ganmetrics_train.study.engine import RayEngine
    from ganmetrics_train.study.runner import StudyInterrupted, run_study

    cpus, gpus = engine_flags["cpus_per_trial"], engine_flags["gpus_per_trial"]
    engine = RayEngine(
        address=engine_flags["address"],
        num_cpus=engine_flags["num_cpus"],
        cpus_per_trial=cpus if cpus is not None else spec.cpus_per_trial,
        gpus_per_trial=gpus if gpus is not None else spec.gpus_per_trial,
    )
    click.echo(engine.describe(), err=True)
    try:
        outcome = run_study(spec, out, engine, retry_failed=engine_flags["retry_failed"])
    except StudyInterrupted as exc:
        raise StudyStopped(str(exc), exc.exit_code) from None
    finally:
        engine.close()
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(outcome.by_status.items()))
    click.echo(
        f"study {spec.name}: {outcome.trials} trials ({statuses}); {outcome.ran} ran now in "
        f"{outcome.seconds:.0f} s; store {outcome.store_path}",
        err=True,
    )
    return outcome


@click.group("study")
def study() -> None:
    """Studies of several variants: Table 1a grid and GP bandit, on Ray, with a results store."""


@study.command("run")
@click.argument("study_file")
@click.option("--out", required=True, help="Study folder: study.sqlite, runs/, report/.")
@click.option("--data-dir", help="Folder of the data set (sets fixed.data_dir).")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Replace a fixed setting of the study file, e.g. --set steps=2000.",
)
@_engine_options
@click.option("--report/--no-report", default=True, help="Write the report at the end.")
@click.option("--dry-run", is_flag=True, help="Validate the file and list the plan only.")
@_one_line_errors
def run_command(
    study_file: str,
    out: str,
    data_dir: str | None,
    sets: tuple[str, ...],
    report: bool,
    dry_run: bool,
    **engine_flags: Any,
) -> None:
    """Run (or resume) the study in STUDY_FILE (a path, or a shipped name: see `study files`)."""
    from ganmetrics_train.study.spec import load_study

    overrides = _parse_sets(sets)
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    spec = load_study(study_file, overrides)
    click.echo(
        f"study {spec.name}: {len(spec.variants)} variants, {spec.planned_settings()} settings, "
        f"{spec.planned_trials()} trials -> {out}",
        err=True,
    )
    if dry_run:
        for variant in spec.variants:
            click.echo(f"{variant.name}\t{variant.label}\t{variant.values}")
        return
    _run_on_ray(spec, out, engine_flags)
    if report:
        from ganmetrics_train.study.report import write_report

        paths = write_report(out)
        click.echo(f"report: {paths['Report']}", err=True)


@study.command("report")
@click.argument("out")
@click.option(
    "--top",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="Settings per variant in the tables.",
)
@_one_line_errors
def report_command(out: str, top: int) -> None:
    """Write the figures and report.md of the study in OUT (into OUT/report/)."""
    from ganmetrics_train.study.report import write_report

    for title, path in write_report(out, top).items():
        click.echo(f"{title}: {path}")


@study.command("export")
@click.argument("out")
@out_option("Folder for the files (default OUT/export).", click.Path(file_okay=False))
@click.option(
    "--format",
    "formats",
    default="csv,parquet",
    show_default=True,
    help="Comma-separated: csv, parquet (Parquet needs pyarrow).",
)
@_one_line_errors
def export_command(out: str, output: str | None, output_alias: str | None, formats: str) -> None:
    """Write trials and evaluations of the study in OUT as CSV and Parquet tables."""
    from pathlib import Path

    from ganmetrics_train.study.export import export_tables

    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    for name in chosen:
        if name not in EXPORT_FORMATS:
            raise InputError(f"--format {name!r}: choose from {', '.join(EXPORT_FORMATS)}")
    output = output or output_alias
    target = Path(output) if output else Path(out) / "export"
    for path in export_tables(out, target, chosen):
        click.echo(str(path))


@click.command("reproduce", short_help="Retrain a row of Tables 7-9 over seeds, vs the paper")
@click.argument("preset")
@click.option("--data-dir", help="Folder of the preset's data set (as for `run`).")
@click.option(
    "--seeds",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="Seeds 0 .. N-1 of the preset (the paper reports 5).",
)
@click.option(
    "--out",
    help="Study folder: study.sqlite, runs/, reproduce.md, reproduce.json "
    "[default: studies/reproduce-PRESET].",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change a setting other than the preset's hyperparameters, e.g. --set steps=2000 "
    "(the result is then marked as not comparable to the paper).",
)
@_engine_options
@_one_line_errors
def reproduce_command(
    preset: str,
    data_dir: str | None,
    seeds: int,
    out: str | None,
    sets: tuple[str, ...],
    **engine_flags: Any,
) -> None:
    """Train PRESET (a row of Tables 7-9) with several seeds; compare with the paper's FIDs.

    It is a study of one setting (resumable: run the same command again), and writes
    reproduce.md and reproduce.json into --out.
    """
    from ganmetrics_train.study.reproduce import reproduce_spec, write_summary

    overrides = _parse_sets(sets)
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    spec = reproduce_spec(preset, seeds, overrides)
    out = out or f"studies/reproduce-{preset}"
    click.echo(f"reproduce {preset}: {seeds} seeds -> {out}", err=True)
    _run_on_ray(spec, out, engine_flags)
    text, _ = write_summary(out, spec, preset)
    click.echo(text, nl=False)


@study.command("files")
@_one_line_errors
def files_command() -> None:
    """List the study files shipped with ganmetrics-train."""
    from ganmetrics_train.study.spec import shipped_studies

    for name, path in sorted(shipped_studies().items()):
        first = yaml.safe_load(path.read_text()).get("description", "")
        click.echo(f"{name}\t{first}")


def main(argv: list[str] | None = None) -> int:
    try:
        study.main(args=argv, prog_name="ganmetrics-train study", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
