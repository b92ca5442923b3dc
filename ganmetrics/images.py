"""Image files: which files count as images, their order, decoding, and worker-error plumbing.

One layer for every reader of image files - :class:`~ganmetrics.sources.FolderSource`,
:class:`~ganmetrics.sources.ZipSource`, the data sets of :mod:`ganmetrics.datasets` and the
trainer's batch stream - so that one folder is read in one order everywhere. "The GAN Landscape"
(Kurach et al. 2019, section 4, "Data sets") names unstated preprocessing as a source of
irreproducible FIDs; these are the rules:

Listing
    Files ending in one of :data:`IMAGE_EXTENSIONS` (any letter case). Hidden files and folders
    (a path component starting with ``.``, e.g. macOS ``._x.jpg``) and zip ``__MACOSX/`` entries
    are skipped. Folders are walked recursively; symlinked files are followed, symlinked folders
    are not.
Order
    Natural order of the path relative to the folder (or of the zip member name) as a POSIX
    string: runs of digits compare as numbers, so ``1.png < 2.png < 10.png``; otherwise code
    points (``"A" < "a"``, ``"." < "/"``). See :func:`natural_key`.
Decoding
    PIL ``Image.convert("RGB")`` (grey replicated, palettes expanded, alpha dropped, not
    composited), the convention of torch-fidelity and clean-fid; truncated files are errors.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from ganmetrics.errors import InputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
EXTENSIONS_TEXT = " ".join(IMAGE_EXTENSIONS)
#: Folders of zip archives that hold no images of the user (macOS resource forks).
SKIPPED_ZIP_FOLDERS = ("__MACOSX/",)

_HASH_BLOCK = 1 << 20


# --------------------------------------------------------------------------------------------
# Text and hashing helpers


def one_line(value: object, limit: int = 300) -> str:
    """``value`` as one line of at most ``limit`` characters, for error messages."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def exception_text(error: BaseException) -> str:
    """A one-line description of ``error`` for an :class:`InputError` message."""
    from PIL import UnidentifiedImageError

    if isinstance(error, UnidentifiedImageError):
        return "not a recognised image format"
    detail = one_line(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def digest(*parts: object) -> str:
    """sha256 of ``parts`` as canonical JSON (sorted keys; non-JSON values by ``str``)."""
    payload = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def hash_file(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            sha.update(block)
    return sha.hexdigest()


# --------------------------------------------------------------------------------------------
# Listing and order


def natural_key(name: str) -> list[Any]:
    """Sort key comparing runs of digits as numbers: ``2.png`` < ``10.png`` < ``img10a.png``.

    For zero-padded names (``00002.png``) this is the plain code-point order; for CelebA-HQ
    exports named ``0.jpg`` .. ``29999.jpg`` it is the image index order. Ties (``01`` vs ``1``)
    fall back to the code-point order of the whole name.
    """
    parts: list[Any] = [int(p) if i % 2 else p for i, p in enumerate(re.split(r"(\d+)", name))]
    return [*parts, name]


def sort_names(names: Iterable[str]) -> list[str]:
    """``names`` (relative POSIX paths) in the one order every reader uses."""
    return sorted(names, key=natural_key)


def is_image_name(name: str) -> bool:
    """Whether a relative POSIX path names an image file that readers take (see Listing)."""
    parts = name.split("/")
    if any(part.startswith(".") for part in parts if part):
        return False
    return os.path.splitext(parts[-1])[1].lower() in IMAGE_EXTENSIONS


def list_image_names(root: str | os.PathLike) -> list[str]:
    """Relative POSIX paths of the image files under ``root``, in natural order."""
    root = Path(root)
    found: list[str] = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        relative = Path(folder).relative_to(root).as_posix()
        prefix = "" if relative == "." else relative + "/"
        found.extend(prefix + name for name in filenames if is_image_name(name))
    return sort_names(found)


def list_image_files(root: str | os.PathLike) -> list[Path]:
    """The image files under ``root`` as paths, in the order of :func:`list_image_names`."""
    root = Path(root)
    return [root / name for name in list_image_names(root)]


# --------------------------------------------------------------------------------------------
# Decoding


#: What a decoder reads: a path, encoded bytes, or a zero-argument callable opening a binary handle.
Encoded = str | os.PathLike | bytes | Callable[[], IO[bytes]]


@contextlib.contextmanager
def _opened(source: Encoded) -> Iterator[Any]:
    if isinstance(source, bytes):
        yield io.BytesIO(source)
    elif callable(source):
        with source() as handle:
            yield handle
    else:
        yield source


def decode_rgb(source: Encoded, label: str):
    """Decode an image to a PIL RGB image (see Decoding); any failure is an :class:`InputError`
    naming ``label``, including failing to open the file."""
    from PIL import Image, ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with _opened(source) as handle, Image.open(handle) as image:
            image.load()
            return image.convert("RGB")
    except Exception as error:
        raise InputError(
            f"{label}: cannot decode the image ({exception_text(error)}); "
            "re-save or remove the file"
        ) from None


def header_size(source: Encoded, label: str) -> tuple[int, int]:
    """(H, W) of an image read from its header only."""
    from PIL import Image

    try:
        with _opened(source) as handle, Image.open(handle) as image:
            width, height = image.size
    except Exception as error:
        raise InputError(
            f"{label}: cannot read the image header ({exception_text(error)}); "
            "re-save or remove the file"
        ) from None
    return height, width


def hwc_to_chw(image: Any) -> np.ndarray:
    """An (H, W, 3) image (array or PIL) as a contiguous uint8 (3, H, W) array."""
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8).transpose(2, 0, 1))


