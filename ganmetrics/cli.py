"""``ganmetrics`` command line: a thin layer over :mod:`ganmetrics.api`.

Exit codes: 0 success, 2 bad input or usage (one line on stderr), 1 a score outside its
``--expect`` bound (one line per violation on stderr; ``ganmetrics check``) or an internal error.
Results go to stdout (a table, or one JSON object with ``--json``); progress bars go to stderr.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import click

from ganmetrics.encoders.table import ENCODERS
from ganmetrics.errors import InputError
from ganmetrics.kid import KID_ESTIMATORS
from ganmetrics.metrics import METRIC_TABLE, METRICS, real_side_metrics
from ganmetrics.protocols import PROTOCOLS
from ganmetrics.report_table import emit
from ganmetrics.settings import CLI_FLAGS, RECON_LR, RECON_NUM_IMAGES, RECON_STEPS, EvalSettings

DEBUG_ENV = "GANMETRICS_DEBUG"


_warned: set[str] = set()


def show_warnings_as_lines() -> None:
    """Print each Python warning once, as one ``warning: ...`` line (both CLIs call this)."""
    _warned.clear()
    warnings.showwarning = _one_line_warnings


def _one_line_warnings(message, category, filename, lineno, file=None, line=None):
    """Each warning once, as one ``warning: ...`` line on stderr, without the source line."""
    text = " ".join(str(message).split())
    if text not in _warned:
        _warned.add(text)
        print(f"warning: {text}", file=sys.stderr)


def _run(action: Callable[[], Any]) -> Any:
    """Run ``action`` mapping errors to exit codes and one-line messages."""
    try:
        return action()
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(InputError.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for the traceback)",
            err=True,
        )
        sys.exit(1)


def _option(field: str, **extra: Any) -> Callable:
    """The click option of an EvalSettings field: its flag (:data:`CLI_FLAGS`), default, help."""
    spec = {"default": _SETTINGS_DEFAULTS[field], **_OPTION_HELP[field], **extra}
    if isinstance(spec["default"], bool) and "/" not in CLI_FLAGS.get(field, ""):
        spec.setdefault("is_flag", True)
    if spec["default"] is not None and not isinstance(spec["default"], bool):
        spec.setdefault("show_default", True)
    return click.option(CLI_FLAGS.get(field, "--" + field.replace("_", "-")), field, **spec)


def _options(fields: Iterable[str]) -> Callable[[Callable], Callable]:
    """A decorator adding the options of ``fields``, in that order."""

    def decorate(func: Callable) -> Callable:
        for field in reversed(list(fields)):
            func = _option(field)(func)
        return func

    return decorate


_SETTINGS_DEFAULTS = {field.name: field.default for field in dataclasses.fields(EvalSettings)}
_SETTINGS_DEFAULTS["progress"] = True  # a terminal shows bars unless --quiet

_OPTION_HELP: dict[str, dict[str, Any]] = {
    "protocol": dict(type=click.Choice(list(PROTOCOLS)), help="Sample-count preset."),
    "num": dict(type=int, help="Images per side: the first N of a folder, N draws from a "
                               "generator (at most what a source holds)."),
    "num_real": dict(type=int, help="Real images (overrides --num)."),
    "inception_weights": dict(type=click.Path(dir_okay=False),
                              help="Inception weights file (default: "
                                   "$GANMETRICS_INCEPTION_WEIGHTS, else torch-fidelity's "
                                   "download)."),
    "encoder": dict(type=click.Choice(list(ENCODERS)),
                    help="Feature space: inception (the paper's), dinov2-vitl14 (FD_DINOv2), "
                         "clip-vitl14, clip-vitl14-336 (CMMD's); see docs/protocol.md."),
    "encoder_weights": dict(type=click.Path(dir_okay=False),
                            help="Weights file of --encoder (default: its $GANMETRICS_<NAME>_"
                                 "WEIGHTS, else $GANMETRICS_WEIGHTS_DIR); never downloaded."),
    "device": dict(help="cuda or cpu (default: cuda when available)."),
    "batch_size": dict(type=int, help="Images per forward pass [default: 256 on CUDA, 64 on CPU]."),
    "float64": dict(help="Run the network in float64."),
    "allow_tf32": dict(help="Allow TF32 in the network on Ampere+ GPUs: trades exactness for "
                            "speed (features no longer exact float32; see docs/cli.md)."),
    "num_workers": dict(type=int, help="Image-decoding processes (default: min(4, CPUs))."),
    "compile": dict(help="torch.compile the network."),
    "fast": dict(help="The folded network (default), or torch-fidelity's unmodified one "
                      "(bit-identical features, slower)."),
    "cache": dict(help="Read and write the feature cache (default), or neither."),
    "value_range": dict(type=click.Choice(["0,1", "-1,1"]),
                        help="Value range of float arrays / generator outputs."),
    "resize": dict(is_flag=False, flag_value="first", metavar="[HxW]",
                   help="Resize images of differing sizes: to HxW, or (--resize alone) to the "
                        "first image's size."),
    "z_dim": dict(type=int, help="Latent size of a module generator."),
    "seed": dict(type=int, help="Seed for drawing generator samples."),
    "progress": dict(help="Progress bars on stderr (default), or none."),
    "is_splits": dict(type=int, help="Inception Score splits; 1: one score over all images "
                                     "[default: the protocol's: 1 for the study's, 10 custom]."),
    "kid_estimator": dict(type=click.Choice(list(KID_ESTIMATORS)),
                          help="KID by torch-fidelity's random subsets or compare_gan's disjoint "
                               "blocks of <=1024 [default: the protocol's: blocks for the "
                               "study's, subsets custom]."),
    "round_generated": dict(help="Round generator outputs to uint8 before Inception, or score "
                                 "255x unrounded as compare_gan [default: the protocol's: "
                                 "unrounded for the study's, rounded custom]."),
    "bootstrap": dict(type=int, help="Bootstrap resamples B of the features: confidence "
                                     "intervals for FID/FD, IS, KID, PR, DC, CMMD (0: none; "
                                     "seeded by --seed)."),
    "confidence": dict(type=float, help="Level of the bootstrap intervals."),
    "fid_inf": dict(help="Also FID∞ (Chong & Forsyth 2020): FID extrapolated to N → ∞."),
    "kid_subsets": dict(type=int, help="KID random subsets."),
    "kid_subset_size": dict(type=int, help="KID subset size (capped at the smaller side)."),
    "msssim_batches": dict(type=int, help="MS-SSIM batches."),
    "msssim_batch_size": dict(type=int, help="Images per MS-SSIM batch (at least 2)."),
    "prc_k": dict(type=int, help="Neighbours for precision/recall (Kynkäänniemi et al.)."),
    "dc_k": dict(type=int, help="Neighbours for density/coverage (Naeem et al.)."),
}  # fmt: skip

#: Options of every command that reads images: how a source is opened.
SOURCE_FIELDS = ("value_range", "resize", "z_dim", "seed", "num_workers", "round_generated")
#: Options of every command whose metrics have bootstrap intervals.
INTERVAL_FIELDS = ("bootstrap", "confidence")
#: Options of every command that runs the Inception network.
NETWORK_FIELDS = (
    "encoder", "encoder_weights", "inception_weights", "device", "batch_size", "float64",
    "allow_tf32", "compile", "fast", "cache", "progress",
)  # fmt: skip


def output_options(func: Callable) -> Callable:
    func = click.option("--out", type=click.Path(), default=None,
                        help="Also write the JSON result to this file.")(func)  # fmt: skip
    func = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(func)
    return func


def _settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The EvalSettings fields among a command's parameters: the names are the same."""
    return {key: value for key, value in kwargs.items() if key in _SETTINGS_DEFAULTS}


