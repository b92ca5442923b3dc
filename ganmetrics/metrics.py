"""The metric table: what each metric needs, how it is computed, and what it reports.

:data:`METRIC_TABLE` is the one owner of these facts. :class:`ganmetrics.api.Evaluator` reads it to
decide which sides to open and pass through Inception, and the command line reads it for its
commands, their options and their table rows. Adding a metric means one module that computes it
on features or pixels, plus one row here.

Torch-free at import: each compute function imports its metric module when it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from ganmetrics.errors import InputError


class EvalSettings(Protocol):
    """What a row reads of the settings: the fields of :class:`ganmetrics.settings.EvalSettings`
    (validated there, whose metric names come from this table)."""

    encoder: str
    device: str | None
    batch_size: int | None
    num_workers: int | None
    seed: int
    progress: bool
    bootstrap: int
    confidence: float
    fid_inf: bool
    is_splits: int
    kid_estimator: str
    kid_subsets: int
    kid_subset_size: int
    msssim_batches: int
    msssim_batch_size: int
    prc_k: int
    dc_k: int


class Side(Protocol):
    """What a row reads of a side: :class:`ganmetrics.side.Side` for sources and files, the
    stream's :class:`ganmetrics.stream_sides.MetricSide` for images fed batch by batch."""

    role: str
    description: str
    num_images: int | None
    features: Any  # ganmetrics.features.Features (pool3, logits), or None
    stats: Any  # ganmetrics.sources.StatsFile (mean, covariance), or None
    captured: np.ndarray | None  # the first generated images, for MS-SSIM
    weights_sha256: str | None
    device_pool3: Any  # the same pool3 as a CUDA tensor where a stream keeps them there, or None


@dataclass(frozen=True)
class Metric:
    """One row of the metric table."""

    name: str
    summary: str  # one line: what it is, after whom (the command's help)
    needs_real_images: bool  # compares against the real side
    needs_real_features: bool  # per-image real features: a stats file's mean/covariance won't do
    #: What it needs of the generated side: the mean and covariance of its features (a stats file
    #: will do), per-image Inception features, or the pixels themselves (no network).
    needs_fake: Literal["statistics", "features", "pixels"]
    compute: Callable[[Side | None, Side, EvalSettings], dict[str, Any]]
    keys: tuple[str, ...]  # the JSON keys of its result
    options: tuple[str, ...] = ()  # the EvalSettings fields that only this metric reads
    rows: tuple[tuple[str, str], ...] = ()  # table rows: label, format over the result's keys
    #: Generated images kept in memory for the metric (MS-SSIM works on pixels).
    images_kept: Callable[[EvalSettings], int] | None = None
    #: Refuses, before any network runs, inputs the metric cannot use.
    check: Callable[[Side | None, Side, EvalSettings], None] | None = None
    #: Remarks on a surprising but correct value, for the table and ``meta["notes"]``.
    notes: Callable[[dict[str, Any], Side | None, Side, EvalSettings], list[str]] | None = None
    #: Bootstrap intervals from the features already extracted (``--bootstrap B``), keyed by
    #: :func:`interval_key` of the value they bracket.
    intervals: Callable[[Side | None, Side, EvalSettings], dict[str, dict]] | None = None


def interval_key(key: str) -> str:
    """The result key of the bootstrap interval of ``key``: ``fid_interval``, ``kid_interval``
    (of ``kid_mean``), ``is_interval``, ``precision_interval``, ..."""
    return f"{key.removesuffix('_mean')}_interval"


def _bootstrap_options(settings: EvalSettings) -> dict[str, Any]:
    return {"num_resamples": settings.bootstrap, "seed": settings.seed,
            "confidence": settings.confidence}  # fmt: skip


def _pool3(side: Side) -> Any:
    """Per-image features for the Fréchet linear algebra: the stream's CUDA tensor where its
    features stay on the GPU (float64 there, :mod:`ganmetrics.array_ops`), else the numpy array."""
    return side.device_pool3 if side.device_pool3 is not None else side.features.pool3


def _statistics(side: Side) -> tuple[Any, Any]:
    from ganmetrics.fid import feature_statistics

    if side.stats is not None:
        return side.stats.mu, side.stats.sigma
    return feature_statistics(_pool3(side))


