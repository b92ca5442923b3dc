"""On-disk cache of Inception features, so a real set is passed through the network once.

Entries are keyed by the source's fingerprint, the weights' SHA-256, the network variant
(precision — ``float32-exact``, ``tf32`` or ``float64`` —, folded or torch-fidelity's forward) and
the feature-code version; a change to any of them is a different entry, so TF32 features never
answer a request for exact ones. The folder is
``$GANMETRICS_CACHE``, else the platform's user cache directory (e.g. ``~/.cache/ganmetrics``).
Entries are written atomically, so an interrupted run never leaves a partial entry behind.
Under ``torchrun`` only rank 0 writes, and a hit counts only when every rank has it (so that all
ranks skip, or all run, the sharded feature pass).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from ganmetrics import distributed
from ganmetrics.atomic import save_npz
from ganmetrics.features import Features

#: Bumped whenever a change to feature extraction could change the numbers.
FEATURE_CODE_VERSION = "2"
ENV_VAR = "GANMETRICS_CACHE"


def cache_dir() -> Path:
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("ganmetrics"))


def cache_key(fingerprint: str, weights_sha256: str, variant: str) -> str:
    material = "|".join((FEATURE_CODE_VERSION, fingerprint, weights_sha256, variant))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _entry_path(key: str) -> Path:
    return cache_dir() / "features" / f"{key}.npz"


def _read(key: str) -> Features | None:
    path = _entry_path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return Features(pool3=data["pool3"], logits=data["logits"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None  # a damaged entry is recomputed and overwritten


def load(key: str) -> Features | None:
    """The cached features for ``key``, or ``None`` when absent or unreadable (on any rank)."""
    features = _read(key)
    return features if distributed.all_agree(features is not None) else None


def store(key: str, features: Features) -> None:
    """Write an entry atomically (rank 0 only); a cache that cannot be written is skipped."""
    if not distributed.is_primary():
        return
    with contextlib.suppress(Exception):  # the cache is an optimisation, never a failure
        save_npz(_entry_path(key), pool3=features.pool3, logits=features.logits)
