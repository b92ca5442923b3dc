"""One side of a comparison, as the metric table reads it: an image source, a stats file or a
feature file, with the per-image features computed for it.

:func:`require_sides` and the checks here give the same one-line refusals in the API, every
command and :class:`ganmetrics.Stream`: a missing side, statistics or features of another encoder,
features of two different weights files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ganmetrics.encoders import DEFAULT_ENCODER, get_encoder
from ganmetrics.errors import InputError
from ganmetrics.feature_file import is_feature_file, load_feature_file
from ganmetrics.features import Features
from ganmetrics.metrics import METRIC_TABLE
from ganmetrics.protocols import get_protocol, resolve_count
from ganmetrics.settings import EvalSettings
from ganmetrics.sources import ImageSource, StatsFile, load_stats, open_source

_REAL_KINDS = "a folder, zip or .npy/.npz of real images, or (FID only) a stats .npz"
_FAKE_KINDS = "a folder, zip or .npy/.npz of generated images, a generator .pt or module:callable"


def each(names: Sequence[str]) -> str:
    """``kid`` or ``each of kid and prc``: metric names as the subject of a singular verb."""
    return names[0] if len(names) == 1 else f"each of {', '.join(names[:-1])} and {names[-1]}"


def require_sides(real: Any, fake: Any, metrics: Sequence[str]) -> None:
    """Refuse a missing side with the same one line in the API and every command."""
    if fake is None:
        raise InputError(f"--fake is required: pass {_FAKE_KINDS}")
    needing_real = [m for m in metrics if METRIC_TABLE[m].needs_real_images]
    if real is None and needing_real:
        raise InputError(f"--real is required for {', '.join(needing_real)}: pass {_REAL_KINDS}")


class Side:
    """One side of a comparison: an image source or a stats file, plus what was computed for it."""

    def __init__(self, role: str, spec: Any, settings: EvalSettings, requested: int | None):
        self.role = role
        self.feature_meta: dict[str, Any] | None = None
        if is_feature_file(spec):
            self._open_feature_file(spec, settings, requested)
            return
        protocol = get_protocol(settings.protocol)
        options = {
            "value_range": settings.value_range,
            "resize": settings.resize,
            "seed": settings.seed,
            "z_dim": settings.z_dim,
            "device": settings.device,
            "round_generated": settings.round_generated,
            "stats_dim": None,  # checked below, after the encoder that made them
        }
        count_hint = requested if requested is not None else _preset_count(protocol, role)
        try:  # finite sources open whole, so a protocol can say how many images are missing
            opened = open_source(spec, **options)
        except InputError:
            if count_hint is None:
                raise
            opened = open_source(spec, num=count_hint, **options)  # generators need a count
        self.stats: StatsFile | None = opened if isinstance(opened, StatsFile) else None
        if self.stats is not None:
            check_encoder(self.stats.description, self.stats.meta, settings, "statistics")
            if settings.encoder == DEFAULT_ENCODER and self.stats.path is not None:
                load_stats(self.stats.path, expected_dim=2048)  # the one dimension message
        self.source: ImageSource | None = None if self.stats else opened
        description = str(getattr(opened, "path", None) or getattr(opened, "description", spec))
        self.description = description
        available = self.stats.num_images if self.stats is not None else len(self.source)
        count = resolve_count(protocol, role, available, requested, description)
        if self.source is not None and count is not None and count != len(self.source):
            self.source = open_source(self.source, num=count)  # more than it holds: an error
        self.num_images = len(self.source) if self.source is not None else self.stats.num_images
        if self.num_images is not None and self.num_images < 2:
            raise InputError(
                f"{description}: has {self.num_images} image(s); at least 2 are needed"
            )
        self.features: Features | None = None
        self.weights_sha256: str | None = None
        self.from_cache = False
        self.captured: np.ndarray | None = None  # first images, kept for MS-SSIM
        self.device_pool3 = None  # features read from files and sources are numpy arrays

    def _open_feature_file(self, spec: Any, settings: EvalSettings, requested: int | None):
        """Per-image features written by ``ganmetrics features``: no network runs for them."""
        features, meta = load_feature_file(spec)
        self.description = os.fspath(spec)
        check_encoder(self.description, meta, settings, "features")
        if requested is not None and requested > len(features):
            raise InputError(f"{self.description}: holds {len(features)} feature vectors, "
                             f"{requested} requested; lower --num")  # fmt: skip
        self.features = features if requested is None else features.head(requested)
        self.num_images = len(self.features)
        self.feature_meta = meta
        self.stats, self.source, self.captured, self.device_pool3 = None, None, None, None
        self.weights_sha256 = meta.get("weights_sha256")
        self.from_cache = False

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"source": self.description, "num_images": self.num_images}
        if self.feature_meta is not None:
            info["feature_file_meta"] = self.feature_meta
        elif self.source is not None:
            info["fingerprint"] = self.source.fingerprint()
            info["features_from_cache"] = self.from_cache
        else:
            info["stats_meta"] = self.stats.meta
        return info


def check_same_network(*sides: Side | None) -> None:
    """Refuse per-image features of two different weights files (a feature file against images
    or against another feature file)."""
    found = {side.description: side.weights_sha256 for side in sides
             if side is not None and side.features is not None and side.weights_sha256}  # fmt: skip
    if len(set(found.values())) > 1:
        (first, sha1), (second, sha2) = list(found.items())[:2]
        raise InputError(
            f"{first}: features of weights {sha1[:12]}…, but {second} has {sha2[:12]}…; "
            "compute both with the same --encoder and weights file"
        )


def check_encoder(description: str, meta: dict, settings: EvalSettings, what: str) -> None:
    """Refuse statistics or features of another encoder than this run's (one line)."""
    recorded = str(meta.get("encoder") or DEFAULT_ENCODER)
    if recorded != get_encoder(settings.encoder).name:
        raise InputError(
            f"{description}: {what} of the {recorded} encoder, but this run uses --encoder "
            f"{settings.encoder}; pass --encoder {recorded} or recompute them with "
            f"--encoder {settings.encoder}"
        )


def _preset_count(protocol, role: str) -> int | None:
    return protocol.num_real if role == "real" else protocol.num_fake


__all__ = ["Side", "check_encoder", "check_same_network", "each", "require_sides"]