def _check_same_weights(*sides: Side) -> None:
    """Refuse to mix statistics made with one Inception network and features of another."""
    hashes = {}
    for side in sides:
        if side.stats is not None:
            recorded = side.stats.meta.get("weights_sha256")
            if recorded:
                hashes[side.description] = str(recorded)
        elif side.features is not None:
            hashes[side.description] = side.weights_sha256
    if len(set(hashes.values())) > 1:
        stats_side = next(s for s in sides if s.stats is not None)
        raise InputError(
            f"{stats_side.description}: statistics were computed with weights "
            f"{hashes[stats_side.description][:12]}…, this run uses "
            f"{next(v for k, v in hashes.items() if k != stats_side.description)[:12]}…; "
            "recompute the stats with the same weights"
        )


def _per_image_or_statistics(side: Side) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """pool3 features where the side has them, else its stats file's (mu, sigma)."""
    return _pool3(side) if side.features is not None else _statistics(side)


def _fid(real: Side, fake: Side, settings: EvalSettings) -> dict[str, Any]:
    from ganmetrics.fid import frechet_distance, frechet_distance_to_features

    _check_same_weights(real, fake)
    mu1, sigma1 = _statistics(real)
    if fake.features is not None:
        fid = frechet_distance_to_features(mu1, sigma1, _pool3(fake))
    else:
        fid = frechet_distance(mu1, sigma1, *_statistics(fake))
    result: dict[str, Any] = {"fid": float(fid)}
    if settings.fid_inf:
        from ganmetrics.fid_infinity import fid_infinity

        real_side = _per_image_or_statistics(real)
        result["fid_infinity"] = fid_infinity(real_side, _pool3(fake), seed=settings.seed,
                                              progress=settings.progress).to_dict()  # fmt: skip
    return result


def _fd(real: Side, fake: Side, settings: EvalSettings) -> dict[str, Any]:
    """FID's estimator on the features of ``settings.encoder`` (FD_DINOv2: Stein et al. 2023)."""
    dims = {s.description: (s.stats.dim if s.stats is not None else s.features.pool3.shape[1])
            for s in (real, fake)}  # fmt: skip
    if len(set(dims.values())) > 1:
        raise InputError(
            f"{real.description}: {dims[real.description]}-d features against "
            f"{dims[fake.description]}-d of {fake.description}; compute both with the same "
            "--encoder and weights"
        )
    result = _fid(real, fake, settings)
    renamed = {"fd": result.pop("fid")}
    if "fid_infinity" in result:
        renamed["fd_infinity"] = result.pop("fid_infinity")
    return renamed


def _fd_intervals(real: Side, fake: Side, settings: EvalSettings) -> dict[str, dict]:
    found = _fid_intervals(real, fake, settings)
    return {interval_key("fd"): found[interval_key("fid")]} if found else {}


def _cmmd(real: Side, fake: Side, settings: EvalSettings) -> dict[str, Any]:
    from ganmetrics.cmmd import cmmd

    return {"cmmd": cmmd(real.features.pool3, fake.features.pool3)}


def _cmmd_intervals(real: Side, fake: Side, settings: EvalSettings) -> dict[str, dict]:
    from ganmetrics.cmmd import cmmd_interval

    interval = cmmd_interval(real.features.pool3, fake.features.pool3,
                             **_bootstrap_options(settings))  # fmt: skip
    return {interval_key("cmmd"): interval.to_dict()}


def _cmmd_notes(result: dict[str, Any], real: Side, fake: Side, settings: EvalSettings) -> list:
    if settings.encoder == "clip-vitl14-336":
        return []
    return [f"CMMD as published uses --encoder clip-vitl14-336; this one is on {settings.encoder}"]


def _check_fid_infinity(real: Side, fake: Side, settings: EvalSettings) -> None:
    """FID∞ subsamples the generated features: refuse a stats file or too few images early."""
    if not settings.fid_inf:
        return
    if fake.stats is not None:
        raise InputError(
            f"{fake.description}: --fid-inf subsamples per-image generated features, which a "
            "stats file does not hold; pass the generated images"
        )
    from ganmetrics.encoders import get_encoder
    from ganmetrics.fid_infinity import default_sizes

    default_sizes(fake.num_images, get_encoder(settings.encoder).dim)


