"""Images held in arrays: numpy arrays, torch tensors, ``.npy`` and image ``.npz`` files.

Rules: 4-D arrays only. The channel axis is axis 1 (NCHW) if ``shape[1]`` is 3 or 1, otherwise
axis 3 (NHWC) if ``shape[3]`` is 3 or 1; so an array where both qualify is read as NCHW. One
channel (grayscale) is replicated to three. uint8 is used as is (``value_range`` is ignored);
float arrays need an explicit ``value_range`` of ``0,1`` or ``-1,1`` and are mapped as
``uint8(clip(rint((x - lo) * 255 / (hi - lo)), 0, 255))`` computed in float64 (``np.rint``
rounds half to even), i.e. ``rint(255 x)`` for 0,1 and ``rint(127.5 (x + 1))`` for -1,1. Values
outside the range are clipped. NaN or infinity is an error. Other dtypes are errors.

Fingerprints: array files hash the file bytes plus the settings; in-memory arrays hash the array
bytes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ganmetrics import images
from ganmetrics.errors import InputError
from ganmetrics.sources.base import (
    _FINGERPRINT_VERSION,
    SOURCE_KINDS_HINT,
    ImageSource,
    _check_batch_size,
    _select_count,
)
from ganmetrics.sources.npz import npz_errors, open_npz, pickle_refused

_RANGE_FIX = "pass --range 0,1 or --range -1,1"


def parse_value_range(
    value_range: object, description: str = "--range"
) -> tuple[float, float] | None:
    """Parse ``"0,1"``, ``"-1,1"`` or a pair of numbers into ``(lo, hi)``; ``None`` passes."""
    if value_range is None:
        return None
    pair: tuple[float, float] | None = None
    try:
        if isinstance(value_range, str):
            parts = value_range.replace(" ", "").split(",")
            if len(parts) == 2:
                pair = (float(parts[0]), float(parts[1]))
        elif len(value_range) == 2:  # type: ignore[arg-type]
            pair = (float(value_range[0]), float(value_range[1]))  # type: ignore[index]
    except (TypeError, ValueError):
        pair = None
    if pair not in ((0.0, 1.0), (-1.0, 1.0)):
        raise InputError(f"{description}: unsupported value range {value_range!r}; {_RANGE_FIX}")
    return pair  # type: ignore[return-value]


def _to_numpy(images: object, description: str) -> np.ndarray:
    if isinstance(images, torch.Tensor):
        tensor = images.detach().cpu()
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.float()
        return tensor.numpy()
    if isinstance(images, np.ndarray):
        return images
    raise InputError(
        f"{description}: expected a numpy array or torch tensor of images, got "
        f"{type(images).__name__}; return or pass an array"
    )


def _channel_layout(shape: tuple[int, ...], description: str) -> str:
    if len(shape) != 4:
        raise InputError(
            f"{description}: expected a 4-D image array (N,3,H,W) or (N,H,W,3), got shape "
            f"{tuple(shape)}; reshape the array"
        )
    if shape[1] in (1, 3):
        return "NCHW"
    if shape[3] in (1, 3):
        return "NHWC"
    raise InputError(
        f"{description}: no channel axis of size 3 (RGB) or 1 (grayscale) on axis 1 or 3 in "
        f"shape {tuple(shape)}; pass (N,3,H,W) or (N,H,W,3) images (drop any alpha channel)"
    )


def _float_range(dtype: np.dtype, value_range: object, description: str) -> tuple | None:
    """The range floats are mapped from, ``None`` for uint8; an error for anything else."""
    if dtype == np.uint8:
        return None
    if dtype.kind == "f":
        if value_range is None:
            raise InputError(
                f"{description}: float images ({dtype}) need their value range; {_RANGE_FIX}"
            )
        return parse_value_range(value_range, description)
    raise InputError(
        f"{description}: unsupported image dtype {dtype}; give uint8 images in 0..255 or float "
        f"images with --range 0,1 or --range -1,1"
    )


def _check_finite(images: np.ndarray, description: str, offset: int = 0) -> None:
    if images.dtype.kind != "f":
        return
    for start in range(0, len(images), 256):
        finite = np.isfinite(images[start : start + 256]).reshape(
            len(images[start : start + 256]), -1
        )
        bad = np.flatnonzero(~finite.all(axis=1))
        if bad.size:
            raise InputError(
                f"{description}: image {offset + start + int(bad[0])} contains NaN or infinite "
                "values; fix the data or the generator"
            )


def _to_uint8_nchw(images: np.ndarray, layout: str, value_range: tuple | None) -> np.ndarray:
    """Apply the module's array rule: NCHW, floats mapped with rint and clipped, gray replicated."""
    if layout == "NHWC":
        images = images.transpose(0, 3, 1, 2)
    if images.dtype != np.uint8:
        images = np.rint(_scaled_to_255(images, value_range)).astype(np.uint8)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    return np.ascontiguousarray(images, dtype=np.uint8)


