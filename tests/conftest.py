"""Shared, expensive test fixtures (session scope).

The standard Inception weights cannot be downloaded in CI, so tests build a seeded, randomly
initialised InceptionV3 in torch-fidelity's exact state-dict format (He-normal convolutions, batch
norms calibrated on images; see ``ganmetrics.inception.make_random_inception_weights``) and check
our numbers against torch-fidelity run on the same file. The file is built once per machine per
session and shared between pytest-xdist workers through a file lock.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock
from PIL import Image

from ganmetrics.inception import calibration_images, make_random_inception_weights

WEIGHTS_SEED = 1234


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    # under xdist each worker has basetemp/popen-gwN; its parent is shared by the whole session
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    shared = shared / "ganmetrics-shared"
    shared.mkdir(parents=True, exist_ok=True)
    return shared


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory):
    """Keep the feature cache and the torch hub inside the test's temporary folder."""
    cache = tmp_path_factory.mktemp("feature-cache")
    hub = tmp_path_factory.mktemp("torch-home")
    saved = {key: os.environ.get(key) for key in ("GANMETRICS_CACHE", "TORCH_HOME")}
    os.environ["GANMETRICS_CACHE"] = str(cache)
    os.environ["TORCH_HOME"] = str(hub)
    os.environ.pop("GANMETRICS_INCEPTION_WEIGHTS", None)
    yield cache
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def single_torch_thread():
    """Tiny models run fastest single-threaded, and do not fight parallel test workers."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def inception_weights_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shared = _shared_dir(tmp_path_factory)
    path = shared / f"random-inception-{WEIGHTS_SEED}.pth"
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            make_random_inception_weights(path, seed=WEIGHTS_SEED)
    return path


@pytest.fixture(scope="session")
def extractor(inception_weights_path):
    from ganmetrics.features import FeatureExtractor

    return FeatureExtractor(inception_weights_path, device="cpu", batch_size=32, num_workers=0)


def _write_folder(folder: Path, images: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        Image.fromarray(image.transpose(1, 2, 0)).save(folder / f"{index:04d}.png")
    return folder


@pytest.fixture(scope="session")
def image_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two small folders of 32×32 PNGs from visibly different distributions, plus a copy."""
    root = tmp_path_factory.mktemp("image-sets")
    real = calibration_images(24, 32, seed=1)
    fake = calibration_images(24, 32, seed=2)
    fake = np.clip(fake.astype(np.int16) + np.array([40, -20, 0]).reshape(1, 3, 1, 1), 0, 255)
    return {
        "real": _write_folder(root / "real", real),
        "fake": _write_folder(root / "fake", fake.astype(np.uint8)),
        "real_copy": _write_folder(root / "real_copy", real),
    }


CIFAR_IMAGES_PER_FILE = {**{f"data_batch_{i}": 2 for i in range(1, 6)}, "test_batch": 3}


@pytest.fixture(scope="session")
def cifar_root(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """Parent folder holding ``cifar-10-batches-py/`` with all six batch files."""
    parent = tmp_path_factory.mktemp("cifar")
    folder = parent / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    arrays = {}
    for name, count in CIFAR_IMAGES_PER_FILE.items():
        data = rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)
        arrays[name] = data
        batch = {
            b"batch_label": f"{name} of 5".encode(),
            b"labels": [int(x) for x in rng.integers(0, 10, size=count)],
            b"data": data,
            b"filenames": [f"img_{name}_{i}.png".encode() for i in range(count)],
        }
        with open(folder / name, "wb") as handle:
            pickle.dump(batch, handle, protocol=2)
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({b"label_names": [b"airplane"] * 10, b"num_vis": 3072}, handle, protocol=2)
    return parent, arrays
