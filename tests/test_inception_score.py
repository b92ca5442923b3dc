"""Inception Score: agreement with torch-fidelity 0.4.0 and closed-form values."""

from __future__ import annotations

import numpy as np
import pytest

from ganmetrics.inception_score import DEFAULT_IS_SEED, inception_score

NUM_CLASSES = 1008  # torch-fidelity's logits_unbiased


@pytest.fixture(scope="module")
def logits():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((503, NUM_CLASSES)) * 3).astype(np.float32)


def fidelity_is(logits: np.ndarray, **kwargs) -> tuple[float, float]:
    import torch
    from torch_fidelity.metric_isc import isc_features_to_metric

    out = isc_features_to_metric(torch.from_numpy(logits), **kwargs)
    return out["inception_score_mean"], out["inception_score_std"]


def test_default_seed_is_torch_fidelitys():
    from torch_fidelity.defaults import DEFAULTS

    assert DEFAULTS["rng_seed"] == DEFAULT_IS_SEED and DEFAULTS["isc_splits"] == 10


@pytest.mark.parametrize(("splits", "seed"), [(1, DEFAULT_IS_SEED), (10, DEFAULT_IS_SEED), (10, 3)])
def test_matches_torch_fidelity(logits, splits, seed):
    theirs = fidelity_is(logits, splits=splits, rng_seed=seed)
    ours = inception_score(logits, splits=splits, seed=seed)
    assert ours[0] > 2.0
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-9, abs=1e-12)
    if splits == 1:
        assert ours[1] == 0.0
    else:
        assert ours[1] > 0.0  # 503 rows in 10 uneven chunks: the shuffle and split bounds matter


def test_without_shuffle_matches_torch_fidelity(logits):
    theirs = fidelity_is(logits, splits=10, shuffle=False)
    assert inception_score(logits, splits=10, shuffle=False)[0] == pytest.approx(
        theirs[0], rel=1e-12
    )
    assert inception_score(logits, splits=10)[0] != pytest.approx(theirs[0], rel=1e-12)


def test_single_split_does_not_depend_on_the_shuffle(logits):
    assert inception_score(logits, splits=1, seed=1)[0] == pytest.approx(
        inception_score(logits, splits=1, shuffle=False)[0], rel=1e-12
    )


def test_uniform_predictions_give_one():
    rng = np.random.default_rng(1)
    constant_rows = np.repeat(rng.standard_normal((100, 1)), NUM_CLASSES, axis=1)
    assert inception_score(constant_rows, splits=1)[0] == pytest.approx(1.0, abs=1e-12)
    assert inception_score(np.zeros((100, NUM_CLASSES)), splits=10) == pytest.approx((1.0, 0.0))


@pytest.mark.parametrize("confidence", [60.0, 2000.0])
def test_confident_balanced_predictions_give_number_of_classes(confidence):
    num_used, per_class = 10, 20
    labels = np.repeat(np.arange(num_used), per_class)
    logits = np.zeros((labels.size, NUM_CLASSES))
    logits[np.arange(labels.size), labels] = confidence
    mean, std = inception_score(logits, splits=1)
    assert np.isfinite(mean)  # at 2000 unused classes underflow to p = 0: 0 log 0 = 0
    assert mean == pytest.approx(num_used, rel=1e-9)
    assert std == 0.0


def test_single_class_collapse_gives_one():
    logits = np.zeros((50, NUM_CLASSES))
    logits[:, 7] = 60.0
    assert inception_score(logits, splits=5)[0] == pytest.approx(1.0, rel=1e-9)


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="splits"):
        inception_score(np.zeros((5, 10)), splits=10)
    with pytest.raises(ValueError, match="2-D"):
        inception_score(np.zeros(10))
    with pytest.raises(ValueError, match="positive integer"):
        inception_score(np.zeros((5, 10)), splits=0)
    with pytest.raises(ValueError, match="NaN"):
        inception_score(np.full((5, 10), np.nan), splits=1)


def test_study_protocols_score_one_split_as_torch_fidelity_isc_splits_1(logits):
    from ganmetrics.protocols import PROTOCOLS

    splits = PROTOCOLS["cifar10"].is_splits
    assert splits == 1 and PROTOCOLS["custom"].is_splits == 10
    theirs = fidelity_is(logits, splits=1)
    assert inception_score(logits, splits=splits) == pytest.approx(theirs, rel=1e-12, abs=0)
    assert inception_score(logits, splits=10)[0] != pytest.approx(theirs[0], rel=1e-3)
