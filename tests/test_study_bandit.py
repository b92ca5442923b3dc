"""The GP bandit (BoTorch qUCB over Table 1b): inside the ranges, conditioned on FIDs, seeded."""

from __future__ import annotations

import math

import pytest

from ganmetrics_train.study import bandit
from ganmetrics_train.study.grid import random_start

FAST = {"num_restarts": 2, "raw_samples": 32, "max_iterations": 30}


def _history(penalty, fids):
    return [
        (s.values, fid) for s, fid in zip(random_start(penalty, len(fids), 0), fids, strict=True)
    ]


@pytest.mark.parametrize(
    "penalty, lam_range", [("gp", (1e-1, 1e2)), ("l2", (1e-4, 1e1)), ("none", None)]
)
def test_proposals_lie_in_table_1b(penalty, lam_range):
    proposals = bandit.propose(penalty, _history(penalty, [40.0, 90.0, 60.0]), 4, 0, 1, **FAST)
    assert len(proposals) == 4
    for p in proposals:
        assert 1e-5 * (1 - 1e-9) <= p["lr"] <= 1e-2 * (1 + 1e-9)
        assert 0.0 <= p["beta1"] < 1.0 and 0.0 <= p["beta2"] < 1.0
        assert p["n_disc"] in (1, 5)
        if lam_range is None:
            assert p["lambda_"] is None
        else:
            assert lam_range[0] * (1 - 1e-9) <= p["lambda_"] <= lam_range[1] * (1 + 1e-9)


def test_proposals_are_seeded_and_follow_the_fids():
    history = _history("gp", [30.0, 150.0, 80.0, 45.0])
    first = bandit.propose("gp", history, 3, seed=7, round_index=2, **FAST)
    assert first == bandit.propose("gp", history, 3, seed=7, round_index=2, **FAST)
    flipped = [(values, 200.0 - fid) for values, fid in history]
    assert bandit.propose("gp", flipped, 3, seed=7, round_index=2, **FAST) != first


def test_a_failed_setting_counts_as_the_worst_and_all_failed_is_refused():
    history = _history("none", [50.0, None])
    assert len(bandit.propose("none", history, 2, 0, 1, **FAST)) == 2
    with pytest.raises(ValueError):
        bandit.propose("none", _history("none", [None, None]), 2, 0, 1, **FAST)


def test_ucb_beta_follows_srinivas_schedule():
    assert bandit.ucb_beta(5, 1) == pytest.approx(2 * math.log(5 * math.pi**2 / 0.6))
    assert bandit.ucb_beta(5, 12) > bandit.ucb_beta(5, 2) > bandit.ucb_beta(5, 1)


def test_encoding_round_trips():
    dims = bandit.search_space("gp")
    values = {"lr": 3e-4, "beta1": 0.5, "beta2": 0.9, "n_disc": 5, "lambda_": 10.0}
    decoded = bandit.decode(bandit.encode(values, dims), dims)
    assert decoded["n_disc"] == 5
    for key in ("lr", "beta1", "beta2", "lambda_"):
        assert decoded[key] == pytest.approx(values[key])
