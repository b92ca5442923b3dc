"""The Python API: ``evaluate``, ``fid``, ``compute_stats``, ``evaluate_reconstruction``.

Every metric requested in one call comes from a single Inception pass per side; features of
folders, zips and array files are cached on disk, so evaluating many generators against one test
set passes the test set through the network once. Which sides a metric needs, and how it is
computed, is read from the metric table (:mod:`ganmetrics.metrics`). Each result carries the
settings, sample counts, weights hash and versions that produced it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import platform
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ganmetrics import cache as feature_cache
from ganmetrics import distributed
from ganmetrics.atomic import ensure_writable_dir
from ganmetrics.encoders import DEFAULT_ENCODER, get_encoder, make_extractor
from ganmetrics.errors import InputError
from ganmetrics.feature_file import save_feature_file
from ganmetrics.features import (
    FeatureExtractor,
    Features,
    network_description,
    network_variant,
)
from ganmetrics.inception import check_weights, file_sha256, resolve_weights_path
from ganmetrics.metrics import METRIC_TABLE, METRICS
from ganmetrics.settings import RECON_LR, RECON_NUM_IMAGES, RECON_STEPS, EvalSettings
from ganmetrics.side import Side, check_same_network, each, require_sides
from ganmetrics.sources import (
    ImageSource,
    StatsFile,
    load_stats,
    open_source,
    save_stats,
    stats_path,
)
from ganmetrics.version import __version__


#: What each side can be, for the required-argument messages.
def check_writable(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Refuse, before any work, an output path that cannot be written (one line naming it)."""
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{flag} {target}: is a folder; name a file to write")
    try:
        ensure_writable_dir(target)
        handle, probe = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except InputError as exc:
        raise InputError(f"{flag} {exc}") from None
    except OSError as exc:
        raise InputError(
            f"{flag} {target}: cannot write in {target.parent} ({exc.strerror}); "
            "choose a writable output path"
        ) from None
    os.close(handle)
    os.unlink(probe)
    return target


def _inception_weights(settings: EvalSettings) -> str | os.PathLike | None:
    """``--inception-weights``, else ``--encoder-weights``, else ``$GANMETRICS_INCEPTION_WEIGHTS``
    (read by :func:`resolve_weights_path`), else the file in ``$GANMETRICS_WEIGHTS_DIR``."""
    from ganmetrics.encoders.weights import weights_dir_file
    from ganmetrics.inception import ENV_VAR

    explicit = settings.inception_weights or settings.encoder_weights
    if explicit or os.environ.get(ENV_VAR):
        return explicit
    return weights_dir_file(get_encoder(DEFAULT_ENCODER))


@functools.lru_cache(maxsize=2)
def _shared_extractor(
    weights: str, weights_sha256: str, device: str | None, batch_size: int | None, float64: bool,
    num_workers: int | None, compile: bool, fast: bool, allow_tf32: bool,
    encoder: str = DEFAULT_ENCODER,
) -> FeatureExtractor:  # fmt: skip
    """One network per configuration and process: repeated evaluations skip loading and folding.

    ``weights_sha256`` is part of the key so that a replaced weights file is loaded afresh.
    """
    if encoder != DEFAULT_ENCODER:
        return make_extractor(
            encoder, weights, device=device, batch_size=batch_size, float64=float64,
            num_workers=num_workers, compile=compile, allow_tf32=allow_tf32,
        )  # fmt: skip
    return FeatureExtractor(
        weights=weights, device=device, batch_size=batch_size, float64=float64,
        num_workers=num_workers, compile=compile, fast=fast, allow_tf32=allow_tf32,
    )  # fmt: skip


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


