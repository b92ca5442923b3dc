"""CUDA-only checks of feature extraction (issue #6 item 5); every test skips without CUDA.

The exact-precision guard with PyTorch's TF32 defaults in force, CUDA against CPU and float64,
``torch.compile`` (static shapes, warm-up recorded; too slow for the 2-core CPU machine, where its
warm-up took about 5 min), and torchrun on NCCL with 2 or more GPUs. Batch-size invariance on
CUDA is the ``cuda`` case of ``tests/test_precision.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from distributed_worker import REPO, torchrun

from ganmetrics.features import FeatureExtractor
from ganmetrics.inception import calibration_images
from ganmetrics.sources import ArraySource, FolderSource

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

FLOAT64_BOUND = 2e-4  # largest pool3 difference to a float64 forward (issue #6, item 2)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return calibration_images(24, 32, seed=51)


@pytest.fixture(scope="module")
def float64_pool3(inception_weights_path, images) -> np.ndarray:
    exact = FeatureExtractor(inception_weights_path, device="cuda", float64=True, num_workers=0)
    return exact.extract(ArraySource(images)).pool3


def _scale(pool3: np.ndarray) -> float:
    return max(1.0, float(np.abs(pool3).max()))


@pytest.fixture
def pytorch_tf32_defaults():
    """TF32 on for cuDNN and cuBLAS, as many training scripts leave it."""
    conv = torch.backends.cudnn.conv
    before = (torch.get_float32_matmul_precision(), conv.fp32_precision)
    torch.set_float32_matmul_precision("high")
    conv.fp32_precision = "tf32"
    yield
    torch.set_float32_matmul_precision(before[0])
    conv.fp32_precision = before[1]


def test_default_features_are_exact_under_tf32_defaults(
    inception_weights_path, images, float64_pool3, pytorch_tf32_defaults
):
    extractor = FeatureExtractor(inception_weights_path, device="cuda", num_workers=0)
    pool3 = extractor.extract(ArraySource(images)).pool3
    assert np.abs(pool3 - float64_pool3).max() <= FLOAT64_BOUND * _scale(float64_pool3)
    assert torch.get_float32_matmul_precision() == "high"  # the caller's setting, restored
    assert torch.backends.cudnn.conv.fp32_precision == "tf32"
    assert extractor.describe()["precision"] == "float32-exact"


def test_tf32_opt_in_is_not_exact(inception_weights_path, images, float64_pool3):
    extractor = FeatureExtractor(
        inception_weights_path, device="cuda", num_workers=0, allow_tf32=True
    )
    pool3 = extractor.extract(ArraySource(images)).pool3
    assert extractor.describe()["precision"] == "tf32"
    assert np.abs(pool3 - float64_pool3).max() > FLOAT64_BOUND * _scale(float64_pool3) / 10


def test_cuda_matches_cpu(inception_weights_path, extractor, images):
    on_cuda = FeatureExtractor(inception_weights_path, device="cuda", num_workers=0)
    assert on_cuda.pad_batches and on_cuda.cudnn_benchmark and on_cuda.batch_size == 256
    cpu = extractor.extract(ArraySource(images)).pool3
    gpu = on_cuda.extract(ArraySource(images)).pool3
    assert np.abs(gpu - cpu).max() <= 2 * FLOAT64_BOUND * _scale(cpu)


def test_compile_matches_eager_and_records_warmup(inception_weights_path, images):
    eager = FeatureExtractor(inception_weights_path, device="cuda", batch_size=16, num_workers=0)
    compiled = FeatureExtractor(
        inception_weights_path, device="cuda", batch_size=16, num_workers=0, compile=True
    )
    expected = eager.extract(ArraySource(images)).pool3  # 16 + 8, padded to 16
    got = compiled.extract(ArraySource(images)).pool3
    assert np.abs(got - expected).max() <= 2e-4 * _scale(expected)
    warmup = compiled.describe()["compile_warmup_s"]
    assert warmup is not None and warmup > 0


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 GPUs for NCCL")
def test_torchrun_on_nccl_matches_one_gpu(inception_weights_path, image_sets, tmp_path):
    array = calibration_images(10, 32, seed=21)
    np.save(tmp_path / "array.npy", array)
    done = torchrun(
        str(REPO / "tests" / "distributed_worker.py"), str(inception_weights_path),
        str(image_sets["real"]), str(tmp_path / "array.npy"), str(tmp_path), "cuda",
        cwd=tmp_path, backend="nccl",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    single = FeatureExtractor(inception_weights_path, device="cuda", batch_size=4, num_workers=0)
    folder = single.extract(FolderSource(image_sets["real"]).limit(9)).pool3
    for rank in (0, 1):
        result = np.load(tmp_path / f"rank{rank}.npz")
        assert np.abs(result["folder_pool3"] - folder).max() <= 2e-4 * _scale(folder)
