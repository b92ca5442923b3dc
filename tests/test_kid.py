"""KID: draw-for-draw agreement with torch-fidelity 0.4.0, the estimator itself, sanity values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ganmetrics.kid import DEFAULT_KID_SEED, kernel_inception_distance


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(0)
    real = np.abs(rng.standard_normal((150, 64))) * 0.5
    fake = np.abs(rng.standard_normal((130, 64))) * 0.6
    return real, fake


@pytest.fixture(scope="module")
def fidelity_kid():
    import torch
    from torch_fidelity.metric_kid import kid_features_to_metric

    def run(real, fake, **kwargs):
        # torch-fidelity's input1 is the generated set
        out = kid_features_to_metric(torch.from_numpy(fake), torch.from_numpy(real),
                                     verbose=False, **kwargs)  # fmt: skip
        return out["kernel_inception_distance_mean"], out["kernel_inception_distance_std"]

    return run


def test_default_seed_is_torch_fidelitys():
    from torch_fidelity.defaults import DEFAULTS

    assert DEFAULTS["rng_seed"] == DEFAULT_KID_SEED
    assert DEFAULTS["kid_subsets"] == 100 and DEFAULTS["kid_subset_size"] == 1000


def test_one_subset_of_all_images_matches_torch_fidelity(features, fidelity_kid):
    real, fake = features[0][:130], features[1]
    theirs = fidelity_kid(real, fake, kid_subsets=1, kid_subset_size=130)
    ours = kernel_inception_distance(real, fake, num_subsets=1, subset_size=130)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-10)
    assert ours[1] == 0.0 == theirs[1]


@pytest.mark.parametrize("seed", [DEFAULT_KID_SEED, 7])
def test_several_subsets_match_torch_fidelity_draw_for_draw(features, fidelity_kid, seed):
    real, fake = features
    theirs = fidelity_kid(real, fake, kid_subsets=12, kid_subset_size=40, rng_seed=seed)
    ours = kernel_inception_distance(real, fake, num_subsets=12, subset_size=40, seed=seed)
    assert theirs[1] > 0.0  # the subsets differ, so matching std means matching draws
    assert ours[0] == pytest.approx(theirs[0], rel=1e-10)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-8)


def test_float32_features_agree_to_float32_round_off(features, fidelity_kid):
    real, fake = (array.astype(np.float32) for array in features)
    theirs = fidelity_kid(real, fake, kid_subsets=5, kid_subset_size=100)
    ours = kernel_inception_distance(real, fake, num_subsets=5, subset_size=100)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-3)


def test_subset_size_is_capped_at_the_smaller_set(features):
    real, fake = features
    capped = kernel_inception_distance(real, fake, num_subsets=3, subset_size=1000)
    explicit = kernel_inception_distance(real, fake, num_subsets=3, subset_size=130)
    assert capped == explicit


def test_matches_explicit_double_sums():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 3)) + 0.5

    def k(a, b):
        return (a @ b / 3 + 1) ** 3

    pairs = list(itertools.permutations(range(6), 2))
    within_x = sum(k(x[i], x[j]) for i, j in pairs) / 30
    within_y = sum(k(y[i], y[j]) for i, j in pairs) / 30
    across = sum(k(x[i], y[j]) for i in range(6) for j in range(6)) / 36
    expected = within_x + within_y - 2 * across
    mean, std = kernel_inception_distance(x, y, num_subsets=4, subset_size=6)
    assert mean == pytest.approx(expected, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12 * abs(expected))  # every subset is the whole set


def test_same_distribution_near_zero_shifted_distribution_positive():
    rng = np.random.default_rng(2)
    real = rng.standard_normal((400, 16))
    same = rng.standard_normal((400, 16))
    shifted = rng.standard_normal((400, 16)) + 0.5
    same_mean, same_std = kernel_inception_distance(real, same, num_subsets=20, subset_size=100)
    shifted_mean, shifted_std = kernel_inception_distance(real, shifted, num_subsets=20,
                                                          subset_size=100)  # fmt: skip
    assert shifted_mean > 10 * shifted_std / np.sqrt(20)
    assert abs(same_mean) < 0.05 * shifted_mean
    assert abs(same_mean) < 3 * same_std


def test_rejects_bad_input(features):
    real, fake = features
    with pytest.raises(ValueError, match="dimensions"):
        kernel_inception_distance(real, fake[:, :10])
    with pytest.raises(ValueError, match="subset_size"):
        kernel_inception_distance(real, fake, subset_size=1)
    with pytest.raises(ValueError, match="at least 2"):
        kernel_inception_distance(real, fake[:1])
    with pytest.raises(ValueError, match="2-D"):
        kernel_inception_distance(real[0], fake)
