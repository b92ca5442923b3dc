"""FID∞ (Chong & Forsyth 2020) on Gaussian features with a known Fréchet distance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ganmetrics.errors import InputError
from ganmetrics.fid import feature_statistics, frechet_distance
from ganmetrics.fid_infinity import default_sizes, fid_infinity, fid_label

DIM, POOL, SMALLEST = 64, 30_000, 1000


@pytest.fixture(scope="module")
def truth():
    mixing = np.random.default_rng(0).standard_normal((DIM, DIM)) / np.sqrt(DIM)
    sigma = np.eye(DIM) + mixing @ mixing.T
    mu = np.full(DIM, 0.1)
    real_stats = (np.zeros(DIM), np.eye(DIM))
    return mu, np.linalg.cholesky(sigma), real_stats, frechet_distance(*real_stats, mu, sigma)


@settings(max_examples=4, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**16))
def test_recovers_the_true_distance_where_fid_at_n_is_biased(truth, seed):
    mu, chol, real_stats, true = truth
    rng = np.random.default_rng(seed)
    fake = rng.standard_normal((POOL, DIM)) @ chol.T + mu
    sizes = sorted({round(1 / v) for v in np.linspace(1 / SMALLEST, 1 / POOL, 15)})
    result = fid_infinity(real_stats, fake, sizes=sizes, seed=seed)
    fid_small = frechet_distance(*real_stats, *feature_statistics(fake[:SMALLEST]))
    assert fid_small > 1.04 * true  # FID@1k is visibly biased upwards (about +9% here)
    assert result.value == pytest.approx(true, rel=0.02)
    assert result.slope > 0
    assert result.residual < 0.02 * true
    assert result.sizes == tuple(sizes) and len(result.fids) == len(sizes)


def test_seeded_and_real_features_equal_their_statistics():
    rng = np.random.default_rng(1)
    real = rng.standard_normal((3000, 8))
    fake = rng.standard_normal((3000, 8)) + 0.2
    first = fid_infinity(real, fake, seed=3)
    assert first == fid_infinity(feature_statistics(real), fake, seed=3)
    assert first != fid_infinity(real, fake, seed=4)
    assert first.to_dict()["sizes"] == list(default_sizes(3000, 8))


def test_default_sizes_span_a_factor_of_five_above_the_dimension():
    sizes = default_sizes(10_000, 2048)
    assert sizes[0] == 2049 and sizes[-1] == 10_000 and len(sizes) == 15
    assert default_sizes(50_000, 2048)[0] == 10_000
    with pytest.raises(InputError, match="at least 4098"):
        default_sizes(2000, 2048)
    with pytest.raises(InputError, match="2 distinct sizes"):
        fid_infinity(np.zeros((5, 2)) + np.arange(5)[:, None], np.ones((4, 2)), sizes=[3, 3])


@pytest.mark.parametrize(
    ("num", "label"),
    [(10_000, "FID@10k"), (3_000, "FID@3k"), (500, "FID@500"), (2_500, "FID@2.5k"),
     (50_000, "FID@50k"), (1234, "FID@1234")],
)  # fmt: skip
def test_label_names_n(num, label):
    assert fid_label(num) == label
