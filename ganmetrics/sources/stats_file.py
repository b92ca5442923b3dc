"""The statistics file format: an ``.npz`` with the Gaussian fit (mu, sigma) of pool features.

Compatible with pytorch-fid and clean-fid (``np.load(path)['mu']``); loading never unpickles.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ganmetrics import atomic, images
from ganmetrics.errors import InputError
from ganmetrics.sources.npz import open_npz

STATS_METADATA_STRING_KEYS = ("weights_sha256", "source_fingerprint", "ganmetrics_version")


@dataclasses.dataclass(frozen=True, eq=False)
class StatsFile:
    """Precomputed Inception statistics (mean and covariance of pool features).

    The (mu, sigma) pair is the Gaussian fit of the features whose Fréchet distance is the FID
    (Heusel et al. 2017; "The GAN Landscape", Kurach et al. 2019, section 2.4). ``path`` is
    ``None`` for statistics that were never written to a file.
    """

    path: Path | None
    mu: np.ndarray
    sigma: np.ndarray
    num_images: int | None
    meta: dict[str, Any]

    @property
    def description(self) -> str:
        """The file's path, or ``"statistics"`` for statistics computed in memory."""
        return os.fspath(self.path) if self.path is not None else "statistics"

    @property
    def dim(self) -> int:
        return int(self.mu.shape[0])


def stats_path(path: str | os.PathLike) -> Path:
    """Where a statistics file named ``path`` is written: with the ``.npz`` suffix by which every
    command recognises a stats file (``numpy.savez`` appends it the same way)."""
    file = Path(path)
    return file if file.suffix.lower() == ".npz" else file.with_name(file.name + ".npz")


def load_stats(path: str | os.PathLike, expected_dim: int | None = 2048) -> StatsFile:
    """Load and validate a pytorch-fid / clean-fid compatible ``.npz`` with ``mu`` and ``sigma``.

    Optional keys ``n``, ``weights_sha256``, ``source_fingerprint``, ``ganmetrics_version`` and
    ``meta_json`` (a JSON object) are read when present. ``expected_dim=None`` skips the
    dimension check. Loading never unpickles.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{file}: no such statistics file; pass a .npz with 'mu' and 'sigma'")
    with open_npz(file, "pass a .npz with 'mu' and 'sigma'") as data:
        keys = set(data.files)
        missing = [key for key in ("mu", "sigma") if key not in keys]
        if missing:
            raise InputError(
                f"{file}: not a statistics file (missing {', '.join(missing)}; found keys "
                f"{sorted(keys)}); pass a .npz with 'mu' and 'sigma'"
            )
        mu = np.asarray(data["mu"])
        sigma = np.asarray(data["sigma"])
        extras = {
            key: np.asarray(data[key])
            for key in ("n", "meta_json", *STATS_METADATA_STRING_KEYS)
            if key in keys
        }

    for name, value in (("mu", mu), ("sigma", sigma)):
        if value.dtype.kind not in "fiu":
            raise InputError(
                f"{file}: '{name}' has dtype {value.dtype}, not a number; re-save the statistics"
            )
    dim = mu.shape[0] if mu.ndim == 1 else None
    consistent = dim is not None and sigma.shape == (dim, dim)
    if not consistent or (expected_dim is not None and dim != expected_dim):
        want = expected_dim if expected_dim is not None else "D"
        raise InputError(
            f"{file}: statistics have mu {tuple(mu.shape)} and sigma {tuple(sigma.shape)}, "
            f"expected mu ({want},) and sigma ({want}, {want}); compute the statistics with "
            f"the same feature extractor ({want}-dimensional features)"
        )
    mu = mu.astype(np.float64)
    sigma = sigma.astype(np.float64)
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise InputError(
            f"{file}: statistics contain NaN or infinite values; recompute the statistics"
        )
    mu.setflags(write=False)
    sigma.setflags(write=False)

    num_images = None
    if "n" in extras:
        count = extras["n"]
        if count.size != 1 or count.dtype.kind not in "iu":
            raise InputError(f"{file}: 'n' must be one integer; re-save the statistics")
        num_images = int(count.reshape(()))
    meta: dict[str, Any] = {}
    if "meta_json" in extras:
        try:
            parsed = json.loads(str(extras["meta_json"].reshape(())))
        except (ValueError, TypeError) as error:
            raise InputError(
                f"{file}: 'meta_json' is not valid JSON ({images.exception_text(error)}); "
                "re-save the statistics"
            ) from None
        if not isinstance(parsed, dict):
            raise InputError(f"{file}: 'meta_json' must be a JSON object; re-save the statistics")
        meta.update(parsed)
    for key in STATS_METADATA_STRING_KEYS:
        if key in extras and extras[key].size == 1 and extras[key].dtype.kind in "US":
            value = extras[key].reshape(()).item()
            meta[key] = value.decode() if isinstance(value, bytes) else str(value)
    return StatsFile(path=file, mu=mu, sigma=sigma, num_images=num_images, meta=meta)


def save_stats(path: str | os.PathLike, mu: Any, sigma: Any, **metadata: Any) -> None:
    """Write ``mu``/``sigma`` (float64) and metadata as plain arrays, atomically.

    Known metadata: ``n`` (int; ``num_images`` is an alias), ``weights_sha256``,
    ``source_fingerprint``, ``ganmetrics_version`` (strings; the version defaults to this
    package's) and ``meta_json`` (a JSON string or a dict); any other keyword is added to the
    ``meta_json`` object. The file
    loads with pytorch-fid (``np.load(path)['mu']``) and with ``allow_pickle=False``.
    """
    from ganmetrics.version import __version__

    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(f"mu must be (D,) and sigma (D, D); got {mu.shape} and {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError("mu and sigma must be finite")
    arrays: dict[str, np.ndarray] = {"mu": mu, "sigma": sigma}
    metadata = {key: value for key, value in metadata.items() if value is not None}
    if "num_images" in metadata:
        metadata.setdefault("n", metadata.pop("num_images"))
    if "n" in metadata:
        arrays["n"] = np.array(int(metadata.pop("n")), dtype=np.int64)
    metadata.setdefault("ganmetrics_version", __version__)
    for key in STATS_METADATA_STRING_KEYS:
        if key in metadata:
            arrays[key] = np.array(str(metadata.pop(key)))
    extra = metadata.pop("meta_json", {})
    meta = json.loads(extra) if isinstance(extra, str) else dict(extra)
    meta.update(metadata)
    if meta:
        arrays["meta_json"] = np.array(json.dumps(meta, sort_keys=True))
    atomic.save_npz(path, **arrays)
