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

Two estimators, named in :data:`KID_ESTIMATORS`:

* ``"subsets"`` (:func:`kernel_inception_distance`): torch-fidelity's random subsets, above;
* ``"blocks"`` (:func:`kid_blocks`): compare_gan's block estimator
  (``compare_gan/metrics/kid_score.py`` in v3, ``compare_gan/src/kid_score.py`` in v2; the block
  test of Zaremba, Gretton & Blaschko 2013, arXiv:1307.1954), the study's code: both sets are
  cut, in their given order, into the same number of near-equal contiguous blocks of at most
  1024 rows, and the unbiased MMD² of each block pair is averaged.

Both are unbiased estimates of the same MMD², so a value can be negative when the distributions are
close (an identical pair of sets gives a value around 0 of either sign), and the spread is 0 when
every subset is the whole set or there is a single block (see :func:`kid_notes`).
"""

from __future__ import annotations

import numpy as np

from ganmetrics.feature_matrix import as_feature_matrix

__all__ = [
    "DEFAULT_KID_SEED",
    "KID_BLOCK_SIZE",
    "KID_ESTIMATORS",
    "block_bounds",
    "kernel_inception_distance",
    "kid",
    "kid_blocks",
    "kid_notes",
]

#: torch-fidelity 0.4.0's default ``rng_seed`` (``torch_fidelity/defaults.py``).
DEFAULT_KID_SEED = 2020
#: compare_gan's ``max_batch_size`` of ``kid()``: the largest block of the block estimator.
KID_BLOCK_SIZE = 1024
#: ``"subsets"``: torch-fidelity's random subsets; ``"blocks"``: compare_gan's disjoint blocks.
KID_ESTIMATORS = ("subsets", "blocks")


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
    """Unbiased MMD² between samples x (m, d) and y (n, d) under the cubic polynomial kernel.

    ``sum_{i != j} k(x_i, x_j) / (m(m-1)) + sum_{i != j} k(y_i, y_j) / (n(n-1))
    - 2 sum_{i, j} k(x_i, y_j) / (m n)`` (Gretton et al. 2012, Lemma 6; Bińkowski et al. 2018,
    section 4), torch-fidelity's ``mmd2(..., mmd_est="unbiased")`` for m = n.
    """
    m, n = x.shape[0], y.shape[0]
    within_x = _cubic_kernel_sum(x, x, skip_diagonal=True) / (m * (m - 1))
    within_y = _cubic_kernel_sum(y, y, skip_diagonal=True) / (n * (n - 1))
    across = _cubic_kernel_sum(x, y, skip_diagonal=False)
    return within_x + within_y - 2.0 * across / (m * n)


def _checked_pair(real_features: np.ndarray, fake_features: np.ndarray):
    real = as_feature_matrix(real_features, "real_features")
    fake = as_feature_matrix(fake_features, "fake_features")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real_features have {real.shape[1]} dimensions but fake_features have "
            f"{fake.shape[1]}; use features from the same network layer"
        )
    return real, fake


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
    real, fake = _checked_pair(real_features, fake_features)
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


def block_bounds(num_rows: int, num_blocks: int) -> np.ndarray:
    """Start/stop offsets (``num_blocks + 1``) of ``num_blocks`` contiguous near-equal blocks.

    compare_gan's ``kid()``: every block holds ``ceil(num_rows / num_blocks)`` rows, except that
    the first ``num_blocks * ceil(...) - num_rows`` blocks hold one row fewer.
    """
    size = -(-num_rows // num_blocks)
    sizes = np.full(num_blocks, size, dtype=np.int64)
    sizes[: num_blocks * size - num_rows] -= 1
    return np.concatenate([[0], np.cumsum(sizes)])


def kid_blocks(
    real_features: np.ndarray, fake_features: np.ndarray, max_block_size: int = KID_BLOCK_SIZE
) -> tuple[float, float]:
    """KID by compare_gan's block estimator: mean and standard deviation over disjoint blocks.

    ``compare_gan/metrics/kid_score.py:kid`` (identical in v2's ``src/kid_score.py``), which
    "The GAN Landscape" (Kurach et al. 2019, Appendix B) reports: ``B = ceil(max(n_real, n_fake)
    / max_block_size)`` blocks; each set is cut in its given order into ``B`` contiguous blocks
    (:func:`block_bounds`); block ``b`` pairs real block ``b`` with generated block ``b`` and
    gives the unbiased MMD² (:func:`_unbiased_mmd2`); KID is the mean over blocks. The order
    matters as in compare_gan, whose docstring warns that sorted inputs bias the estimate: pass
    features in random order (generated samples are; a folder sorted by class is not).

    The second value is ``numpy.std`` (ddof 0) over the block estimates, the spread that
    :func:`kernel_inception_distance` reports over subsets (0 with a single block, i.e. both sets
    of at most ``max_block_size``); compare_gan's optional ``return_stderr`` is that spread divided
    by ``sqrt(B)``.

    Equal to compare_gan's value (computed in float64 rather than the features' float32) whenever
    ``n_real == n_fake``, as in every protocol of the study. For unequal sizes compare_gan's code
    sizes the generated blocks from the real ones and divides the generated within-block sum by
    the real block's ``m (m - 1)``, which is not the estimator it documents; here each block uses
    its own sizes, so the estimate stays unbiased.
    """
    real, fake = _checked_pair(real_features, fake_features)
    if int(max_block_size) != max_block_size or max_block_size < 2:
        raise ValueError(f"max_block_size must be an integer >= 2, got {max_block_size!r}")
    num_real, num_fake = real.shape[0], fake.shape[0]
    num_blocks = -(-max(num_real, num_fake) // int(max_block_size))
    if min(num_real, num_fake) < 2 * num_blocks:
        raise ValueError(
            f"KID blocks need at least 2 real and 2 generated samples per block; {num_real} real "
            f"and {num_fake} generated samples in {num_blocks} block(s) of at most "
            f"{max_block_size} leave fewer; use sets of more similar size"
        )
    real_bounds, fake_bounds = (
        block_bounds(num_real, num_blocks),
        block_bounds(num_fake, num_blocks),
    )
    estimates = np.array(
        [
            _unbiased_mmd2(
                real[real_bounds[b] : real_bounds[b + 1]], fake[fake_bounds[b] : fake_bounds[b + 1]]
            )
            for b in range(num_blocks)
        ]
    )
    return float(estimates.mean()), float(estimates.std())


def kid(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    estimator: str = "subsets",
    *,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = DEFAULT_KID_SEED,
    max_block_size: int = KID_BLOCK_SIZE,
) -> tuple[float, float]:
    """KID mean and spread by the named estimator (:data:`KID_ESTIMATORS`): ``"subsets"`` is
    :func:`kernel_inception_distance`, ``"blocks"`` is :func:`kid_blocks`."""
    if estimator == "subsets":
        return kernel_inception_distance(
            real_features, fake_features, num_subsets, subset_size, seed
        )
    if estimator == "blocks":
        return kid_blocks(real_features, fake_features, max_block_size)
    raise ValueError(
        f"unknown KID estimator {estimator!r}; choose one of {', '.join(KID_ESTIMATORS)}"
    )


def kid_notes(
    mean: float,
    num_real: int,
    num_fake: int,
    estimator: str = "subsets",
    *,
    subset_size: int = 1000,
    max_block_size: int = KID_BLOCK_SIZE,
) -> list[str]:
    """One-line explanations of a zero spread and of a negative KID, for printing with the value.

    The spread is over subsets (or blocks); when every subset is the whole of both sets, or the
    sets fit in one block, all estimates are the same number and the spread is 0 by
    construction; it says nothing about the uncertainty (use a bootstrap interval). KID is an
    unbiased estimate of MMD² >= 0, so its sampling noise is symmetric around the true value and a
    value below 0 means the two distributions are indistinguishable at this sample size
    (Bińkowski et al. 2018, section 4).
    """
    notes = []
    if estimator == "blocks" and max(num_real, num_fake) <= max_block_size:
        notes.append(
            f"kid spread is 0: {num_real} real and {num_fake} generated features fit in one block "
            f"of <= {max_block_size}, so there is a single estimate; use a bootstrap interval"
        )
    elif estimator == "subsets" and min(subset_size, num_real, num_fake) == num_real == num_fake:
        notes.append(
            f"kid spread is 0: every subset of {num_real} is the whole set, so all subset "
            "estimates are equal; use a bootstrap interval"
        )
    if mean < 0.0:
        notes.append(
            "kid is negative: the unbiased MMD² estimate fluctuates around the true value, which "
            "is 0 for identical distributions; the sets are indistinguishable at this size"
        )
    return notes
