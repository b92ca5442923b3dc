"""Any folder of images as a data set: center-cropped to a square and resized."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ganmetrics import images
from ganmetrics.datasets.base import SPLITS, Dataset, _check_split, _file_stamp, _tail_split
from ganmetrics.errors import InputError


class ImageFolderDataset(Dataset):
    """Any folder of images, center-cropped to a square and resized to ``image_size``.

    Files (:data:`~ganmetrics.images.IMAGE_EXTENSIONS`, recursively, hidden ones skipped) are
    taken in natural order of their relative paths (:func:`~ganmetrics.images.natural_key`), the
    order :class:`~ganmetrics.sources.FolderSource` reads. Each image is converted to RGB and
    passed through :func:`~ganmetrics.images.center_crop_resize` (center square crop, then PIL
    bicubic resize).

    ``split="all"`` (default) yields every image. ``"train"`` / ``"test"`` split the ordered list as
    for CelebA-HQ: the **last** ``test_size`` files are the test set (default ``n // 10``).
    """

    name = "folder"

    def __init__(
        self,
        path: str | os.PathLike,
        image_size: int,
        split: str = "all",
        test_size: int | None = None,
    ):
        self.split = _check_split(split, ("all", *SPLITS))
        self.root = Path(path)
        if image_size is None or int(image_size) <= 0:
            raise InputError(
                f"{self.root}: the folder data set needs a positive image_size (the square side "
                "every image is cropped and resized to)"
            )
        self.resolution = int(image_size)
        if not self.root.is_dir():
            raise InputError(f"{self.root}: folder not found; pass a folder of image files")
        self.all_files = images.list_image_files(self.root)
        if not self.all_files:
            raise InputError(
                f"{self.root}: no image files ({images.EXTENSIONS_TEXT}); pass an image folder"
            )
        num_files = len(self.all_files)
        self.num_source_images = num_files
        if split == "all":
            self.test_size = 0
            self.files = self.all_files
        else:
            self.test_size = num_files // 10 if test_size is None else int(test_size)
            indices = _tail_split(num_files, split, self.test_size, 0, str(self.root))
            self.files = self.all_files[indices.start : indices.stop]
        self.description = f"folder:{split} ({self.root})"

    def __len__(self) -> int:
        return len(self.files)

    def read(self, index: int) -> np.ndarray:
        path = self.files[index]
        image = images.decode_rgb(path, str(path))
        return images.hwc_to_chw(np.asarray(images.center_crop_resize(image, self.resolution)))

    def _fingerprint_parts(self) -> dict[str, Any]:
        return {
            "files": [_file_stamp(path, self.root) for path in self.all_files],
            "test_size": self.test_size,
            "preprocessing": "center-square-crop+PIL-bicubic",
        }
