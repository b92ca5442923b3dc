"""The Python API: ``evaluate``, ``fid``, ``compute_stats``.

Every metric requested in one call comes from a single Inception pass per side; features of
folders, zips and array files are cached on disk, so evaluating many generators against one test
set passes the test set through the network once. Each result carries the settings, sample
counts, weights hash and versions that produced it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import platform
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ganmetrics import cache as feature_cache
from ganmetrics.errors import InputError
from ganmetrics.features import (
    FeatureExtractor,
    Features,
    network_description,
    network_variant,
)
from ganmetrics.inception import check_weights, file_sha256, resolve_weights_path
from ganmetrics.protocols import get_protocol, resolve_count
from ganmetrics.sources import ImageSource, StatsFile, load_stats, open_source, save_stats
from ganmetrics.version import __version__

METRICS = ("fid", "is", "kid", "msssim", "prc")
#: Metrics that need the real side's per-image features (a stats file is not enough).
_NEEDS_REAL_FEATURES = {"kid", "prc"}


@dataclass(frozen=True)
class EvalSettings:
    """Everything that determines a score besides the images. Saved in every result's ``meta``."""

    metrics: tuple[str, ...] | None = None  # None: the protocol's metrics
    protocol: str = "custom"
    num_real: int | None = None
    num_fake: int | None = None
    seed: int = 0  # generator sampling
    inception_weights: str | None = None
    device: str | None = None
    batch_size: int = 64
    float64: bool = False
    num_workers: int | None = None
    compile: bool = False
    fast: bool = True  # False: torch-fidelity's unmodified forward pass (bit-identical features)
    cache: bool = True
    value_range: str | None = None  # "0,1" or "-1,1" for float arrays / generators
    resize: bool | tuple[int, int] | None = None
    z_dim: int | None = None
    is_splits: int = 10
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    msssim_batches: int = 5
    msssim_batch_size: int = 64
    prc_k: int = 3
    dc_k: int = 5
    progress: bool = False

    def validated(self) -> EvalSettings:
        """Resolve the protocol's defaults and refuse impossible settings with the reason."""
        protocol = get_protocol(self.protocol)
        metrics = tuple(self.metrics) if self.metrics else protocol.metrics
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise InputError(
                f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}"
            )
        positive = {
            "batch_size": self.batch_size,
            "is_splits": self.is_splits,
            "kid_subsets": self.kid_subsets,
            "kid_subset_size": self.kid_subset_size,
            "msssim_batches": self.msssim_batches,
            "prc_k": self.prc_k,
            "dc_k": self.dc_k,
        }
        for name, value in positive.items():
            if value < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if self.msssim_batch_size < 2:
            raise InputError("--msssim-batch-size must be at least 2 (pairs of images)")
        for name in ("num_real", "num_fake"):
            value = getattr(self, name)
            if value is not None and value < 2:
                raise InputError(f"--{name.replace('_', '-')} must be at least 2, got {value}")
        if self.value_range not in (None, "0,1", "-1,1"):
            raise InputError(f"--range must be 0,1 or -1,1, got {self.value_range!r}")
        return dataclasses.replace(self, metrics=metrics)

    def to_dict(self) -> dict[str, Any]:
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }


class _Side:
    """One side of a comparison: an image source or a stats file, plus what was computed for it."""

    def __init__(self, role: str, spec: Any, settings: EvalSettings, requested: int | None):
        self.role = role
        protocol = get_protocol(settings.protocol)
        options = {
            "value_range": settings.value_range,
            "resize": settings.resize,
            "seed": settings.seed,
            "z_dim": settings.z_dim,
            "device": settings.device,
        }
        count_hint = requested if requested is not None else _preset_count(protocol, role)
        try:  # finite sources open whole, so a protocol can say how many images are missing
            opened = open_source(spec, **options)
        except InputError:
            if count_hint is None:
                raise
            opened = open_source(spec, num=count_hint, **options)  # generators need a count
        self.stats: StatsFile | None = opened if isinstance(opened, StatsFile) else None
        self.source: ImageSource | None = None if self.stats else opened
        description = str(getattr(opened, "path", None) or getattr(opened, "description", spec))
        self.description = description
        available = self.stats.num_images if self.stats is not None else len(self.source)
        count = resolve_count(protocol, role, available, requested, description)
        if self.source is not None and count is not None and count < len(self.source):
            self.source = open_source(self.source, num=count)
        self.num_images = len(self.source) if self.source is not None else self.stats.num_images
        if self.num_images is not None and self.num_images < 2:
            raise InputError(
                f"{description}: has {self.num_images} image(s); at least 2 are needed"
            )
        self.features: Features | None = None
        self.weights_sha256: str | None = None
        self.from_cache = False
        self.captured: np.ndarray | None = None  # first images, kept for MS-SSIM

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"source": self.description, "num_images": self.num_images}
        if self.source is not None:
            info["fingerprint"] = self.source.fingerprint()
            info["features_from_cache"] = self.from_cache
        else:
            info["stats_meta"] = self.stats.meta
        return info


