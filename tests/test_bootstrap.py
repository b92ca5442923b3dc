"""Bootstrap intervals: the vectorised resamples equal explicit ones, and 95% intervals cover
known true values on Gaussian features."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ganmetrics import bootstrap
from ganmetrics.fid import feature_statistics, fid_from_features, frechet_distance
from ganmetrics.inception_score import inception_score
from ganmetrics.kid import kid_blocks
from ganmetrics.prc import density_coverage, precision_recall

TRIALS = 40


def gaussian_pair(dim: int, seed: int):
    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((dim, dim)) / np.sqrt(dim) * 0.5
    sigma = np.eye(dim) + mixing @ mixing.T
    mu = np.full(dim, 0.25)
    return mu, sigma, np.linalg.cholesky(sigma)


def draw(n, dim, seed):
    mu, _, chol = gaussian_pair(dim, 0)
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, dim)), rng.standard_normal((n, dim)) @ chol.T + mu


def test_resampled_statistics_equal_explicit_resamples():
    features = np.random.default_rng(0).standard_normal((40, 6))
    counts = bootstrap.resample_counts(40, 4, np.random.default_rng(1))
    assert (counts.sum(axis=1) == 40).all() and (counts == 0).any()
    for row, (mean, covariance) in zip(
        counts, bootstrap._resampled_statistics(features, counts), strict=True
    ):
        expected_mean, expected_cov = feature_statistics(np.repeat(features, row.astype(int), 0))
        np.testing.assert_allclose(mean, expected_mean, rtol=0, atol=1e-14)
        np.testing.assert_allclose(covariance, expected_cov, rtol=0, atol=1e-14)


def test_is_weights_form_equals_scoring_the_resample():
    logits = np.random.default_rng(2).standard_normal((30, 12)) * 2
    interval = bootstrap.is_interval(logits, splits=1, num_resamples=5, seed=3, method="percentile")
    counts = bootstrap.resample_counts(30, 5, np.random.default_rng(3))
    explicit = [inception_score(np.repeat(logits, c.astype(int), 0), splits=1)[0] for c in counts]
    low, high = np.percentile(explicit, [2.5, 97.5])
    assert interval.low == pytest.approx(low, rel=1e-12)
    assert interval.high == pytest.approx(high, rel=1e-12)
    assert interval.estimate == pytest.approx(inception_score(logits, splits=1)[0], rel=1e-12)


def test_kid_resample_leaves_out_pairs_of_copies():
    real, fake = draw(9, 3, 4)

    def kernel(a, b):
        return (a @ b / 3 + 1) ** 3

    interval = bootstrap.kid_interval(real, fake, num_resamples=3, seed=5)
    rng = np.random.default_rng(5)
    counts_real = bootstrap.resample_counts(9, 3, rng)
    counts_fake = bootstrap.resample_counts(9, 3, rng)
    scores = []
    for cr, cf in zip(counts_real, counts_fake, strict=True):
        x = np.repeat(np.arange(9), cr.astype(int))
        y = np.repeat(np.arange(9), cf.astype(int))

        def within(points, idx):
            pairs = [(a, b) for a, b in itertools.permutations(range(len(idx)), 2)]
            kept = [(a, b) for a, b in pairs if idx[a] != idx[b]]
            return sum(kernel(points[idx[a]], points[idx[b]]) for a, b in kept) / len(kept)

        across = np.mean([kernel(real[i], fake[j]) for i in x for j in y])
        scores.append(within(real, x) + within(fake, y) - 2 * across)
    low, high = np.percentile(scores, [2.5, 97.5])
    assert interval.low == pytest.approx(low, rel=1e-10)
    assert interval.high == pytest.approx(high, rel=1e-10)


def test_stats_side_is_held_fixed_and_seed_reproduces():
    real, fake = draw(300, 4, 6)
    stats = feature_statistics(real)
    fixed = bootstrap.fid_interval(stats, fake, num_resamples=30, seed=1)
    both = bootstrap.fid_interval(real, fake, num_resamples=30, seed=1)
    assert fixed.estimate == pytest.approx(both.estimate, rel=1e-12)
    assert fixed.estimate == pytest.approx(fid_from_features(real, fake), rel=1e-12)
    assert fixed.std < both.std
    assert bootstrap.fid_interval(real, fake, num_resamples=30, seed=1) == both
    assert bootstrap.fid_interval(real, fake, num_resamples=30, seed=2) != both
    assert both.to_dict()["method"] == "basic" and both.num_resamples == 30


def test_fid_basic_intervals_cover_the_true_distance():
    dim, n = 8, 1000
    mu, sigma, _ = gaussian_pair(dim, 0)
    true = frechet_distance(np.zeros(dim), np.eye(dim), mu, sigma)
    covered = {"basic": 0, "percentile": 0}
    for trial in range(TRIALS):
        real, fake = draw(n, dim, 100 + trial)
        for method in covered:
            interval = bootstrap.fid_interval(real, fake, num_resamples=100, seed=trial,
                                              method=method)  # fmt: skip
            covered[method] += interval.low <= true <= interval.high
    assert covered["basic"] >= 0.85 * TRIALS, covered
    # FID@N is biased upwards and so are its resamples: the percentile interval sits too high
    assert covered["percentile"] < covered["basic"], covered


def test_kid_intervals_cover_the_population_kid():
    dim, n = 8, 200
    real_big, fake_big = draw(20_000, dim, 999)
    true = kid_blocks(real_big, fake_big)[0]  # 20 blocks of 1000; noise far below the width
    covered = 0
    for trial in range(TRIALS):
        real, fake = draw(n, dim, 200 + trial)
        interval = bootstrap.kid_interval(real, fake, num_resamples=100, seed=trial)
        covered += interval.low <= true <= interval.high
    assert covered >= 0.85 * TRIALS, covered


def test_is_basic_intervals_cover_the_population_score():
    classes, n = 10, 400
    centres = np.random.default_rng(7).standard_normal((classes, classes)) * 2.0

    def logits(count, seed):
        rng = np.random.default_rng(seed)
        return centres[rng.integers(0, classes, count)] + rng.standard_normal((count, classes))

    true = inception_score(logits(400_000, 1), splits=1)[0]
    covered = 0
    for trial in range(TRIALS):
        interval = bootstrap.is_interval(logits(n, 300 + trial), num_resamples=100, seed=trial)
        covered += interval.low <= true <= interval.high
    assert covered >= 0.85 * TRIALS, covered


def test_is_intervals_with_splits_bracket_the_split_score():
    data = np.random.default_rng(8).standard_normal((500, 20)) * 3
    interval = bootstrap.is_interval(data, splits=10, num_resamples=50, seed=0)
    assert interval.estimate == pytest.approx(inception_score(data, splits=10)[0], rel=1e-12)
    assert interval.low < interval.estimate < interval.high


def test_prc_and_dc_intervals_hold_the_full_sample_values():
    real, fake = draw(300, 6, 9)
    prc = bootstrap.prc_intervals(real, fake, k=3, num_resamples=200, seed=0)
    dc = bootstrap.dc_intervals(real, fake, k=5, num_resamples=200, seed=0)
    for interval, value in zip(
        [prc["precision"], prc["recall"], dc["density"], dc["coverage"]],
        [*precision_recall(real, fake, k=3), *density_coverage(real, fake, k=5)],
        strict=True,
    ):
        assert interval.estimate == pytest.approx(value, rel=1e-12)
        assert interval.low < value < interval.high
        assert 0 < interval.std < 0.1
    bigger = bootstrap.prc_intervals(*draw(1200, 6, 10), k=3, num_resamples=200, seed=0)
    assert bigger["precision"].std < prc["precision"].std


def test_rejects_bad_options():
    real, fake = draw(20, 3, 11)
    with pytest.raises(ValueError, match="num_resamples"):
        bootstrap.fid_interval(real, fake, num_resamples=1)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap.kid_interval(real, fake, confidence=95)
    with pytest.raises(ValueError, match="method must be one of percentile, basic"):
        bootstrap.prc_intervals(real, fake, method="bca")
    with pytest.raises(ValueError, match="dimensions"):
        bootstrap.kid_interval(real, fake[:, :2])