_EXPECT_HELP = (
    'Bounds the scores must keep: an EXPECTED.json, or e.g. "fid<=12.5,is>=7"; exit 1 with '
    "one line per score outside its bound."
)


def _exit_on_violations(result: dict[str, Any], expectations: list) -> None:
    """One line on stderr per expectation ``result`` breaks, then exit 1; nothing if all hold."""
    from ganmetrics import distributed
    from ganmetrics.check import violations

    problems = violations(result, expectations)
    if distributed.is_primary():
        for line in problems:
            click.echo(line, err=True)
    if problems:
        sys.exit(1)


def usage_error_line(exc: click.UsageError, program: str) -> str:
    """Click's own usage error (a missing or unknown option) in the one-line form of every other
    input error, naming the command's ``--help``."""
    where = exc.ctx.command_path if exc.ctx is not None else program
    return f"error: {exc.format_message().rstrip('.')} (see '{where} --help')"


class _OneLineUsageGroup(click.Group):
    """A click group whose usage errors are one line on stderr with exit code 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            click.echo(usage_error_line(exc, prog_name or "ganmetrics"), err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_OneLineUsageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ganmetrics")
def main() -> None:
    """Defensible GAN metrics: FID, Inception Score, KID, MS-SSIM diversity, precision/recall.

    Follows the protocol of "The GAN Landscape" (Kurach, Lucic et al. 2019): see
    `ganmetrics eval --help` and docs/protocol.md.
    """
    show_warnings_as_lines()


def _split_metrics(ctx: click.Context, param: click.Parameter, value: str | None):
    """``--metrics fid,kid`` as the tuple ``EvalSettings.metrics`` takes (empty: the protocol's)."""
    names = tuple(m.strip() for m in (value or "").split(",") if m.strip())
    return names or None


def _metric_command(name: str, fixed: tuple[str, ...] | None, summary: str) -> None:
    """``eval`` (``fixed=None``: any metrics, chosen with --metrics) or one metric's command.

    Its options are those that apply: ``--real`` only where a metric compares against real
    images, the network's only where one runs, and each metric's own settings.
    """
    rows = list(METRIC_TABLE.values()) if fixed is None else [METRIC_TABLE[m] for m in fixed]
    real_metrics = real_side_metrics([row.name for row in rows])
    network = any(row.needs_fake != "pixels" for row in rows)
    intervals = any(row.intervals is not None for row in rows)
    fields = [
        "protocol", "num", *(["num_real"] if real_metrics else []), *SOURCE_FIELDS,
        *(NETWORK_FIELDS if network else ("device",)), *(f for row in rows for f in row.options),
        *(INTERVAL_FIELDS if intervals else ()),
    ]  # fmt: skip
    fields = list(dict.fromkeys(fields))  # fid and fd share --fid-inf

    def command(real=None, fake=None, as_json=False, out=None, expect=None, **kwargs):
        from ganmetrics.api import check_writable, evaluate
        from ganmetrics.check import load_expectations, refuse_uncomputed

        def action():
            if real is not None and not real_metrics:
                raise InputError(f"--real {real}: `ganmetrics {name}` scores the generated "
                                 "images alone and needs no real images; drop --real")  # fmt: skip
            if out:
                check_writable(out)
            settings = _settings({"metrics": fixed, **kwargs})
            expectations = None
            if expect is not None:
                expectations = load_expectations(expect)
                refuse_uncomputed(expectations, EvalSettings(**settings).validated())
            result = evaluate(real, fake, **settings)
            emit(result, as_json, out)
            if expectations is not None:
                _exit_on_violations(result, expectations)

        _run(action)

    command = _options(fields)(output_options(command))
    expect_help = (f"{_EXPECT_HELP} A bound on a score this run will not compute is refused "
                   "before any work; the rest are checked after printing the result.")  # fmt: skip
    command = click.option("--expect", default=None, metavar="EXPECTED.json|SPEC",
                           help=expect_help)(command)  # fmt: skip
    fake_help = "Generated images: folder, zip, .npy/.npz, generator .pt or module:callable."
    command = click.option("--fake", default=None, help=f"{fake_help} [required]")(command)
    if real_metrics:
        required = (
            "[required]" if fixed is not None else f"[required for {', '.join(real_metrics)}]"
        )
        real_help = "Real images: folder, zip, .npy/.npz, or a stats .npz (FID only)."
        command = click.option("--real", default=None, help=f"{real_help} {required}")(command)
    else:  # accepted only to say that it is not needed
        command = click.option("--real", default=None, hidden=True)(command)
    if fixed is None:
        protocol_metrics = {p.name: ",".join(p.metrics) for p in PROTOCOLS.values()}
        command = click.option(
            "--metrics", default=None, callback=_split_metrics,
            help=f"Comma-separated: {','.join(METRICS)} (default: the protocol's: "
                 f"{protocol_metrics['custom']}; {protocol_metrics['celeba-hq-128']} for "
                 "celeba-hq-128).",
        )(command)  # fmt: skip
    main.command(name=name, help=summary, short_help=summary.rstrip("."))(command)


_metric_command("eval", None, "Every requested metric from one feature pass per side.")
for _name, _metric in METRIC_TABLE.items():
    _metric_command(_name, (_name,), _metric.summary)


def _npz_out(help_text: str) -> Callable:
    """``-o/--out``, the required output .npz of ``stats`` and ``features`` (checked by the API,
    so that a missing one is the same one-line error there)."""
    return click.option("-o", "--out", type=click.Path(), default=None,
                        help=f"{help_text} [required]")  # fmt: skip


@main.command(short_help="Write the feature statistics (mu, sigma) of images to an .npz")
@click.argument("source", required=False)
@_npz_out(
    "Output .npz (pytorch-fid compatible mu/sigma plus metadata; .npz is appended to a "
    "name without it)."
)
@click.option("--reference", default=None, help="Build a reference set of the manifest instead.")
@click.option("--data-dir", type=click.Path(), default=None, help="Local copy of the dataset.")
@click.option("--image-size", type=int, default=None,
              help="With --reference: side to bring larger originals to (e.g. 128 for a folder "
                   "of 1024-px CelebA-HQ images).")  # fmt: skip
@click.option("--num", type=int, default=None, help="Use the first N images (N draws from a "
                                                    "generator).")  # fmt: skip
@_options((*SOURCE_FIELDS, *NETWORK_FIELDS))
def stats(source, out, reference, data_dir, image_size, **kwargs):
    """Write feature statistics (Inception, or --encoder's) of SOURCE (or a --reference set)."""
    from ganmetrics.api import compute_stats
    from ganmetrics.sources import stats_path

    def action():
        if out is None:
            raise InputError("stats: --out is required: name the .npz to write (-o stats.npz)")
        if (source is None) == (reference is None):
            raise InputError("stats: give either SOURCE or --reference NAME (with --data-dir)")
        spec: Any = source
        if reference is not None:
            from ganmetrics.datasets import open_reference

            if data_dir is None:
                raise InputError(f"stats --reference {reference}: pass --data-dir DIR")
            options = {} if image_size is None else {"image_size": image_size}
            spec = open_reference(reference, data_dir, **options)
        result = compute_stats(spec, out, **_settings(kwargs))
        written = stats_path(out)
        added = ""
        if os.fspath(written) != out:
            added = f" (.npz added to -o {out}: the suffix by which --real knows a stats file)"
        click.echo(f"wrote {written}{added}: mu {result.mu.shape}, sigma {result.sigma.shape}, "
                   f"n={result.num_images}")  # fmt: skip

    _run(action)


@main.command(short_help="Reconstruction error of Xiang & Li: how well G reaches test images")
@click.option(
    "--generator",
    default=None,
    type=click.Path(dir_okay=False),
    help="Generator export (.pt) written by ganmetrics-train. [required]",
)
@click.option("--real", default=None, help="Test images: folder, zip or array file. [required]")
@click.option(
    "--num",
    type=int,
    default=RECON_NUM_IMAGES,
    show_default=True,
    help="Test images used (the source must hold at least N).",
)
@click.option("--steps", type=int, default=RECON_STEPS, show_default=True)
@click.option("--lr", type=float, default=RECON_LR, show_default=True)
@_option("batch_size", default=50, help="Images optimised together (does not change the result).")
@_option("device", help="Where the generator runs (default: cpu).")
@_option("value_range", help="Value range of float test arrays.")
@output_options
def recon(as_json, out, **kwargs):
    """Reconstruction error of Xiang & Li: min_z ||G(z) - x||² on test images."""
    from ganmetrics.api import check_writable, evaluate_reconstruction

    def action():
        if out:
            check_writable(out)
        emit(evaluate_reconstruction(**kwargs), as_json, out)

    _run(action)


@main.command(
    "make-test-weights",
    short_help="Write seeded RANDOM encoder weights, for offline tests and demos only",
)
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--encoder",
    type=click.Choice(list(ENCODERS)),
    default="inception",
    show_default=True,
    help="Whose official file format to write.",
)
@click.option("--member", default=None,
              help="A smaller network of the family, for fast tests: vits14/vitb14 (dinov2), "
                   "ViT-B-32 (clip). Default: the encoder's own.")  # fmt: skip