@functools.lru_cache(maxsize=2)
def _shared_extractor(
    weights: str, weights_sha256: str, device: str | None, batch_size: int, float64: bool,
    num_workers: int | None, compile: bool, fast: bool,
) -> FeatureExtractor:  # fmt: skip
    """One network per configuration and process: repeated evaluations skip loading and folding.

    ``weights_sha256`` is part of the key so that a replaced weights file is loaded afresh.
    """
    return FeatureExtractor(
        weights=weights, device=device, batch_size=batch_size, float64=float64,
        num_workers=num_workers, compile=compile, fast=fast,
    )  # fmt: skip


def _preset_count(protocol, role: str) -> int | None:
    return protocol.num_real if role == "real" else protocol.num_fake


class _CapturingSource(ImageSource):
    """Pass batches through unchanged while keeping the first ``keep`` images."""

    def __init__(self, inner: ImageSource, keep: int):
        self.inner = inner
        self.keep = keep
        self.description = inner.description
        self.captured: list[np.ndarray] = []
        self._count = 0

    def __len__(self) -> int:
        return len(self.inner)

    def fingerprint(self) -> str | None:
        return self.inner.fingerprint()

    def batches(self, batch_size: int, num_workers: int = 0) -> Iterator[np.ndarray]:
        for batch in self.inner.batches(batch_size, num_workers):
            if self._count < self.keep:
                take = batch[: self.keep - self._count]
                self.captured.append(np.array(take, copy=True))
                self._count += len(take)
            yield batch


def _first_images(source: ImageSource, count: int, settings: EvalSettings) -> np.ndarray:
    chunks, have = [], 0
    for batch in source.batches(settings.batch_size, settings.num_workers or 0):
        chunks.append(batch[: count - have])
        have += len(chunks[-1])
        if have >= count:
            break
    return np.concatenate(chunks) if chunks else np.empty((0, 3, 1, 1), np.uint8)


