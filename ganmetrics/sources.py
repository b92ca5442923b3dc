"""Where images come from: folders, zips, arrays, stats files and generators.

Every source yields uint8 RGB batches shaped (B, 3, H, W) in a deterministic order, so that the
same source always gives the same features. Decoding of files runs in worker processes (a torch
``DataLoader``) so that it overlaps the Inception forward pass.

"The GAN Landscape" (Kurach et al. 2019, section 4, "Data sets") lists unstated preprocessing as a
source of irreproducible FIDs, so every rule applied to the pixels is fixed and written down here.

Rules
-----
Order
    Folders are searched recursively for ``.png .jpg .jpeg .bmp .webp`` files (any letter case;
    symlinked files are followed, symlinked folders are not). Files are sorted by their path
    relative to the folder, as a POSIX string in code-point order, so the order is the same on
    every platform. Zip members are sorted by member name; folders and ``__MACOSX/`` entries are
    skipped. ``num`` keeps the first N images of that order. Every source needs at least 2 images.
Conversion of image files
    Every decoded image goes through PIL ``Image.convert("RGB")``, the convention of
    torch-fidelity and clean-fid (Parmar et al. 2022): grayscale (L, I;16, I, F) is replicated to
    three channels (values of I;16, I and F images are clipped to 0..255, not rescaled, and
    float fractions are truncated),
    palette (P) images are expanded, and alpha (RGBA, LA) is discarded, not composited.
    Truncated files are errors (``ImageFile.LOAD_TRUNCATED_IMAGES = False``).
Sizes
    All images of one set must share a size; otherwise an :class:`InputError` names the first
    offending file. With ``resize=(H, W)`` every image of another size is resized to (H, W) with
    PIL BICUBIC after RGB conversion; ``resize=True`` means the size of the first image.
Arrays (numpy, torch, ``.npy``, ``.npz``)
    4-D arrays only. The channel axis is axis 1 (NCHW) if ``shape[1]`` is 3 or 1, otherwise axis
    3 (NHWC) if ``shape[3]`` is 3 or 1; so an array where both qualify is read as NCHW. One
    channel (grayscale) is replicated to three. uint8 is used as is (``value_range`` is ignored);
    float arrays need an explicit ``value_range`` of ``0,1`` or ``-1,1`` and are mapped as
    ``uint8(clip(rint((x - lo) * 255 / (hi - lo)), 0, 255))`` computed in float64 (``np.rint``
    rounds half to even), i.e. ``rint(255 x)`` for 0,1 and ``rint(127.5 (x + 1))`` for -1,1.
    Values outside the range are clipped. NaN or infinity is an error. Other dtypes are errors.
Generators
    ``fn(n, seed)`` callables are always called with n = ``GENERATOR_CHUNK`` = 500 and
    ``seed = seed * 100003 + chunk_index``; the first ``num`` images of the concatenated chunks
    are used, so the images depend neither on the batch size nor (for a prefix) on ``num``.
    Their output follows the array rules above (so floats need ``value_range``).
    ``nn.Module`` generators map z of shape (n, z_dim) to float images in [0, 1]: z is drawn in
    chunks of 500 rows from one ``torch.Generator`` seeded with ``seed`` (U(-1, 1) for
    ``"uniform"``, N(0, 1) for ``"normal"``); the module runs in eval mode under
    ``torch.inference_mode`` on fixed, full slices of ``GENERATOR_FORWARD_BATCH`` = 100 latents
    (surplus images of the last slice are dropped), so that even floating-point results do not
    depend on the batch size or ``num`` (up to nondeterministic GPU kernels); images become
    ``rint(255 x)`` clipped to uint8.
Fingerprints (keys of the on-disk feature cache)
    Folders: sha256 over (relative path, size, mtime_ns) of the selected files plus the settings;
    no file is read, so editing a file in place while keeping its size and mtime is NOT
    detected. Zips: sha256 over the archive's size and mtime_ns and the selected members' names,
    CRC-32s and sizes, plus the settings. Array files: sha256 of the file bytes plus the settings.
    In-memory arrays: sha256 of the array bytes. Generators: ``None`` (never cached).
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import hashlib
import importlib
import io
import json
import os
import re
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch.utils.data

from ganmetrics import atomic
from ganmetrics.errors import InputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
GENERATOR_CHUNK = 500
GENERATOR_FORWARD_BATCH = 100
CHUNK_SEED_STRIDE = 100003
GENERATOR_EXPORT_FORMAT = "ganmetrics.generator/1"
Z_DISTRIBUTIONS = ("uniform", "normal")
MIN_IMAGES = 2
STATS_METADATA_STRING_KEYS = ("weights_sha256", "source_fingerprint", "ganmetrics_version")
SOURCE_KINDS_HINT = (
    "pass a folder of images, a .zip, .npy/.npz, a stats .npz, a generator .pt or module:callable"
)

_FINGERPRINT_VERSION = "ganmetrics.sources/1"
_EXTENSIONS_TEXT = " ".join(IMAGE_EXTENSIONS)
_CALLABLE_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_RANGE_FIX = "pass --range 0,1 or --range -1,1"
_HASH_BLOCK = 1 << 20


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
        """Yield uint8 arrays of shape (B, 3, H, W); the last batch may be smaller."""

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(H, W) of the images, or ``None`` while unknown (before a generator has run)."""
        return None

    def limit(self, num: int) -> ImageSource:
        """This source restricted to its first ``num`` images."""
        return LimitedSource(self, num)


