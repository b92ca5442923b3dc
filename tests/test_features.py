"""Inception features against torch-fidelity's own module on the same (random) weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from ganmetrics.errors import InputError
from ganmetrics.features import FastInception, FeatureExtractor, tf1_resize_matrix
from ganmetrics.inception import (
    STANDARD_SHA256,
    NonStandardWeightsWarning,
    build_torch_fidelity_inception,
    calibration_images,
    check_weights,
    resolve_weights_path,
)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.from_numpy(calibration_images(8, 32, seed=99))


@pytest.fixture(scope="module")
def reference(inception_weights_path):
    return build_torch_fidelity_inception(inception_weights_path)


@pytest.fixture(scope="module")
def reference_features(reference, images):
    with torch.inference_mode():
        return reference(images)


def test_random_weights_do_not_collapse(reference_features):
    """Guard for every agreement test: features must differ between images."""
    pool3, logits = reference_features
    spread = pool3.std(dim=0)
    assert (spread > 1e-3).float().mean() > 0.5, "pool3 collapsed to near-constants"
    assert pool3.std(dim=0).mean() > 0.05 * pool3.abs().mean()
    assert logits.std(dim=0).mean() > 0.1
    distances = torch.cdist(pool3, pool3)
    off_diagonal = distances[~torch.eye(len(pool3), dtype=torch.bool)]
    assert off_diagonal.min() > 1e-2


def test_random_weights_are_flagged_nonstandard(inception_weights_path):
    sha, standard = check_weights(inception_weights_path)
    assert not standard and sha != STANDARD_SHA256


@pytest.mark.parametrize("size", [(32, 32), (128, 128), (17, 45), (300, 299), (64, 128)])
def test_matrix_resize_equals_tensorflow1_resize(size):
    generator = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (2, 3, *size), generator=generator).to(torch.float64)
    expected = interpolate_bilinear_2d_like_tensorflow1x(
        image, size=(299, 299), align_corners=False
    )
    rows = tf1_resize_matrix(size[0], 299, torch.float64)
    cols = tf1_resize_matrix(size[1], 299, torch.float64)
    assert torch.allclose(rows @ image @ cols.T, expected, atol=1e-9, rtol=0)


def test_fast_network_matches_torch_fidelity(reference, reference_features, images):
    fast = FastInception(reference, torch.float32).eval()
    exact = FastInception(reference, torch.float64).eval()
    with torch.inference_mode():
        pool3, logits = fast(images)
        pool3_64, _ = exact(images[:3])
    ref_pool3, ref_logits = reference_features
    scale = ref_pool3.abs().max().item()
    # float32 rounding differs between the two op orders; both stay this close to float64
    assert (pool3 - ref_pool3).abs().max().item() <= 2e-4 * max(scale, 1.0)
    assert (logits - ref_logits).abs().max().item() <= 5e-4 * max(ref_logits.abs().max().item(), 1)
    err_ours = (pool3[:3].double() - pool3_64).abs().max().item()
    err_theirs = (ref_pool3[:3].double() - pool3_64).abs().max().item()
    assert err_ours <= 2 * err_theirs + 1e-6


def test_extractor_on_arrays_matches_reference(extractor, reference_features, images):
    from ganmetrics.sources import ArraySource

    features = extractor.extract(ArraySource(images.numpy()))
    assert features.pool3.shape == (8, 2048) and features.logits.shape == (8, 1008)
    np.testing.assert_allclose(features.pool3, reference_features[0].numpy(), atol=5e-4, rtol=0)


def test_unmodified_mode_is_bit_identical(inception_weights_path, reference_features, images):
    from ganmetrics.sources import ArraySource

    plain = FeatureExtractor(inception_weights_path, device="cpu", fast=False, num_workers=0)
    features = plain.extract(ArraySource(images.numpy()))
    assert np.array_equal(features.pool3, reference_features[0].numpy())
    assert np.array_equal(features.logits, reference_features[1].numpy())
    assert plain.describe()["network"] == "torch-fidelity"


def test_nonstandard_weights_recorded(extractor):
    description = extractor.describe()
    assert description["standard_weights"] is False
    assert len(description["weights_sha256"]) == 64


def test_weights_path_resolution(inception_weights_path, monkeypatch, tmp_path):
    monkeypatch.setenv("GANMETRICS_INCEPTION_WEIGHTS", str(inception_weights_path))
    assert resolve_weights_path() == inception_weights_path
    assert resolve_weights_path(inception_weights_path) == inception_weights_path
    with pytest.raises(InputError, match="not found"):
        resolve_weights_path(tmp_path / "missing.pth")


def test_download_failure_is_one_clear_line(monkeypatch):
    monkeypatch.delenv("GANMETRICS_INCEPTION_WEIGHTS", raising=False)

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(InputError) as info:
        resolve_weights_path()
    message = str(info.value)
    assert "\n" not in message and "--inception-weights" in message


def test_garbage_weights_file_rejected(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"not": torch.zeros(1)}, bad)
    with pytest.warns(NonStandardWeightsWarning), pytest.raises(InputError, match="state dict"):
        FeatureExtractor(bad, device="cpu")


def test_padded_last_batch_gives_the_same_features(inception_weights_path, extractor):
    from ganmetrics.sources import ArraySource

    images = calibration_images(6, 32, seed=31)  # batch 4: 4 + 2, the 2 padded to 4
    plain = FeatureExtractor(inception_weights_path, device="cpu", batch_size=4, num_workers=0)
    padded = FeatureExtractor(
        inception_weights_path, device="cpu", batch_size=4, num_workers=0, pad_batches=True
    )
    expected = plain.extract(ArraySource(images))
    got = padded.extract(ArraySource(images))
    assert got.pool3.shape == (6, 2048) and got.logits.shape == (6, 1008)
    np.testing.assert_array_equal(got.pool3[:4], expected.pool3[:4])  # same shape, same bits
    scale = max(1.0, float(np.abs(expected.pool3).max()))
    assert np.abs(got.pool3 - expected.pool3).max() <= 2e-4 * scale
    assert not plain.pad_batches and padded.pad_batches


def test_describe_records_precision_batch_and_compile(extractor):
    from ganmetrics.features import DEFAULT_BATCH_SIZE, default_batch_size, network_variant

    description = extractor.describe()
    assert description["precision"] == "float32-exact"
    assert description["batch_size"] == extractor.batch_size
    assert description["compile"] is False and "compile_warmup_s" not in description
    assert network_variant(description).startswith("float32-exact/")
    assert default_batch_size("cpu") == DEFAULT_BATCH_SIZE["cpu"]
    assert default_batch_size("cuda:1") == DEFAULT_BATCH_SIZE["cuda"] > DEFAULT_BATCH_SIZE["cpu"]


def test_batch_generator_leaves_user_settings_between_batches(extractor):
    """The exact-precision guard covers each forward pass only, not the caller's loop body."""
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("medium")
    try:
        batches = [calibration_images(2, 32, seed=seed) for seed in (41, 42)]
        seen = []
        for pool3, logits in extractor.features_of_batches(batches):
            seen.append(torch.get_float32_matmul_precision())
            assert isinstance(pool3, np.ndarray) and pool3.shape == (2, 2048)
            assert logits.shape == (2, 1008)
        assert seen == ["medium", "medium"]
    finally:
        torch.set_float32_matmul_precision(previous)
