"""Gaussian-process bandit rounds over Table 1b ("The GAN Landscape", section 2.6, Table 1b).

The paper runs "12 rounds ... each with a batch of 10 hyperparameter sets selected based on the FID
scores from the results of the previous iterations", with "Gaussian Process optimization in the
bandit setting (Srinivas et al., 2010)". One round here:

1. Every earlier setting of the variant becomes a point ``x`` in the unit cube: log10 lr on
   Table 1b's [1e-5, 1e-2], log10 lambda on [1e-4, 1e1] (L2) or [1e-1, 1e2] (other penalties),
   beta1 and beta2 on [0, 1], and n_disc in {1, 5} as 0 / 1. Its observation is
   ``y = -log(median FID over seeds)``; a setting with no finished seed gets the worst ``y`` seen.
2. BoTorch fits a ``SingleTaskGP`` (gpytorch: Matern-5/2 ARD kernel, standardized outcome) by
   maximizing the marginal likelihood.
3. The batch is chosen by the Monte-Carlo batch upper confidence bound ``qUpperConfidenceBound``
   (Wilson et al. 2017's reparameterization of GP-UCB for ``q`` points), maximized jointly over
   the ``q`` points by ``optimize_acqf`` (L-BFGS-B from random restarts). n_disc is relaxed to
   [0, 1] and rounded to 1 or 5 afterwards (``optimize_acqf_mixed``, which fixes it exactly, is a
   sequential-greedy loop that took minutes per round of 10 on a CPU).

UCB's ``beta`` defaults to Srinivas et al.'s schedule ``beta_t = 2 log(d t^2 pi^2 / (6 delta))``
(Theorem 1, with the domain size replaced by the dimension ``d``), ``delta = 0.1`` and ``t`` the
round. Adam needs beta < 1, so a proposed beta1 or beta2 above :data:`BETA_MAX` is clipped.

Proposals are reproducible: the GP fit, the Sobol QMC sampler and the optimizer's random
restarts all run under ``seed`` (in a forked torch RNG, leaving the caller's state untouched).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import Any

from ganmetrics_train.sweep import (
    TABLE_1B_LAMBDA,
    TABLE_1B_LAMBDA_L2,
    TABLE_1B_LEARNING_RATE,
    TABLE_1B_N_DISC,
)

#: Table 1b's beta range is [0, 1]; Adam's bias correction divides by 1 - beta^t.
BETA_RANGE = (0.0, 1.0)
BETA_MAX = 0.9999
UCB_DELTA = 0.1
MC_SAMPLES = 256


@dataclasses.dataclass(frozen=True)
class Dimension:
    name: str
    low: float
    high: float
    log: bool

    def encode(self, value: float) -> float:
        if self.log:
            low, high, value = math.log10(self.low), math.log10(self.high), math.log10(value)
        else:
            low, high = self.low, self.high
        return min(1.0, max(0.0, (value - low) / (high - low)))

    def decode(self, unit: float) -> float:
        unit = min(1.0, max(0.0, unit))
        if self.log:
            return 10 ** (
                math.log10(self.low) + unit * (math.log10(self.high) - math.log10(self.low))
            )
        return self.low + unit * (self.high - self.low)


def search_space(penalty: str) -> list[Dimension]:
    """Table 1b's continuous ranges for a variant with ``penalty`` (n_disc is the last axis)."""
    dims = [
        Dimension("lr", *TABLE_1B_LEARNING_RATE, log=True),
        Dimension("beta1", *BETA_RANGE, log=False),
        Dimension("beta2", *BETA_RANGE, log=False),
    ]
    if penalty != "none":
        dims.append(
            Dimension(
                "lambda_", *(TABLE_1B_LAMBDA_L2 if penalty == "l2" else TABLE_1B_LAMBDA), True
            )
        )
    return dims


def encode(values: dict[str, Any], dims: Sequence[Dimension]) -> list[float]:
    """A setting as a point of the unit cube (n_disc last: 0 for 1, 1 for 5)."""
    point = [d.encode(float(values[d.name])) for d in dims]
    point.append(float(TABLE_1B_N_DISC.index(int(values["n_disc"]))))
    return point


def decode(point: Sequence[float], dims: Sequence[Dimension]) -> dict[str, Any]:
    values: dict[str, Any] = {d.name: d.decode(float(u)) for d, u in zip(dims, point, strict=False)}
    for name in ("beta1", "beta2"):
        values[name] = min(values[name], BETA_MAX)
    values["n_disc"] = TABLE_1B_N_DISC[round(float(point[len(dims)]))]
    values.setdefault("lambda_", None)
    return values


def ucb_beta(dimension: int, round_index: int, delta: float = UCB_DELTA) -> float:
    """Srinivas et al. (2010), Theorem 1: ``2 log(|D| t^2 pi^2 / (6 delta))``, |D| -> d."""
    t = max(1, round_index)
    return 2.0 * math.log(dimension * t**2 * math.pi**2 / (6.0 * delta))


def propose(
    penalty: str,
    history: Sequence[tuple[dict[str, Any], float | None]],
    batch: int,
    seed: int,
    round_index: int,
    beta: float | None = None,
    num_restarts: int = 4,
    raw_samples: int = 256,
    max_iterations: int = 100,
) -> list[dict[str, Any]]:
    """The next ``batch`` settings given ``history`` of (setting values, median FID or None)."""
    import torch

    dims = search_space(penalty)
    scored = [(v, f) for v, f in history if f is not None and math.isfinite(f) and f > 0]
    if not scored:
        raise ValueError("the bandit needs at least one setting with a finished FID")
    worst = max(math.log(f) for _, f in scored)
    xs = [encode(v, dims) for v, _ in history]
    ys = [
        -math.log(f) if f is not None and math.isfinite(f) and f > 0 else -worst for _, f in history
    ]
    beta = ucb_beta(len(dims) + 1, round_index) if beta is None else beta
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only add contention (10x slower)
    try:
        return _propose(dims, xs, ys, batch, seed, beta, num_restarts, raw_samples, max_iterations)
    finally:
        torch.set_num_threads(threads)


def _propose(
    dims: list[Dimension],
    xs: list[list[float]],
    ys: list[float],
    batch: int,
    seed: int,
    beta: float,
    num_restarts: int,
    raw_samples: int,
    max_iterations: int,
) -> list[dict[str, Any]]:
    import torch
    from botorch.acquisition.monte_carlo import qUpperConfidenceBound
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim import optimize_acqf
    from botorch.sampling import SobolQMCNormalSampler
    from gpytorch.mlls import ExactMarginalLogLikelihood

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        train_x = torch.tensor(xs, dtype=torch.float64)
        train_y = torch.tensor(ys, dtype=torch.float64).unsqueeze(-1)
        model = SingleTaskGP(train_x, train_y, outcome_transform=Standardize(m=1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few points: gpytorch's and botorch's fit warnings
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
            sampler = SobolQMCNormalSampler(sample_shape=torch.Size([MC_SAMPLES]), seed=seed)
            acquisition = qUpperConfidenceBound(model, beta=beta, sampler=sampler)
            bounds = torch.stack([torch.zeros(len(dims) + 1), torch.ones(len(dims) + 1)]).to(
                torch.float64
            )
            candidates, _ = optimize_acqf(
                acquisition,
                bounds=bounds,
                q=batch,
                num_restarts=num_restarts,
                raw_samples=raw_samples,
                options={"seed": seed, "maxiter": max_iterations},
            )
    return [decode(point.tolist(), dims) for point in candidates]
