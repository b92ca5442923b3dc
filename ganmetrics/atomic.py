"""Atomic file writes: a temporary file in the destination folder, then ``os.replace``.

An interrupted write never leaves a partial stats file, checkpoint or result behind, and never
damages the file it was replacing. The written file gets the mode ``open()`` gives a new file,
``0o666`` minus the umask (``0644`` under umask 022, ``0640`` under 027), not the ``0600`` of the
temporary file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ganmetrics.errors import InputError


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Create the parent folder of ``path`` if needed; raise :class:`InputError` if impossible."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{target}: cannot create folder {parent} ({exc.strerror}); "
            "choose a writable output path"
        ) from None
    if not os.access(parent, os.W_OK):
        raise InputError(
            f"{target}: folder {parent} is not writable; choose a writable output path"
        )
    return target


def current_umask() -> int:
    """The process umask, read without changing it where the platform allows."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(b"Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The permission bits ``open(path, "w")`` gives a new file: ``0o666`` minus the umask."""
    return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success rename it onto ``path``.

    The data is flushed and fsynced before the rename, and the file gets the mode ``open()``
    would give it (module docstring). On any exception the temporary file is removed and
    ``path`` is left untouched.
    """
    target = ensure_writable_dir(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, new_file_mode())
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_write(path, "w") as handle:
        json.dump(obj, handle, indent=2, sort_keys=False)
        handle.write("\n")


def save_npz(path: str | os.PathLike, **arrays: Any) -> None:
    """``numpy.savez`` to ``path``, atomically (no ``.npz`` suffix is appended)."""
    import numpy as np

    with atomic_write(path, "wb") as handle:
        np.savez(handle, **arrays)


def torch_save(path: str | os.PathLike, obj: Any) -> None:
    """``torch.save`` to ``path``, atomically."""
    import torch

    with atomic_write(path, "wb") as handle:
        torch.save(obj, handle)