class Evaluator:
    """Holds one feature extractor across many evaluations (e.g. while training)."""

    def __init__(
        self, settings: EvalSettings | None = None, extractor: FeatureExtractor | None = None
    ):
        self.settings = (settings or EvalSettings()).validated()
        self._extractor = extractor
        self._network: dict[str, Any] | None = extractor.describe() if extractor else None

    @property
    def network(self) -> dict[str, Any]:
        """Weights hash and network variant, known without loading the network (cache hits)."""
        if self._network is None:
            s = self.settings
            weights = resolve_weights_path(s.inception_weights)
            sha, standard = check_weights(weights)
            self._network = network_description(weights, sha, standard, s.float64, s.fast, s.device)
        return self._network

    @property
    def extractor(self) -> FeatureExtractor:
        if self._extractor is None:
            s = self.settings
            weights = resolve_weights_path(s.inception_weights)
            self._extractor = _shared_extractor(
                str(weights), file_sha256(weights), s.device, s.batch_size, s.float64,
                s.num_workers, s.compile, s.fast,
            )  # fmt: skip
        return self._extractor

    def features(self, side: _Side, capture: int = 0) -> Features:
        """Features of one side, from the cache when possible."""
        assert side.source is not None
        network = self.network
        side.weights_sha256 = network["weights_sha256"]
        fingerprint = side.source.fingerprint() if self.settings.cache else None
        key = None
        if fingerprint is not None:
            key = feature_cache.cache_key(
                fingerprint, network["weights_sha256"], network_variant(network)
            )
            cached = feature_cache.load(key)
            if cached is not None and len(cached) == side.num_images:
                side.from_cache = True
                return cached
        extractor = self.extractor
        source: ImageSource = side.source
        if capture:
            source = _CapturingSource(side.source, capture)
        features = extractor.extract(source, progress=self.settings.progress, label=side.role)
        if capture:
            side.captured = np.concatenate(source.captured) if source.captured else None
        if key is not None:
            feature_cache.store(key, features)
        return features

    def evaluate(self, real: Any, fake: Any) -> dict[str, Any]:
        """Compute every requested metric for ``fake`` against ``real`` (see :func:`evaluate`)."""
        s = self.settings
        started = time.time()
        metrics = s.metrics
        needs_real = any(m in metrics for m in ("fid", "kid", "prc"))
        real_side = _Side("real", real, s, s.num_real) if needs_real else None
        fake_side = _Side("fake", fake, s, s.num_fake)
        wanted_real = {m for m in metrics if m in _NEEDS_REAL_FEATURES}
        if real_side is not None and real_side.stats is not None and wanted_real:
            raise InputError(
                f"{real_side.description}: a stats file holds no per-image features, which "
                f"{', '.join(sorted(wanted_real))} need; pass the real images instead"
            )
        if fake_side.stats is not None and set(metrics) != {"fid"}:
            raise InputError(
                f"{fake_side.description}: a stats file on the generated side supports FID only; "
                "pass the generated images for IS, KID, MS-SSIM or precision/recall"
            )
        msssim_count = s.msssim_batches * s.msssim_batch_size if "msssim" in metrics else 0
        if (
            msssim_count
            and fake_side.num_images is not None
            and fake_side.num_images < msssim_count
        ):
            raise InputError(
                f"{fake_side.description}: MS-SSIM diversity needs {s.msssim_batches}×"
                f"{s.msssim_batch_size} = {msssim_count} images, found {fake_side.num_images}; "
                "lower --msssim-batches/--msssim-batch-size or supply more images"
            )

        needs_fake_features = any(m in metrics for m in ("fid", "is", "kid", "prc"))
        if real_side is not None and real_side.source is not None:
            real_side.features = self.features(real_side)
        if fake_side.source is not None and needs_fake_features:
            fake_side.features = self.features(fake_side, capture=msssim_count)

        result: dict[str, Any] = {}
        if "fid" in metrics:
            result["fid"] = _fid(real_side, fake_side)
        if "is" in metrics:
            from ganmetrics.inception_score import inception_score

            mean, std = inception_score(fake_side.features.logits, splits=s.is_splits)
            result["is_mean"], result["is_std"] = float(mean), float(std)
        if "kid" in metrics:
            from ganmetrics.kid import kernel_inception_distance

            mean, std = kernel_inception_distance(
                real_side.features.pool3,
                fake_side.features.pool3,
                num_subsets=s.kid_subsets,
                subset_size=s.kid_subset_size,
            )
            result["kid_mean"], result["kid_std"] = float(mean), float(std)
        if "prc" in metrics:
            from ganmetrics.prc import density_coverage, precision_recall

            real_pool3, fake_pool3 = real_side.features.pool3, fake_side.features.pool3
            precision, recall = precision_recall(real_pool3, fake_pool3, k=s.prc_k)
            density, coverage = density_coverage(real_pool3, fake_pool3, k=s.dc_k)
            result.update(
                precision=float(precision),
                recall=float(recall),
                density=float(density),
                coverage=float(coverage),
            )
        if "msssim" in metrics:
            from ganmetrics.msssim import msssim_diversity

            images = fake_side.captured
            if images is None or len(images) < msssim_count:
                images = _first_images(fake_side.source, msssim_count, s)
            diversity = msssim_diversity(
                images,
                num_batches=s.msssim_batches,
                batch_size=s.msssim_batch_size,
                device=s.device,
            )
            result["msssim"] = float(diversity.score)
            result["msssim_per_batch"] = [float(v) for v in diversity.per_batch]
        result["meta"] = self._meta(real_side, fake_side, started)
        return result

    def _meta(self, real_side: _Side | None, fake_side: _Side, started: float) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "ganmetrics_version": __version__,
            "protocol": self.settings.protocol,
            "n_real": real_side.num_images if real_side else None,
            "n_fake": fake_side.num_images,
            "real": real_side.describe() if real_side else None,
            "fake": fake_side.describe(),
            "settings": self.settings.to_dict(),
            "seconds": round(time.time() - started, 3),
            "environment": _environment(),
        }
        if self._network is not None:
            meta.update(self._network)
        else:
            meta["standard_weights"] = None  # no network ran: both sides came from stats files
        return meta


def _fid(real_side: _Side, fake_side: _Side) -> float:
    from ganmetrics.fid import feature_statistics, frechet_distance

    def statistics(side: _Side) -> tuple[np.ndarray, np.ndarray]:
        if side.stats is not None:
            return side.stats.mu, side.stats.sigma
        return feature_statistics(side.features.pool3)

    _check_stats_weights(real_side, fake_side)

    mu1, sigma1 = statistics(real_side)
    mu2, sigma2 = statistics(fake_side)
    return float(frechet_distance(mu1, sigma1, mu2, sigma2))


