"""CMMD: the MMD between CLIP embeddings under a Gaussian kernel (Jayasumana et al., CVPR 2024,
"Rethinking FID: Towards a Better Evaluation Metric for Image Generation", eq. 3).

The estimator and constants are those of the reference code, google-research ``cmmd/distance.py``
``mmd()``: the biased (minimum-variance, V-statistic) MMD² of Gretton et al. (JMLR 2012, eq. 5),
every pair including ``i = j``, kernel ``k(x, y) = exp(−‖x − y‖² / (2σ²))`` with σ = 10, and the
result scaled by 1000. The squared distances are formed as the reference forms them,
``‖x‖² + ‖y‖² − 2 x·y``, here in float64 (the reference runs in JAX float32) and by blocks of rows,
so memory stays O(block × N). The embeddings are those of the ``clip-vitl14-336`` encoder.

:func:`cmmd_interval` resamples both sides with replacement (the percentile bootstrap of
:mod:`ganmetrics.bootstrap`); each resample is weighted by its multinomial counts ``c``, the
cross term ``c_xᵀ K_xy c_y / (N M)``, the within terms over pairs of distinct images (see
:func:`_within`; as the KID bootstrap leaves out pairs of copies), all resamples from one pass
over the kernel blocks.
"""

from __future__ import annotations

import numpy as np

from ganmetrics.feature_matrix import as_feature_matrix

SIGMA = 10.0
SCALE = 1000.0
_BLOCK = 2048


def _gaussian_block(x: np.ndarray, y: np.ndarray, x_sq: np.ndarray, y_sq: np.ndarray):
    gamma = 1.0 / (2.0 * SIGMA**2)
    return np.exp(-gamma * (-2.0 * (x @ y.T) + x_sq[:, None] + y_sq[None, :]))


def _weighted_kernel_sums(
    x: np.ndarray, y: np.ndarray, wx: np.ndarray, wy: np.ndarray, same: bool
) -> tuple[np.ndarray, float]:
    """``(wx[r] @ K(x, y) @ wy[r]`` for every row r of the weights, the sum of ``K``'s diagonal)``
    by blocks of rows of x; with ``same`` (x is y) the diagonal is left out of the products."""
    x_sq, y_sq = np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", y, y)
    totals, diagonal = np.zeros(wx.shape[0]), 0.0
    for start in range(0, x.shape[0], _BLOCK):
        stop = min(start + _BLOCK, x.shape[0])
        kernel = _gaussian_block(x[start:stop], y, x_sq[start:stop], y_sq)
        if same:
            rows = np.arange(stop - start)
            diagonal += float(kernel[rows, start + rows].sum())
            kernel[rows, start + rows] = 0.0
        totals += np.einsum("ri,ri->r", wx[:, start:stop], wy @ kernel.T)
    return totals, diagonal


def _within(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean of ``K(x, x)`` over all N² pairs, the diagonal included (the reference's ``k_xx``).

    With resample counts, the off-diagonal mean is taken over pairs of distinct images
    (``Σ_{i≠j} c_i c_j K_ij / (N² − Σ c_i²)``): copies of one image would otherwise add
    ``k(x, x) = 1`` terms that the full-sample estimate does not have. With all counts 1 this is
    the reference's mean exactly.
    """
    num = x.shape[0]
    off, diagonal = _weighted_kernel_sums(x, x, counts, counts, same=True)
    pairs = num**2 - np.einsum("ri,ri->r", counts, counts)
    off_mean = np.divide(off, pairs, out=np.zeros_like(off), where=pairs > 0)
    return (diagonal + (num**2 - num) * off_mean) / num**2


def _scores(x: np.ndarray, y: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    cross, _ = _weighted_kernel_sums(x, y, cx, cy, same=False)
    k_xy = cross / (x.shape[0] * y.shape[0])
    return SCALE * (_within(x, cx) + _within(y, cy) - 2.0 * k_xy)


def _pair(real, fake) -> tuple[np.ndarray, np.ndarray]:
    real = as_feature_matrix(real, "real embeddings").astype(np.float64)
    fake = as_feature_matrix(fake, "generated embeddings").astype(np.float64)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"embedding widths differ: {real.shape[1]} and {fake.shape[1]}")
    return real, fake


def cmmd(real: np.ndarray, fake: np.ndarray) -> float:
    """CMMD between (N, D) and (M, D) embeddings (the reference's ``mmd(x, y)``)."""
    x, y = _pair(real, fake)
    return float(_scores(x, y, np.ones((1, len(x))), np.ones((1, len(y))))[0])


def cmmd_interval(real, fake, num_resamples: int = 100, seed: int = 0,
                  confidence: float = 0.95, method: str = "percentile"):  # fmt: skip
    """Bootstrap interval of CMMD (see the module docstring)."""
    from ganmetrics.bootstrap import _check_options, bootstrap_interval, resample_counts

    _check_options(num_resamples, confidence, method)
    x, y = _pair(real, fake)
    rng = np.random.default_rng(seed)
    cx = np.vstack([np.ones((1, len(x))), resample_counts(len(x), int(num_resamples), rng)])
    cy = np.vstack([np.ones((1, len(y))), resample_counts(len(y), int(num_resamples), rng)])
    scores = _scores(x, y, cx, cy)
    return bootstrap_interval(scores[1:], scores[0], confidence, seed, method)


__all__ = ["SCALE", "SIGMA", "cmmd", "cmmd_interval"]
