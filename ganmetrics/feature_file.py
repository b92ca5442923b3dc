"""Per-image feature files: ``ganmetrics features SOURCE -o feats.npz --encoder NAME``.

An ``.npz`` with ``features`` (N, D) (Inception: pool3), ``logits`` (Inception only: (N, 1008)
``logits_unbiased``) and ``meta_json``: ``kind: "ganmetrics-features"``, the encoder, its weights
path and SHA-256, ``standard_weights``, precision, the source and its fingerprint, the settings,
the versions. ``eval --real feats.npz --fake feats.npz`` reads them and runs no network. Loading
never unpickles.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ganmetrics import atomic
from ganmetrics.errors import InputError
from ganmetrics.features import Features
from ganmetrics.sources.npz import npz_keys, open_npz

KIND = "ganmetrics-features"


def is_feature_file(spec: Any) -> bool:
    """Whether ``spec`` names an ``.npz`` written by :func:`save_feature_file`."""
    if not isinstance(spec, str | os.PathLike):
        return False
    path = Path(spec)
    if path.suffix.lower() != ".npz" or not path.is_file():
        return False
    keys = npz_keys(path)
    return "features" in keys and "meta_json" in keys


def save_feature_file(path: str | os.PathLike, features: Features, meta: dict[str, Any]) -> None:
    arrays = {"features": features.pool3}
    if features.logits.shape[1]:
        arrays["logits"] = features.logits
    arrays["meta_json"] = np.array(json.dumps({"kind": KIND, **meta}, sort_keys=True))
    atomic.save_npz(path, **arrays)


def load_feature_file(path: str | os.PathLike) -> tuple[Features, dict[str, Any]]:
    """``(features, meta)`` of a feature file; anything else is refused in one line."""
    hint = "write it with ganmetrics features SOURCE -o FILE.npz --encoder NAME"
    with open_npz(Path(path), hint) as data:
        features = np.asarray(data["features"])
        logits = np.asarray(data["logits"]) if "logits" in data.files else None
        try:
            meta = json.loads(str(np.asarray(data["meta_json"]).reshape(())))
        except (ValueError, TypeError):
            meta = None
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise InputError(f"{path}: not a ganmetrics feature file (meta_json); {hint}")
    if features.ndim != 2 or features.dtype.kind != "f" or not np.isfinite(features).all():
        raise InputError(f"{path}: 'features' must be finite (N, D) floats; {hint}")
    if logits is None:
        logits = np.empty((len(features), 0), dtype=features.dtype)
    return Features(features, logits), meta


__all__ = ["KIND", "is_feature_file", "load_feature_file", "save_feature_file"]