def center_crop_resize(image, size: int):
    """Center-crop to a square, then resize to ``size`` x ``size`` with PIL's bicubic filter.

    The square has side ``s = min(W, H)`` and its top-left corner at
    ``((W - s) // 2, (H - s) // 2)``; the resize is ``Image.resize((size, size), Image.BICUBIC)``
    (antialiased when shrinking). An image already ``size`` x ``size`` is returned unchanged.
    """
    from PIL import Image

    width, height = image.size
    side = min(width, height)
    if (width, height) != (side, side):
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if side != size:
        image = image.resize((size, size), Image.BICUBIC)
    return image


# --------------------------------------------------------------------------------------------
# Decoding in DataLoader workers


@dataclasses.dataclass(frozen=True)
class ReadFailure:
    """Stands in for a batch whose decoding raised :class:`InputError`, possibly in a worker.

    Exceptions raised in ``DataLoader`` workers reach the main process wrapped in a multi-line
    traceback; returning the message instead keeps the user's error to one line.
    """

    message: str


class IndexedReads:
    """Map-style data set (for ``torch.utils.data.DataLoader``) over ``read(index)``.

    An :class:`InputError` of ``read`` becomes a :class:`ReadFailure` item.
    """

    def __init__(self, source: Any):
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> np.ndarray | ReadFailure:
        try:
            return self.source.read(int(index))
        except InputError as error:
            return ReadFailure(str(error))


def stack(items: list[np.ndarray | ReadFailure]) -> np.ndarray | ReadFailure:
    """``DataLoader`` collate: the images stacked, or the first :class:`ReadFailure`."""
    for item in items:
        if isinstance(item, ReadFailure):
            return item
    return np.stack(items)


def checked(batch: Any) -> Any:
    """``batch`` itself, or the one-line :class:`InputError` a :class:`ReadFailure` stands for."""
    if isinstance(batch, ReadFailure):
        raise InputError(batch.message)
    return batch


def read_in_workers(
    source: Any,
    num_workers: int,
    *,
    batch_size: int | None = None,
    batch_sampler: Iterable[list[int]] | None = None,
    collate: Callable[[list], Any] = stack,
    prefetch_factor: int = 4,
    pin_memory: bool = False,
) -> Iterator[Any]:
    """Batches of ``source.read`` decoded in ``num_workers`` processes (0: this process), in order.

    Either ``batch_size`` (sequential batches, the last may be smaller) or ``batch_sampler``
    (lists of indices). Decoding errors surface as one-line :class:`InputError`.
    """
    import torch.utils.data

    loader = torch.utils.data.DataLoader(
        IndexedReads(source),
        batch_size=batch_size if batch_sampler is None else 1,
        batch_sampler=batch_sampler,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=collate,
        persistent_workers=False,
        prefetch_factor=prefetch_factor if num_workers > 0 else None,
        pin_memory=pin_memory,
    )
    iterator = iter(loader)
    try:
        for batch in iterator:
            yield checked(batch)
    finally:
        shutdown = getattr(iterator, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
