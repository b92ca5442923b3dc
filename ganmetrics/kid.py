"""Kernel Inception Distance on already-extracted Inception pool3 features.

KID (Bińkowski, Sutherland, Arbel & Gretton 2018, "Demystifying MMD GANs", section 4 and
Appendix A) is the squared maximum mean discrepancy between the feature distributions of real and
generated images under the cubic polynomial kernel ``k(x, y) = (x·y / d + 1)^3``, estimated without
bias and averaged over random subsets. "The GAN Landscape" (Kurach et al. 2019, Appendix B) finds
it ranks models almost exactly like FID.

The subset draws reproduce torch-fidelity 0.4.0's ``kid_features_to_metric`` draw for draw: one
``numpy.random.RandomState(seed)``, and for each subset first
``choice(n_fake, m, replace=False)`` then ``choice(n_real, m, replace=False)``. torch-fidelity's
``input1`` is the generated set (its convention, stated in ``metric_prc.py``), so
``kernel_inception_distance(real, fake, s, m, seed)`` equals
``kid_features_to_metric(fake, real, kid_subsets=s, kid_subset_size=m, rng_seed=seed)``.
"""

from __future__ import annotations

import numpy as np

from ganmetrics.feature_matrix import as_feature_matrix

__all__ = ["DEFAULT_KID_SEED", "kernel_inception_distance"]

#: torch-fidelity 0.4.0's default ``rng_seed`` (``torch_fidelity/defaults.py``).
DEFAULT_KID_SEED = 2020


def _cubic_kernel_sum(a: np.ndarray, b: np.ndarray, *, skip_diagonal: bool) -> float:
    """Sum of ``(a_i·b_j / d + 1)^3`` over all (i, j), or over i != j when ``a is b``."""
    kernel = a @ b.T
    kernel /= a.shape[1]
    kernel += 1.0
    gram_plus_one = kernel.copy()
    kernel *= gram_plus_one
    kernel *= gram_plus_one
    total = float(kernel.sum())
    if skip_diagonal:
        total -= float(np.trace(kernel))
    return total


def _unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² between equal-size samples x, y (m, d) under the cubic polynomial kernel.

    ``sum_{i != j} k(x_i, x_j) / (m(m-1)) + sum_{i != j} k(y_i, y_j) / (m(m-1))
    - 2 sum_{i, j} k(x_i, y_j) / m^2`` (Gretton et al. 2012, Lemma 6; Bińkowski et al. 2018,
    section 4), torch-fidelity's ``mmd2(..., mmd_est="unbiased")``.
    """
    m = x.shape[0]
    within = _cubic_kernel_sum(x, x, skip_diagonal=True) + _cubic_kernel_sum(
        y, y, skip_diagonal=True
    )
    across = _cubic_kernel_sum(x, y, skip_diagonal=False)
    return within / (m * (m - 1)) - 2.0 * across / (m * m)


def kernel_inception_distance(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = DEFAULT_KID_SEED,
) -> tuple[float, float]:
    """KID mean and standard deviation over ``num_subsets`` random subsets, in float64.

    Each subset draws ``m = min(subset_size, n_real, n_fake)`` generated and ``m`` real features
    without replacement and evaluates the unbiased MMD² with ``k(x, y) = (x·y / d + 1)^3``
    (Bińkowski et al. 2018, section 4). The standard deviation is ``numpy.std`` (ddof 0) over the
    subset estimates, as in torch-fidelity. Defaults are torch-fidelity's: 100 subsets of 1000 and
    seed 2020 (:data:`DEFAULT_KID_SEED`); with the same arguments the draws are theirs, with
    ``input1`` = generated (see the module docstring).

    Differences from torch-fidelity 0.4.0: the subset size is capped at the smaller set instead of
    raising, and kernels are always evaluated in float64 (theirs run in the features' dtype, float32
    for its extractor), so agreement is to round-off for float64 inputs and to float32 round-off
    otherwise. A slightly negative mean is valid and means the distributions are very close.
    """
    real = as_feature_matrix(real_features, "real_features")
    fake = as_feature_matrix(fake_features, "fake_features")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real_features have {real.shape[1]} dimensions but fake_features have "
            f"{fake.shape[1]}; use features from the same network layer"
        )
    if int(num_subsets) != num_subsets or num_subsets < 1:
        raise ValueError(f"num_subsets must be a positive integer, got {num_subsets!r}")
    if int(subset_size) != subset_size or subset_size < 2:
        raise ValueError(f"subset_size must be an integer >= 2, got {subset_size!r}")
    num_real, num_fake = real.shape[0], fake.shape[0]
    size = min(int(subset_size), num_real, num_fake)
    if size < 2:
        raise ValueError(
            f"KID needs at least 2 real and 2 generated samples, got {num_real} real and "
            f"{num_fake} generated"
        )

    rng = np.random.RandomState(seed)
    estimates = np.empty(int(num_subsets), dtype=np.float64)
    for index in range(int(num_subsets)):
        fake_subset = fake[rng.choice(num_fake, size, replace=False)]
        real_subset = real[rng.choice(num_real, size, replace=False)]
        estimates[index] = _unbiased_mmd2(fake_subset, real_subset)
    return float(estimates.mean()), float(estimates.std())