@dataclasses.dataclass(frozen=True)
class _ReadFailure:
    """Stands in for a batch whose decoding raised :class:`InputError`, possibly in a worker.

    Exceptions raised in ``DataLoader`` workers reach the main process wrapped in a multi-line
    traceback; returning the message instead keeps the user's error to one line.
    """

    message: str


class _IndexedDataset(torch.utils.data.Dataset):
    def __init__(self, source: IndexedImageSource):
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> np.ndarray | _ReadFailure:
        try:
            return self.source.read(index)
        except InputError as error:
            return _ReadFailure(str(error))


def _stack(items: list[np.ndarray | _ReadFailure]) -> np.ndarray | _ReadFailure:
    for item in items:
        if isinstance(item, _ReadFailure):
            return item
    return np.stack(items)


class IndexedImageSource(ImageSource):
    """A source whose images can be read one by one; decoding runs in ``num_workers`` processes."""

    @abc.abstractmethod
    def read(self, index: int) -> np.ndarray:
        """Decode image ``index`` as a uint8 array of shape (3, H, W)."""

    def batches(self, batch_size: int, num_workers: int = 0) -> Iterator[np.ndarray]:
        _check_batch_size(batch_size)
        # Resolves lazily read headers once, in this process, before workers are started.
        _ = self.image_size
        loader = torch.utils.data.DataLoader(
            _IndexedDataset(self),
            batch_size=batch_size,
            shuffle=False,
            num_workers=num_workers,
            collate_fn=_stack,
            persistent_workers=False,
            prefetch_factor=4 if num_workers > 0 else None,
        )
        for batch in loader:
            if isinstance(batch, _ReadFailure):
                raise InputError(batch.message)
            yield batch


# --------------------------------------------------------------------------------------------
# Small helpers


def _one_line(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _exception_text(error: BaseException) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(error, UnidentifiedImageError):
        return "not a recognised image format"
    detail = _one_line(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")


def _check_num(description: str, num: object) -> int:
    if isinstance(num, bool) or not isinstance(num, int | np.integer) or num < 1:
        raise InputError(f"{description}: --num must be a positive integer, got {num!r}")
    return int(num)


def _select_count(description: str, available: int, num: int | None) -> int:
    """Number of images kept from ``available`` given ``--num``; at least :data:`MIN_IMAGES`."""
    count = available
    if num is not None:
        count = _check_num(description, num)
        if count > available:
            raise InputError(
                f"{description}: --num {count} asks for more images than the {available} "
                f"available; pass --num {available} or fewer"
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


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


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


def _parse_resize(resize: object, description: str) -> tuple[int, int] | bool | None:
    if resize is None or resize is False:
        return None
    if resize is True:
        return True
    size: tuple[int, ...] | None = None
    try:
        if isinstance(resize, str):
            parts = re.split(r"[,x]", resize.strip().lower())
            size = tuple(int(part) for part in parts)
        elif isinstance(resize, int | np.integer):
            size = (int(resize),)
        else:
            size = tuple(int(part) for part in resize)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        size = None
    if size is not None and len(size) == 1:
        size = (size[0], size[0])
    if size is None or len(size) != 2 or min(size) < 1:
        raise InputError(
            f"{description}: invalid resize {resize!r}; pass --resize H,W with positive integers"
        )
    return size  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# Image files: folders and zips


class _ImageFileSource(IndexedImageSource):
    """Shared decoding and size rules of :class:`FolderSource` and :class:`ZipSource`."""

    def __init__(self, description: str, names: list[str], num: int | None, resize: object):
        self.description = description
        self._resize = _parse_resize(resize, description)
        self._names = names[: _select_count(description, len(names), num)]
        self._size: tuple[int, int] | None = (
            self._resize if isinstance(self._resize, tuple) else None
        )

    def __len__(self) -> int:
        return len(self._names)

    @property
    def names(self) -> list[str]:
        """Relative paths (or member names) of the selected images, in order."""
        return list(self._names)

    @abc.abstractmethod
    def _open(self, index: int) -> IO[bytes]:
        """Open the encoded bytes of image ``index``."""

    @abc.abstractmethod
    def _label(self, index: int) -> str:
        """Where image ``index`` lives, for messages."""

    @property
    def image_size(self) -> tuple[int, int]:
        if self._size is None:
            self._size = self._header_size(0)
        return self._size

    def _header_size(self, index: int) -> tuple[int, int]:
        from PIL import Image

        try:
            with self._open(index) as handle, Image.open(handle) as image:
                width, height = image.size
        except Exception as error:
            raise InputError(
                f"{self._label(index)}: cannot read the image header ({_exception_text(error)}); "
                "re-save or remove the file"
            ) from None
        return height, width

    def limit(self, num: int) -> ImageSource:
        limited = copy.copy(self)
        limited._names = self._names[: _select_count(self.description, len(self._names), num)]
        return limited

    def read(self, index: int) -> np.ndarray:
        from PIL import Image, ImageFile

        ImageFile.LOAD_TRUNCATED_IMAGES = False
        expected_height, expected_width = self.image_size
        try:
            with self._open(index) as handle, Image.open(handle) as image:
                image.load()
                rgb = image.convert("RGB")
        except Exception as error:
            raise InputError(
                f"{self._label(index)}: cannot decode the image ({_exception_text(error)}); "
                "re-save or remove the file"
            ) from None
        width, height = rgb.size
        if (height, width) != (expected_height, expected_width):
            if self._resize is None:
                raise InputError(
                    f"{self._label(index)}: image is {height}x{width} (HxW) but the expected "
                    f"size is {expected_height}x{expected_width}, the size of "
                    f"{self._label(0)}; images of one set must share a size; pass "
                    "--resize H,W (or --resize alone for the first image's size)"
                )
            rgb = rgb.resize((expected_width, expected_height), Image.BICUBIC)
        return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1))

    def _settings(self) -> dict[str, Any]:
        resize = None if self._resize is None else list(self.image_size)
        return {"num": len(self._names), "resize": resize, "convert": "PIL RGB, BICUBIC"}


class FolderSource(_ImageFileSource):
    """Images in a folder and its subfolders, sorted by relative POSIX path (see module rules)."""

    def __init__(
        self,
        path: str | os.PathLike,
        num: int | None = None,
        resize: tuple[int, int] | bool | None = None,
    ):
        self.root = Path(path)
        description = os.fspath(path)
        if not self.root.is_dir():
            raise InputError(
                f"{description}: no such folder; pass a folder of images ({_EXTENSIONS_TEXT})"
            )
        names = sorted(_discover_images(self.root))
        if not names:
            raise InputError(
                f"{description}: no images found (looked recursively for {_EXTENSIONS_TEXT}, any "
                "letter case); pass a folder that contains images"
            )
        super().__init__(description, names, num, resize)

    def _open(self, index: int) -> IO[bytes]:
        return open(self.root / self._names[index], "rb")

    def _label(self, index: int) -> str:
        return os.fspath(self.root / self._names[index])

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps([_FINGERPRINT_VERSION, "folder", self._settings()]).encode())
        for name in self._names:
            try:
                stat = os.stat(self.root / name)
            except OSError as error:
                raise InputError(
                    f"{self.root / name}: cannot stat the file ({_exception_text(error)}); "
                    "check that the folder did not change"
                ) from None
            digest.update(json.dumps([name, stat.st_size, stat.st_mtime_ns]).encode())
        return digest.hexdigest()


