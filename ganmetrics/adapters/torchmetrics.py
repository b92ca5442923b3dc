"""FID, KID and IS as ``torchmetrics.Metric`` objects, computed by a :class:`ganmetrics.Stream`.

Drop-in for torchmetrics' ``FrechetInceptionDistance`` / ``KernelInceptionDistance`` /
``InceptionScore`` in a LightningModule: ``metric.update(images, real=...)`` in the steps and
``self.log("fid", metric, on_step=False, on_epoch=True)``, which calls ``compute()`` and
``reset()`` at the end of the epoch. The numbers are ganmetrics': IEEE float32 features whatever
TF32 state the loop left (:mod:`ganmetrics.precision`), the protocol's estimators and counts,
optional bootstrap intervals, and ``metric.result`` holds the whole result dict with ``meta``
(weights hash, settings, versions) of the last ``compute()``.

The stream gathers its features over ``torch.distributed`` ranks itself (exactly, see
:mod:`ganmetrics.stream_gather`), so these metrics register no torchmetrics states; pass
``indices=`` to ``update`` or ``num_samples=`` to the constructor under DDP.
"""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics import Metric

from ganmetrics.stream import Stream


class _StreamMetric(Metric):
    """A torchmetrics metric whose state is a :class:`ganmetrics.Stream`."""

    is_differentiable = False
    higher_is_better: bool | None = False
    full_state_update = False
    metric_name: str = ""
    keys: tuple[str, ...] = ()

    def __init__(
        self,
        reset_real_features: bool = False,
        metric_kwargs: dict[str, Any] | None = None,
        **stream_options: Any,
    ):
        """``stream_options``: the keywords of :class:`ganmetrics.Stream` (``value_range``,
        ``device``, ``inception_weights``, ``real``, ``protocol``, ``bootstrap``, ...);
        ``metric_kwargs``: torchmetrics' own (``compute_on_cpu``, ...). The real side is kept
        by ``reset()`` unless ``reset_real_features``."""
        super().__init__(**(metric_kwargs or {}))
        self.reset_real_features = bool(reset_real_features)
        self.stream = Stream((self.metric_name,), **stream_options)
        self.result: dict[str, Any] | None = None

    def update(self, images: torch.Tensor, real: bool = False, indices: Any = None) -> None:
        self.stream.update(images, real=real, indices=indices)

    def forward(self, images: torch.Tensor, real: bool = False, indices: Any = None) -> None:
        """Accumulate only: a per-batch FID or KID means nothing (log the metric per epoch)."""
        self.update(images, real=real, indices=indices)
        self._forward_cache = None

    def _values(self) -> tuple[torch.Tensor, ...]:
        self.result = self.stream.compute()
        return tuple(torch.tensor(self.result[key], dtype=torch.float64) for key in self.keys)

    def reset(self) -> None:
        super().reset()
        if hasattr(self, "stream"):
            self.stream.reset(real=self.reset_real_features)


class FID(_StreamMetric):
    """Fréchet Inception Distance (Heusel et al. 2017) of a :class:`ganmetrics.Stream`."""

    metric_name, keys = "fid", ("fid",)

    def compute(self) -> torch.Tensor:
        return self._values()[0]


class KID(_StreamMetric):
    """Kernel Inception Distance (Bińkowski et al. 2018): ``(kid_mean, kid_std)``."""

    metric_name, keys = "kid", ("kid_mean", "kid_std")

    def compute(self) -> tuple[torch.Tensor, torch.Tensor]:
        mean, std = self._values()
        return mean, std


class IS(_StreamMetric):
    """Inception Score (Salimans et al. 2016) of the generated side: ``(is_mean, is_std)``."""

    metric_name, keys = "is", ("is_mean", "is_std")
    higher_is_better = True

    def compute(self) -> tuple[torch.Tensor, torch.Tensor]:
        mean, std = self._values()
        return mean, std


__all__ = ["FID", "IS", "KID"]
