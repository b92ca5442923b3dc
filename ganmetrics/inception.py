"""The Inception weights: where they come from, whether they are the standard ones.

FID, IS, KID and precision/recall are only comparable across papers when computed with the same
network: the TensorFlow InceptionV3 graph of 2015-12-05 that the original FID and IS code used,
converted to PyTorch by torch-fidelity. This module finds that file (an explicit path, then the
``GANMETRICS_INCEPTION_WEIGHTS`` environment variable, then torch-fidelity's download into the torch
hub cache), checks its SHA-256 against the published one, and records the answer in every result.

It also builds seeded, randomly initialised weights in torch-fidelity's exact state-dict format, for
offline tests and demos. Such weights give internally consistent numbers (our metrics agree with
torch-fidelity's on them) that are *not* comparable with any published score.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from unittest import mock

import numpy as np
import torch

from ganmetrics.errors import InputError

STANDARD_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
STANDARD_SIZE = 95_628_359
WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth"
)
ENV_VAR = "GANMETRICS_INCEPTION_WEIGHTS"
#: The offline route, ending every missing-weights error: the trainer says the same.
OFFLINE_ROUTE = (
    "offline, `ganmetrics make-test-weights PATH` writes seeded random weights to pass instead "
    "(their scores compare only with each other, never with papers)"
)


class NonStandardWeightsWarning(UserWarning):
    """The Inception weights are not the standard file: scores are not comparable with papers."""


def _hub_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_URL.rsplit("/", 1)[1]


def resolve_weights_path(path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Find the Inception weights: ``path``, else ``$GANMETRICS_INCEPTION_WEIGHTS``, else download.

    The download goes where torch-fidelity puts it (the torch hub cache), so both tools share it.
    """
    if path is None:
        path = os.environ.get(ENV_VAR) or None
        origin = f"${ENV_VAR}"
    else:
        origin = "--inception-weights"
    if path is not None:
        resolved = Path(path).expanduser()
        if not resolved.is_file():
            raise InputError(
                f"{resolved}: Inception weights file not found (given by {origin}); pass the path "
                f"of weights-inception-2015-12-05-6726825d.pth; {OFFLINE_ROUTE}"
            )
        return resolved
    cached = _hub_path()
    if cached.is_file():
        return cached
    if not download:
        raise InputError(
            f"{cached}: Inception weights not downloaded; pass --inception-weights PATH or set "
            f"{ENV_VAR}; {OFFLINE_ROUTE}"
        )
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        with redirect_stdout(sys.stderr):
            torch.hub.download_url_to_file(WEIGHTS_URL, str(cached), progress=True)
    except Exception as exc:  # network failures come in many types
        raise InputError(
            f"{cached}: could not download the Inception weights from {WEIGHTS_URL} "
            f"({type(exc).__name__}); download that file on a connected machine and pass "
            f"--inception-weights PATH or set {ENV_VAR}; {OFFLINE_ROUTE}"
        ) from None
    return cached