class Evaluator:
    """Holds one feature extractor across many evaluations (e.g. while training)."""

    def __init__(
        self, settings: EvalSettings | None = None, extractor: FeatureExtractor | None = None
    ):
        self.settings = (settings or EvalSettings()).validated()
        self._extractor = extractor
        self._network: dict[str, Any] | None = extractor.describe() if extractor else None

    def replaced(self, **overrides: Any) -> Evaluator:
        """This evaluator with some settings replaced, sharing its network (no reload)."""
        other = Evaluator(dataclasses.replace(self.settings, **overrides), self._extractor)
        other._network = self._network
        return other

    @property
    def network(self) -> dict[str, Any]:
        """Weights hash and network variant, known without loading the network (cache hits)."""
        if self._network is None:
            s = self.settings
            if s.encoder != DEFAULT_ENCODER:
                from ganmetrics.encoders.extractor import describe_encoder

                self._network = describe_encoder(
                    s.encoder, s.encoder_weights, s.float64, s.device, s.allow_tf32
                )
                return self._network
            weights = resolve_weights_path(_inception_weights(s))
            sha, standard = check_weights(weights)
            self._network = {"encoder": DEFAULT_ENCODER, **network_description(
                weights, sha, standard, s.float64, s.fast, s.device, allow_tf32=s.allow_tf32
            )}  # fmt: skip
        return self._network

    @property
    def extractor(self) -> FeatureExtractor:
        if self._extractor is None:
            s = self.settings
            if s.encoder != DEFAULT_ENCODER:
                weights = self.network["weights_path"]
            else:
                weights = resolve_weights_path(_inception_weights(s))
            self._extractor = _shared_extractor(
                str(weights), file_sha256(weights), s.device, s.batch_size, s.float64,
                s.num_workers, s.compile, s.fast, s.allow_tf32, get_encoder(s.encoder).name,
            )  # fmt: skip
        return self._extractor

    def features(self, side: Side, capture: int = 0) -> Features:
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
        require_sides(real, fake, s.metrics)
        rows = [row for name, row in METRIC_TABLE.items() if name in s.metrics]
        needs_real = any(row.needs_real_images for row in rows)
        real_side = Side("real", real, s, s.num_real) if needs_real else None
        fake_side = Side("fake", fake, s, s.num_fake)
        self.check_sides(real_side, fake_side)

        kept = max((row.images_kept(s) for row in rows if row.images_kept), default=0)
        if real_side is not None and real_side.source is not None:
            real_side.features = self.features(real_side)
        if fake_side.source is not None and any(row.needs_fake != "pixels" for row in rows):
            fake_side.features = self.features(fake_side, capture=kept)
        return self.score(real_side, fake_side, started)

    def check_sides(self, real_side: Any, fake_side: Any) -> None:
        """Refuse, before any network runs, sides the requested metrics cannot use."""
        s = self.settings
        rows = [row for name, row in METRIC_TABLE.items() if name in s.metrics]
        wanted_real = [row.name for row in rows if row.needs_real_features]
        if real_side is not None and real_side.stats is not None and wanted_real:
            raise InputError(
                f"{real_side.description}: a stats file holds no per-image features, and "
                f"{each(wanted_real)} needs them; pass the real images instead"
            )
        beyond_stats = [row.name for row in rows if row.needs_fake != "statistics"]
        if fake_side.stats is not None and beyond_stats:
            from_stats = [m for m in METRICS if METRIC_TABLE[m].needs_fake == "statistics"]
            raise InputError(
                f"{fake_side.description}: a stats file on the generated side supports "
                f"{', '.join(from_stats)} only; pass the generated images for "
                f"{', '.join(beyond_stats)}"
            )
        pixel_metrics = [row.name for row in rows if row.needs_fake == "pixels"]
        if fake_side.feature_meta is not None and pixel_metrics:
            raise InputError(
                f"{fake_side.description}: a feature file holds no images, which "
                f"{', '.join(pixel_metrics)} need; pass the generated images"
            )
        for row in rows:
            if row.check is not None:
                row.check(real_side, fake_side, s)

    def score(self, real_side: Any, fake_side: Any, started: float) -> dict[str, Any]:
        """The metric stage: the requested metrics of sides whose features are at hand.

        The one place where features (or a stats file's mean and covariance) become the result
        dict, read row by row from :data:`~ganmetrics.metrics.METRIC_TABLE`: values, notes,
        bootstrap intervals and ``meta``. :func:`evaluate` and :class:`ganmetrics.Stream` both end
        here, so a stream's result equals ``evaluate``'s on the same images.
        """
        check_same_network(real_side, fake_side)
        s = self.settings
        rows = [row for name, row in METRIC_TABLE.items() if name in s.metrics]
        result: dict[str, Any] = {}
        notes: list[str] = []
        for row in rows:
            values = row.compute(real_side, fake_side, s)
            result.update(values)
            if row.notes is not None:
                notes.extend(row.notes(values, real_side, fake_side, s))
            if s.bootstrap and row.intervals is not None:
                result.update(row.intervals(real_side, fake_side, s))
        if self._network is None:  # no network ran: the feature files say what made them
            for side in (real_side, fake_side):
                if side is not None and side.feature_meta is not None:
                    self._network = dict(side.feature_meta.get("network", {}))
                    break
        result["meta"] = self._meta(real_side, fake_side, started)
        if notes:
            result["meta"]["notes"] = notes
        return result

    def _meta(self, real_side: Any, fake_side: Any, started: float) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "ganmetrics_version": __version__,
            "protocol": self.settings.protocol,
            "n_real": real_side.num_images if real_side else None,
            "n_fake": fake_side.num_images,
            "real": real_side.describe() if real_side else None,
            "fake": fake_side.describe(),
            "settings": self.settings.to_dict(),
            "estimators": self.settings.estimators(),
            "seconds": round(time.time() - started, 3),
            "environment": _environment(),
        }
        if self._network is not None:
            meta.update(self._network)
        else:
            meta["standard_weights"] = None  # no network ran: both sides came from stats files
        return meta


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
        metrics: any of ``fid, fd, cmmd, is, kid, msssim, prc``; default: the protocol's. With
            ``encoder=`` other than ``"inception"`` (``dinov2-vitl14``, ``clip-vitl14``,
            ``clip-vitl14-336``) the features are that network's: ``fid`` is computed as ``fd``
            and ``is`` is refused.
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
    """Inception pool3 mean and covariance of ``source``; written to ``out`` if given (with the
    ``.npz`` suffix appended when ``out`` lacks it; the returned file's ``path`` says where).

    The file is pytorch-fid/clean-fid compatible (``mu``, ``sigma`` in float64) with metadata
    keys ``n``, ``weights_sha256``, ``source_fingerprint``, ``ganmetrics_version`` and
    ``meta_json`` (the settings and environment), written atomically.
    """
    import json

    from ganmetrics.fid import feature_statistics

    resolved = dataclasses.replace(settings or EvalSettings(), **overrides).validated()
    if out is not None:
        check_writable(out)  # a folder is refused as such, not written beside as FOLDER.npz
        out = check_writable(stats_path(out))
    evaluator = Evaluator(resolved, extractor)
    side = Side("real", source, resolved, resolved.num_real)
    if side.stats is not None:
        raise InputError(
            f"{side.description}: is already a stats file; pass images to compute stats"
        )
    if side.feature_meta is None:
        side.features = evaluator.features(side)
    elif evaluator._network is None:
        evaluator._network = dict(side.feature_meta.get("network", {}))
    mu, sigma = feature_statistics(side.features.pool3)
    meta = {
        "ganmetrics_version": __version__,
        "n": side.num_images,
        "source": side.describe(),
        "settings": resolved.to_dict(),
        "environment": _environment(),
        **evaluator.network,
    }
    fingerprint = (side.source.fingerprint() if side.source is not None else None) or ""
    if out is not None and distributed.is_primary():
        try:
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
        except OSError as exc:
            raise InputError(
                f"--out {out}: could not be written ({exc.strerror}); choose a writable path"
            ) from None
        return load_stats(out, expected_dim=None)
    return StatsFile(path=None, mu=mu, sigma=sigma, num_images=side.num_images, meta=meta)


