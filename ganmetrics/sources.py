"""Where images come from: folders, zips, arrays, stats files and generators.

Every source yields uint8 RGB batches shaped (B, 3, H, W) in a deterministic order, so that the
same source always gives the same features. Decoding of files runs in worker processes (a torch
``DataLoader``) so that it overlaps the Inception forward pass.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator

import numpy as np
import torch.utils.data


class ImageSource(abc.ABC):
    """A finite, deterministically ordered set of RGB images."""

    #: Human-readable origin (a path, ``module:callable``, ``array``), used in messages and metadata.
    description: str = ""

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of images this source yields (after any ``--num`` limit)."""

    @abc.abstractmethod
    def fingerprint(self) -> str | None:
        """A stable hex digest identifying the exact images, or ``None`` if not cacheable."""

    @abc.abstractmethod
    def batches(self, batch_size: int, num_workers: int = 0) -> Iterator[np.ndarray]:
        """Yield uint8 arrays of shape (B, 3, H, W); the last batch may be smaller."""


class _IndexedDataset(torch.utils.data.Dataset):
    def __init__(self, source: IndexedImageSource):
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.source.read(index)


def _stack(items: list[np.ndarray]) -> np.ndarray:
    return np.stack(items)


class IndexedImageSource(ImageSource):
    """A source whose images can be read one by one; decoding runs in ``num_workers`` processes."""

    @abc.abstractmethod
    def read(self, index: int) -> np.ndarray:
        """Decode image ``index`` as a uint8 array of shape (3, H, W)."""

    def batches(self, batch_size: int, num_workers: int = 0) -> Iterator[np.ndarray]:
        loader = torch.utils.data.DataLoader(
            _IndexedDataset(self),
            batch_size=batch_size,
            shuffle=False,
            num_workers=num_workers,
            collate_fn=_stack,
            persistent_workers=False,
            prefetch_factor=4 if num_workers > 0 else None,
        )
        yield from loader