@functools.lru_cache(maxsize=16)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, memoised on (path, size, mtime)."""
    stat = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


_warned: set[str] = set()


def check_weights(path: str | os.PathLike) -> tuple[str, bool]:
    """Return ``(sha256, is_standard)`` for a weights file; warn once per file if non-standard.

    Neither pytorch-fid nor torch-fidelity checks the file they load; a truncated download or a
    different conversion silently shifts every score.
    """
    sha = file_sha256(path)
    standard = sha == STANDARD_SHA256 and os.path.getsize(path) == STANDARD_SIZE
    if not standard and sha not in _warned:
        _warned.add(sha)
        warnings.warn(
            f"{path}: Inception weights are not the standard file (sha256 {sha[:12]}…, expected "
            f"{STANDARD_SHA256[:12]}…); scores are recorded with standard_weights=false and are "
            "not "
            "comparable with published numbers",
            NonStandardWeightsWarning,
            stacklevel=2,
        )
    return sha, standard


def build_torch_fidelity_inception(
    weights_path: str | os.PathLike, dtype: torch.dtype = torch.float32
) -> torch.nn.Module:
    """torch-fidelity's ``FeatureExtractorInceptionV3`` loaded from ``weights_path``, in ``dtype``.

    torch-fidelity 0.4.0 maps ``feature_extractor_internal_dtype="float64"`` to float32
    (``helpers.text_to_dtype``), so the module and its internal dtype are set here instead; its
    forward pass then computes in float64 and, as always, returns float32 features.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    try:
        model = FeatureExtractorInceptionV3(
            "inception-v3-compat",
            ["2048", "logits_unbiased"],
            feature_extractor_weights_path=str(weights_path),
            feature_extractor_internal_dtype="float64" if dtype == torch.float64 else "float32",
        )
    except Exception as exc:  # pickle, zip and torch errors come in many types
        raise InputError(
            f"{weights_path}: not a torch-fidelity InceptionV3 state dict ({type(exc).__name__}); "
            "pass weights-inception-2015-12-05-6726825d.pth, or make test weights with "
            "ganmetrics make-test-weights PATH"
        ) from None
    model.feature_extractor_internal_dtype = dtype
    return model.to(dtype)


def _unloaded_inception() -> torch.nn.Module:
    """torch-fidelity's InceptionV3 with PyTorch's default init, reading no weights file."""
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    cls = tf_inception.FeatureExtractorInceptionV3
    with (
        mock.patch.object(tf_inception, "load_state_dict_from_url", return_value={}),
        mock.patch.object(cls, "load_state_dict", lambda self, *a, **k: None),
    ):
        return cls("inception-v3-compat", ["2048", "logits_unbiased"])


def calibration_images(num: int, size: int, seed: int) -> np.ndarray:
    """Smooth, varied uint8 images (N, 3, size, size): low-frequency noise plus colour offsets."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(size=(num, 3, 6, 6))
    coarse_t = torch.from_numpy(coarse)
    smooth = torch.nn.functional.interpolate(coarse_t, size=(size, size), mode="bicubic")
    fine = rng.normal(scale=0.35, size=(num, 3, size, size))
    offset = rng.uniform(-1.0, 1.0, size=(num, 3, 1, 1))
    images = 128 + 45 * (smooth.numpy() + fine + offset)
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def make_random_inception_weights(
    path: str | os.PathLike, seed: int = 0, num_calibration: int = 24
) -> Path:
    """Write seeded random InceptionV3 weights in torch-fidelity's exact state-dict format.

    A naive random init collapses pool3 to near-constants (every FID ≈ 0), so convolutions are
    He-normal (fan-in, ReLU gain) and each batch norm's running statistics are calibrated on a
    batch of images: one forward pass in training mode with cumulative averaging, where every
    layer sees the batch-normalised output of the layer before it. The classifier is Gaussian
    with std 1/sqrt(2048)·4 so the 1008 logits spread enough for a non-trivial Inception Score.
    """
    from ganmetrics.atomic import torch_save

    generator = torch.Generator().manual_seed(seed)
    model = _unloaded_inception().to(torch.float32)
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            fan_in = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
            with torch.no_grad():
                module.weight.normal_(0.0, (2.0 / fan_in) ** 0.5, generator=generator)
        elif isinstance(module, torch.nn.BatchNorm2d):
            with torch.no_grad():
                module.weight.fill_(1.0)
                module.bias.normal_(0.0, 0.1, generator=generator)
            module.reset_running_stats()
            module.momentum = None
        elif isinstance(module, torch.nn.Linear):
            with torch.no_grad():
                module.weight.normal_(0.0, 4.0 / 2048**0.5, generator=generator)
                module.bias.normal_(0.0, 0.1, generator=generator)
    images = torch.from_numpy(calibration_images(num_calibration, 64, seed))
    model.train()
    with torch.no_grad():
        model(images)
    model.eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 0.1
    state = {key: value.detach().clone() for key, value in model.state_dict().items()}
    torch_save(path, state)
    return Path(path)
