"""Inception Score from already-extracted Inception logits.

IS (Salimans et al. 2016, "Improved Techniques for Training GANs", section 4;
"The GAN Landscape", Kurach et al. 2019, section 2.4) is
``exp(E_x KL(p(y|x) || p(y)))``, with ``p(y|x)`` the softmax of the Inception classifier and
``p(y)`` its average over the generated images.

The computation reproduces torch-fidelity 0.4.0's ``isc_features_to_metric`` step for step on its
``logits_unbiased`` (N, 1008): a ``numpy.random.RandomState(seed).permutation(N)`` shuffle, float64
softmax, ``splits`` contiguous chunks ``[i*N // splits, (i+1)*N // splits)``, a score per chunk with
``p(y)`` the chunk's mean, and mean and ``numpy.std`` (ddof 0) over the chunks. ``splits=1`` gives
the single score of TF-GAN / compare_gan (std 0).
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_IS_SEED", "class_probabilities", "inception_score", "split_scores"]

#: torch-fidelity 0.4.0's default ``rng_seed`` (``torch_fidelity/defaults.py``).
DEFAULT_IS_SEED = 2020


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def class_probabilities(logits_unbiased: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validated float64 ``(p(y|x), log p(y|x))`` (N, classes) from Inception logits."""
    logits = np.asarray(logits_unbiased)
    if logits.ndim != 2:
        raise ValueError(
            f"logits_unbiased must be a 2-D array of shape (N, classes), got shape {logits.shape}"
        )
    logits = np.asarray(logits, dtype=np.float64)
    if not np.isfinite(logits).all():
        raise ValueError("logits_unbiased contain NaN or infinite values; check the extractor")
    log_p = _log_softmax(logits)
    return np.exp(log_p), log_p


def split_scores(p: np.ndarray, log_p: np.ndarray, splits: int) -> np.ndarray:
    """IS of each of ``splits`` contiguous chunks ``[i*N // splits, (i+1)*N // splits)``, with
    ``p(y)`` the chunk's mean (Salimans et al. 2016, section 4)."""
    num_samples = p.shape[0]
    scores = np.empty(splits, dtype=np.float64)
    for index in range(splits):
        chunk = slice(index * num_samples // splits, (index + 1) * num_samples // splits)
        p_chunk, log_p_chunk = p[chunk], log_p[chunk]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_marginal = np.log(p_chunk.mean(axis=0, keepdims=True))
            terms = np.where(p_chunk > 0, p_chunk * (log_p_chunk - log_marginal), 0.0)
        scores[index] = np.exp(terms.sum(axis=1).mean())
    return scores


def inception_score(
    logits_unbiased: np.ndarray,
    splits: int = 10,
    seed: int = DEFAULT_IS_SEED,
    shuffle: bool = True,
) -> tuple[float, float]:
    """Inception Score mean and standard deviation over ``splits`` chunks, in float64.

    ``IS = exp(mean_x KL(p(y|x) || p(y)))`` per chunk (Salimans et al. 2016, section 4), where
    ``p(y|x) = softmax(logits)`` and ``p(y)`` is the mean of ``p(y|x)`` over the chunk. The rows
    are first shuffled with ``RandomState(seed).permutation(N)`` (skipped with ``shuffle=False``),
    exactly as torch-fidelity 0.4.0's ``isc_features_to_metric`` with ``rng_seed=seed`` (default
    2020, :data:`DEFAULT_IS_SEED`) and ``isc_splits=splits``; with equal arguments the numbers are
    theirs to round-off. ``splits=1`` is the single-score TF-GAN / compare_gan convention.

    One difference: a class whose probability underflows to 0 for every image of a chunk
    contributes ``0 · log 0 = 0`` here, where torch-fidelity returns NaN.
    """
    p, log_p = class_probabilities(logits_unbiased)
    num_samples = p.shape[0]
    if int(splits) != splits or splits < 1:
        raise ValueError(f"splits must be a positive integer, got {splits!r}")
    splits = int(splits)
    if num_samples < splits:
        raise ValueError(
            f"{num_samples} samples cannot be divided into {splits} splits; "
            "use fewer splits or more samples"
        )
    if shuffle:
        order = np.random.RandomState(seed).permutation(num_samples)
        p, log_p = p[order], log_p[order]
    scores = split_scores(p, log_p, splits)
    return float(np.mean(scores)), float(np.std(scores))
