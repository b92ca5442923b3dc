"""The source interface: a finite, deterministically ordered set of uint8 RGB images (generators
with ``round_generated=False`` yield float32 in [0, 255] instead: compare_gan's unrounded scoring).

Also the one owner of the ``--num`` rules every source applies: ``num`` keeps the first N images
of the source's order, must be a positive integer, may not exceed what the source holds
(an :class:`InputError` that says how many it holds), and at least :data:`MIN_IMAGES` remain.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator

import numpy as np

from ganmetrics import images
from ganmetrics.errors import InputError

MIN_IMAGES = 2
SOURCE_KINDS_HINT = (
    "pass a folder of images, a .zip, .npy/.npz, a stats .npz, a generator .pt or module:callable"
)
#: Part of every fingerprint; bump when what a fingerprint covers changes.
_FINGERPRINT_VERSION = "ganmetrics.sources/1"


class ImageSource(abc.ABC):
    """A finite, deterministically ordered set of RGB images."""

    #: Human-readable origin (a path, ``module:callable``, ``array``) for messages and metadata.
    description: str = ""

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of images this source yields (after any ``--num`` limit)."""

    @abc.abstractmethod
    def fingerprint(self) -> str | None:
        """A stable hex digest identifying the exact images, or ``None`` if not cacheable."""

    @abc.abstractmethod
    def batches(self, batch_size: int, num_workers: int = 0) -> Iterator[np.ndarray]:
        """Yield uint8 arrays of shape (B, 3, H, W) (float32 in [0, 255] for unrounded
        generators); the last batch may be smaller."""

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(H, W) of the images, or ``None`` while unknown (before a generator has run)."""
        return None

    def limit(self, num: int) -> ImageSource:
        """This source restricted to its first ``num`` images; more than it holds is an error."""
        return LimitedSource(self, num)


class IndexedImageSource(ImageSource):
    """A source whose images can be read one by one; decoding runs in ``num_workers`` processes."""

    @abc.abstractmethod
    def read(self, index: int) -> np.ndarray:
        """Decode image ``index`` as a uint8 array of shape (3, H, W)."""

    def batches(self, batch_size: int, num_workers: int = 0) -> Iterator[np.ndarray]:
        _check_batch_size(batch_size)
        # Resolves lazily read headers once, in this process, before workers are started.
        _ = self.image_size
        yield from images.read_in_workers(self, num_workers, batch_size=batch_size)


class LimitedSource(IndexedImageSource):
    """The first ``num`` images of another source (for sources without their own ``limit``)."""

    def __init__(self, source: ImageSource, num: int):
        self.source = source
        self.description = source.description
        self.num = _select_count(source.description, len(source), num)

    def __len__(self) -> int:
        return self.num

    @property
    def image_size(self) -> tuple[int, int] | None:
        return self.source.image_size

    def fingerprint(self) -> str | None:
        inner = self.source.fingerprint()
        if inner is None:
            return None
        return images.digest(_FINGERPRINT_VERSION, "limit", inner, self.num)

    def read(self, index: int) -> np.ndarray:
        return self.source.read(index)  # type: ignore[attr-defined]

    def limit(self, num: int) -> ImageSource:
        return LimitedSource(self.source, _select_count(self.description, self.num, num))

    def batches(self, batch_size: int, num_workers: int = 0) -> Iterator[np.ndarray]:
        if isinstance(self.source, IndexedImageSource):
            yield from super().batches(batch_size, num_workers)
            return
        _check_batch_size(batch_size)
        remaining = self.num
        inner = self.source.batches(batch_size, num_workers)
        try:
            for batch in inner:
                yield batch[:remaining]
                remaining -= min(len(batch), remaining)
                if remaining == 0:
                    return
        finally:
            close = getattr(inner, "close", None)
            if close is not None:
                close()


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")


def _check_num(description: str, num: object) -> int:
    if isinstance(num, bool) or not isinstance(num, int | np.integer) or num < 1:
        raise InputError(
            f"{description}: --num must be a positive integer, got {num!r}; pass --num N with "
            f"N >= {MIN_IMAGES}"
        )
    return int(num)


def _select_count(description: str, available: int, num: int | None) -> int:
    """Number of images kept from ``available`` given ``--num``; at least :data:`MIN_IMAGES`.

    ``num`` above ``available`` is an error, never silently capped (issue #10, point 4).
    """
    count = available
    if num is not None:
        count = _check_num(description, num)
        if count > available:
            raise InputError(
                f"{description}: holds {available} images but --num {count} was asked; pass "
                f"--num {available} or fewer"
            )
    if count < MIN_IMAGES:
        raise InputError(
            f"{description}: only {count} image(s); statistics need at least {MIN_IMAGES} "
            "images; add images or raise --num"
        )
    return count


def _require_num(description: str, num: int | None) -> int:
    if num is None:
        raise InputError(
            f"{description}: a generator needs the number of images to draw; pass --num N "
            "(e.g. --num 10000)"
        )
    return _select_count(description, _check_num(description, num), num)
