"""FID: closed forms, reference implementations (torch-fidelity, pytorch-fid), warnings, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ganmetrics.fid import (
    FewSamplesWarning,
    feature_statistics,
    fid_from_features,
    frechet_distance,
)


def correlated_features(rng: np.random.Generator, num: int, dim: int, shift: float = 0.0):
    mixing = rng.standard_normal((dim, dim)) / np.sqrt(dim)
    return rng.standard_normal((num, dim)) @ mixing + shift


def quiet_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewSamplesWarning)
        return feature_statistics(features)


@pytest.fixture(scope="module")
def two_sets():
    rng = np.random.default_rng(0)
    real = correlated_features(rng, 200, 32)
    fake = correlated_features(rng, 220, 32, shift=0.3) * 1.3
    return real, fake


def test_statistics_are_float64_mean_and_unbiased_covariance(two_sets):
    real = two_sets[0].astype(np.float32)
    mean, covariance = feature_statistics(real)
    assert mean.dtype == covariance.dtype == np.float64
    np.testing.assert_allclose(mean, real.astype(np.float64).mean(axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(covariance, np.cov(real, rowvar=False), rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(covariance, covariance.T)


def test_identical_inputs_give_zero(two_sets):
    mean, covariance = feature_statistics(two_sets[0])
    assert abs(frechet_distance(mean, covariance, mean, covariance)) <= 1e-8 * np.trace(covariance)
    assert abs(fid_from_features(two_sets[0], two_sets[0].copy())) <= 1e-8 * np.trace(covariance)


def test_identical_rank_deficient_inputs_give_zero():
    rng = np.random.default_rng(1)
    mean, covariance = quiet_statistics(correlated_features(rng, 30, 128))
    assert np.linalg.matrix_rank(covariance) == 29
    assert abs(frechet_distance(mean, covariance, mean, covariance)) <= 1e-8 * np.trace(covariance)


def test_equal_covariances_give_squared_mean_distance(two_sets):
    _, covariance = feature_statistics(two_sets[0])
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.standard_normal(32), rng.standard_normal(32)
    expected = float(np.sum((mu1 - mu2) ** 2))
    assert frechet_distance(mu1, covariance, mu2, covariance) == pytest.approx(expected, rel=1e-8)


def test_diagonal_gaussians_closed_form():
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.01, 5.0, 40), rng.uniform(0.01, 5.0, 40)
    a[:5] = 0.0  # singular: exercises the eigendecomposition factor
    mu1, mu2 = rng.standard_normal(40), rng.standard_normal(40)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    result = frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert result == pytest.approx(expected, rel=1e-10)
    assert frechet_distance(mu2, np.diag(b), mu1, np.diag(a)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.filterwarnings("ignore:The `disp` argument is deprecated:DeprecationWarning")
@pytest.mark.parametrize("num_samples", [300, 24], ids=["full-rank", "rank-deficient"])
def test_agrees_with_torch_fidelity_and_pytorch_fid(num_samples):
    from pytorch_fid.fid_score import calculate_frechet_distance
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    rng = np.random.default_rng(4)
    mu1, sigma1 = quiet_statistics(correlated_features(rng, num_samples, 48))
    mu2, sigma2 = quiet_statistics(correlated_features(rng, num_samples, 48, shift=0.2) * 0.8)
    ours = frechet_distance(mu1, sigma1, mu2, sigma2)
    fidelity = fid_statistics_to_metric({"mu": mu1, "sigma": sigma1}, {"mu": mu2, "sigma": sigma2},
                                        verbose=False)["frechet_inception_distance"]  # fmt: skip
    pytorch_fid = calculate_frechet_distance(mu1, sigma1, mu2, sigma2)
    assert ours > 0.1
    assert ours == pytest.approx(fidelity, rel=1e-6)
    assert ours == pytest.approx(pytorch_fid, rel=1e-6)


@st.composite
def gaussian_pairs(draw):
    dim = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    ranks = draw(st.tuples(st.integers(0, dim), st.integers(0, dim)))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    rng = np.random.default_rng(seed)
    statistics = []
    for rank in ranks:
        factor = rng.standard_normal((dim, rank)) * scale
        statistics += [rng.standard_normal(dim) * scale, factor @ factor.T]
    return statistics


def fid_scale(mu1, sigma1, mu2, sigma2) -> float:
    return float(np.trace(sigma1) + np.trace(sigma2) + np.sum((mu1 - mu2) ** 2)) + 1e-300


@settings(max_examples=60, deadline=None)
@given(gaussian_pairs())
def test_non_negative_and_symmetric(statistics):
    forward = frechet_distance(*statistics)
    mu1, sigma1, mu2, sigma2 = statistics
    backward = frechet_distance(mu2, sigma2, mu1, sigma1)
    scale = fid_scale(*statistics)
    assert forward >= -1e-9 * scale
    assert abs(forward - backward) <= 1e-7 * scale


def test_few_samples_warning_at_inception_dimension():
    features = np.random.default_rng(5).random((64, 2048), dtype=np.float32)
    with pytest.warns(FewSamplesWarning) as record:
        mean, covariance = feature_statistics(features)
    message = str(record[0].message)
    assert "N=64" in message and "D=2048" in message and "rank-deficient" in message
    assert "10k" in message and "3k" in message
    assert covariance.shape == (2048, 2048) and mean.shape == (2048,)
    assert issubclass(FewSamplesWarning, UserWarning)


@pytest.mark.parametrize("num_samples", [10, 63, 64])
def test_few_samples_warning_fires_while_covariance_is_singular(num_samples):
    features = np.random.default_rng(6).standard_normal((num_samples, 64))
    with pytest.warns(FewSamplesWarning):
        feature_statistics(features)


def test_no_warning_with_more_samples_than_dimensions():
    features = np.random.default_rng(7).standard_normal((65, 64))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewSamplesWarning)
        feature_statistics(features)


@pytest.mark.parametrize(
    "features",
    [np.zeros((1, 4)), np.zeros(10), np.zeros((3, 4, 5)), np.array([[0.0, np.nan], [1.0, 2.0]])],
    ids=["one-sample", "1-d", "3-d", "nan"],
)
def test_statistics_reject_bad_features(features):
    with pytest.raises(ValueError):
        feature_statistics(features)


def test_frechet_distance_rejects_bad_shapes():
    mu, sigma = np.zeros(4), np.eye(4)
    with pytest.raises(ValueError, match="different feature dimensions"):
        frechet_distance(mu, sigma, np.zeros(5), np.eye(5))
    with pytest.raises(ValueError, match=r"sigma2 must be a \(4, 4\)"):
        frechet_distance(mu, sigma, mu, np.eye(3))
    with pytest.raises(ValueError, match="mu1 must be a 1-D"):
        frechet_distance(np.zeros((4, 1)), sigma, mu, sigma)
    with pytest.raises(ValueError, match="NaN or infinite"):
        frechet_distance(mu, np.full((4, 4), np.inf), mu, sigma)


@pytest.mark.parametrize("num", [5, 40])
def test_sample_factor_gives_the_same_distance_without_a_d_by_d_eigenproblem(num):
    """With N <= D the per-image factor replaces the eigendecomposition of the fake covariance;
    the Fréchet distance must not change beyond round-off (compared with scipy's sqrtm route)."""
    import scipy.linalg

    from ganmetrics.fid import feature_statistics, frechet_distance, sample_factor

    rng = np.random.default_rng(num)
    real = rng.normal(size=(num + 7, 64))
    fake = rng.normal(size=(num, 64)) * 1.3 + 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mu1, sigma1 = feature_statistics(real)
        mu2, sigma2 = feature_statistics(fake)
    factor = sample_factor(fake)
    np.testing.assert_allclose(factor @ factor.T, sigma2, atol=1e-12)
    fast = frechet_distance(mu1, sigma1, mu2, sigma2, factor2=factor)
    plain = frechet_distance(mu1, sigma1, mu2, sigma2)
    root = scipy.linalg.sqrtm(sigma1 @ sigma2).real
    reference = float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1 + sigma2) - 2 * np.trace(root))
    assert fast == pytest.approx(plain, rel=1e-9)
    assert fast == pytest.approx(reference, rel=1e-6)
