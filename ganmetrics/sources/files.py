"""Image files as sources: a folder (searched recursively) and a zip archive.

Listing, order and decoding follow :mod:`ganmetrics.images` (natural order of relative paths,
PIL ``convert("RGB")``), so a folder and a zip of it yield the same images. All images of one set
must share a size; otherwise an :class:`InputError` names the first offending file. With
``resize=(H, W)`` every image of another size is resized to (H, W) with PIL BICUBIC after RGB
conversion; ``resize=True`` means the size of the first image.

Fingerprints: folders hash (relative path, size, mtime_ns) of the selected files plus the
settings; no file is read, so editing a file in place while keeping its size and mtime is NOT
detected. Zips hash the archive's size and mtime_ns and the selected members' names, CRC-32s and
sizes, plus the settings.
"""

from __future__ import annotations

import abc
import copy
import hashlib
import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from ganmetrics import images
from ganmetrics.errors import InputError
from ganmetrics.sources.base import (
    _FINGERPRINT_VERSION,
    SOURCE_KINDS_HINT,
    ImageSource,
    IndexedImageSource,
    _select_count,
)


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
        return images.header_size(lambda: self._open(index), self._label(index))

    def limit(self, num: int) -> ImageSource:
        limited = copy.copy(self)
        limited._names = self._names[: _select_count(self.description, len(self._names), num)]
        return limited

    def read(self, index: int) -> np.ndarray:
        from PIL import Image

        expected_height, expected_width = self.image_size
        rgb = images.decode_rgb(lambda: self._open(index), self._label(index))
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
        return images.hwc_to_chw(rgb)

    def _settings(self) -> dict[str, Any]:
        resize = None if self._resize is None else list(self.image_size)
        return {"num": len(self._names), "resize": resize, "convert": "PIL RGB, BICUBIC"}


class FolderSource(_ImageFileSource):
    """Images in a folder and its subfolders, in natural order of relative path (module rules)."""

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
                f"{description}: no such folder; pass a folder of images ({images.EXTENSIONS_TEXT})"
            )
        names = images.list_image_names(self.root)
        if not names:
            raise InputError(
                f"{description}: no images found (looked recursively for "
                f"{images.EXTENSIONS_TEXT}, any letter case); pass a folder that contains images"
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
                    f"{self.root / name}: cannot stat the file ({images.exception_text(error)}); "
                    "check that the folder did not change"
                ) from None
            digest.update(json.dumps([name, stat.st_size, stat.st_mtime_ns]).encode())
        return digest.hexdigest()


class ZipSource(_ImageFileSource):
    """Images in a zip archive, in natural order of member name; each worker opens a handle."""

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
                f"{description}: not a readable zip archive ({images.exception_text(error)}); "
                "re-create the archive"
            ) from None
        self._members: dict[str, tuple[int, int]] = {}
        for info in infos:
            if info.is_dir() or info.filename.startswith(images.SKIPPED_ZIP_FOLDERS):
                continue
            if images.is_image_name(info.filename):
                self._members[info.filename] = (info.CRC, info.file_size)
        if not self._members:
            raise InputError(
                f"{description}: no images in the archive (looked for "
                f"{images.EXTENSIONS_TEXT}, any letter case); pass a zip that contains images"
            )
        self._handle: zipfile.ZipFile | None = None
        self._handle_pid: int | None = None
        super().__init__(description, images.sort_names(self._members), num, resize)

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
        return images.digest(
            _FINGERPRINT_VERSION, "zip", self._settings(), stat.st_size, stat.st_mtime_ns, members
        )
