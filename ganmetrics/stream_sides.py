"""What a :class:`ganmetrics.Stream` holds of one side, and how a batch gets there.

:func:`images_to_255` maps a batch exactly as array sources do (:mod:`ganmetrics.sources.arrays`),
on the batch's own device; :class:`SideBuffer` keeps per-image features (or float64 sums, or a
file's statistics) and the images waiting for a full batch; :class:`MetricSide` is a side as the
metric table reads it (the attributes of :class:`ganmetrics.side.Side`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganmetrics.errors import InputError
from ganmetrics.features import Features
from ganmetrics.sources import StatsFile
from ganmetrics.sources.arrays import parse_value_range


def images_to_255(images: Any, value_range: str | None, rounded: bool, role: str) -> torch.Tensor:
    """A batch as uint8 (or unrounded float32 in [0, 255]) NCHW on its own device.

    Floats are refused outside the declared range (an array source would clip them; here an
    out-of-range tensor is taken for a wrong declaration), then mapped in float64 exactly as
    :func:`ganmetrics.sources.arrays._scaled_to_255` does.
    """
    where = f"stream update ({role} side)"
    tensor = torch.as_tensor(images)
    if tensor.ndim != 4 or tensor.shape[1] not in (1, 3):
        raise InputError(
            f"{where}: expected an (N, 3, H, W) or (N, 1, H, W) batch, got shape "
            f"{tuple(tensor.shape)}; pass NCHW images"
        )
    if tensor.shape[1] == 1:
        tensor = tensor.expand(-1, 3, -1, -1)
    if tensor.dtype == torch.uint8:
        return tensor.contiguous()
    if not tensor.is_floating_point():
        raise InputError(f"{where}: unsupported dtype {tensor.dtype}; pass uint8 or floats")
    if value_range is None:
        raise InputError(
            f"{where}: float images but value_range='uint8' was declared; create the Stream "
            "with value_range=(0, 1) or (-1, 1), or pass uint8 images"
        )
    low, high = parse_value_range(value_range)
    x = tensor.detach().to(torch.float64)
    if not bool(torch.isfinite(x).all()):
        raise InputError(f"{where}: the batch contains NaN or infinite values; fix the generator")
    found_low, found_high = float(x.min()), float(x.max())
    if found_low < low or found_high > high:
        raise InputError(
            f"{where}: values span [{found_low:.4g}, {found_high:.4g}], outside the declared "
            f"value_range {value_range}; declare the range the images use, or clamp them"
        )
    scaled = ((x - low) * (255.0 / (high - low))).clamp(0, 255)
    return torch.round(scaled).to(torch.uint8) if rounded else scaled.to(torch.float32)


def resized(batch: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """uint8 images resized to ``size`` (H, W) with PIL BICUBIC, as folder sources resize."""
    from PIL import Image

    height, width = size
    rows = [
        np.asarray(Image.fromarray(image).resize((width, height), Image.BICUBIC))
        for image in batch.permute(0, 2, 3, 1).cpu().numpy()
    ]
    return torch.from_numpy(np.stack(rows)).permute(0, 3, 1, 2).contiguous().to(batch.device)


class SideBuffer:
    """What a stream holds of one side: per-image features, or float64 sums, or a file's."""

    def __init__(self, role: str):
        self.role = role
        self.rows: list[torch.Tensor] = []  # pool3 (+ logits) per batch, on the device
        self.pending: list[torch.Tensor] = []  # images waiting for a full batch
        self.pending_positions: list[torch.Tensor] = []
        self.indices: list[torch.Tensor] = []
        self.count = 0
        self.dim = 0  # width of the pool features; the logits (if kept) follow
        self.image_size: tuple[int, int] | None = None
        self.captured: list[np.ndarray] = []  # first generated images, for MS-SSIM
        self.sums: list[torch.Tensor] | None = None  # [n, sum x, sum x xᵀ] in float64
        self.stats: StatsFile | None = None
        self.origin: str | None = None  # the file or source the side was set from

    @property
    def empty(self) -> bool:
        return self.count == 0 and self.stats is None

    def state(self) -> dict[str, Any]:
        rows = torch.cat(self.rows).cpu() if self.rows else None
        return {
            "rows": rows, "count": self.count, "dim": self.dim,
            "pending": torch.cat(self.pending).cpu() if self.pending else None,
            "pending_positions": torch.cat(self.pending_positions).cpu()
            if self.pending_positions else None, "image_size": self.image_size,
            "indices": torch.cat(self.indices).cpu() if self.indices else None,
            "captured": np.concatenate(self.captured) if self.captured else None,
            "sums": [s.cpu() for s in self.sums] if self.sums is not None else None,
            "stats": None if self.stats is None else {
                "mu": self.stats.mu, "sigma": self.stats.sigma,
                "num_images": self.stats.num_images, "meta": self.stats.meta,
                "path": None if self.stats.path is None else str(self.stats.path)},
            "origin": self.origin,
        }  # fmt: skip

    def load(self, state: dict[str, Any], device: torch.device) -> None:
        self.rows = [state["rows"].to(device)] if state["rows"] is not None else []
        self.indices = [state["indices"]] if state["indices"] is not None else []
        self.count, self.origin = int(state["count"]), state["origin"]
        self.dim = int(state["dim"])
        self.pending = [state["pending"]] if state["pending"] is not None else []
        positions = state["pending_positions"]
        self.pending_positions = [positions] if positions is not None else []
        self.image_size = tuple(state["image_size"]) if state["image_size"] else None
        self.captured = [state["captured"]] if state["captured"] is not None else []
        self.sums = [s.to(device) for s in state["sums"]] if state["sums"] is not None else None
        stats = state["stats"]
        self.stats = None if stats is None else StatsFile(
            path=Path(stats["path"]) if stats["path"] else None, mu=stats["mu"],
            sigma=stats["sigma"], num_images=stats["num_images"], meta=stats["meta"])  # fmt: skip


class MetricSide:
    """A side as the metric table reads it (the attributes of :class:`ganmetrics.side.Side`)."""

    source = None
    from_cache = False
    feature_meta = None  # features are held in memory, not read from a feature file

    def __init__(self, role, description, num_images, features, stats, weights_sha256, captured,
                 device_pool3=None):  # fmt: skip
        self.role, self.description, self.num_images = role, description, num_images
        self.features: Features | None = features
        #: the pool3 rows as a CUDA tensor: FID, its bootstrap and FID∞ then run on the GPU
        self.device_pool3 = device_pool3
        self.stats: StatsFile | None = stats
        self.weights_sha256 = weights_sha256
        self.captured = captured

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"source": self.description, "num_images": self.num_images}
        if self.stats is not None:
            info["stats_meta"] = self.stats.meta
        return info


__all__ = ["MetricSide", "SideBuffer", "images_to_255", "resized"]
