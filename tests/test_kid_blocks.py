"""compare_gan's block KID against a direct NumPy transcription of ``kid_score.py``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganmetrics.kid import _unbiased_mmd2, block_bounds, kid, kid_blocks, kid_notes
from ganmetrics.protocols import PROTOCOLS


def compare_gan_kid(fake_activations, real_activations, max_batch_size=1024):
    """``compare_gan/metrics/kid_score.py:kid`` (v3; v2's ``src/kid_score.py`` is the same code),
    line by line with tf replaced by numpy, quirks included (``bins_g`` sized from ``bins_r[0]``,
    ``n`` taken from the real block)."""
    n_real, dim = real_activations.shape
    n_gen, dim2 = fake_activations.shape
    assert dim2 == dim
    n_bins = int(math.ceil(max(n_real, n_gen) / max_batch_size))  # noqa: RUF046
    bins_r = np.full(n_bins, int(math.ceil(n_real / n_bins)))  # noqa: RUF046
    bins_g = np.full(n_bins, int(math.ceil(n_gen / n_bins)))  # noqa: RUF046
    bins_r[: (n_bins * bins_r[0]) - n_real] -= 1
    bins_g[: (n_bins * bins_r[0]) - n_gen] -= 1
    assert bins_r.min() >= 2
    assert bins_g.min() >= 2
    inds_r = np.r_[0, np.cumsum(bins_r)]
    inds_g = np.r_[0, np.cumsum(bins_g)]

    def get_kid_batch(i):
        r_s, r_e = inds_r[i], inds_r[i + 1]
        r = real_activations[r_s:r_e]
        m = float(r_e - r_s)
        g_s, g_e = inds_g[i], inds_g[i + 1]
        g = fake_activations[g_s:g_e]
        n = float(r_e - r_s)
        k_rr = (r @ r.T / dim + 1) ** 3
        k_rg = (r @ g.T / dim + 1) ** 3
        k_gg = (g @ g.T / dim + 1) ** 3
        return (
            -2 * np.mean(k_rg)
            + (np.sum(k_rr) - np.trace(k_rr)) / (m * (m - 1))
            + (np.sum(k_gg) - np.trace(k_gg)) / (n * (n - 1))
        )

    ests = np.array([get_kid_batch(i) for i in range(n_bins)])
    return ests.mean(), ests


def features(n, d, shift, seed):
    rng = np.random.default_rng(seed)
    return np.abs(rng.standard_normal((n, d))) * 0.5 + shift


@pytest.mark.parametrize(
    ("n", "block"),
    [(60, 1024), (61, 16), (64, 16), (97, 10), (2 * 1024 + 5, 1024)],
)
def test_matches_compare_gan_transcription_for_equal_sizes(n, block):
    real, fake = features(n, 8, 0.0, 1), features(n, 8, 0.1, 2)
    expected, per_block = compare_gan_kid(fake, real, max_batch_size=block)
    mean, std = kid_blocks(real, fake, max_block_size=block)
    assert mean == pytest.approx(expected, rel=1e-11)
    assert std == pytest.approx(per_block.std(), rel=1e-9, abs=1e-15)
    assert (std > 0) == (len(per_block) > 1)


def test_default_block_is_compare_gans_1024():
    real, fake = features(1500, 4, 0.0, 3), features(1500, 4, 0.2, 4)
    assert kid_blocks(real, fake)[0] == pytest.approx(compare_gan_kid(fake, real)[0], rel=1e-11)
    assert len(compare_gan_kid(fake, real)[1]) == 2


def test_block_bounds_are_compare_gans_near_equal_blocks():
    assert list(block_bounds(10, 3)) == [0, 3, 6, 10]
    assert list(block_bounds(12, 3)) == [0, 4, 8, 12]
    assert list(np.diff(block_bounds(10_000, 10))) == [1000] * 10
    assert list(np.diff(block_bounds(3_000, 3))) == [1000] * 3


def test_unequal_sizes_use_each_blocks_own_size():
    real, fake = features(90, 6, 0.0, 5), features(40, 6, 0.3, 6)
    mean, _ = kid_blocks(real, fake, max_block_size=30)
    real_bounds, fake_bounds = block_bounds(90, 3), block_bounds(40, 3)
    blocks = [
        _unbiased_mmd2(
            real[real_bounds[b] : real_bounds[b + 1]], fake[fake_bounds[b] : fake_bounds[b + 1]]
        )
        for b in range(3)
    ]
    assert mean == pytest.approx(np.mean(blocks), rel=1e-12)
    # compare_gan divides the generated within-block sum by the real block's size here
    assert compare_gan_kid(fake, real, max_batch_size=30)[0] != pytest.approx(mean, rel=1e-3)


def test_blocks_follow_the_given_order():
    real, fake = features(200, 6, 0.0, 7), features(200, 6, 0.0, 8)
    order = np.argsort(real[:, 0])
    sorted_mean = kid_blocks(real[order], fake, max_block_size=50)[0]
    assert sorted_mean > kid_blocks(real, fake, max_block_size=50)[0] + 1e-3


def test_dispatch_and_study_protocols_use_blocks():
    real, fake = features(50, 4, 0.0, 9), features(50, 4, 0.1, 10)
    assert kid(real, fake, "blocks") == kid_blocks(real, fake)
    assert kid(real, fake, "subsets", num_subsets=3, subset_size=20)[1] > 0
    with pytest.raises(ValueError, match="choose one of subsets, blocks"):
        kid(real, fake, "random")
    for name in ("cifar10", "celeba-hq-128", "lsun-bedroom"):
        assert PROTOCOLS[name].kid_estimator == "blocks" and PROTOCOLS[name].is_splits == 1
        assert PROTOCOLS[name].round_generated is False
    assert PROTOCOLS["custom"].kid_estimator == "subsets" and PROTOCOLS["custom"].is_splits == 10


def test_rejects_blocks_too_small():
    with pytest.raises(ValueError, match="per block"):
        kid_blocks(features(100, 4, 0, 1), features(3, 4, 0, 2), max_block_size=10)


def test_notes_explain_zero_spread_and_negative_values():
    x = features(100, 4, 0.0, 11)
    y = features(100, 4, 0.0, 12)
    mean, std = kid_blocks(x, y)
    assert std == 0.0
    notes = kid_notes(mean, 100, 100, "blocks")
    assert any("single estimate" in note for note in notes)
    mean_subsets, std_subsets = kid(x, y, "subsets", num_subsets=5, subset_size=1000)
    assert std_subsets < 1e-12 * abs(mean_subsets) + 1e-18
    assert any("whole set" in note for note in kid_notes(mean_subsets, 100, 100))
    assert not any("spread" in note for note in kid_notes(1.0, 100, 200, subset_size=50))
    negative = kid_notes(-1e-4, 5000, 5000, "blocks")
    assert len(negative) == 1 and "negative" in negative[0]