def _discover_images(root: Path) -> Iterator[str]:
    for folder, _, filenames in os.walk(root):
        for filename in filenames:
            if os.path.splitext(filename)[1].lower() in IMAGE_EXTENSIONS:
                yield Path(folder, filename).relative_to(root).as_posix()


class ZipSource(_ImageFileSource):
    """Images in a zip archive, sorted by member name; each worker opens its own handle."""

    def __init__(
        self,
        path: str | os.PathLike,
        num: int | None = None,
        resize: tuple[int, int] | bool | None = None,
    ):
        self.path = Path(path)
        description = os.fspath(path)
        if not self.path.is_file():
            raise InputError(f"{description}: no such zip file; {SOURCE_KINDS_HINT}")
        try:
            with zipfile.ZipFile(self.path) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise InputError(
                f"{description}: not a readable zip archive ({_exception_text(error)}); "
                "re-create the archive"
            ) from None
        self._members: dict[str, tuple[int, int]] = {}
        for info in infos:
            if info.is_dir() or info.filename.startswith("__MACOSX/"):
                continue
            if os.path.splitext(info.filename)[1].lower() in IMAGE_EXTENSIONS:
                self._members[info.filename] = (info.CRC, info.file_size)
        if not self._members:
            raise InputError(
                f"{description}: no images in the archive (looked for {_EXTENSIONS_TEXT}, any "
                "letter case); pass a zip that contains images"
            )
        self._handle: zipfile.ZipFile | None = None
        self._handle_pid: int | None = None
        super().__init__(description, sorted(self._members), num, resize)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_handle"] = None
        state["_handle_pid"] = None
        return state

    def _archive(self) -> zipfile.ZipFile:
        # A handle inherited through fork shares its file offset with the parent: reopen.
        if self._handle is None or self._handle_pid != os.getpid():
            self._handle = zipfile.ZipFile(self.path)
            self._handle_pid = os.getpid()
        return self._handle

    def _open(self, index: int) -> IO[bytes]:
        return io.BytesIO(self._archive().read(self._names[index]))

    def _label(self, index: int) -> str:
        return f"{self.path}:{self._names[index]}"

    def limit(self, num: int) -> ImageSource:
        limited = super().limit(num)
        limited._handle = None  # type: ignore[attr-defined]
        limited._handle_pid = None  # type: ignore[attr-defined]
        return limited

    def fingerprint(self) -> str:
        stat = os.stat(self.path)
        members = [[name, *self._members[name]] for name in self._names]
        return _digest(
            _FINGERPRINT_VERSION, "zip", self._settings(), stat.st_size, stat.st_mtime_ns, members
        )