def compute_features(
    source: Any,
    out: str | os.PathLike | None = None,
    *,
    settings: EvalSettings | None = None,
    extractor: FeatureExtractor | None = None,
    **overrides: Any,
) -> tuple[Features, dict[str, Any]]:
    """Per-image features of ``source`` under ``settings.encoder``, with their provenance; written
    to ``out`` (an ``.npz`` that ``eval --real/--fake`` accept) if given.

    Returns ``(features, meta)``: ``features.pool3`` holds the (N, D) vectors (Inception: pool3,
    with ``features.logits``); ``meta`` the encoder, weights, source and settings.
    """
    resolved = dataclasses.replace(settings or EvalSettings(), **overrides).validated()
    if out is not None:
        check_writable(out)
    evaluator = Evaluator(resolved, extractor)
    side = Side("real", source, resolved, resolved.num_real)
    if side.source is None:
        raise InputError(f"{side.description}: holds no images; pass a folder, zip or array file")
    features = evaluator.features(side)
    meta = {
        "encoder": get_encoder(resolved.encoder).name,
        "weights_sha256": evaluator.network["weights_sha256"],
        "network": evaluator.network,
        "n": side.num_images,
        "source": side.describe(),
        "settings": resolved.to_dict(),
        "ganmetrics_version": __version__,
        "environment": _environment(),
    }
    if out is not None and distributed.is_primary():
        save_feature_file(out, features, meta)
    return features, meta


