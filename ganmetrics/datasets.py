"""The data sets of "The GAN Landscape" (Kurach, Lucic et al. 2019, section 2.5), read from disk.

Each reader is an :class:`~ganmetrics.sources.IndexedImageSource` that decodes one image at a time
(so a ``DataLoader`` can decode in worker processes) and yields uint8 arrays shaped (3, H, W):

* ``cifar10`` - the official python pickles ``cifar-10-batches-py/``: 50,000 train images
  (``data_batch_1`` .. ``data_batch_5`` in that order) and 10,000 test images (``test_batch``),
  32x32, no resizing.
* ``celeba-hq-128`` - a folder of the 30,000 CelebA-HQ images at 128x128 (PNG/JPG), in natural
  file-name order; the **last 3,000** are the test set, the first 27,000 the train set.
* ``lsun-bedroom`` - the official LMDB export ``bedroom_train_lmdb/`` (3,033,042 images), each
  image centrally cropped or zero-padded to 128x128 without resizing (TensorFlow's
  ``resize_image_with_crop_or_pad``, footnote 3 of the paper); **30,588** images are held out as the
  test set by ``np.random.RandomState(0).permutation(n)[:30588]``.
* ``folder`` - any folder of images, center-cropped to a square and resized (PIL bicubic).
* ``procedural`` - deterministic synthetic images of a few coloured shapes; needs no download.

How the splits relate to compare_gan (the study's code, github.com/google/compare_gan). Its
``compare_gan/src/datasets.py`` read pre-built TFRecord shards: CelebA-HQ as 100 shards of which
shards 0-89 are train and 90-99 test ("No default split for train/valid for CelebA-HQ"), i.e. the
last 10% = 3,000 images; LSUN-bedroom as the 100-shard training set with the *last shard* held out
("The eval set is too small (only 300 examples)"), about 30k images. The later TFDS-based
``compare_gan/datasets.py`` uses ``tfds.Split.TRAIN.subsplit([99, 1])`` for LSUN and has no
CelebA-HQ. The shard files (which images went into which shard) were never published, so neither
split can be reproduced image-for-image. We therefore use: CelebA-HQ - the last 3,000 images in
index order, which is what "shards 90-99" are when the shards were written in index order (as the
progressive_growing_of_gans ``dataset_tool.py`` writes them); LSUN - the paper's own description,
"We randomly partition the images into a train and test set whereby we use 30588 images as the
test set", with a fixed, documented seed. FIDs computed against these test sets are comparable with
each other; against the paper's numbers they carry the (small) uncertainty of a different sample.
"""

from __future__ import annotations

import array
import hashlib
import io
import json
import os
import pickle
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ganmetrics.errors import InputError
from ganmetrics.sources import IndexedImageSource

#: Bump when decoding or preprocessing changes, so that cached features are not reused.
PREPROCESSING_VERSION = 1

DATASET_NAMES = ("cifar10", "celeba-hq-128", "lsun-bedroom", "folder", "procedural")
SPLITS = ("train", "test")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")

CIFAR10_DIRNAME = "cifar-10-batches-py"
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILES = ("test_batch",)

CELEBA_HQ_NUM_IMAGES = 30_000
CELEBA_HQ_TEST_SIZE = 3_000
CELEBA_HQ_SIZE = 128

LSUN_BEDROOM_DIRNAME = "bedroom_train_lmdb"
LSUN_BEDROOM_NUM_IMAGES = 3_033_042
LSUN_BEDROOM_TEST_SIZE = 30_588
LSUN_BEDROOM_SPLIT_SEED = 0
LSUN_BEDROOM_SIZE = 128


# --------------------------------------------------------------------------------------------
# Helpers


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _check_split(split: str, allowed: Sequence[str] = SPLITS) -> str:
    if split not in allowed:
        raise InputError(
            f"split {split!r}: unknown split; use one of {', '.join(repr(s) for s in allowed)}"
        )
    return split


def _digest(parts: dict[str, Any]) -> str:
    payload = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _file_stamp(path: Path, root: Path | None = None) -> list[Any]:
    stat = path.stat()
    name = path.relative_to(root).as_posix() if root is not None else path.name
    return [name, stat.st_size, stat.st_mtime_ns]


