"""Validation of per-image feature arrays, shared by the metrics that work on features.

Torch-free, so that :mod:`ganmetrics.kid` and :mod:`ganmetrics.prc` can check an array without
importing the network code.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_feature_matrix"]


def as_feature_matrix(features: np.ndarray, name: str) -> np.ndarray:
    """Validate per-image features as a finite, C-contiguous float64 (N, D) array."""
    array = np.asarray(features)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (N, D), got shape {array.shape}; "
            "pass one feature vector per row"
        )
    array = np.ascontiguousarray(array, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain NaN or infinite values; check the feature extractor")
    return array