# --------------------------------------------------------------------------------------------
# Arrays


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
        low, high = value_range  # type: ignore[misc]
        scaled = (images.astype(np.float64) - low) * (255.0 / (high - low))
        images = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    return np.ascontiguousarray(images, dtype=np.uint8)


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
                self._file_hash = (stat.st_size, stat.st_mtime_ns, _hash_file(self._file))
            return _digest(
                _FINGERPRINT_VERSION, "array-file", settings, self._file_key, self._file_hash[2]
            )
        digest = hashlib.sha256()
        digest.update(json.dumps([_FINGERPRINT_VERSION, "array", settings]).encode())
        for start in range(0, len(self), 256):
            digest.update(np.ascontiguousarray(self._array[start : start + 256]).tobytes())
        return digest.hexdigest()


def _pickle_refused(path: Path) -> InputError:
    return InputError(
        f"{path}: holds pickled objects; ganmetrics refuses to unpickle; save plain arrays "
        "(np.save / np.savez of numeric arrays)"
    )


def _is_pickle_error(error: ValueError) -> bool:
    text = str(error).lower()
    return "pickle" in text or "object arrays" in text or "python objects" in text


def _npz_keys(path: Path) -> list[str]:
    try:
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise InputError(f"{path}: not an .npz archive; save it with numpy.savez")
            return list(data.files)
    except InputError:
        raise
    except ValueError as error:
        if _is_pickle_error(error):
            raise _pickle_refused(path) from None
        raise InputError(f"{path}: cannot read ({_exception_text(error)}); re-save it") from None
    except Exception as error:
        raise InputError(f"{path}: cannot read ({_exception_text(error)}); re-save it") from None


def _load_image_array(path: Path) -> tuple[np.ndarray, str | None]:
    if not path.is_file():
        raise InputError(f"{path}: no such file or folder; {SOURCE_KINDS_HINT}")
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, mmap_mode="r", allow_pickle=False)
            if array.dtype.hasobject:
                raise _pickle_refused(path)
            return array, None
        with np.load(path, allow_pickle=False) as data:
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
                raise InputError(
                    f"{path}: holds several arrays {sorted(keys)} and none is named 'images' or "
                    "'arr_0'; save the images under the key 'images'"
                )
            return data[key], key
    except InputError:
        raise
    except ValueError as error:
        if _is_pickle_error(error):
            raise _pickle_refused(path) from None
        raise InputError(f"{path}: cannot read ({_exception_text(error)}); re-save it") from None
    except Exception as error:
        raise InputError(f"{path}: cannot read ({_exception_text(error)}); re-save it") from None


# --------------------------------------------------------------------------------------------
# Statistics files


@dataclasses.dataclass(frozen=True, eq=False)
class StatsFile:
    """Precomputed Inception statistics (mean and covariance of pool features).

    The (mu, sigma) pair is the Gaussian fit of the features whose Fréchet distance is the FID
    (Heusel et al. 2017; "The GAN Landscape", Kurach et al. 2019, section 2.4). ``path`` is
    ``None`` for statistics that were never written to a file.
    """

    path: Path | None
    mu: np.ndarray
    sigma: np.ndarray
    num_images: int | None
    meta: dict[str, Any]

    @property
    def description(self) -> str:
        """The file's path, or ``"statistics"`` for statistics computed in memory."""
        return os.fspath(self.path) if self.path is not None else "statistics"

    @property
    def dim(self) -> int:
        return int(self.mu.shape[0])


