"""CIFAR-10 (Krizhevsky 2009) from the official python pickles, as "The GAN Landscape" used it."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ganmetrics import images
from ganmetrics.datasets.base import Dataset, _check_split, _file_stamp
from ganmetrics.errors import InputError

CIFAR10_DIRNAME = "cifar-10-batches-py"
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILES = ("test_batch",)


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
        raise InputError(
            f"{path}: not a CIFAR-10 python batch ({images.one_line(exc)}); {fix}"
        ) from None
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
    in_memory = True

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

    def to_array(self, num_workers: int = 0) -> np.ndarray:
        """Every image of the split as one uint8 array (N, 3, 32, 32), without decoding."""
        if self._data is None:
            self._data = self._load()
        return self._data.reshape(-1, 3, 32, 32)

    def _fingerprint_parts(self) -> dict[str, Any]:
        return {"files": [_file_stamp(path) for path in self.files]}