def _check_stats_weights(*sides: _Side) -> None:
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
            f"{stats_side.description}: statistics were computed with Inception weights "
            f"{hashes[stats_side.description][:12]}…, this run uses "
            f"{next(v for k, v in hashes.items() if k != stats_side.description)[:12]}…; "
            "recompute the stats with the same weights"
        )


def _environment() -> dict[str, str]:
    import torch

    try:
        import torch_fidelity

        fidelity_version = torch_fidelity.__version__
    except Exception:  # recorded as unknown rather than failing an evaluation
        fidelity_version = "unknown"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_fidelity": fidelity_version,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def evaluate(
    real: Any,
    fake: Any,
    metrics: Sequence[str] | None = None,
    *,
    settings: EvalSettings | None = None,
    extractor: FeatureExtractor | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Evaluate generated images against real ones.

    Args:
        real: a folder, zip, ``.npy``/``.npz`` array, stats ``.npz`` (FID only), an
            :class:`~ganmetrics.sources.ImageSource`, or an array/tensor of images.
        fake: the same kinds, or a generator: a ``.pt`` export, ``"module:callable"`` taking
            ``(n, seed)``, a callable, or an ``nn.Module`` mapping z to images in [0, 1]
            (generators need ``num_fake``; modules also ``z_dim``).
        metrics: any of ``fid, is, kid, msssim, prc``; default: the protocol's.
        settings: an :class:`EvalSettings`; keyword ``overrides`` replace its fields.
        extractor: a ready :class:`FeatureExtractor` to reuse.

    Returns:
        A dict with ``fid``, ``is_mean``, ``is_std``, ``kid_mean``, ``kid_std``, ``msssim`` (and
        ``msssim_per_batch``), ``precision``, ``recall``, ``density``, ``coverage`` (those
        computed) and ``meta``.
    """
    base = settings or EvalSettings()
    if metrics is not None:
        overrides["metrics"] = tuple(metrics)
    try:
        resolved = dataclasses.replace(base, **overrides)
    except TypeError as exc:
        raise TypeError(f"evaluate(): {exc}") from None
    return Evaluator(resolved, extractor).evaluate(real, fake)


def fid(real: Any, fake: Any, **overrides: Any) -> float:
    """FID between ``real`` and ``fake`` (Heusel et al. 2017); see :func:`evaluate`."""
    return evaluate(real, fake, ("fid",), **overrides)["fid"]


def compute_stats(
    source: Any,
    out: str | os.PathLike | None = None,
    *,
    settings: EvalSettings | None = None,
    extractor: FeatureExtractor | None = None,
    **overrides: Any,
) -> StatsFile:
    """Inception pool3 mean and covariance of ``source``; written to ``out`` if given.

    The file is pytorch-fid/clean-fid compatible (``mu``, ``sigma`` in float64) with metadata
    keys ``n``, ``weights_sha256``, ``source_fingerprint``, ``ganmetrics_version`` and
    ``meta_json`` (the settings and environment), written atomically.
    """
    import json

    from ganmetrics.fid import feature_statistics

    resolved = dataclasses.replace(settings or EvalSettings(), **overrides).validated()
    evaluator = Evaluator(resolved, extractor)
    side = _Side("real", source, resolved, resolved.num_real)
    if side.stats is not None:
        raise InputError(
            f"{side.description}: is already a stats file; pass images to compute stats"
        )
    side.features = evaluator.features(side)
    mu, sigma = feature_statistics(side.features.pool3)
    meta = {
        "ganmetrics_version": __version__,
        "n": side.num_images,
        "source": side.describe(),
        "settings": resolved.to_dict(),
        "environment": _environment(),
        **evaluator.network,
    }
    fingerprint = side.source.fingerprint() or ""
    if out is not None:
        save_stats(
            out,
            mu,
            sigma,
            n=side.num_images,
            weights_sha256=evaluator.network["weights_sha256"],
            source_fingerprint=fingerprint,
            ganmetrics_version=__version__,
            meta_json=json.dumps(meta),
        )
        return load_stats(out)
    return StatsFile(path=None, mu=mu, sigma=sigma, num_images=side.num_images, meta=meta)


__all__ = ["METRICS", "EvalSettings", "Evaluator", "compute_stats", "evaluate", "fid"]
