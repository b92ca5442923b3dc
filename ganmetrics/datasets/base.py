"""The base class of the data sets of "The GAN Landscape" (section 2.5) and their split rules."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ganmetrics import images
from ganmetrics.errors import InputError
from ganmetrics.sources.base import IndexedImageSource

#: Bump when decoding or preprocessing changes, so that cached features are not reused.
PREPROCESSING_VERSION = 1
SPLITS = ("train", "test")


def _check_split(split: str, allowed: Sequence[str] = SPLITS) -> str:
    if split not in allowed:
        raise InputError(
            f"split {split!r}: unknown split; use one of {', '.join(repr(s) for s in allowed)}"
        )
    return split


def _resolution(image_size: int | None, default: int) -> int:
    """The square side a reader yields: ``image_size``, or the data set's study resolution."""
    side = default if image_size is None else int(image_size)
    if side <= 0:
        raise InputError(f"image_size {image_size}: must be positive")
    return side


def _file_stamp(path: Path, root: Path | None = None) -> list[Any]:
    stat = path.stat()
    name = path.relative_to(root).as_posix() if root is not None else path.name
    return [name, stat.st_size, stat.st_mtime_ns]


def _tail_split(
    num_images: int, split: str, test_size: int | None, default_test_size: int, what: str
) -> range:
    """Indices of ``split`` when the last ``test_size`` images (in order) form the test set."""
    explicit = test_size is not None
    size = int(test_size) if explicit else default_test_size
    if 0 < size < num_images:
        return range(num_images - size, num_images) if split == "test" else range(num_images - size)
    if size <= 0:
        hint = "pass a positive test_size"
    elif explicit:
        hint = f"pass a test_size below {num_images}"
    else:
        hint = f"point to the full data set or pass test_size explicitly (e.g. {num_images // 10})"
    raise InputError(
        f"{what}: {num_images} images cannot be split into a test set of {size} and a non-empty "
        f"train set; {hint}"
    )


class Dataset(IndexedImageSource):
    """A named split of a data set, of square ``resolution`` x ``resolution`` RGB images."""

    name: str = ""
    split: str = ""
    #: Side of the square images this dataset yields.
    resolution: int = 0
    #: Images in the whole data set (all splits), where the reader lists them; else ``None``.
    num_source_images: int | None = None
    #: Whether the trainer holds the whole split in memory (on its device) as one uint8 tensor
    #: (CIFAR-10, CelebA-HQ-128, procedural), instead of decoding batches in worker processes.
    in_memory: bool = False

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of every image this dataset yields."""
        return (self.resolution, self.resolution)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(3, H, W) of every image this dataset yields."""
        return (3, self.resolution, self.resolution)

    def to_array(self, num_workers: int = 0) -> np.ndarray:
        """Every image of this split, in order, as one uint8 array (N, 3, H, W).

        Decodes in ``num_workers`` processes; readers that hold their pixels override it.
        """
        output = np.empty((len(self), *self.image_shape), dtype=np.uint8)
        start = 0
        for batch in self.batches(256, num_workers):
            output[start : start + len(batch)] = batch
            start += len(batch)
        return output

    def _fingerprint_parts(self) -> dict[str, Any]:
        raise NotImplementedError

    def fingerprint(self) -> str:
        """sha256 over name, split, size/mtime of the files read, image count and preprocessing."""
        parts = {
            "dataset": self.name,
            "split": self.split,
            "num_images": len(self),
            "resolution": self.resolution,
            "preprocessing_version": PREPROCESSING_VERSION,
        }
        parts.update(self._fingerprint_parts())
        return images.digest(parts)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description} ({len(self)} images)>"
