"""FID∞: FID extrapolated to infinitely many generated samples, and FID labels with their N.

Chong & Forsyth 2020 ("Effectively Unbiased FID and Inception Score and where to find them",
CVPR, section 3) show that the expected FID of N generated samples is, to first order, linear in
1/N: ``FID_N ≈ FID_∞ + k / N``, the slope ``k`` depending on the generator. Comparing FID@N of two
models therefore mixes their quality with their slopes. FID∞ computes FID on subsets of several
sizes, fits the line in 1/N by least squares and reports its intercept. The paper draws 15 sizes
from 5k to 50k of Sobol quasi-random latents; here the subsets are drawn without replacement from
the generated features already extracted (seeded), at sizes evenly spaced in 1/N, the real side's
statistics fixed (all of its samples, or a stats file), as the paper fixes the training set's.

The fit residual (root mean square of ``FID_N - fit``) says how well the line holds; it is large
when the smallest subsets have N <= D (rank-deficient covariances), where FID_N is not linear in
1/N, which is why the default smallest size is above D.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ganmetrics.array_ops import ops_for
from ganmetrics.bootstrap import checked_side, progress_bar
from ganmetrics.errors import InputError
from ganmetrics.fid import (
    feature_statistics,
    frechet_distance_to_features,
    psd_factor,
    trace_sqrt_with_factor,
)

__all__ = ["DEFAULT_POINTS", "FidInfinity", "default_sizes", "fid_infinity", "fid_label"]

#: Chong & Forsyth 2020 fit 15 points.
DEFAULT_POINTS = 15


@dataclass(frozen=True)
class FidInfinity:
    """``value`` the intercept (FID∞), ``slope`` the coefficient of 1/N, ``residual`` the RMS fit
    residual, and the ``sizes`` and ``fids`` fitted."""

    value: float
    slope: float
    residual: float
    sizes: tuple[int, ...]
    fids: tuple[float, ...]
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sizes": list(self.sizes), "fids": list(self.fids)}


def fid_label(num: int) -> str:
    """``"FID@10k"``, ``"FID@3k"``, ``"FID@2.5k"``, ``"FID@500"``: FID named with its N."""
    num = int(num)
    if num >= 1000 and num % 100 == 0:
        return f"FID@{num / 1000:g}k"
    return f"FID@{num}"


def default_sizes(num: int, dim: int, points: int = DEFAULT_POINTS) -> list[int]:
    """Up to ``points`` subset sizes from ``max(num // 5, dim + 1)`` to ``num``, evenly spaced in
    1/N (the paper's range, 5k to 50k, is also a factor of 10 between N's; a factor of 5 keeps
    more of a 10k protocol's sizes above D = 2048)."""
    smallest = max(num // 5, dim + 1)
    if smallest >= num:
        raise InputError(
            f"FID∞ needs subsets larger than the feature dimension {dim}, but there are only "
            f"{num} generated images; generate at least {2 * (dim + 1)} images"
        )
    inverse = np.linspace(1.0 / smallest, 1.0 / num, points)
    return sorted({round(1.0 / value) for value in inverse})


class _SubsetStatistics:
    """Mean and unbiased covariance of subsets of the rows of ``features`` (N, D), sharing work.

    The rows are centred once on their full mean; a subset S of n rows has mean offset
    ``d = sum_S x / n`` and covariance ``(G_S - n d d^T) / (n - 1)`` with ``G_S = sum_S x x^T``
    (one symmetric rank-k update). For n > N / 2, ``G_S = G_all - G_rest`` over the N - n rows
    left out (``G_all`` formed once), so no Gram costs more than N / 2 rows.
    """

    def __init__(self, features: Any, ops: Any) -> None:
        self.ops = ops
        self.num = features.shape[0]
        self.centre = features.mean(0)
        self.centred = features - self.centre
        self.total = self.centred.sum(0)
        self._gram_all = None

    def __call__(self, rows: np.ndarray) -> tuple[Any, Any]:
        size = len(rows)
        if 2 * size <= self.num:
            chosen = self.ops.take(self.centred, rows)
            summed, gram = chosen.sum(0), self.ops.gram(chosen)
        else:
            if self._gram_all is None:
                self._gram_all = self.ops.gram(self.centred)
            left_out = np.ones(self.num, dtype=bool)
            left_out[rows] = False
            rest = self.ops.take(self.centred, np.flatnonzero(left_out))
            summed, gram = self.total - rest.sum(0), self._gram_all - self.ops.gram(rest)
        offset = summed / size
        covariance = gram - size * (offset[:, None] * offset[None, :])
        covariance /= size - 1
        return self.centre + offset, covariance


def fid_infinity(
    real: Any,
    fake: Any,
    sizes: list[int] | None = None,
    seed: int = 0,
    progress: bool = False,
) -> FidInfinity:
    """FID∞ of generated pool3 features ``fake`` (N, D) against ``real`` (features, or a
    ``(mu, sigma)`` pair), Chong & Forsyth 2020, section 3.

    For each size in ``sizes`` (default :func:`default_sizes`), one subset of that many generated
    features is drawn without replacement from ``numpy.random.default_rng(seed)``; its FID against
    the fixed real statistics is that of :func:`ganmetrics.fid.frechet_distance`;
    ``FID_N = FID_∞ + k / N`` is fitted by least squares.

    Work shared across the subsets: the real covariance is factored once (Cholesky) and each
    subset's cross term is ``Tr((L^T Sigma_S L)^(1/2))``; the subsets' covariances come from
    :class:`_SubsetStatistics`. Where the real covariance is rank-deficient, or a subset has no
    more rows than dimensions, that subset takes :func:`ganmetrics.fid.frechet_distance_to_features`
    as is. numpy inputs compute with numpy/scipy; torch tensors in float64 on their device (same
    subsets, same value to round-off). ``progress`` shows a bar with an ETA on stderr.
    """
    ops = ops_for(real, fake)
    fake = checked_side(fake, ops, "fake")
    if isinstance(real, tuple):
        mu_real, sigma_real = checked_side(real, ops, "real")
    else:
        mu_real, sigma_real = feature_statistics(ops.asarray(real))
    num, dim = fake.shape
    sizes = default_sizes(num, dim) if sizes is None else sorted({int(s) for s in sizes})
    if len(sizes) < 2 or sizes[0] < 2 or sizes[-1] > num:
        raise InputError(
            f"FID∞ sizes {sizes}: need at least 2 distinct sizes between 2 and the {num} "
            "generated images; pass other sizes or more images"
        )
    real_factor = psd_factor(sigma_real)
    real_terms = float(sigma_real.trace())
    subsets = _SubsetStatistics(fake, ops)
    rng = np.random.default_rng(seed)
    fids = []
    with progress_bar(len(sizes), "FID∞ subsets", progress) as bar:
        for size in sizes:
            rows = rng.choice(num, size, replace=False)
            if size <= dim or not real_factor.lower_triangular:
                fids.append(frechet_distance_to_features(mu_real, sigma_real,
                                                         ops.take(fake, rows)))  # fmt: skip
            else:
                mu, sigma = subsets(rows)
                difference = mu_real - mu
                cross = trace_sqrt_with_factor(real_factor, sigma)
                fids.append(float(difference @ difference) + real_terms
                            + float(sigma.trace()) - 2.0 * cross)  # fmt: skip
            bar.update(1)
    inverse = 1.0 / np.asarray(sizes, dtype=np.float64)
    design = np.stack([np.ones_like(inverse), inverse], axis=1)
    (intercept, slope), *_ = np.linalg.lstsq(design, np.asarray(fids), rcond=None)
    residual = float(np.sqrt(np.mean((design @ [intercept, slope] - fids) ** 2)))
    return FidInfinity(float(intercept), float(slope), residual, tuple(sizes),
                       tuple(float(f) for f in fids), int(seed))  # fmt: skip
