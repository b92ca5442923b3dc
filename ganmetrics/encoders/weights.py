"""Where an encoder's weights come from, and whether they are the official file.

Nothing is downloaded: the file is ``--encoder-weights PATH``, else the encoder's environment
variable (``GANMETRICS_DINOV2_VITL14_WEIGHTS``), else its official file name in the folder
``$GANMETRICS_WEIGHTS_DIR``. Its SHA-256 is recorded in every result and compared with the
official hashes of the encoder's row (``standard_weights``). Inception keeps its own lookup
(:mod:`ganmetrics.inception`), unchanged, except that the API also looks for its file in
``$GANMETRICS_WEIGHTS_DIR`` before downloading.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ganmetrics.encoders.table import WEIGHTS_DIR_ENV, Encoder
from ganmetrics.errors import InputError
from ganmetrics.inception import NonStandardWeightsWarning, file_sha256


def missing_weights_hint(encoder: Encoder) -> str:
    """Where users get the file, and how to make a stand-in for offline tests."""
    return (
        f"get {encoder.official_files[0]} from {encoder.get_weights} and pass --encoder-weights "
        f"PATH (or set ${encoder.env_var}, or put it in ${WEIGHTS_DIR_ENV}); for offline tests: "
        f"ganmetrics make-test-weights --encoder {encoder.name} PATH"
    )


def weights_dir_file(encoder: Encoder) -> Path | None:
    """The encoder's official file in ``$GANMETRICS_WEIGHTS_DIR``, if it is there."""
    folder = os.environ.get(WEIGHTS_DIR_ENV)
    if not folder:
        return None
    found = [Path(folder).expanduser() / name for name in encoder.official_files]
    return next((path for path in found if path.is_file()), None)


def resolve_encoder_weights(encoder: Encoder, path: str | os.PathLike | None = None) -> Path:
    """The weights file of ``encoder``: ``path``, its environment variable, or the weights
    folder; a missing file is refused in one line that says where to get it."""
    origin = "--encoder-weights"
    if path is None and os.environ.get(encoder.env_var):
        path, origin = os.environ[encoder.env_var], f"${encoder.env_var}"
    if path is None and os.environ.get(WEIGHTS_DIR_ENV):
        found = weights_dir_file(encoder)
        if found is not None:
            return found
        folder = Path(os.environ[WEIGHTS_DIR_ENV]).expanduser()
        raise InputError(
            f"{folder / encoder.official_files[0]}: {encoder.name} weights not found in "
            f"${WEIGHTS_DIR_ENV}; {missing_weights_hint(encoder)}"
        )
    if path is None:
        raise InputError(
            f"{encoder.official_files[0]}: the {encoder.name} weights file is needed; "
            f"{missing_weights_hint(encoder)}"
        )
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise InputError(
            f"{resolved}: {encoder.name} weights file not found (given by {origin}); "
            f"{missing_weights_hint(encoder)}"
        )
    return resolved


_warned: set[str] = set()


def check_encoder_weights(encoder: Encoder, path: str | os.PathLike) -> tuple[str, bool]:
    """``(sha256, standard)``: the file's hash and whether it is one of the official files;
    warns once per file that is not (scores are then not comparable with published ones)."""
    sha = file_sha256(path)
    standard = sha in encoder.known_sha256
    if not standard and sha not in _warned:
        _warned.add(sha)
        known = "no official hash is published" if not encoder.known_sha256 else "not official"
        warnings.warn(
            f"{path}: {encoder.name} weights sha256 {sha[:12]}… ({known}); results record "
            "standard_weights=false",
            NonStandardWeightsWarning,
            stacklevel=2,
        )
    return sha, standard


__all__ = ["check_encoder_weights", "missing_weights_hint", "resolve_encoder_weights",
           "weights_dir_file"]  # fmt: skip
