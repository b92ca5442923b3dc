"""Features of any encoder of the table, with the same interface as
:class:`ganmetrics.features.FeatureExtractor` (``extract``, ``features_of_batches``,
``describe``), so the metrics, the cache and ``torchrun`` sharding work unchanged.

The encoder's vector is returned in :class:`ganmetrics.features.Features`' ``pool3`` field (the
per-image features every metric reads; the name is Inception's) with no logits. Exact by default,
as for Inception: IEEE float32 (TF32 off, ``ganmetrics.precision``), inference mode, and each
image computed independently of its batch (tests/test_encoders.py checks batch-size invariance).
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

from ganmetrics import distributed
from ganmetrics.encoders.pil_input import as_uint8_images
from ganmetrics.encoders.table import Encoder, get_encoder
from ganmetrics.encoders.weights import check_encoder_weights, resolve_encoder_weights
from ganmetrics.features import Features, default_batch_size, default_device
from ganmetrics.precision import feature_precision, precision_name
from ganmetrics.sources import ImageSource


def encoder_description(
    encoder: Encoder, weights_path: Any, sha: str, standard: bool, float64: bool, device: Any,
    allow_tf32: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The settings that determine an encoder's features (no network needed); ``network`` is
    the encoder's name, so cache keys and stats files tell encoders apart."""
    return {
        "encoder": encoder.name,
        "weights_path": str(weights_path),
        "weights_sha256": sha,
        "standard_weights": standard,
        "feature_dtype": "float64" if float64 else "float32",
        "precision": precision_name(float64, allow_tf32),
        "network": encoder.name,
        "device": str(torch.device(device or default_device())),
    }


def describe_encoder(name: str, weights: Any = None, float64: bool = False, device: Any = None,
                     allow_tf32: bool = False) -> dict[str, Any]:  # fmt: skip
    """:func:`encoder_description` from the weights file alone (cache hits load no network)."""
    encoder = get_encoder(name)
    path = resolve_encoder_weights(encoder, weights)
    sha, standard = check_encoder_weights(encoder, path)
    return encoder_description(encoder, path, sha, standard, float64, device, allow_tf32)


class EncoderExtractor:
    """Per-image features of one encoder of :data:`ENCODER_TABLE` (not Inception).

    Args:
        encoder: the table's name, e.g. ``"dinov2-vitl14"``.
        weights: the weights file (default: the encoder's environment variable or
            ``$GANMETRICS_WEIGHTS_DIR``); never downloaded.
        device, batch_size, float64, num_workers, allow_tf32, compile: as for
            :class:`ganmetrics.features.FeatureExtractor`.
    """

    def __init__(
        self,
        encoder: str,
        weights: str | os.PathLike | None = None,
        device: str | None = None,
        batch_size: int | None = None,
        float64: bool = False,
        num_workers: int | None = None,
        allow_tf32: bool = False,
        compile: bool = False,
        **ignored: Any,
    ):
        self.encoder = get_encoder(encoder)
        self.weights_path = resolve_encoder_weights(self.encoder, weights)
        self.weights_sha256, self.standard_weights = check_encoder_weights(
            self.encoder, self.weights_path
        )
        self.device = torch.device(device or default_device())
        self.batch_size = int(batch_size) if batch_size else default_batch_size(self.device)
        self.dtype = torch.float64 if float64 else torch.float32
        self.num_workers = min(4, os.cpu_count() or 1) if num_workers is None else num_workers
        self.allow_tf32 = bool(allow_tf32)
        module = importlib.import_module(f"ganmetrics.encoders.{self.encoder.module}")
        self.model = module.build(self.weights_path, self.dtype).to(self.device).eval()
        self.model.requires_grad_(False)
        self.dim = int(self.model.dim)
        self.compile = bool(compile)
        self.compile_warmup_s: float | None = None
        self._body = torch.compile(self.model, dynamic=False) if compile else self.model

    @property
    def variant(self) -> str:
        description = self.describe()
        return f"{description['precision']}/{description['network']}"

    def describe(self) -> dict[str, Any]:
        """Keys of :func:`encoder_description`, plus the architecture read from the file, the
        input size, the feature dimension, ``batch_size`` and ``compile``."""
        description = encoder_description(
            self.encoder, self.weights_path, self.weights_sha256, self.standard_weights,
            self.dtype == torch.float64, self.device, self.allow_tf32,
        )  # fmt: skip
        description.update(
            architecture=self.model.architecture, input_size=self.model.input_size,
            feature_dim=self.dim, batch_size=self.batch_size, compile=self.compile,
        )  # fmt: skip
        if self.compile:
            description["compile_warmup_s"] = self.compile_warmup_s
        return description

    def _forward(self, batch: np.ndarray | torch.Tensor) -> torch.Tensor:
        x = self.model.preprocess(as_uint8_images(batch)).to(self.device, self.dtype)
        with feature_precision(self.allow_tf32, False), torch.inference_mode():
            started = time.perf_counter()
            out = self._body(x)
            if self.compile and self.compile_warmup_s is None:
                self.compile_warmup_s = time.perf_counter() - started
        return out

    def features_of_batches(self, batches: Iterable[np.ndarray | torch.Tensor]) -> Iterator[tuple]:
        """Yield ``(features, empty logits)`` numpy arrays for each (B, 3, H, W) batch."""
        for batch in batches:
            features, logits = self.features_on_device(batch)
            yield features.cpu().numpy(), logits.cpu().numpy()

    def features_on_device(self, batch: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(features, empty logits)`` of one batch as tensors on this extractor's device."""
        features = self._forward(batch)
        return features, features.new_empty((len(features), 0))

    def extract(self, source: ImageSource, progress: bool = False, label: str = "") -> Features:
        """Features of every image of ``source``, in order (sharded under ``torchrun``)."""
        from tqdm.auto import tqdm

        total = len(source)
        sharded = distributed.active()
        allocate = torch.zeros if sharded else torch.empty
        features = allocate((total, self.dim), dtype=self.dtype, device=self.device)
        bar = tqdm(total=distributed.owned_count(total, self.batch_size),
                   desc=label or f"{self.encoder.name} {source.description}", unit="img",
                   disable=not progress or not distributed.is_primary(), leave=False)  # fmt: skip
        with bar:
            for offset, batch in distributed.sharded_batches(
                source, self.batch_size, self.num_workers
            ):
                out = self._forward(batch)
                features[offset : offset + len(out)] = out
                bar.update(len(out))
        if sharded:
            distributed.sum_over_ranks(features)
        array = features.cpu().numpy()
        return Features(array, np.empty((total, 0), dtype=array.dtype))


__all__ = ["EncoderExtractor", "describe_encoder", "encoder_description"]
