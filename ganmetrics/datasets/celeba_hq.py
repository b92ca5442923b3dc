"""CelebA-HQ at 128x128 (Karras et al. 2018), as "The GAN Landscape" (section 2.5) used it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ganmetrics import images
from ganmetrics.datasets.base import (
    Dataset,
    _check_split,
    _file_stamp,
    _resolution,
    _tail_split,
)
from ganmetrics.errors import InputError

CELEBA_HQ_NUM_IMAGES = 30_000
CELEBA_HQ_TEST_SIZE = 3_000
CELEBA_HQ_SIZE = 128


def pggan_downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """Shrink an (H, W, C) uint8 image by a power-of-two ``factor`` as CelebA-HQ was made.

    progressive_growing_of_gans ``dataset_tool.py`` (Karras et al. 2018; the code that "The GAN
    Landscape" section 2.5 ran to obtain CELEBA-HQ-128) halves the image repeatedly in float32,
    ``x = (x[0::2, 0::2] + x[0::2, 1::2] + x[1::2, 0::2] + x[1::2, 1::2]) * 0.25``, and stores
    ``rint(x).clip(0, 255)`` as uint8 at every level.
    """
    if factor < 1 or factor & (factor - 1):
        raise ValueError(f"factor must be a power of two, got {factor}")
    x = image.astype(np.float32)
    while factor > 1:
        x = (x[0::2, 0::2] + x[0::2, 1::2] + x[1::2, 0::2] + x[1::2, 1::2]) * np.float32(0.25)
        factor //= 2
    return np.rint(x).clip(0, 255).astype(np.uint8)


class CelebAHQDataset(Dataset):
    """CelebA-HQ (Karras et al. 2018) at 128x128 from a folder of 30,000 images.

    "The GAN Landscape" section 2.5: "We use the 128 x 128 x 3 version obtained by running the code
    provided by the authors. We use 3000 examples as the test set and the remaining examples as
    the training set." Split rule: image files (PNG/JPG/..., recursively) sorted in natural order
    of their relative paths (:func:`~ganmetrics.images.natural_key`, i.e. image index order for
    ``0.jpg`` .. ``29999.jpg`` or ``imgHQ00000.png`` ...); the **last** ``test_size`` (3,000)
    files are ``test``, the others ``train`` - compare_gan's "shards 90-99 of 100" (see the
    package docstring).

    By default every image must be 128x128. With ``image_size`` given, images of that size are used
    as they are, square images ``image_size * 2**k`` wide are shrunk as the authors' dataset_tool
    did (:func:`pggan_downsample`, so the 1024x1024 originals give the study's 128x128 images), any
    other larger size is center-cropped and bicubic-resized (:func:`center_crop_resize`), and
    smaller images are refused (never upsampled).
    """

    name = "celeba-hq-128"
    in_memory = True

    def __init__(
        self,
        data_dir: str | os.PathLike,
        split: str = "train",
        image_size: int | None = None,
        test_size: int | None = None,
    ):
        self.split = _check_split(split)
        self.root = Path(data_dir)
        self.strict_size = image_size is None
        self.resolution = _resolution(image_size, CELEBA_HQ_SIZE)
        if not self.root.is_dir():
            raise InputError(
                f"{self.root}: folder not found; expected a folder of the {CELEBA_HQ_NUM_IMAGES} "
                "CelebA-HQ images at 128x128 (PNG or JPG)"
            )
        self.all_files = images.list_image_files(self.root)
        if not self.all_files:
            raise InputError(
                f"{self.root}: no image files ({images.EXTENSIONS_TEXT}); expected a folder "
                f"of the {CELEBA_HQ_NUM_IMAGES} CelebA-HQ images at 128x128"
            )
        self.test_size = CELEBA_HQ_TEST_SIZE if test_size is None else int(test_size)
        indices = _tail_split(
            len(self.all_files), split, test_size, CELEBA_HQ_TEST_SIZE, str(self.root)
        )
        self.files = self.all_files[indices.start : indices.stop]
        self.num_source_images = len(self.all_files)
        if self.strict_size:
            self._check_size(
                self.files[0], images.decode_rgb(self.files[0], str(self.files[0])).size
            )
        self.description = f"celeba-hq-128:{split} ({self.root})"

    def _check_size(self, path: Path, size: tuple[int, int]) -> None:
        if size != (CELEBA_HQ_SIZE, CELEBA_HQ_SIZE):
            raise InputError(
                f"{path}: image is {size[0]}x{size[1]}, expected "
                f"{CELEBA_HQ_SIZE}x{CELEBA_HQ_SIZE}; point to the 128x128 CelebA-HQ folder, or "
                "pass image_size=128 to shrink the originals as progressive_growing_of_gans' "
                "dataset_tool does"
            )

    def __len__(self) -> int:
        return len(self.files)

    def read(self, index: int) -> np.ndarray:
        path = self.files[index]
        image = images.decode_rgb(path, str(path))
        if self.strict_size:
            self._check_size(path, image.size)
            return images.hwc_to_chw(np.asarray(image))
        width, height = image.size
        side = self.resolution
        if min(width, height) < side:
            raise InputError(
                f"{path}: image is {width}x{height}, smaller than image_size {side}; CelebA-HQ is "
                "never upsampled - point to a folder of larger (or 128x128) CelebA-HQ images"
            )
        if width == height and width % side == 0 and (width // side) & (width // side - 1) == 0:
            return images.hwc_to_chw(pggan_downsample(np.asarray(image), width // side))
        return images.hwc_to_chw(np.asarray(images.center_crop_resize(image, side)))

    def _fingerprint_parts(self) -> dict[str, Any]:
        return {
            "files": [_file_stamp(path, self.root) for path in self.all_files],
            "test_size": self.test_size,
            "resample": None if self.strict_size else "pggan-box-or-center-crop-bicubic",
        }