def make_test_weights(path, seed, encoder, member):
    """Write seeded RANDOM weights of --encoder in its official format (offline tests only).

    Scores computed with them are internally consistent but not comparable with any paper;
    every result records standard_weights=false.
    """
    from ganmetrics.encoders import write_test_weights

    _run(lambda: write_test_weights(encoder, path, seed=seed, member=member))
    click.echo(f"wrote {path} (random weights: NOT the standard {encoder} network)")


@main.command(short_help="Write the per-image features of images to an .npz (eval reads it)")
@click.argument("source", required=False)
@_npz_out("Output .npz: per-image features and their provenance.")
@click.option("--num", type=int, default=None, help="Use the first N images (N draws from a "
                                                    "generator).")  # fmt: skip
@_options((*SOURCE_FIELDS, *NETWORK_FIELDS))
def features(source, out, num, **kwargs):
    """Write the per-image features of SOURCE under --encoder to an .npz (eval reads it)."""
    from ganmetrics.api import compute_features

    def action():
        if out is None:
            raise InputError("features: --out is required: name the .npz to write (-o feats.npz)")
        if source is None:
            raise InputError("features: pass SOURCE: a folder, zip, .npy/.npz or a generator")
        found, meta = compute_features(source, out, num=num, **_settings(kwargs))
        click.echo(f"wrote {out}: {meta['encoder']} features {found.pool3.shape}")

    _run(action)