def _to_float255_nchw(images: np.ndarray, layout: str, value_range: tuple | None) -> np.ndarray:
    """The array rule without the rounding: float32 NCHW in [0, 255], as compare_gan's
    ``fake_images *= 255.0`` (uint8 stays uint8: it is integral already)."""
    if images.dtype == np.uint8:
        return _to_uint8_nchw(images, layout, None)
    if layout == "NHWC":
        images = images.transpose(0, 3, 1, 2)
    images = _scaled_to_255(images, value_range).astype(np.float32)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    return np.ascontiguousarray(images)


def _scaled_to_255(images: np.ndarray, value_range: tuple | None) -> np.ndarray:
    """Floats mapped from ``value_range`` to [0, 255] in float64, clipped."""
    low, high = value_range  # type: ignore[misc]
    scaled = (images.astype(np.float64) - low) * (255.0 / (high - low))
    return np.clip(scaled, 0, 255)


class ArraySource(ImageSource):
    """Images held in a numpy array or torch tensor, NCHW or NHWC (see module rules)."""

    def __init__(
        self,
        array: np.ndarray | torch.Tensor,
        num: int | None = None,
        value_range: str | tuple[float, float] | None = None,
        description: str = "array",
    ):
        self.description = description
        images = _to_numpy(array, description)
        self._layout = _channel_layout(images.shape, description)
        self._value_range = _float_range(images.dtype, value_range, description)
        self._array = images[: _select_count(description, images.shape[0], num)]
        _check_finite(self._array, description)
        self._file: Path | None = None
        self._file_key: str | None = None
        self._file_hash: tuple[int, int, str] | None = None

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike,
        num: int | None = None,
        value_range: str | tuple[float, float] | None = None,
    ) -> ArraySource:
        """Images from a ``.npy`` (memory-mapped) or an image ``.npz`` (one array, ``images`` or
        ``arr_0``), loaded with ``allow_pickle=False``."""
        file = Path(path)
        array, key = _load_image_array(file)
        source = cls(array, num=num, value_range=value_range, description=os.fspath(path))
        source._file = file
        source._file_key = key
        return source

    def __len__(self) -> int:
        return int(self._array.shape[0])

    @property
    def layout(self) -> str:
        """``"NCHW"`` or ``"NHWC"``: how the channel axis was detected."""
        return self._layout

    @property
    def image_size(self) -> tuple[int, int]:
        shape = self._array.shape
        if self._layout == "NCHW":
            return int(shape[2]), int(shape[3])
        return int(shape[1]), int(shape[2])

    def limit(self, num: int) -> ImageSource:
        limited = copy.copy(self)
        limited._array = self._array[: _select_count(self.description, len(self), num)]
        return limited

    def batches(self, batch_size: int, num_workers: int = 0) -> Iterator[np.ndarray]:
        _check_batch_size(batch_size)
        for start in range(0, len(self), batch_size):
            chunk = np.asarray(self._array[start : start + batch_size])
            yield _to_uint8_nchw(chunk, self._layout, self._value_range)

    def fingerprint(self) -> str:
        settings = {
            "num": len(self),
            "layout": self._layout,
            "value_range": self._value_range,
            "shape": list(self._array.shape),
            "dtype": str(self._array.dtype),
        }
        if self._file is not None:
            stat = os.stat(self._file)
            if self._file_hash is None or self._file_hash[:2] != (stat.st_size, stat.st_mtime_ns):
                self._file_hash = (stat.st_size, stat.st_mtime_ns, images.hash_file(self._file))
            return images.digest(
                _FINGERPRINT_VERSION, "array-file", settings, self._file_key, self._file_hash[2]
            )
        digest = hashlib.sha256()
        digest.update(json.dumps([_FINGERPRINT_VERSION, "array", settings]).encode())
        for start in range(0, len(self), 256):
            digest.update(np.ascontiguousarray(self._array[start : start + 256]).tobytes())
        return digest.hexdigest()


def _load_image_array(path: Path) -> tuple[np.ndarray, str | None]:
    if not path.is_file():
        raise InputError(f"{path}: no such file or folder; {SOURCE_KINDS_HINT}")
    if path.suffix.lower() == ".npy":
        with npz_errors(path):
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        if array.dtype.hasobject:
            raise pickle_refused(path)
        return array, None
    with open_npz(path, "save the images with numpy.savez") as data:
        keys = list(data.files)
        if "mu" in keys or "sigma" in keys:
            raise InputError(
                f"{path}: is a statistics file (mu, sigma), not images; pass it where "
                "reference statistics are expected"
            )
        if len(keys) == 1:
            key = keys[0]
        elif "images" in keys:
            key = "images"
        elif "arr_0" in keys:
            key = "arr_0"
        else:
            found = ", ".join(repr(key) for key in sorted(keys))
            raise InputError(
                f"{path}: holds the arrays {found}, so it is neither images (one array, or one "
                "named 'images' or 'arr_0') nor statistics ('mu' of shape (2048,) and 'sigma' "
                "(2048, 2048), the mean and covariance of Inception pool3 features); save the "
                "images under the key 'images', or the statistics as 'mu' and 'sigma'"
            )
        return data[key], key