def evaluate_reconstruction(
    generator: str | os.PathLike | None,
    real: Any,
    *,
    num: int = RECON_NUM_IMAGES,
    steps: int = RECON_STEPS,
    lr: float = RECON_LR,
    batch_size: int = 50,
    device: str | None = None,
    value_range: str | None = None,
) -> dict[str, Any]:
    """Reconstruction error (Xiang & Li 2017) of a generator export on the first ``num`` images.

    ``generator`` is a ``.pt`` export written by ``ganmetrics-train export``; ``real`` is any image
    source (not a stats file), which must hold at least ``num`` images. For an ``nn.Module`` and an
    array, call :func:`ganmetrics.recon.reconstruction_error` directly.

    Returns:
        ``recon_mse``, ``recon_std`` (population std over the images) and ``meta``.
    """
    from ganmetrics.recon import reconstruction_error
    from ganmetrics.sources import load_generator_export

    if generator is None:
        raise InputError(
            "--generator is required: pass a generator export (.pt) of ganmetrics-train"
        )
    if real is None:
        raise InputError(
            "--real is required for recon: pass the test images (folder, zip, .npy/.npz)"
        )
    started = time.time()
    module, header = load_generator_export(generator, device=device)
    source = open_source(real, num=num, value_range=value_range)
    if not isinstance(source, ImageSource):
        raise InputError(f"{real}: is a stats file; recon needs the test images themselves")
    images = np.concatenate(list(source.batches(batch_size)))
    found = reconstruction_error(
        module, images, z_dim=int(header["z_dim"]), steps=steps, lr=lr, batch_size=batch_size,
        device=device,
    )  # fmt: skip
    return {
        "recon_mse": float(found.mean_mse),
        "recon_std": float(found.std_mse),
        "meta": {
            "ganmetrics_version": __version__,
            "generator": str(generator),
            "real": str(real),
            "num_images": found.num_images,
            "steps": steps,
            "lr": lr,
            "optimizer": "RMSprop(alpha=0.9, eps=1e-6), z initialised at 0",
            "seconds": round(time.time() - started, 3),
            "environment": _environment(),
        },
    }


__all__ = [
    "METRICS",
    "EvalSettings",
    "Evaluator",
    "check_writable",
    "compute_features",
    "compute_stats",
    "evaluate",
    "evaluate_reconstruction",
    "fid",
]