@main.command(short_help="Every metric on built-in images: a mode-dropping 'generator' vs 'real'")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Keep the demo images and result.json in this folder (default: a temporary "
                   "folder, removed at the end).")  # fmt: skip
@click.option("--num", type=int, default=320, show_default=True, help="Images per side.")
@_option("inception_weights")
def demo(out, num, inception_weights):
    """Evaluate a built-in 'generator' that drops modes against built-in 'real' images.

    Writes two folders of procedural 32×32 images (no download needed), then runs every metric on
    them. Without the standard Inception weights (offline and no $GANMETRICS_INCEPTION_WEIGHTS),
    it falls back to seeded RANDOM weights and says so: the pipeline runs, the numbers are not
    comparable with any paper.
    """
    from ganmetrics.demo import run_demo

    def announce(reason: str) -> None:
        click.echo(f"note: {reason}", err=True)
        click.echo("note: so the demo makes and uses seeded RANDOM Inception weights; its numbers "
                   "will NOT be comparable with published scores", err=True)  # fmt: skip

    def action():
        run = run_demo(out, num, inception_weights, announce=announce)
        if run.random_weights_reason:
            click.echo("note: RANDOM Inception weights (see above): the numbers below are NOT "
                       "comparable with published scores", err=True)  # fmt: skip
        emit(run.result, as_json=False, out=None)
        if run.folder is None:
            click.echo("\nimages were written to a temporary folder, now removed; "
                       "pass --out DIR to keep them")  # fmt: skip
        else:
            click.echo(f"\nimages and result.json in {run.folder}/")

    _run(action)