def load_stats(path: str | os.PathLike, expected_dim: int | None = 2048) -> StatsFile:
    """Load and validate a pytorch-fid / clean-fid compatible ``.npz`` with ``mu`` and ``sigma``.

    Optional keys ``n``, ``weights_sha256``, ``source_fingerprint``, ``ganmetrics_version`` and
    ``meta_json`` (a JSON object) are read when present. ``expected_dim=None`` skips the
    dimension check. Loading never unpickles.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{file}: no such statistics file; pass a .npz with 'mu' and 'sigma'")
    try:
        with np.load(file, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise InputError(f"{file}: not an .npz archive; pass a .npz with 'mu' and 'sigma'")
            keys = set(data.files)
            missing = [key for key in ("mu", "sigma") if key not in keys]
            if missing:
                raise InputError(
                    f"{file}: not a statistics file (missing {', '.join(missing)}; found keys "
                    f"{sorted(keys)}); pass a .npz with 'mu' and 'sigma'"
                )
            mu = np.asarray(data["mu"])
            sigma = np.asarray(data["sigma"])
            extras = {
                key: np.asarray(data[key])
                for key in ("n", "meta_json", *STATS_METADATA_STRING_KEYS)
                if key in keys
            }
    except InputError:
        raise
    except ValueError as error:
        if _is_pickle_error(error):
            raise _pickle_refused(file) from None
        raise InputError(f"{file}: cannot read ({_exception_text(error)}); re-save it") from None
    except Exception as error:
        raise InputError(f"{file}: cannot read ({_exception_text(error)}); re-save it") from None

    for name, value in (("mu", mu), ("sigma", sigma)):
        if value.dtype.kind not in "fiu":
            raise InputError(
                f"{file}: '{name}' has dtype {value.dtype}, not a number; re-save the statistics"
            )
    dim = mu.shape[0] if mu.ndim == 1 else None
    consistent = dim is not None and sigma.shape == (dim, dim)
    if not consistent or (expected_dim is not None and dim != expected_dim):
        want = expected_dim if expected_dim is not None else "D"
        raise InputError(
            f"{file}: statistics have mu {tuple(mu.shape)} and sigma {tuple(sigma.shape)}, "
            f"expected mu ({want},) and sigma ({want}, {want}); compute the statistics with "
            f"the same feature extractor ({want}-dimensional features)"
        )
    mu = mu.astype(np.float64)
    sigma = sigma.astype(np.float64)
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise InputError(
            f"{file}: statistics contain NaN or infinite values; recompute the statistics"
        )
    mu.setflags(write=False)
    sigma.setflags(write=False)

    num_images = None
    if "n" in extras:
        count = extras["n"]
        if count.size != 1 or count.dtype.kind not in "iu":
            raise InputError(f"{file}: 'n' must be one integer; re-save the statistics")
        num_images = int(count.reshape(()))
    meta: dict[str, Any] = {}
    if "meta_json" in extras:
        try:
            parsed = json.loads(str(extras["meta_json"].reshape(())))
        except (ValueError, TypeError) as error:
            raise InputError(
                f"{file}: 'meta_json' is not valid JSON ({_exception_text(error)}); re-save the "
                "statistics"
            ) from None
        if not isinstance(parsed, dict):
            raise InputError(f"{file}: 'meta_json' must be a JSON object; re-save the statistics")
        meta.update(parsed)
    for key in STATS_METADATA_STRING_KEYS:
        if key in extras and extras[key].size == 1 and extras[key].dtype.kind in "US":
            value = extras[key].reshape(()).item()
            meta[key] = value.decode() if isinstance(value, bytes) else str(value)
    return StatsFile(path=file, mu=mu, sigma=sigma, num_images=num_images, meta=meta)


def save_stats(path: str | os.PathLike, mu: Any, sigma: Any, **metadata: Any) -> None:
    """Write ``mu``/``sigma`` (float64) and metadata as plain arrays, atomically.

    Known metadata: ``n`` (int; ``num_images`` is an alias), ``weights_sha256``,
    ``source_fingerprint``, ``ganmetrics_version`` (strings; the version defaults to this
    package's) and ``meta_json`` (a JSON string or a dict); any other keyword is added to the
    ``meta_json`` object. The file
    loads with pytorch-fid (``np.load(path)['mu']``) and with ``allow_pickle=False``.
    """
    from ganmetrics.version import __version__

    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(f"mu must be (D,) and sigma (D, D); got {mu.shape} and {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError("mu and sigma must be finite")
    arrays: dict[str, np.ndarray] = {"mu": mu, "sigma": sigma}
    metadata = {key: value for key, value in metadata.items() if value is not None}
    if "num_images" in metadata:
        metadata.setdefault("n", metadata.pop("num_images"))
    if "n" in metadata:
        arrays["n"] = np.array(int(metadata.pop("n")), dtype=np.int64)
    metadata.setdefault("ganmetrics_version", __version__)
    for key in STATS_METADATA_STRING_KEYS:
        if key in metadata:
            arrays[key] = np.array(str(metadata.pop(key)))
    extra = metadata.pop("meta_json", {})
    meta = json.loads(extra) if isinstance(extra, str) else dict(extra)
    meta.update(metadata)
    if meta:
        arrays["meta_json"] = np.array(json.dumps(meta, sort_keys=True))
    atomic.save_npz(path, **arrays)


# --------------------------------------------------------------------------------------------
# Generators


def _callable_name(fn: object) -> str:
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    return f"{module}:{name}" if module else str(name)


def _rebatch(chunks: Iterable[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    """Regroup a stream of image arrays into batches of exactly ``batch_size`` (last smaller)."""
    pending: list[np.ndarray] = []
    pending_count = 0
    for chunk in chunks:
        start = 0
        while start < len(chunk):
            take = min(batch_size - pending_count, len(chunk) - start)
            pending.append(chunk[start : start + take])
            pending_count += take
            start += take
            if pending_count == batch_size:
                yield np.ascontiguousarray(np.concatenate(pending))
                pending, pending_count = [], 0
    if pending:
        yield np.ascontiguousarray(np.concatenate(pending))


class _GeneratedImages:
    """Validates generator outputs chunk by chunk and converts them with the array rule."""

    def __init__(self, description: str, value_range: tuple | None):
        self.description = description
        self.value_range = value_range
        self.size: tuple[int, int] | None = None

    def convert(self, output: object, requested: int, keep: int, offset: int) -> np.ndarray:
        images = _to_numpy(output, f"{self.description} (generator output)")
        layout = _channel_layout(images.shape, f"{self.description} (generator output)")
        if images.shape[0] != requested:
            raise InputError(
                f"{self.description}: generator returned {images.shape[0]} images when asked "
                f"for {requested}; it must return exactly n images"
            )
        value_range = _float_range(images.dtype, self.value_range, self.description)
        images = images[:keep]
        _check_finite(images, self.description, offset)
        converted = _to_uint8_nchw(images, layout, value_range)
        size = (int(converted.shape[2]), int(converted.shape[3]))
        if self.size is None:
            self.size = size
        elif size != self.size:
            raise InputError(
                f"{self.description}: generator image size changed from {self.size} to {size} "
                f"at image {offset}; it must always return the same size"
            )
        return converted


class _GeneratorSource(ImageSource):
    """Images drawn on demand: ``num`` of them, never cached, size known once drawn."""

    num: int
    _size: tuple[int, int] | None = None

    def __len__(self) -> int:
        return self.num

    def fingerprint(self) -> None:
        return None

    @property
    def image_size(self) -> tuple[int, int] | None:
        return self._size

    def limit(self, num: int) -> ImageSource:
        limited = copy.copy(self)
        limited.num = _require_num(self.description, num)
        return limited

    def _pieces(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def batches(self, batch_size: int, num_workers: int = 0) -> Iterator[np.ndarray]:
        _check_batch_size(batch_size)
        yield from _rebatch(self._pieces(), batch_size)


class CallableGeneratorSource(_GeneratorSource):
    """``num`` images from ``fn(n, seed)``, called in fixed chunks (see module rules)."""

    def __init__(
        self,
        fn: Callable[[int, int], Any],
        num: int,
        seed: int = 0,
        value_range: str | tuple[float, float] | None = None,
        description: str | None = None,
    ):
        self.fn = fn
        self.description = description or _callable_name(fn)
        if not callable(fn):
            raise InputError(f"{self.description}: is not callable; pass module:callable")
        self.num = _require_num(self.description, num)
        self.seed = int(seed)
        self.value_range = parse_value_range(value_range, self.description)
        self._size = None

    def chunk_seed(self, chunk_index: int) -> int:
        """The seed ``fn`` receives for chunk ``chunk_index``: ``seed * 100003 + chunk_index``."""
        return self.seed * CHUNK_SEED_STRIDE + chunk_index

    def _pieces(self) -> Iterator[np.ndarray]:
        generated = _GeneratedImages(self.description, self.value_range)
        produced = 0
        chunk_index = 0
        while produced < self.num:
            keep = min(GENERATOR_CHUNK, self.num - produced)
            output = self.fn(GENERATOR_CHUNK, self.chunk_seed(chunk_index))
            images = generated.convert(output, GENERATOR_CHUNK, keep, produced)
            self._size = generated.size
            yield images
            produced += keep
            chunk_index += 1


def _module_device(module: torch.nn.Module) -> torch.device:
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


class ModuleGeneratorSource(_GeneratorSource):
    """``num`` images from an ``nn.Module`` mapping z (n, z_dim) to images in [0, 1].

    z is drawn in chunks of 500 rows from ``torch.Generator().manual_seed(seed)``; the module
    runs in eval mode under ``torch.inference_mode`` on slices of 100 latents, on ``device``
    (default: where its parameters are; a given ``device`` moves the module there).
    """

    def __init__(
        self,
        module: torch.nn.Module,
        num: int,
        z_dim: int,
        seed: int = 0,
        z_distribution: str = "uniform",
        device: str | torch.device | None = None,
        description: str | None = None,
    ):
        self.description = description or type(module).__name__
        if not isinstance(module, torch.nn.Module):
            raise InputError(f"{self.description}: is not a torch.nn.Module")
        if isinstance(z_dim, bool) or not isinstance(z_dim, int | np.integer) or z_dim < 1:
            raise InputError(
                f"{self.description}: z_dim must be a positive integer, got {z_dim!r}; pass --z-dim"
            )
        if z_distribution not in Z_DISTRIBUTIONS:
            raise InputError(
                f"{self.description}: unknown z distribution {z_distribution!r}; use uniform "
                "or normal"
            )
        self.num = _require_num(self.description, num)
        self.z_dim = int(z_dim)
        self.seed = int(seed)
        self.z_distribution = z_distribution
        self.device = torch.device(device) if device is not None else _module_device(module)
        self.module = module.to(self.device) if device is not None else module
        self._size = None

    def latent_chunks(self) -> Iterator[torch.Tensor]:
        """The z stream: float32 CPU tensors of ``GENERATOR_CHUNK`` rows each, forever."""
        generator = torch.Generator().manual_seed(self.seed)
        while True:
            if self.z_distribution == "uniform":
                yield torch.rand(GENERATOR_CHUNK, self.z_dim, generator=generator) * 2 - 1
            else:
                yield torch.randn(GENERATOR_CHUNK, self.z_dim, generator=generator)

    def _pieces(self) -> Iterator[np.ndarray]:
        generated = _GeneratedImages(self.description, (0.0, 1.0))
        self.module.eval()
        produced = 0
        for latents in self.latent_chunks():
            for start in range(0, GENERATOR_CHUNK, GENERATOR_FORWARD_BATCH):
                keep = min(GENERATOR_FORWARD_BATCH, self.num - produced)
                z = latents[start : start + GENERATOR_FORWARD_BATCH].to(self.device)
                with torch.inference_mode():
                    output = self.module(z)
                images = generated.convert(output, len(z), keep, produced)
                self._size = generated.size
                yield images
                produced += keep
                if produced >= self.num:
                    return


def resolve_callable_spec(spec: str) -> Any:
    """Import ``package.module:attribute`` (the current folder is put on ``sys.path``)."""
    module_name, _, attribute = spec.partition(":")
    if not _CALLABLE_SPEC.match(spec):
        raise InputError(f"{spec}: not a module:callable spec; write it as package.module:name")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    importlib.invalidate_caches()
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as error:
        raise InputError(
            f"{spec}: cannot import module {module_name!r} ({_exception_text(error)}); check the "
            "spec and that the module is importable from the current folder"
        ) from None
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InputError(
                f"{spec}: module {module_name!r} has no attribute {attribute!r}; check the spec"
            ) from None
    return obj


def _check_plain(value: object, where: str) -> None:
    """Reject values that ``torch.load(weights_only=True)`` could not read back."""
    if value is None or isinstance(value, bool | int | float | str):
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_plain(item, where)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: keys must be strings, got {key!r}")
            _check_plain(item, where)
        return
    raise ValueError(f"{where}: {type(value).__name__} is not a plain value (str/number/list/dict)")


def save_generator_export(
    path: str | os.PathLike,
    module: torch.nn.Module,
    builder: str | Callable[..., torch.nn.Module],
    builder_kwargs: dict[str, Any],
    z_dim: int,
    z_distribution: str = "uniform",
) -> None:
    """Write a generator export (format ``ganmetrics.generator/1``) atomically.

    ``builder`` is a ``package.module:function`` spec (or the function itself) that rebuilds the
    architecture from ``builder_kwargs``; the file holds only plain values and tensors, so it
    loads with ``torch.load(weights_only=True)``.
    """
    spec = builder if isinstance(builder, str) else _callable_name(builder)
    if not _CALLABLE_SPEC.match(spec):
        raise ValueError(f"builder must be an importable package.module:function, got {spec!r}")
    _check_plain(builder_kwargs, "builder_kwargs")
    if not isinstance(builder_kwargs, dict):
        raise ValueError("builder_kwargs must be a dict")
    if isinstance(z_dim, bool) or not isinstance(z_dim, int) or z_dim < 1:
        raise ValueError(f"z_dim must be a positive integer, got {z_dim!r}")
    if z_distribution not in Z_DISTRIBUTIONS:
        raise ValueError(f"z_distribution must be one of {Z_DISTRIBUTIONS}, got {z_distribution!r}")
    state_dict = {key: value.detach().cpu() for key, value in module.state_dict().items()}
    atomic.torch_save(
        path,
        {
            "format": GENERATOR_EXPORT_FORMAT,
            "builder": spec,
            "builder_kwargs": builder_kwargs,
            "state_dict": state_dict,
            "z_dim": z_dim,
            "z_distribution": z_distribution,
        },
    )


def load_generator_export(
    path: str | os.PathLike, device: str | torch.device | None = None
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a generator from an export: import the builder, build, load weights, eval.

    Returns the module and the export's header (``format``, ``builder``, ``builder_kwargs``,
    ``z_dim``, ``z_distribution``). Loading uses ``torch.load(weights_only=True)``.
    """
    file = Path(path)
    fix = "export it with ganmetrics.sources.save_generator_export (ganmetrics-train does)"
    if not file.is_file():
        raise InputError(f"{file}: no such generator export; {SOURCE_KINDS_HINT}")
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:
        raise InputError(
            f"{file}: cannot load as a generator export ({_exception_text(error)}); {fix}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != GENERATOR_EXPORT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise InputError(
            f"{file}: not a {GENERATOR_EXPORT_FORMAT} export (format {found!r}); {fix}"
        )
    required = ("builder", "builder_kwargs", "state_dict", "z_dim", "z_distribution")
    missing = [key for key in required if key not in payload]
    if missing:
        raise InputError(f"{file}: generator export lacks {', '.join(missing)}; {fix}")
    builder, kwargs = payload["builder"], payload["builder_kwargs"]
    z_dim, z_distribution = payload["z_dim"], payload["z_distribution"]
    if not isinstance(builder, str) or not _CALLABLE_SPEC.match(builder):
        raise InputError(f"{file}: builder {builder!r} is not a module:function spec; {fix}")
    if not isinstance(kwargs, dict) or not isinstance(payload["state_dict"], dict):
        raise InputError(f"{file}: builder_kwargs and state_dict must be dicts; {fix}")
    if isinstance(z_dim, bool) or not isinstance(z_dim, int) or z_dim < 1:
        raise InputError(f"{file}: z_dim {z_dim!r} is not a positive integer; {fix}")
    if z_distribution not in Z_DISTRIBUTIONS:
        raise InputError(f"{file}: z_distribution {z_distribution!r} is not uniform/normal; {fix}")
    build = resolve_callable_spec(builder)
    try:
        module = build(**kwargs)
    except Exception as error:
        raise InputError(
            f"{file}: builder {builder} failed ({_exception_text(error)}); check builder_kwargs"
        ) from None
    if not isinstance(module, torch.nn.Module):
        raise InputError(
            f"{file}: builder {builder} returned {type(module).__name__}, not a Module"
        )
    try:
        module.load_state_dict(payload["state_dict"])
    except Exception as error:
        raise InputError(
            f"{file}: weights do not fit the module built by {builder} "
            f"({_exception_text(error)}); re-export the generator"
        ) from None
    if device is not None:
        module = module.to(device)
    module.eval()
    header = {key: payload[key] for key in ("format", *required) if key != "state_dict"}
    return module, header


# --------------------------------------------------------------------------------------------
# Dispatch


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
        return None if inner is None else _digest(_FINGERPRINT_VERSION, "limit", inner, self.num)

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


def open_source(
    spec: Any,
    *,
    num: int | None = None,
    value_range: str | tuple[float, float] | None = None,
    resize: tuple[int, int] | bool | None = None,
    seed: int = 0,
    z_dim: int | None = None,
    device: str | torch.device | None = None,
    stats_dim: int | None = 2048,
) -> ImageSource | StatsFile:
    """Turn what the user named into an :class:`ImageSource` or a :class:`StatsFile`.

    Sources and stats files pass through (``num`` limits a source; stats stay as they are);
    folders, ``.zip``, ``.npy``, ``.npz`` (statistics if it has ``mu``/``sigma``, else images),
    ``.pt``/``.pth`` generator exports and ``module:callable`` specs are opened by path; arrays,
    tensors, modules and callables are wrapped. Generators need ``num``.
    """
    if isinstance(spec, StatsFile):
        return spec
    if isinstance(spec, ImageSource):
        return spec if num is None else spec.limit(num)
    if isinstance(spec, np.ndarray | torch.Tensor):
        return ArraySource(spec, num=num, value_range=value_range)
    if isinstance(spec, torch.nn.Module):
        return _module_source(spec, type(spec).__name__, num, z_dim, seed, device)
    if isinstance(spec, str | os.PathLike):
        return _open_path(spec, num, value_range, resize, seed, z_dim, device, stats_dim)
    if callable(spec):
        name = _callable_name(spec)
        _require_num(name, num)
        return CallableGeneratorSource(spec, num, seed, value_range, description=name)
    raise InputError(f"{type(spec).__name__} object: cannot be used as images; {SOURCE_KINDS_HINT}")


def _module_source(
    module: torch.nn.Module,
    description: str,
    num: int | None,
    z_dim: int | None,
    seed: int,
    device: Any,
    z_distribution: str = "uniform",
) -> ModuleGeneratorSource:
    _require_num(description, num)
    if z_dim is None:
        raise InputError(f"{description}: a generator module needs its latent size; pass --z-dim")
    return ModuleGeneratorSource(
        module, num, z_dim, seed, z_distribution, device, description=description
    )


def _open_path(
    spec: str | os.PathLike,
    num: int | None,
    value_range: Any,
    resize: Any,
    seed: int,
    z_dim: int | None,
    device: Any,
    stats_dim: int | None,
) -> ImageSource | StatsFile:
    text = os.fspath(spec)
    path = Path(text)
    if path.is_dir():
        return FolderSource(path, num=num, resize=resize)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".zip":
            return ZipSource(path, num=num, resize=resize)
        if suffix == ".npy":
            return ArraySource.from_file(path, num=num, value_range=value_range)
        if suffix == ".npz":
            keys = _npz_keys(path)
            if "mu" in keys or "sigma" in keys:
                return load_stats(path, expected_dim=stats_dim)
            return ArraySource.from_file(path, num=num, value_range=value_range)
        if suffix in (".pt", ".pth"):
            _require_num(text, num)
            module, header = load_generator_export(path, device=device)
            if z_dim is not None and z_dim != header["z_dim"]:
                raise InputError(
                    f"{text}: the export has z_dim {header['z_dim']} but --z-dim {z_dim} was "
                    "given; drop --z-dim"
                )
            return _module_source(
                module, text, num, header["z_dim"], seed, device, header["z_distribution"]
            )
        raise InputError(
            f"{text}: unsupported file type {suffix or '(none)'!r}; {SOURCE_KINDS_HINT}"
        )
    if isinstance(spec, str) and _CALLABLE_SPEC.match(text):
        if num is None:
            raise InputError(
                f"{text}: no such file or folder, so it is read as a module:callable generator, "
                "which needs the number of images to draw; pass --num N (e.g. --num 10000)"
            )
        target = resolve_callable_spec(text)
        if isinstance(target, torch.nn.Module):
            return _module_source(target, text, num, z_dim, seed, device)
        if not callable(target):
            raise InputError(
                f"{text}: {type(target).__name__} is not callable; point to a function "
                "fn(n, seed) returning images"
            )
        return CallableGeneratorSource(target, num, seed, value_range, description=text)
    raise InputError(f"{text}: no such file or folder; {SOURCE_KINDS_HINT}")