def natural_key(name: str) -> list[Any]:
    """Sort key comparing runs of digits as numbers: ``2.png`` < ``10.png`` < ``img10a.png``.

    For zero-padded names (``00002.png``) this is the plain lexicographic order; for CelebA-HQ
    exports named ``0.jpg`` .. ``29999.jpg`` it is the image index order.
    """
    parts: list[Any] = [int(p) if i % 2 else p for i, p in enumerate(re.split(r"(\d+)", name))]
    return [*parts, name]


def list_image_files(root: Path) -> list[Path]:
    """All image files under ``root`` (recursively), in natural order of their relative paths.

    Hidden files and folders (names starting with ``.``, e.g. macOS ``._x.jpg``) are skipped.
    """
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if not filename.startswith(".") and filename.lower().endswith(IMAGE_EXTENSIONS):
                found.append(Path(dirpath) / filename)
    found.sort(key=lambda p: natural_key(p.relative_to(root).as_posix()))
    return found


def _open_rgb(source: Path | bytes, what: str) -> Image.Image:
    """Decode an image file or encoded bytes to RGB (grey is replicated, alpha dropped)."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            image.load()
            return image.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InputError(
            f"{what}: cannot decode image ({_one_line(exc)}); remove or replace the damaged file"
        ) from None


def _hwc_to_chw(array_hwc: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array_hwc.transpose(2, 0, 1), dtype=np.uint8)


def crop_or_pad(image: np.ndarray, target_height: int, target_width: int) -> np.ndarray:
    """Centrally crop and/or zero-pad an (H, W, C) image to (target_height, target_width, C).

    Exactly TensorFlow's ``tf.image.resize_image_with_crop_or_pad`` (image_ops_impl.py), which
    "The GAN Landscape" uses for LSUN-bedroom (section 2.5, footnote 3) and compare_gan's
    ``unpack_lsun_image`` applies to every decoded image. No resampling happens. Per axis, with
    ``size`` the input extent and ``target`` the output extent::

        diff        = target - size
        crop_offset = max(-diff // 2, 0)   # = (size - target) // 2 when cropping
        pad_offset  = max(diff // 2, 0)    # = (target - size) // 2 when padding
        cropped     = image[crop_offset : crop_offset + min(size, target)]
        output      = zeros(target); output[pad_offset : pad_offset + min(size, target)] = cropped

    ``//`` is floor division, so for an odd difference the extra row/column is removed from (or
    added to) the bottom/right: 131 -> 128 keeps rows 1..128; 125 -> 128 pads 1 above, 2 below.
    """
    if target_height <= 0 or target_width <= 0:
        raise ValueError("target_height and target_width must be positive")
    height, width = image.shape[:2]
    height_diff = target_height - height
    width_diff = target_width - width
    crop_top = max(-height_diff // 2, 0)
    crop_left = max(-width_diff // 2, 0)
    pad_top = max(height_diff // 2, 0)
    pad_left = max(width_diff // 2, 0)
    kept_height = min(target_height, height)
    kept_width = min(target_width, width)
    cropped = image[crop_top : crop_top + kept_height, crop_left : crop_left + kept_width]
    if kept_height == target_height and kept_width == target_width:
        return np.ascontiguousarray(cropped)
    output = np.zeros((target_height, target_width, *image.shape[2:]), dtype=image.dtype)
    output[pad_top : pad_top + kept_height, pad_left : pad_left + kept_width] = cropped
    return output


def center_crop_resize(image: Image.Image, size: int) -> Image.Image:
    """Center-crop to a square, then resize to ``size`` x ``size`` with PIL's bicubic filter.

    The square has side ``s = min(W, H)`` and its top-left corner at
    ``((W - s) // 2, (H - s) // 2)``; the resize is ``Image.resize((size, size), Image.BICUBIC)``
    (antialiased when shrinking). An image already ``size`` x ``size`` is returned unchanged.
    """
    width, height = image.size
    side = min(width, height)
    if (width, height) != (side, side):
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if side != size:
        image = image.resize((size, size), Image.BICUBIC)
    return image


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


# --------------------------------------------------------------------------------------------
# Base class


class Dataset(IndexedImageSource):
    """A named split of a data set, of square ``resolution`` x ``resolution`` RGB images."""

    name: str = ""
    split: str = ""
    #: Side of the square images this dataset yields.
    resolution: int = 0
    #: Images in the whole data set (all splits), where the reader lists them; else ``None``.
    num_source_images: int | None = None

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of every image this dataset yields."""
        return (self.resolution, self.resolution)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(3, H, W) of every image this dataset yields."""
        return (3, self.resolution, self.resolution)

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
        return _digest(parts)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description} ({len(self)} images)>"


# --------------------------------------------------------------------------------------------
# CIFAR-10


def _find_cifar_dir(data_dir: Path) -> Path:
    data_dir = Path(data_dir)
    expected = (
        f"the official CIFAR-10 python folder '{CIFAR10_DIRNAME}' (or its parent) with "
        "data_batch_1 .. data_batch_5 and test_batch, from cifar-10-python.tar.gz"
    )
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: folder not found; expected {expected}")
    for candidate in (data_dir, data_dir / CIFAR10_DIRNAME):
        if candidate.is_dir() and any(
            (candidate / f).is_file() for f in CIFAR10_TRAIN_FILES + CIFAR10_TEST_FILES
        ):
            return candidate
    if (data_dir / "cifar-10-python.tar.gz").is_file():
        raise InputError(
            f"{data_dir / 'cifar-10-python.tar.gz'}: archive not extracted; run "
            f"'tar xzf cifar-10-python.tar.gz' in {data_dir} and pass the folder"
        )
    raise InputError(
        f"{data_dir}: no CIFAR-10 batch files (missing data_batch_1); expected {expected}"
    )


def _load_cifar_batch(path: Path) -> np.ndarray:
    """The ``b"data"`` array (N, 3072) uint8 of one CIFAR-10 python batch."""
    fix = "replace it with the file from the official cifar-10-python.tar.gz"
    try:
        with open(path, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
    except (
        OSError,
        EOFError,
        pickle.UnpicklingError,
        ValueError,
        TypeError,
        AttributeError,
    ) as exc:
        raise InputError(f"{path}: not a CIFAR-10 python batch ({_one_line(exc)}); {fix}") from None
    if not isinstance(batch, dict) or b"data" not in batch:
        raise InputError(f"{path}: not a CIFAR-10 python batch (no b'data' entry); {fix}")
    data = np.asarray(batch[b"data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise InputError(
            f"{path}: b'data' is {data.dtype} {data.shape}, expected uint8 (N, 3072); {fix}"
        )
    labels = batch.get(b"labels")
    if labels is not None and len(labels) != data.shape[0]:
        raise InputError(
            f"{path}: {len(labels)} labels for {data.shape[0]} images; the file is damaged, {fix}"
        )
    return data


class Cifar10Dataset(Dataset):
    """CIFAR-10 (Krizhevsky 2009) from the official python pickles, 32x32, no resizing.

    "The GAN Landscape" section 2.5: 60,000 images, "partitioned into 60000 training instances and
    10000 testing instances" - here the official split: ``train`` is data_batch_1 .. data_batch_5
    concatenated in that order (50,000 images), ``test`` is ``test_batch`` (10,000 images). Each row
    of ``b"data"`` holds 1024 red, then 1024 green, then 1024 blue values, each plane row-major, so
    image ``i`` is ``data[i].reshape(3, 32, 32)``.

    ``data_dir`` may be ``cifar-10-batches-py/`` itself or the folder containing it.
    """

    name = "cifar10"
    resolution = 32

    def __init__(self, data_dir: str | os.PathLike, split: str = "train"):
        self.split = _check_split(split)
        self.root = _find_cifar_dir(Path(data_dir))
        self.files = [
            self.root / f for f in (CIFAR10_TRAIN_FILES if split == "train" else CIFAR10_TEST_FILES)
        ]
        for path in self.files:
            if not path.is_file():
                raise InputError(
                    f"{path}: missing; '{self.root.name}' must contain data_batch_1 .. "
                    "data_batch_5 and test_batch from the official cifar-10-python.tar.gz"
                )
        self._data: np.ndarray | None = self._load()
        self._num_images = self._data.shape[0]
        self.description = f"cifar10:{split} ({self.root})"

    def _load(self) -> np.ndarray:
        return np.concatenate([_load_cifar_batch(path) for path in self.files])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_data"] = None  # reloaded on first read, not sent through pipes
        return state

    def __len__(self) -> int:
        return self._num_images

    def read(self, index: int) -> np.ndarray:
        if self._data is None:
            self._data = self._load()
        return self._data[index].reshape(3, 32, 32).copy()

    def _fingerprint_parts(self) -> dict[str, Any]:
        return {"files": [_file_stamp(path) for path in self.files]}


# --------------------------------------------------------------------------------------------
# CelebA-HQ-128


class CelebAHQDataset(Dataset):
    """CelebA-HQ (Karras et al. 2018) at 128x128 from a folder of 30,000 images.

    "The GAN Landscape" section 2.5: "We use the 128 x 128 x 3 version obtained by running the code
    provided by the authors. We use 3000 examples as the test set and the remaining examples as
    the training set." Split rule: image files (PNG/JPG/..., recursively) sorted in natural order
    of their relative paths (:func:`natural_key`, i.e. image index order for ``0.jpg`` ..
    ``29999.jpg`` or ``imgHQ00000.png`` ...); the **last** ``test_size`` (3,000) files are ``test``,
    the others ``train`` - compare_gan's "shards 90-99 of 100" (see the module docstring).

    By default every image must be 128x128. With ``image_size`` given, images of that size are used
    as they are, square images ``image_size * 2**k`` wide are shrunk as the authors' dataset_tool
    did (:func:`pggan_downsample`, so the 1024x1024 originals give the study's 128x128 images), any
    other larger size is center-cropped and bicubic-resized (:func:`center_crop_resize`), and
    smaller images are refused (never upsampled).
    """

    name = "celeba-hq-128"

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
        self.resolution = CELEBA_HQ_SIZE if image_size is None else int(image_size)
        if self.resolution <= 0:
            raise InputError(f"image_size {image_size}: must be positive")
        if not self.root.is_dir():
            raise InputError(
                f"{self.root}: folder not found; expected a folder of the {CELEBA_HQ_NUM_IMAGES} "
                "CelebA-HQ images at 128x128 (PNG or JPG)"
            )
        self.all_files = list_image_files(self.root)
        if not self.all_files:
            raise InputError(
                f"{self.root}: no image files ({', '.join(IMAGE_EXTENSIONS)}); expected a folder "
                f"of the {CELEBA_HQ_NUM_IMAGES} CelebA-HQ images at 128x128"
            )
        self.test_size = CELEBA_HQ_TEST_SIZE if test_size is None else int(test_size)
        indices = _tail_split(
            len(self.all_files), split, test_size, CELEBA_HQ_TEST_SIZE, str(self.root)
        )
        self.files = self.all_files[indices.start : indices.stop]
        self.num_source_images = len(self.all_files)
        if self.strict_size:
            self._check_size(self.files[0], _open_rgb(self.files[0], str(self.files[0])).size)
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
        image = _open_rgb(path, str(path))
        if self.strict_size:
            self._check_size(path, image.size)
            return _hwc_to_chw(np.asarray(image))
        width, height = image.size
        side = self.resolution
        if min(width, height) < side:
            raise InputError(
                f"{path}: image is {width}x{height}, smaller than image_size {side}; CelebA-HQ is "
                "never upsampled - point to a folder of larger (or 128x128) CelebA-HQ images"
            )
        if width == height and width % side == 0 and (width // side) & (width // side - 1) == 0:
            return _hwc_to_chw(pggan_downsample(np.asarray(image), width // side))
        return _hwc_to_chw(np.asarray(center_crop_resize(image, side)))

    def _fingerprint_parts(self) -> dict[str, Any]:
        return {
            "files": [_file_stamp(path, self.root) for path in self.all_files],
            "test_size": self.test_size,
            "resample": None if self.strict_size else "pggan-box-or-center-crop-bicubic",
        }


# --------------------------------------------------------------------------------------------
# LSUN-bedroom


def _find_lmdb_dir(data_dir: Path, dirname: str) -> Path:
    data_dir = Path(data_dir)
    expected = (
        f"the LSUN LMDB folder '{dirname}' (or its parent) containing data.mdb, as unzipped from "
        f"{dirname}.zip of the LSUN download.py"
    )
    for candidate in (data_dir, data_dir / dirname):
        if (candidate / "data.mdb").is_file():
            return candidate
    if (data_dir / f"{dirname}.zip").is_file():
        raise InputError(
            f"{data_dir / (dirname + '.zip')}: archive not extracted; unzip it in {data_dir} and "
            f"pass the '{dirname}' folder"
        )
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: folder not found; expected {expected}")
    raise InputError(f"{data_dir}: no data.mdb found; expected {expected}")


def _open_lmdb(path: Path):
    import lmdb

    try:
        return lmdb.open(
            str(path),
            readonly=True,
            lock=False,
            readahead=False,
            meminit=False,
            max_readers=1,
            subdir=True,
        )
    except lmdb.Error as exc:
        raise InputError(
            f"{path / 'data.mdb'}: cannot open as LMDB ({_one_line(exc)}); re-download or unzip "
            "the LSUN archive again"
        ) from None


#: Open LMDB environments of this process, by (pid, real path). py-lmdb refuses to open one
#: environment twice in a process, so all datasets reading it share one handle.
_LMDB_ENVS: dict[tuple[int, str], Any] = {}


def _close_lmdb_envs() -> None:
    """Close every cached environment (run before ``fork``).

    A forked child may neither use an environment inherited from its parent nor open the same
    files again while the inherited handle counts as open, so environments are closed before any
    ``fork`` (e.g. ``DataLoader`` workers starting) and reopened lazily on the next read.
    """
    while _LMDB_ENVS:
        _, env = _LMDB_ENVS.popitem()
        env.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_close_lmdb_envs)


def _shared_lmdb(path: Path):
    key = (os.getpid(), os.path.realpath(path))
    env = _LMDB_ENVS.get(key)
    if env is None:
        env = _LMDB_ENVS[key] = _open_lmdb(path)
    return env


class LsunBedroomDataset(Dataset):
    """LSUN-bedroom (Yu et al. 2015) from the official LMDB export, cropped/padded to 128x128.

    "The GAN Landscape" section 2.5: about 3 million images, "preprocessed to 128 x 128 x 3 using
    TensorFlow resize_image_with_crop_or_pad" (footnote 3); "We randomly partition the images into
    a train and test set whereby we use 30588 images as the test set."

    * Order: the LMDB keys (hex ids) listed once, in cursor order (bytewise sorted), and cached.
    * Split: ``permutation = np.random.RandomState(split_seed).permutation(n)`` with
      ``split_seed = 0`` (numpy's legacy Mersenne-Twister generator, stable across numpy versions);
      ``test`` is ``permutation[:test_size]`` and ``train`` is ``permutation[test_size:]``, both in
      permutation order, so the first 10,000 test images are themselves a uniform random sample.
      ``test_size`` defaults to 30,588; a database with no more images than that is refused unless
      ``test_size`` is passed explicitly (tiny databases for tests and demos).
    * Decoding: the values are WEBP (or JPEG) bytes, decoded with PIL to RGB (grey replicated, as
      ``decode_jpeg(channels=3)``), then :func:`crop_or_pad` to ``image_size`` (128). compare_gan
      stored the images re-encoded as JPEG in TFRecords; that extra lossy step is not reproduced.

    The LMDB environment is opened lazily, once per process and shared by all datasets reading it,
    and closed before any ``fork``; each ``DataLoader`` worker process opens its own on its first
    :meth:`read`, and the dataset pickles without it.
    """

    name = "lsun-bedroom"

    def __init__(
        self,
        data_dir: str | os.PathLike,
        split: str = "train",
        image_size: int | None = None,
        test_size: int | None = None,
        split_seed: int = LSUN_BEDROOM_SPLIT_SEED,
        dirname: str = LSUN_BEDROOM_DIRNAME,
    ):
        self.split = _check_split(split)
        self.root = _find_lmdb_dir(Path(data_dir), dirname)
        self.resolution = LSUN_BEDROOM_SIZE if image_size is None else int(image_size)
        if self.resolution <= 0:
            raise InputError(f"image_size {image_size}: must be positive")
        self.split_seed = int(split_seed)
        self._key_blob, self._key_offsets = self._list_keys()
        num_keys = len(self._key_offsets) - 1
        explicit = test_size is not None
        self.test_size = int(test_size) if explicit else LSUN_BEDROOM_TEST_SIZE
        if self.test_size <= 0 or num_keys <= self.test_size:
            hint = (
                "pass a smaller test_size"
                if explicit
                else f"use the full {dirname} ({LSUN_BEDROOM_NUM_IMAGES} images) or pass test_size"
            )
            raise InputError(
                f"{self.root}: {num_keys} images cannot be split into a test set of "
                f"{self.test_size} and a non-empty train set; {hint}"
            )
        permutation = np.random.RandomState(self.split_seed).permutation(num_keys)
        chosen = permutation[: self.test_size] if split == "test" else permutation[self.test_size :]
        self._indices = np.ascontiguousarray(chosen, dtype=np.int64)
        self._num_keys = num_keys
        self.num_source_images = num_keys
        self.description = f"lsun-bedroom:{split} ({self.root})"

    def _list_keys(self) -> tuple[bytes, np.ndarray]:
        blob = bytearray()
        lengths = array.array("q")
        with _shared_lmdb(self.root).begin(write=False) as txn:
            for key in txn.cursor().iternext(keys=True, values=False):
                blob += key
                lengths.append(len(key))
        if not lengths:
            raise InputError(
                f"{self.root / 'data.mdb'}: the LMDB database is empty; re-download it"
            )
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(lengths, dtype=np.int64), out=offsets[1:])
        return bytes(blob), offsets

    def key(self, index: int) -> bytes:
        """LMDB key of image ``index`` of this split."""
        position = int(self._indices[index])
        return self._key_blob[self._key_offsets[position] : self._key_offsets[position + 1]]

    def __len__(self) -> int:
        return len(self._indices)

    def read(self, index: int) -> np.ndarray:
        key = self.key(index)
        with _shared_lmdb(self.root).begin(write=False, buffers=False) as txn:
            value = txn.get(key)
        what = f"{self.root / 'data.mdb'} key {key.decode('ascii', 'replace')}"
        if value is None:
            raise InputError(f"{what}: missing value; the database changed since it was listed")
        image = np.asarray(_open_rgb(value, what))
        return _hwc_to_chw(crop_or_pad(image, self.resolution, self.resolution))

    def _fingerprint_parts(self) -> dict[str, Any]:
        return {
            "files": [_file_stamp(self.root / "data.mdb")],
            "num_keys": self._num_keys,
            "test_size": self.test_size,
            "split_seed": self.split_seed,
            "split_rule": "np.random.RandomState(seed).permutation(n)",
            "preprocessing": "tf.image.resize_image_with_crop_or_pad",
        }


# --------------------------------------------------------------------------------------------
# Any folder


class ImageFolderDataset(Dataset):
    """Any folder of images, center-cropped to a square and resized to ``image_size``.

    Files (PNG/JPG/WEBP/BMP/TIFF, recursively, hidden ones skipped) are taken in natural order of
    their relative paths (:func:`natural_key`). Each image is converted to RGB and passed through
    :func:`center_crop_resize` (center square crop, then PIL bicubic resize).

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
        self.all_files = list_image_files(self.root)
        if not self.all_files:
            raise InputError(
                f"{self.root}: no image files ({', '.join(IMAGE_EXTENSIONS)}); pass an image folder"
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
        image = _open_rgb(path, str(path))
        return _hwc_to_chw(np.asarray(center_crop_resize(image, self.resolution)))

    def _fingerprint_parts(self) -> dict[str, Any]:
        return {
            "files": [_file_stamp(path, self.root) for path in self.all_files],
            "test_size": self.test_size,
            "preprocessing": "center-square-crop+PIL-bicubic",
        }


# --------------------------------------------------------------------------------------------
# Procedural


#: (background top colour, background bottom colour, shape colour, shape) for each mode.
_PROCEDURAL_MODES = (
    ((40, 70, 160), (120, 170, 230), (245, 150, 40), "disc"),
    ((30, 110, 50), (150, 210, 120), (150, 50, 170), "square"),
    ((25, 25, 30), (110, 110, 120), (250, 220, 60), "triangle"),
    ((220, 120, 160), (250, 220, 230), (20, 140, 140), "ring"),
)
_SPLIT_STREAM = {"train": 0, "test": 1}


class ProceduralDataset(Dataset):
    """Synthetic images that need no download: one coloured shape on a gradient background.

    For tests and demos of training and evaluation. Image ``i`` of split ``s`` is drawn with
    ``numpy.random.default_rng([seed, stream(s), i])`` (``stream`` 0 for train, 1 for test), so it
    depends only on (seed, split, index, image_size, num_modes), never on reading order. Each image
    belongs to one of ``num_modes`` (at most 4) modes - a blue sky with an orange disc, green with
    a purple square, grey with a yellow triangle, pink with a teal ring - with jittered colours,
    random position and size, and mild pixel noise: easy to learn, and a generator that drops
    modes or blurs shapes gets a clearly worse FID against the test split.
    """

    name = "procedural"

    def __init__(
        self,
        num_images: int,
        image_size: int = 32,
        seed: int = 0,
        split: str = "train",
        num_modes: int = len(_PROCEDURAL_MODES),
    ):
        self.split = _check_split(split)
        if int(num_images) <= 0:
            raise InputError(f"num_images {num_images}: the procedural data set needs at least 1")
        if int(image_size) < 4:
            raise InputError(f"image_size {image_size}: the procedural data set needs at least 4")
        if not 1 <= int(num_modes) <= len(_PROCEDURAL_MODES):
            raise InputError(f"num_modes {num_modes}: choose 1 to {len(_PROCEDURAL_MODES)}")
        self.num_images = int(num_images)
        self.resolution = int(image_size)
        self.seed = int(seed)
        self.num_modes = int(num_modes)
        self.description = f"procedural:{split} (seed {seed}, {num_images} images)"

    def __len__(self) -> int:
        return self.num_images

    def mode(self, index: int) -> int:
        """The mode (0 .. num_modes - 1) of image ``index``."""
        return int(self._rng(index).integers(self.num_modes))

    def _rng(self, index: int) -> np.random.Generator:
        if not 0 <= index < self.num_images:
            raise IndexError(f"index {index} out of range for {self.num_images} images")
        return np.random.default_rng([self.seed, _SPLIT_STREAM[self.split], int(index)])

    def read(self, index: int) -> np.ndarray:
        rng = self._rng(index)
        mode = int(rng.integers(self.num_modes))
        top, bottom, colour, shape = _PROCEDURAL_MODES[mode]
        size = self.resolution
        jitter = rng.normal(0.0, 12.0, size=(3, 3))
        top_rgb = np.asarray(top, np.float32) + jitter[0]
        bottom_rgb = np.asarray(bottom, np.float32) + jitter[1]
        shape_rgb = np.asarray(colour, np.float32) + jitter[2]

        coords = (np.arange(size, dtype=np.float32) + 0.5) / size
        yy, xx = np.meshgrid(coords, coords, indexing="ij")
        tilt = rng.uniform(-0.3, 0.3)
        t = np.clip(yy + tilt * (xx - 0.5), 0.0, 1.0)[..., None]
        image = (1.0 - t) * top_rgb + t * bottom_rgb

        radius = rng.uniform(0.15, 0.3)
        cy, cx = rng.uniform(radius, 1.0 - radius, size=2)
        dy, dx = yy - cy, xx - cx
        if shape == "disc":
            mask = dy**2 + dx**2 <= radius**2
        elif shape == "square":
            mask = (np.abs(dy) <= radius * 0.85) & (np.abs(dx) <= radius * 0.85)
        elif shape == "ring":
            distance = np.sqrt(dy**2 + dx**2)
            mask = (distance <= radius) & (distance >= radius * 0.55)
        else:  # triangle pointing up: apex at cy - radius, base at cy + radius / 2
            half_base = radius * 0.866
            half_width = half_base * (dy + radius) / (1.5 * radius)
            mask = (dy >= -radius) & (dy <= radius * 0.5) & (np.abs(dx) <= half_width)
        image[mask] = shape_rgb
        image += rng.normal(0.0, 4.0, size=image.shape)
        return _hwc_to_chw(np.clip(np.rint(image), 0, 255).astype(np.uint8))

    def _fingerprint_parts(self) -> dict[str, Any]:
        return {"seed": self.seed, "num_modes": self.num_modes, "generator": "numpy-pcg64"}


# --------------------------------------------------------------------------------------------
# Subsets and entry points


def _canonical_name(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    aliases = {"cifar-10": "cifar10", "celeba-hq": "celeba-hq-128", "celebahq-128": "celeba-hq-128"}
    key = aliases.get(key, key)
    if key not in DATASET_NAMES:
        raise InputError(f"dataset {name!r}: unknown; use one of {', '.join(DATASET_NAMES)}")
    return key


def open_dataset(
    name: str,
    data_dir: str | os.PathLike | None,
    split: str = "train",
    image_size: int | None = None,
    **kw: Any,
) -> Dataset:
    """Open split ``split`` of data set ``name`` stored under ``data_dir``.

    ``name`` is one of ``cifar10``, ``celeba-hq-128``, ``lsun-bedroom``, ``folder``, ``procedural``.
    ``image_size`` is ``None`` for each data set's study resolution (32, 128, 128; ``folder`` needs
    it; ``procedural`` defaults to 32). Extra keywords go to the reader: ``test_size`` (celeba,
    lsun, folder), ``split_seed`` (lsun), ``num_images`` / ``seed`` / ``num_modes`` (procedural;
    ``num_images`` defaults to 50,000 train / 10,000 test).
    """
    key = _canonical_name(name)
    if key == "procedural":
        num_images = kw.pop("num_images", None)
        if num_images is None:
            num_images = 50_000 if split == "train" else 10_000
        return ProceduralDataset(
            num_images=num_images, image_size=image_size or 32, split=split, **kw
        )
    if data_dir is None:
        raise InputError(f"dataset {key!r}: needs a data directory (--data-dir)")
    if key == "cifar10":
        if image_size not in (None, 32):
            raise InputError(
                f"image_size {image_size}: CIFAR-10 is used at its native 32x32 (The GAN "
                "Landscape, section 2.5); use the 'folder' data set for resized images"
            )
        if kw:
            raise InputError(f"dataset 'cifar10': unknown options {', '.join(sorted(kw))}")
        return Cifar10Dataset(data_dir, split)
    if key == "celeba-hq-128":
        return CelebAHQDataset(data_dir, split, image_size=image_size, **kw)
    if key == "lsun-bedroom":
        return LsunBedroomDataset(data_dir, split, image_size=image_size, **kw)
    return ImageFolderDataset(data_dir, image_size, split=split, **kw)  # "folder"


def reference_sets() -> dict[str, dict[str, Any]]:
    """The study's reference (test) sets, from the package's ``reference_manifest.json``."""
    text = resources.files("ganmetrics").joinpath("reference_manifest.json").read_text("utf-8")
    return json.loads(text)["reference_sets"]


def open_reference(
    name: str, data_dir: str | os.PathLike, strict: bool = True, **options: Any
) -> IndexedImageSource:
    """The images of reference set ``name`` (e.g. ``cifar10-test``) read from ``data_dir``.

    Yields exactly the images the manifest's protocol uses: the first ``num_images`` images of the
    test split (all of it for CIFAR-10 and CelebA-HQ-128; the first 10,000 of the 30,588-image
    LSUN-bedroom test permutation). With ``strict`` (default) the data set must be complete - the
    manifest's ``dataset_num_images`` and ``split_num_images`` - since a partial copy would silently
    give a different test set. ``strict=False`` accepts smaller copies (tests, demos) and yields as
    many images as the split has, up to ``num_images``; ``options`` (e.g. ``test_size``) override
    the manifest's reader options.
    """
    sets = reference_sets()
    if name not in sets:
        raise InputError(f"reference {name!r}: unknown; use one of {', '.join(sorted(sets))}")
    entry = sets[name]
    reader_options = {**entry.get("options", {}), **options}
    dataset = open_dataset(entry["dataset"], data_dir, entry["split"], **reader_options)
    if not strict:
        return dataset.limit(min(entry["num_images"], len(dataset)))
    expected_total = entry.get("dataset_num_images")
    total = dataset.num_source_images
    if expected_total is not None and total is not None and total != expected_total:
        raise InputError(
            f"{data_dir}: has {total} images, the reference set {name} needs the complete "
            f"{entry['dataset']} data set ({expected_total} images); point to the full data set"
        )
    if len(dataset) != entry["split_num_images"]:
        raise InputError(
            f"{data_dir}: the {entry['split']} split has {len(dataset)} images, {name} needs "
            f"{entry['split_num_images']}; point to the full data set"
        )
    return dataset.limit(entry["num_images"])
