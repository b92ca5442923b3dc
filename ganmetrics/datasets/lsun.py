"""LSUN-bedroom (Yu et al. 2015) from the official LMDB export, as "The GAN Landscape" used it."""

from __future__ import annotations

import array
import os
from pathlib import Path
from typing import Any

import numpy as np

from ganmetrics import images
from ganmetrics.datasets.base import Dataset, _check_split, _file_stamp, _resolution
from ganmetrics.errors import InputError

LSUN_BEDROOM_DIRNAME = "bedroom_train_lmdb"
LSUN_BEDROOM_NUM_IMAGES = 3_033_042
LSUN_BEDROOM_TEST_SIZE = 30_588
LSUN_BEDROOM_SPLIT_SEED = 0
LSUN_BEDROOM_SIZE = 128


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
            f"{path / 'data.mdb'}: cannot open as LMDB ({images.one_line(exc)}); re-download or "
            "unzip the LSUN archive again"
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
        self.resolution = _resolution(image_size, LSUN_BEDROOM_SIZE)
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
        image = np.asarray(images.decode_rgb(value, what))
        return images.hwc_to_chw(crop_or_pad(image, self.resolution, self.resolution))

    def _fingerprint_parts(self) -> dict[str, Any]:
        return {
            "files": [_file_stamp(self.root / "data.mdb")],
            "num_keys": self._num_keys,
            "test_size": self.test_size,
            "split_seed": self.split_seed,
            "split_rule": "np.random.RandomState(seed).permutation(n)",
            "preprocessing": "tf.image.resize_image_with_crop_or_pad",
        }