def _fid_intervals(real: Side, fake: Side, settings: EvalSettings) -> dict[str, dict]:
    from ganmetrics.bootstrap import fid_interval

    if real.features is None and fake.features is None:
        return {}  # two stats files: nothing to resample
    interval = fid_interval(_per_image_or_statistics(real), _per_image_or_statistics(fake),
                            progress=settings.progress, **_bootstrap_options(settings))  # fmt: skip
    return {interval_key("fid"): interval.to_dict()}


def _inception_score(real: Side | None, fake: Side, settings: EvalSettings) -> dict[str, Any]:
    from ganmetrics.inception_score import inception_score

    mean, std = inception_score(fake.features.logits, splits=settings.is_splits)
    return {"is_mean": float(mean), "is_std": float(std)}


def _kid(real: Side, fake: Side, settings: EvalSettings) -> dict[str, Any]:
    from ganmetrics.kid import kid

    mean, std = kid(
        real.features.pool3,
        fake.features.pool3,
        estimator=settings.kid_estimator,
        num_subsets=settings.kid_subsets,
        subset_size=settings.kid_subset_size,
    )
    return {"kid_mean": float(mean), "kid_std": float(std)}


def _kid_notes(result: dict[str, Any], real: Side, fake: Side, settings: EvalSettings) -> list[str]:
    from ganmetrics.kid import kid_notes

    return kid_notes(result["kid_mean"], real.num_images, fake.num_images,
                     settings.kid_estimator, subset_size=settings.kid_subset_size)  # fmt: skip


def _kid_intervals(real: Side, fake: Side, settings: EvalSettings) -> dict[str, dict]:
    from ganmetrics.bootstrap import kid_interval

    options = _bootstrap_options(settings)
    interval = kid_interval(real.features.pool3, fake.features.pool3, **options)
    return {interval_key("kid_mean"): interval.to_dict()}


def _is_intervals(real: Side | None, fake: Side, settings: EvalSettings) -> dict[str, dict]:
    from ganmetrics.bootstrap import is_interval

    interval = is_interval(fake.features.logits, splits=settings.is_splits,
                           **_bootstrap_options(settings))  # fmt: skip
    return {interval_key("is_mean"): interval.to_dict()}


def _prc_intervals(real: Side, fake: Side, settings: EvalSettings) -> dict[str, dict]:
    from ganmetrics.bootstrap import dc_intervals, prc_intervals

    real_pool3, fake_pool3 = real.features.pool3, fake.features.pool3
    options = _bootstrap_options(settings)
    found = {**prc_intervals(real_pool3, fake_pool3, k=settings.prc_k, **options),
             **dc_intervals(real_pool3, fake_pool3, k=settings.dc_k, **options)}  # fmt: skip
    return {interval_key(name): interval.to_dict() for name, interval in found.items()}


def _precision_recall(real: Side, fake: Side, settings: EvalSettings) -> dict[str, Any]:
    from ganmetrics.prc import density_coverage, precision_recall

    precision, recall = precision_recall(real.features.pool3, fake.features.pool3, k=settings.prc_k)
    density, coverage = density_coverage(real.features.pool3, fake.features.pool3, k=settings.dc_k)
    return {
        "precision": float(precision),
        "recall": float(recall),
        "density": float(density),
        "coverage": float(coverage),
    }


def _msssim_count(settings: EvalSettings) -> int:
    return settings.msssim_batches * settings.msssim_batch_size


def _first_images(fake: Side, count: int, settings: EvalSettings) -> np.ndarray:
    chunks, have = [], 0
    for batch in fake.source.batches(settings.batch_size or 64, settings.num_workers or 0):
        chunks.append(batch[: count - have])
        have += len(chunks[-1])
        if have >= count:
            break
    return np.concatenate(chunks) if chunks else np.empty((0, 3, 1, 1), np.uint8)


def _check_msssim_count(real: Side | None, fake: Side, settings: EvalSettings) -> None:
    count = _msssim_count(settings)
    if fake.num_images is not None and fake.num_images < count:
        raise InputError(
            f"{fake.description}: MS-SSIM diversity needs {settings.msssim_batches}×"
            f"{settings.msssim_batch_size} = {count} images, found {fake.num_images}; "
            "lower --msssim-batches/--msssim-batch-size or supply more images"
        )


