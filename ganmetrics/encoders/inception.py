"""``inception``: the paper's network, unchanged: :class:`ganmetrics.features.FeatureExtractor`
(torch-fidelity's TF-exact InceptionV3, pool3 and ``logits_unbiased``)."""

from __future__ import annotations

import os
from typing import Any


def build_extractor(weights: str | os.PathLike | None = None, **options: Any):
    from ganmetrics.features import FeatureExtractor

    return FeatureExtractor(weights=weights, **options)


def write_test_weights(path: str | os.PathLike, seed: int = 0, member: str | None = None) -> None:
    """Seeded RANDOM Inception weights in torch-fidelity's format."""
    from ganmetrics.inception import make_random_inception_weights

    make_random_inception_weights(path, seed=seed)
