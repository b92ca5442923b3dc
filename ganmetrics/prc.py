"""k-NN precision/recall and density/coverage on already-extracted Inception features.

Both pairs estimate each distribution's support ("manifold") as the union of balls around its
samples, each ball's radius being the distance to the sample's k-th nearest neighbour within its
own set (the sample itself excluded).

* Precision and recall: Kynkäänniemi, Karras, Laine, Lehtinen & Aila 2019, "Improved Precision and
  Recall Metric for Assessing Generative Models", section 2, k = 3. A point lies in a
  manifold when ``||x - c|| <= radius(c)`` for some centre ``c`` (inclusive, as in the paper's
  definition, its reference code and torch-fidelity 0.4.0's ``metric_prc``).
* Density and coverage: Naeem, Oh, Uh, Choi & Yoo 2020, "Reliable Fidelity and Diversity Metrics
  for Generative Models", section 3, k = 5 by default. Ball membership is strict
  (``||x - c|| < radius(c)``), as in the authors' reference code
  (clovaai/generative-evaluation-prdc).

Distances come from ``||a||^2 + ||b||^2 - 2 a·b`` in float64, block by block (a block of rows
against the whole other set), so 10k × 10k features of dimension 2048 never need more than a few
hundred MB. float64 matters: in float32 that expansion loses about 1e-7 of ``||a||^2`` to
cancellation, which is enough to flip points lying near a ball's boundary, so results would depend
on the BLAS; the reference implementations compute in float32. Radii and distances are compared
squared (the same ordering as comparing distances).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ganmetrics.feature_matrix import as_feature_matrix

__all__ = ["density_coverage", "precision_recall"]

_BLOCK_ELEMENTS = 1 << 23  # 64 MiB of float64 per distance block


def _check_pair(real: np.ndarray, fake: np.ndarray) -> None:
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real features have {real.shape[1]} dimensions but fake features have "
            f"{fake.shape[1]}; use features from the same network layer"
        )


def _check_k(k: int, features: np.ndarray, name: str) -> int:
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if features.shape[0] <= k:
        raise ValueError(
            f"{name} has {features.shape[0]} samples; a k={k} nearest-neighbour radius needs at "
            f"least {int(k) + 1}"
        )
    return int(k)


def _block_rows(num_columns: int, block_rows: int | None) -> int:
    if block_rows is not None:
        return max(1, int(block_rows))
    return max(1, _BLOCK_ELEMENTS // max(1, num_columns))


def _squared_distances(
    rows: np.ndarray, rows_sq_norms: np.ndarray, columns: np.ndarray, columns_sq_norms: np.ndarray
) -> np.ndarray:
    """``||rows_i - columns_j||^2`` (clamped at 0) via ``||a||^2 + ||b||^2 - 2 a·b``."""
    distances = rows @ columns.T
    distances *= -2.0
    distances += rows_sq_norms[:, None]
    distances += columns_sq_norms[None, :]
    np.maximum(distances, 0.0, out=distances)
    return distances


def _distance_blocks(
    rows: np.ndarray,
    rows_sq_norms: np.ndarray,
    columns: np.ndarray,
    columns_sq_norms: np.ndarray,
    block_rows: int | None,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(start, stop, squared distances of rows[start:stop] to every column)``, block by block."""
    count = rows.shape[0]
    step = _block_rows(columns.shape[0], block_rows)
    for start in range(0, count, step):
        stop = min(start + step, count)
        yield (
            start,
            stop,
            _squared_distances(
                rows[start:stop], rows_sq_norms[start:stop], columns, columns_sq_norms
            ),
        )