@main.command(short_help="Check a result JSON against expected bounds (exit 1 if one is broken)")
@click.argument("result_path", metavar="RESULT.json", required=False)
@click.option("--expect", default=None, metavar="EXPECTED.json|SPEC", help=_EXPECT_HELP)
def check(result_path, expect):
    """Check a result JSON (ganmetrics eval --json --out) against expected bounds.

    Exit 0 when every expectation holds, 1 with one line per score outside its bound, 2 with one
    line for unreadable input: a model's regression test in CI (docs/protocol.md).
    """
    from ganmetrics.check import load_expectations, load_result

    def action():
        if result_path is None:
            raise InputError(
                "check: pass the result file: ganmetrics check RESULT.json --expect ..."
            )
        if expect is None:
            raise InputError(
                f"check {result_path}: --expect is required: an EXPECTED.json or e.g. "
                '"fid<=12.5,is>=7"'
            )
        expectations = load_expectations(expect)
        result = load_result(result_path)
        _exit_on_violations(result, expectations)
        click.echo(f"ok: {len(expectations)} expectation(s) hold for {result_path}")

    _run(action)


@main.command(short_help="List the evaluation protocols and their sample counts")
def protocols():
    """List the evaluation protocols and their sample counts."""

    for protocol in PROTOCOLS.values():
        counts = (
            "all images" if protocol.num_real is None
            else f"{protocol.num_real} real vs {protocol.num_fake} generated"
        )  # fmt: skip
        click.echo(f"{protocol.name:<14} {counts:<28} {protocol.description}")


if __name__ == "__main__":
    main()
