"""Precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from ganmetrics.prc import density_coverage, precision_recall


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((180, 24))
    real[170:] = real[:10]  # exact duplicates: they are each other's neighbours at distance 0
    fake = rng.standard_normal((150, 24)) * 1.2 + 0.25
    return real, fake


def fidelity_prc(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    import torch
    from torch_fidelity.metric_prc import prc_features_to_metric

    out = prc_features_to_metric(torch.from_numpy(fake), torch.from_numpy(real),  # input1: fake
                                 prc_neighborhood=k, verbose=False)  # fmt: skip
    return out["precision"], out["recall"]


def brute_force_density_coverage(real, fake, k):
    """Naeem et al. 2020 (section 3), written out with explicit distance matrices."""
    real_radii = np.sort(cdist(real, real), axis=1)[:, k]  # column 0 is the sample itself
    inside = cdist(fake, real) < real_radii[None, :]
    return inside.sum() / (k * len(fake)), inside.any(axis=0).mean()


@pytest.mark.parametrize("k", [3, 5])
def test_precision_recall_match_torch_fidelity(features, k):
    real, fake = features
    ours = precision_recall(real, fake, k=k)
    theirs = fidelity_prc(real, fake, k)
    assert 0.0 < ours[0] < 1.0 and 0.0 < ours[1] < 1.0  # no trivial agreement
    # torch-fidelity averages in float32: compare the counts of samples inside the manifolds
    assert round(ours[0] * len(fake)) == round(theirs[0] * len(fake))
    assert round(ours[1] * len(real)) == round(theirs[1] * len(real))


def test_block_size_does_not_change_results(features):
    real, fake = features
    assert precision_recall(real, fake, block_rows=17) == precision_recall(real, fake)
    assert density_coverage(real, fake, block_rows=17) == density_coverage(real, fake)


def test_identical_sets_give_full_precision_and_recall(features):
    real = features[0]
    assert precision_recall(real, real.copy()) == (1.0, 1.0)
    density, coverage = density_coverage(real, real.copy())
    assert coverage == 1.0
    assert density == pytest.approx(1.0, abs=0.02)  # k-th neighbours sit on the ball's boundary


def test_disjoint_far_apart_sets_give_zero(features):
    real = features[0]
    fake = features[1] + 1000.0
    assert precision_recall(real, fake) == (0.0, 0.0)
    assert density_coverage(real, fake) == (0.0, 0.0)


@pytest.mark.parametrize("k", [2, 5])
def test_density_coverage_match_the_paper_formulas(features, k):
    real, fake = features
    expected_density, expected_coverage = brute_force_density_coverage(real, fake, k)
    density, coverage = density_coverage(real, fake, k=k)
    assert 0.0 < coverage < 1.0
    assert density == pytest.approx(expected_density, abs=1e-12)
    assert coverage == pytest.approx(expected_coverage, abs=1e-12)


def test_same_distribution_gives_expected_density_and_coverage():
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((600, 8)), rng.standard_normal((600, 8))
    k = 5
    density, coverage = density_coverage(real, fake, k=k)
    # Naeem et al. 2020, Lemma 1: E[density] = 1; Lemma 2: E[coverage] = 1 - prod (N-i)/(N+M-i)
    expected_coverage = 1 - math.prod((600 - i) / (1200 - i) for i in range(1, k + 1))
    assert density == pytest.approx(1.0, abs=0.15)
    assert coverage == pytest.approx(expected_coverage, abs=0.03)
    precision, recall = precision_recall(real, fake)
    assert precision > 0.6 and recall > 0.6


def test_mode_dropping_lowers_recall_and_coverage_not_precision():
    rng = np.random.default_rng(2)
    centres = np.array([[0.0, 0.0], [20.0, 0.0]])
    real = np.concatenate([rng.standard_normal((150, 2)) + centre for centre in centres])
    fake = rng.standard_normal((300, 2)) + centres[0]  # only the first mode
    precision, recall = precision_recall(real, fake)
    density, coverage = density_coverage(real, fake)
    assert precision > 0.9 and recall < 0.55
    assert coverage < 0.55 and density > 0.9


def test_rejects_bad_input(features):
    real, fake = features
    with pytest.raises(ValueError, match="dimensions"):
        precision_recall(real, fake[:, :5])
    with pytest.raises(ValueError, match="k=3"):
        precision_recall(real[:3], fake)
    with pytest.raises(ValueError, match="k=5"):
        density_coverage(real[:5], fake)
    with pytest.raises(ValueError, match="positive integer"):
        density_coverage(real, fake, k=0)
    with pytest.raises(ValueError, match="2-D"):
        precision_recall(real, fake[0])
