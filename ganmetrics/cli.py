"""``ganmetrics`` command line: a thin layer over :mod:`ganmetrics.api`.

Exit codes: 0 success, 2 bad input or usage (one line on stderr), 1 internal error.
Results go to stdout (a table, or one JSON object with ``--json``); progress bars go to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

import click

from ganmetrics.errors import InputError

DEBUG_ENV = "GANMETRICS_DEBUG"


def _one_line_warnings(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


def _run(action: Callable[[], Any]) -> Any:
    """Run ``action`` mapping errors to exit codes and one-line messages."""
    warnings.showwarning = _one_line_warnings
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


def _parse_resize(value: str | None):
    if value is None:
        return None
    if value in ("", "first"):
        return True
    return value


def evaluation_options(func: Callable) -> Callable:
    """Options shared by every command that extracts Inception features."""
    options = [
        click.option("--inception-weights", type=click.Path(dir_okay=False), default=None,
                     help="Inception weights file (default: $GANMETRICS_INCEPTION_WEIGHTS, "
                          "else torch-fidelity's download)."),
        click.option("--device", default=None, help="cuda or cpu (default: cuda when available)."),
        click.option("--batch-size", type=int, default=64, show_default=True),
        click.option("--float64", is_flag=True, help="Run the network in float64."),
        click.option("--workers", "num_workers", type=int, default=None,
                     help="Image-decoding processes (default: min(4, CPUs))."),
        click.option("--compile", "compile_", is_flag=True, help="torch.compile the network."),
        click.option("--exact-torch-fidelity", is_flag=True,
                     help="Run torch-fidelity's unmodified network (bit-identical, slower)."),
        click.option("--no-cache", is_flag=True, help="Do not read or write the feature cache."),
        click.option("--range", "value_range", type=click.Choice(["0,1", "-1,1"]), default=None,
                     help="Value range of float arrays / generator outputs."),
        click.option("--resize", is_flag=False, flag_value="first", default=None,
                     metavar="[HxW]", help="Resize images of differing sizes: to HxW, or "
                     "(--resize alone) to the first image's size."),
        click.option("--z-dim", type=int, default=None, help="Latent size of a module generator."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed for drawing generator samples."),
        click.option("--quiet", is_flag=True, help="No progress bars."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def output_options(func: Callable) -> Callable:
    func = click.option("--out", type=click.Path(dir_okay=False), default=None,
                        help="Also write the JSON result to this file.")(func)  # fmt: skip
    func = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(func)
    return func


def _settings_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        "inception_weights": kwargs.pop("inception_weights"),
        "device": kwargs.pop("device"),
        "batch_size": kwargs.pop("batch_size"),
        "float64": kwargs.pop("float64"),
        "num_workers": kwargs.pop("num_workers"),
        "compile": kwargs.pop("compile_"),
        "fast": not kwargs.pop("exact_torch_fidelity"),
        "cache": not kwargs.pop("no_cache"),
        "value_range": kwargs.pop("value_range"),
        "resize": _parse_resize(kwargs.pop("resize")),
        "z_dim": kwargs.pop("z_dim"),
        "seed": kwargs.pop("seed"),
        "progress": not kwargs.pop("quiet"),
    }


def _format_table(result: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    if "fid" in result:
        rows.append(("FID", f"{result['fid']:.4f}"))
    if "is_mean" in result:
        rows.append(("Inception Score", f"{result['is_mean']:.4f} ± {result['is_std']:.4f}"))
    if "kid_mean" in result:
        rows.append(("KID", f"{result['kid_mean']:.6f} ± {result['kid_std']:.6f}"))
    if "msssim" in result:
        rows.append(("MS-SSIM diversity", f"{result['msssim']:.4f}"))
    for key, label in (("precision", "Precision"), ("recall", "Recall"),
                       ("density", "Density"), ("coverage", "Coverage")):  # fmt: skip
        if key in result:
            rows.append((label, f"{result[key]:.4f}"))
    if "recon_mse" in result:
        rows.append(
            ("Reconstruction MSE", f"{result['recon_mse']:.6f} ± {result['recon_std']:.6f}")
        )
    meta = result.get("meta", {})
    width = max(len(label) for label, _ in rows) if rows else 0
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    details = []
    if meta.get("n_real") is not None:
        details.append(f"n_real={meta['n_real']}")
    if meta.get("n_fake") is not None:
        details.append(f"n_fake={meta['n_fake']}")
    if meta.get("protocol"):
        details.append(f"protocol={meta['protocol']}")
    if meta.get("weights_sha256"):
        standard = "standard" if meta.get("standard_weights") else "NON-STANDARD"
        details.append(f"weights={standard} ({meta['weights_sha256'][:12]})")
    if details:
        lines.append("")
        lines.append("  ".join(details))
    return "\n".join(lines)


def _emit(result: dict[str, Any], as_json: bool, out: str | None) -> None:
    if out:
        from ganmetrics.atomic import write_json

        write_json(out, result)
    if as_json:
        click.echo(json.dumps(result, sort_keys=False))
    else:
        click.echo(_format_table(result))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ganmetrics")
def main() -> None:
    """Defensible GAN metrics: FID, Inception Score, KID, MS-SSIM diversity, precision/recall.

    Follows the protocol of "The GAN Landscape" (Kurach, Lucic et al. 2019): see
    `ganmetrics eval --help` and docs/protocol.md.
    """


def _metric_command(name: str, metrics: tuple[str, ...] | None, summary: str):
    @main.command(name=name, help=summary)
    @click.option(
        "--real",
        default=None,
        help="Real images: folder, zip, .npy/.npz, or a stats .npz (FID only).",
    )
    @click.option(
        "--fake",
        required=True,
        help="Generated images: folder, zip, .npy/.npz, generator .pt or module:callable.",
    )
    @click.option("--protocol", type=click.Choice(["custom", "cifar10", "celeba-hq-128",
                                                   "lsun-bedroom"]),
                  default="custom", show_default=True, help="Sample-count preset.")  # fmt: skip
    @click.option(
        "--num",
        type=int,
        default=None,
        help="Images per side: the first N of a folder, N draws from a generator.",
    )
    @click.option("--num-real", type=int, default=None, help="Real images (overrides --num).")
    @click.option("--is-splits", type=int, default=10, show_default=True)
    @click.option("--kid-subsets", type=int, default=100, show_default=True)
    @click.option("--kid-subset-size", type=int, default=1000, show_default=True)
    @click.option("--msssim-batches", type=int, default=5, show_default=True)
    @click.option("--msssim-batch-size", type=int, default=64, show_default=True)
    @click.option(
        "--prc-k",
        type=int,
        default=3,
        show_default=True,
        help="Neighbours for precision/recall (Kynkäänniemi et al.).",
    )
    @click.option(
        "--dc-k",
        type=int,
        default=5,
        show_default=True,
        help="Neighbours for density/coverage (Naeem et al.).",
    )
    @evaluation_options
    @output_options
    def command(real, fake, protocol, num, num_real, as_json, out, **kwargs):
        from ganmetrics.api import evaluate

        chosen = metrics
        if chosen is None:
            chosen = tuple(m.strip() for m in kwargs.pop("metrics").split(",") if m.strip())
        settings = _settings_kwargs(kwargs)
        settings.update(
            is_splits=kwargs.pop("is_splits"),
            kid_subsets=kwargs.pop("kid_subsets"),
            kid_subset_size=kwargs.pop("kid_subset_size"),
            msssim_batches=kwargs.pop("msssim_batches"),
            msssim_batch_size=kwargs.pop("msssim_batch_size"),
            prc_k=kwargs.pop("prc_k"),
            dc_k=kwargs.pop("dc_k"),
        )

        def action():
            if real is None and any(m in chosen for m in ("fid", "kid", "prc")):
                raise InputError(f"{name}: --real is required for {', '.join(chosen)}")
            result = evaluate(
                real,
                fake,
                chosen or None,
                protocol=protocol,
                num_fake=num,
                num_real=num_real if num_real is not None else num,
                **settings,
            )
            _emit(result, as_json, out)

        _run(action)

    if metrics is None:
        command = click.option("--metrics", default="",
                               help="Comma-separated: fid,is,kid,msssim,prc (default: the "
                                    "protocol's: fid,is,kid, plus msssim for celeba-hq-128).")(
            command)  # fmt: skip
        command.params.insert(0, command.params.pop())
    return command


_metric_command("eval", None, "Every requested metric from one feature pass per side.")
_metric_command("fid", ("fid",), "Fréchet Inception Distance (Heusel et al. 2017).")
_metric_command("is", ("is",), "Inception Score (Salimans et al. 2016).")
_metric_command("kid", ("kid",), "Kernel Inception Distance (Bińkowski et al. 2018).")
_metric_command("msssim", ("msssim",), "MS-SSIM diversity of generated images (Fedus et al.).")
_metric_command("prc", ("prc",), "Precision/recall (Kynkäänniemi) and density/coverage (Naeem).")


@main.command()
@click.argument("source", required=False)
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True,
              help="Output .npz (pytorch-fid compatible mu/sigma plus metadata).")  # fmt: skip
@click.option("--reference", default=None, help="Build a reference set of the manifest instead.")
@click.option("--data-dir", type=click.Path(), default=None, help="Local copy of the dataset.")
@click.option("--image-size", type=int, default=None,
              help="With --reference: side to bring larger originals to (e.g. 128 for a folder "
                   "of 1024-px CelebA-HQ images).")  # fmt: skip
@click.option("--num", type=int, default=None, help="Use the first N images.")
@evaluation_options
def stats(source, out, reference, data_dir, image_size, num, **kwargs):
    """Write Inception statistics of SOURCE (or of a --reference set) to an .npz."""
    from ganmetrics.api import compute_stats

    settings = _settings_kwargs(kwargs)

    def action():
        if (source is None) == (reference is None):
            raise InputError("stats: give either SOURCE or --reference NAME (with --data-dir)")
        spec: Any = source
        if reference is not None:
            from ganmetrics.datasets import open_reference

            if data_dir is None:
                raise InputError(f"stats --reference {reference}: pass --data-dir DIR")
            options = {} if image_size is None else {"image_size": image_size}
            spec = open_reference(reference, data_dir, **options)
        result = compute_stats(spec, out, num_real=num, **settings)
        click.echo(f"wrote {out}: mu {result.mu.shape}, sigma {result.sigma.shape}, "
                   f"n={result.num_images}")  # fmt: skip

    _run(action)


@main.command()
@click.option("--generator", required=True, type=click.Path(dir_okay=False),
              help="Generator export (.pt) written by ganmetrics-train.")  # fmt: skip
@click.option("--real", required=True, help="Test images: folder, zip or array file.")
@click.option("--num", type=int, default=200, show_default=True, help="Test images used.")
@click.option("--steps", type=int, default=50, show_default=True)
@click.option("--lr", type=float, default=0.01, show_default=True)
@click.option("--batch-size", type=int, default=50, show_default=True)
@click.option("--device", default=None)
@click.option(
    "--range",
    "value_range",
    type=click.Choice(["0,1", "-1,1"]),
    default=None,
    help="Value range of float test arrays.",
)
@output_options
def recon(generator, real, num, steps, lr, batch_size, device, value_range, as_json, out):
    """Reconstruction error of Xiang & Li: min_z ||G(z) - x||² on test images."""
    import numpy as np

    from ganmetrics.recon import reconstruction_error
    from ganmetrics.sources import ImageSource, load_generator_export, open_source

    def action():
        module, header = load_generator_export(generator, device=device)
        source = open_source(real, num=num, value_range=value_range)
        if not isinstance(source, ImageSource):
            raise InputError(f"{real}: is a stats file; recon needs the test images themselves")
        images = np.concatenate(list(source.batches(batch_size)))
        found = reconstruction_error(
            module, images, z_dim=int(header["z_dim"]), steps=steps, lr=lr,
            batch_size=batch_size, device=device,
        )  # fmt: skip
        result = {
            "recon_mse": float(found.mean_mse),
            "recon_std": float(found.std_mse),
            "meta": {
                "generator": str(generator),
                "real": str(real),
                "num_images": found.num_images,
                "steps": steps,
                "lr": lr,
                "optimizer": "RMSprop(alpha=0.9, eps=1e-6), z initialised at 0",
            },
        }
        _emit(result, as_json, out)

    _run(action)


@main.command("make-test-weights", hidden=False)
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--seed", type=int, default=0, show_default=True)
def make_test_weights(path, seed):
    """Write seeded RANDOM Inception weights (offline tests and demos only).

    Scores computed with them are internally consistent but not comparable with any paper;
    every result records standard_weights=false.
    """
    from ganmetrics.inception import make_random_inception_weights

    _run(lambda: make_random_inception_weights(path, seed=seed))
    click.echo(f"wrote {path} (random weights: NOT the standard Inception network)")


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="ganmetrics-demo",
              show_default=True, help="Folder for the demo images and result.")  # fmt: skip
@click.option("--num", type=int, default=320, show_default=True, help="Images per side.")
@click.option("--inception-weights", type=click.Path(dir_okay=False), default=None)
def demo(out_dir, num, inception_weights):
    """Evaluate a built-in 'generator' that drops modes against built-in 'real' images.

    Writes two folders of procedural 32×32 images (no download needed), then runs every metric on
    them. Without the standard Inception weights (offline and no $GANMETRICS_INCEPTION_WEIGHTS),
    it falls back to seeded RANDOM weights and says so: the pipeline runs, the numbers are not
    comparable with any paper.
    """
    from pathlib import Path

    from PIL import Image

    from ganmetrics.api import evaluate
    from ganmetrics.datasets import ProceduralDataset
    from ganmetrics.inception import make_random_inception_weights, resolve_weights_path

    def action():
        root = Path(out_dir)
        sides = {
            "real": ProceduralDataset(num, image_size=32, seed=0, split="test"),
            "fake": ProceduralDataset(num, image_size=32, seed=1, split="train", num_modes=2),
        }
        for name, dataset in sides.items():
            folder = root / name
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(len(dataset)):
                image = dataset.read(index).transpose(1, 2, 0)
                Image.fromarray(image).save(folder / f"{index:05d}.png")
        weights = inception_weights
        try:
            resolve_weights_path(weights)
        except InputError as exc:
            if weights is not None:
                raise
            weights = str(root / "random-inception-weights.pth")
            click.echo(f"note: {exc}", err=True)
            click.echo("note: demo continues with seeded RANDOM Inception weights; numbers below "
                       "are NOT comparable with published scores", err=True)  # fmt: skip
            if not Path(weights).exists():
                make_random_inception_weights(weights, seed=0)
        result = evaluate(
            root / "real",
            root / "fake",
            ("fid", "is", "kid", "prc", "msssim"),
            inception_weights=weights,
            kid_subset_size=min(1000, num),
            msssim_batches=5,
            msssim_batch_size=min(64, num // 5),
            progress=True,
        )
        _emit(result, as_json=False, out=str(root / "result.json"))
        click.echo(f"\nimages and result.json in {root}/")

    _run(action)


@main.command()
def protocols():
    """List the evaluation protocols and their sample counts."""
    from ganmetrics.protocols import PROTOCOLS

    for protocol in PROTOCOLS.values():
        counts = (
            "all images" if protocol.num_real is None
            else f"{protocol.num_real} real vs {protocol.num_fake} generated"
        )  # fmt: skip
        click.echo(f"{protocol.name:<14} {counts:<28} {protocol.description}")


if __name__ == "__main__":
    main()