def _knn_squared_radii(
    features: np.ndarray, sq_norms: np.ndarray, k: int, block_rows: int | None
) -> np.ndarray:
    """Squared distance from each sample to its k-th nearest neighbour in the same set, itself
    excluded (by index; duplicates of a sample count as neighbours at distance 0)."""
    radii = np.empty(features.shape[0], dtype=np.float64)
    blocks = _distance_blocks(features, sq_norms, features, sq_norms, block_rows)
    for start, stop, distances in blocks:
        rows = np.arange(stop - start)
        distances[rows, start + rows] = np.inf
        radii[start:stop] = np.partition(distances, k - 1, axis=1)[:, k - 1]
    return radii


def precision_recall(
    real: np.ndarray, fake: np.ndarray, k: int = 3, *, block_rows: int | None = None
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019, section 2), k = 3 by default.

    Precision is the fraction of generated samples inside the real manifold (some real sample's
    k-NN ball, boundary included); recall is the fraction of real samples inside the generated
    manifold. Radii exclude the sample itself. This is torch-fidelity 0.4.0's
    ``prc_features_to_metric(fake, real, prc_neighborhood=k)`` (its ``input1`` is the generated
    set), which matches the paper and its reference code; ours computes in float64 whatever the
    input dtype. ``block_rows`` bounds memory (rows of each distance block; default: 64 MiB blocks).
    """
    real = as_feature_matrix(real, "real")
    fake = as_feature_matrix(fake, "fake")
    _check_pair(real, fake)
    k = _check_k(k, real, "real")
    _check_k(k, fake, "fake")
    real_sq_norms = np.einsum("ij,ij->i", real, real)
    fake_sq_norms = np.einsum("ij,ij->i", fake, fake)
    real_radii = _knn_squared_radii(real, real_sq_norms, k, block_rows)
    fake_radii = _knn_squared_radii(fake, fake_sq_norms, k, block_rows)

    fake_in_real_manifold = np.zeros(fake.shape[0], dtype=bool)
    real_in_fake_manifold = np.zeros(real.shape[0], dtype=bool)
    blocks = _distance_blocks(fake, fake_sq_norms, real, real_sq_norms, block_rows)
    for start, stop, distances in blocks:
        fake_in_real_manifold[start:stop] = (distances <= real_radii[None, :]).any(axis=1)
        real_in_fake_manifold |= (distances <= fake_radii[start:stop, None]).any(axis=0)
    return float(fake_in_real_manifold.mean()), float(real_in_fake_manifold.mean())


def density_coverage(
    real: np.ndarray, fake: np.ndarray, k: int = 5, *, block_rows: int | None = None
) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020, section 3), k = 5 by default.

    With real k-NN radii ``r_i`` (the sample itself excluded), M generated samples ``y_j`` and
    N real samples ``x_i``::

        density  = 1 / (k M) * sum_j sum_i 1[||y_j - x_i|| < r_i]
        coverage = 1 / N     * sum_i 1[exists j: ||y_j - x_i|| < r_i]

    Strict inequality, as in the authors' reference code. Density is not bounded by 1 (it is about 1
    when both sets come from the same distribution); coverage is in [0, 1]. float64 throughout;
    ``block_rows`` bounds memory as in :func:`precision_recall`.
    """
    real = as_feature_matrix(real, "real")
    fake = as_feature_matrix(fake, "fake")
    _check_pair(real, fake)
    if fake.shape[0] < 1:
        raise ValueError("fake has no samples; density and coverage need at least one")
    k = _check_k(k, real, "real")
    real_sq_norms = np.einsum("ij,ij->i", real, real)
    fake_sq_norms = np.einsum("ij,ij->i", fake, fake)
    real_radii = _knn_squared_radii(real, real_sq_norms, k, block_rows)

    balls_containing_fakes = 0
    real_covered = np.zeros(real.shape[0], dtype=bool)
    for _, _, distances in _distance_blocks(fake, fake_sq_norms, real, real_sq_norms, block_rows):
        inside = distances < real_radii[None, :]
        balls_containing_fakes += int(np.count_nonzero(inside))
        real_covered |= inside.any(axis=0)
    density = balls_containing_fakes / (k * fake.shape[0])
    return float(density), float(real_covered.mean())