def _msssim(real: Side | None, fake: Side, settings: EvalSettings) -> dict[str, Any]:
    from ganmetrics.msssim import msssim_diversity

    count = _msssim_count(settings)
    images = fake.captured
    if images is None or len(images) < count:
        images = _first_images(fake, count, settings)
    if images.dtype != np.uint8:  # unrounded generator outputs: MS-SSIM reads uint8 pixels
        images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
    diversity = msssim_diversity(
        images,
        num_batches=settings.msssim_batches,
        batch_size=settings.msssim_batch_size,
        device=settings.device,
    )
    return {
        "msssim": float(diversity.score),
        "msssim_per_batch": [float(v) for v in diversity.per_batch],
    }


METRIC_TABLE: dict[str, Metric] = {
    "fid": Metric(
        "fid", "Fréchet Inception Distance (Heusel et al. 2017).",
        needs_real_images=True, needs_real_features=False, needs_fake="statistics",
        compute=_fid, keys=("fid",), options=("fid_inf",), rows=(("FID", "{fid:.4f}"),),
        check=_check_fid_infinity, intervals=_fid_intervals,
    ),
    "fd": Metric(
        "fd", "Fréchet distance in the --encoder's space (FD_DINOv2: Stein et al. 2023).",
        needs_real_images=True, needs_real_features=False, needs_fake="statistics",
        compute=_fd, keys=("fd",), options=("fid_inf",), rows=(("FD", "{fd:.4f}"),),
        check=_check_fid_infinity, intervals=_fd_intervals,
    ),
    "cmmd": Metric(
        "cmmd", "CMMD: Gaussian MMD of CLIP embeddings (Jayasumana et al. 2024).",
        needs_real_images=True, needs_real_features=True, needs_fake="features",
        compute=_cmmd, keys=("cmmd",), rows=(("CMMD", "{cmmd:.4f}"),),
        notes=_cmmd_notes, intervals=_cmmd_intervals,
    ),
    "is": Metric(
        "is", "Inception Score (Salimans et al. 2016).",
        needs_real_images=False, needs_real_features=False, needs_fake="features",
        compute=_inception_score, keys=("is_mean", "is_std"), options=("is_splits",),
        rows=(("Inception Score", "{is_mean:.4f} ± {is_std:.4f}"),), intervals=_is_intervals,
    ),
    "kid": Metric(
        "kid", "Kernel Inception Distance (Bińkowski et al. 2018).",
        needs_real_images=True, needs_real_features=True, needs_fake="features",
        compute=_kid, keys=("kid_mean", "kid_std"),
        options=("kid_estimator", "kid_subsets", "kid_subset_size"),
        rows=(("KID", "{kid_mean:.6f} ± {kid_std:.6f}"),), notes=_kid_notes,
        intervals=_kid_intervals,
    ),
    "msssim": Metric(
        "msssim", "MS-SSIM diversity of generated images (Fedus et al.).",
        needs_real_images=False, needs_real_features=False, needs_fake="pixels",
        compute=_msssim, keys=("msssim", "msssim_per_batch"),
        options=("msssim_batches", "msssim_batch_size"),
        rows=(("MS-SSIM diversity", "{msssim:.4f}"),), images_kept=_msssim_count,
        check=_check_msssim_count,
    ),
    "prc": Metric(
        "prc", "Precision/recall (Kynkäänniemi) and density/coverage (Naeem).",
        needs_real_images=True, needs_real_features=True, needs_fake="features",
        compute=_precision_recall, keys=("precision", "recall", "density", "coverage"),
        options=("prc_k", "dc_k"),
        rows=(("Precision", "{precision:.4f}"), ("Recall", "{recall:.4f}"),
              ("Density", "{density:.4f}"), ("Coverage", "{coverage:.4f}")),
        intervals=_prc_intervals,
    ),
}  # fmt: skip

#: Every metric name, in table order.
METRICS = tuple(METRIC_TABLE)


def real_side_metrics(metrics: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Those of ``metrics`` that compare against real images."""
    return tuple(m for m in metrics if m in METRIC_TABLE and METRIC_TABLE[m].needs_real_images)


__all__ = ["METRICS", "METRIC_TABLE", "Metric", "interval_key", "real_side_metrics"]
