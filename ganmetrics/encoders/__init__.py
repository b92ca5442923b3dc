"""Encoders: the networks whose features the metrics compare (Inception by default).

:data:`ENCODER_TABLE` (``ganmetrics.encoders.table``) has one row per encoder; each row's code is
one module here (``inception``, ``dinov2``, ``clip_vitl14``, ``clip_vitl14_336``). Torch-free
at import: :func:`make_extractor` and :func:`write_test_weights` import the module they need.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from ganmetrics.encoders.table import (
    DEFAULT_ENCODER,
    ENCODER_TABLE,
    ENCODERS,
    WEIGHTS_DIR_ENV,
    Encoder,
    get_encoder,
)


def make_extractor(encoder: str | None = None, weights: Any = None, **options: Any):
    """A feature extractor for ``encoder``: :class:`ganmetrics.features.FeatureExtractor` for
    Inception (``weights`` is its Inception file), else an :class:`EncoderExtractor`."""
    row = get_encoder(encoder)
    if row.name == DEFAULT_ENCODER:
        from ganmetrics.encoders.inception import build_extractor

        return build_extractor(weights, **options)
    from ganmetrics.encoders.extractor import EncoderExtractor

    return EncoderExtractor(row.name, weights, **options)


def write_test_weights(
    encoder: str, path: str | os.PathLike, seed: int = 0, member: str | None = None
) -> None:
    """Seeded RANDOM weights in the encoder's official format (``member``: a smaller network of
    the same family, e.g. ``vits14`` or ``ViT-B-32``, for fast tests)."""
    row = get_encoder(encoder)
    module = importlib.import_module(f"ganmetrics.encoders.{row.module}")
    options = {} if member is None else {"member": member}
    module.write_test_weights(path, seed=seed, **options)


__all__ = ["DEFAULT_ENCODER", "ENCODERS", "ENCODER_TABLE", "WEIGHTS_DIR_ENV", "Encoder",
           "get_encoder", "make_extractor", "write_test_weights"]  # fmt: skip
