"""Benchmark: the FID bootstrap with resampling weights against the naive loop.

Both draw B resamples of N real and N generated D-dimensional features (correlated Gaussians with a
power-law spectrum, like pool3 features) and compute each resample's FID with
``ganmetrics.fid.frechet_distance``:

* ``weights``: ``ganmetrics.bootstrap.fid_interval`` (multinomial counts; all means in one product,
  each covariance from the weighted, once-centred features, no copies);
* ``naive``: for each resample, gather ``X[idx]`` on both sides and recompute
  ``ganmetrics.fid.feature_statistics`` from scratch.

    python bench/bench_bootstrap.py [--samples 2000] [--dim 2048] [--resamples 50] [--threads 0]

Prints seconds per resample of each and their ratio, and the time spent in the covariances alone.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--resamples", type=int, default=50)
    parser.add_argument("--threads", type=int, default=0, help="BLAS threads (0: library default)")
    args = parser.parse_args()
    if args.threads:
        for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[key] = str(args.threads)

    import numpy as np

    from ganmetrics.bootstrap import _resampled_statistics, fid_interval, resample_counts
    from ganmetrics.fid import FewSamplesWarning, feature_statistics, frechet_distance

    warnings.simplefilter("ignore", FewSamplesWarning)
    rng = np.random.default_rng(0)
    scales = np.arange(1, args.dim + 1) ** -0.5
    mixing = rng.standard_normal((args.dim, args.dim)) / np.sqrt(args.dim)
    real = (rng.standard_normal((args.samples, args.dim)) * scales) @ mixing
    fake = (rng.standard_normal((args.samples, args.dim)) * scales * 1.1) @ mixing + 0.01
    b = args.resamples
    frechet_distance(*feature_statistics(real), *feature_statistics(fake))  # warm up BLAS

    started = time.perf_counter()
    interval = fid_interval(real, fake, num_resamples=b, seed=0, method="percentile")
    weights_seconds = time.perf_counter() - started
    print(f"weights: {weights_seconds:.1f} s", flush=True)

    started = time.perf_counter()
    draws = np.random.default_rng(0)
    naive_scores = []
    for _ in range(b):
        stats_real = feature_statistics(real[draws.integers(0, args.samples, args.samples)])
        stats_fake = feature_statistics(fake[draws.integers(0, args.samples, args.samples)])
        naive_scores.append(frechet_distance(*stats_real, *stats_fake))
    naive_seconds = time.perf_counter() - started
    print(f"naive: {naive_seconds:.1f} s", flush=True)

    counts = resample_counts(args.samples, b, np.random.default_rng(1))
    started = time.perf_counter()
    for _ in _resampled_statistics(real, counts):
        pass
    weights_cov = time.perf_counter() - started
    started = time.perf_counter()
    for row in counts:
        feature_statistics(np.repeat(real, row.astype(int), axis=0))
    naive_cov = time.perf_counter() - started

    print(f"N={args.samples} D={args.dim} B={b} threads={args.threads or 'default'}")
    print(f"weights: {weights_seconds:.1f} s ({weights_seconds / b:.2f} s/resample)")
    print(f"naive:   {naive_seconds:.1f} s ({naive_seconds / b:.2f} s/resample)")
    print(f"speed-up {naive_seconds / weights_seconds:.2f}x")
    print(f"covariances of one side only: weights {weights_cov:.1f} s, naive {naive_cov:.1f} s "
          f"({naive_cov / weights_cov:.2f}x)")  # fmt: skip
    print(f"interval [{interval.low:.4f}, {interval.high:.4f}], naive median "
          f"{np.median(naive_scores):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
