"""Reading ``.npy`` / ``.npz`` files safely: never unpickle, and every failure is one line."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ganmetrics import images
from ganmetrics.errors import InputError


def pickle_refused(path: str | os.PathLike) -> InputError:
    """The error for a file that holds pickled objects."""
    return InputError(
        f"{path}: holds pickled objects; ganmetrics refuses to unpickle; save plain arrays "
        "(np.save / np.savez of numeric arrays)"
    )


def _is_pickle_error(error: ValueError) -> bool:
    text = str(error).lower()
    return "pickle" in text or "object arrays" in text or "python objects" in text


@contextlib.contextmanager
def npz_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn whatever reading ``path`` with numpy raises into a one-line :class:`InputError`."""
    try:
        yield
    except InputError:
        raise
    except Exception as error:
        if isinstance(error, ValueError) and _is_pickle_error(error):
            raise pickle_refused(path) from None
        detail = images.exception_text(error)
        raise InputError(f"{path}: cannot read ({detail}); re-save it") from None


@contextlib.contextmanager
def open_npz(path: Path, fix: str) -> Iterator[np.lib.npyio.NpzFile]:
    """``np.load(path, allow_pickle=False)`` of an ``.npz``; ``fix`` ends the not-an-npz error.

    Errors raised while the caller reads the arrays are converted by :func:`npz_errors` too.
    """
    with npz_errors(path):
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise InputError(f"{path}: not an .npz archive; {fix}")
        with data:
            yield data


def npz_keys(path: Path) -> list[str]:
    """The array names in an ``.npz``."""
    with open_npz(path, "save it with numpy.savez") as data:
        return list(data.files)
