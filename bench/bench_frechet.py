"""Benchmark: ganmetrics' eigenvalue Fréchet distance against the scipy.linalg.sqrtm route.

Builds realistic 2048-d FID statistics (mean and covariance of N correlated Gaussian features with a
power-law spectrum, as Inception pool3 covariances have), then times, in the same run,

* ``ganmetrics.fid.frechet_distance`` (Cholesky / eigh factor + ``eigvalsh``), the same function
  at an earlier commit (``--reference``, default 6a6f444: ``dsyev`` instead of ``dsyevd``), and
* ``pytorch_fid.fid_score.calculate_frechet_distance`` (``scipy.linalg.sqrtm`` of Σ1Σ2, the TTUR
  route), optionally also torch-fidelity 0.4.0's ``fid_statistics_to_metric`` (``eigvals``),

reports the median of several repeats as a markdown table (times, speed ratio, relative difference
of the values) and writes bench/results/frechet.json.

    python bench/bench_frechet.py [--dim 2048] [--samples 10000] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "frechet.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dim", type=int, default=2048, help="feature dimension D")
    parser.add_argument("--samples", type=int, default=10000, help="samples per set N")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of ours")
    parser.add_argument(
        "--reference-repeats", type=int, default=3, help="timed runs of each reference route"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS threads (sets OPENBLAS/OMP/MKL_NUM_THREADS); default: the library's choice",
    )
    parser.add_argument(
        "--torch-fidelity", action="store_true", help="also time torch-fidelity's eigvals route"
    )
    parser.add_argument(
        "--reference", default="6a6f444", help="also time frechet_distance of this commit ('')"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results path")
    return parser.parse_args(argv)


def make_statistics(dim: int, samples: int, seed: int):
    """(mu, sigma) of a 'real' and a 'generated' set: Gaussian features X = Z diag(s) Q^T + m with
    a power-law spectrum s_i = 5 (i + 1)^-0.75 (condition number of sigma about 1e5) and a random
    rotation Q; the generated set has a perturbed spectrum, a slightly tilted basis and a shifted
    mean, which puts FID in the tens, like a decent GAN's."""
    import numpy as np

    from ganmetrics.fid import feature_statistics

    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    spectrum = 5.0 * (np.arange(dim) + 1.0) ** -0.75
    real_mixing = spectrum[:, None] * rotation.T
    fake_spectrum = spectrum * rng.uniform(0.7, 1.3, dim)
    tilt = np.eye(dim) + 0.05 * rng.standard_normal((dim, dim)) / np.sqrt(dim)
    fake_mixing = (fake_spectrum[:, None] * rotation.T) @ tilt
    real_mean = rng.uniform(0.0, 1.0, dim)
    fake_mean = real_mean + 0.02 * rng.standard_normal(dim)
    real = rng.standard_normal((samples, dim)) @ real_mixing + real_mean
    fake = rng.standard_normal((samples, dim)) @ fake_mixing + fake_mean
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return feature_statistics(real), feature_statistics(fake)


def time_route(function, arguments, repeats: int) -> tuple[list[float], float]:
    times, value = [], float("nan")
    for _ in range(repeats):
        start = time.perf_counter()
        value = float(function(*arguments))
        times.append(time.perf_counter() - start)
    return times, value


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = str(args.threads)

    import numpy as np
    import scipy
    from pytorch_fid.fid_score import calculate_frechet_distance

    from ganmetrics.atomic import write_json
    from ganmetrics.fid import frechet_distance

    started = time.perf_counter()
    (mu1, sigma1), (mu2, sigma2) = make_statistics(args.dim, args.samples, args.seed)
    setup_seconds = time.perf_counter() - started
    arguments = (mu1, sigma1, mu2, sigma2)

    routes = {
        "ganmetrics (Cholesky/eigh + eigvalsh)": (frechet_distance, args.repeats),
        "pytorch-fid (scipy.linalg.sqrtm)": (calculate_frechet_distance, args.reference_repeats),
    }
    if args.reference:
        import tempfile

        from bench_bootstrap import load_reference

        folder = tempfile.mkdtemp(prefix="bench-frechet-")
        old_fid = load_reference(args.reference, Path(folder))["fid"]
        routes[f"ganmetrics at {args.reference}"] = (
            old_fid.frechet_distance,
            args.reference_repeats,
        )
    if args.torch_fidelity:
        from torch_fidelity.metric_fid import fid_statistics_to_metric

        def torch_fidelity_route(m1, s1, m2, s2):
            stats_1, stats_2 = {"mu": m1, "sigma": s1}, {"mu": m2, "sigma": s2}
            return fid_statistics_to_metric(stats_1, stats_2, False)["frechet_inception_distance"]

        routes["torch-fidelity 0.4.0 (numpy eigvals)"] = (
            torch_fidelity_route,
            args.reference_repeats,
        )

    frechet_distance(*arguments)  # warm-up: first-call overheads are not the algorithm
    measured: dict[str, dict] = {name: {"times": []} for name in routes}
    for round_index in range(max(repeats for _, repeats in routes.values())):
        for name, (function, repeats) in routes.items():  # interleaved: same machine load
            if round_index < repeats:
                times, value = time_route(function, arguments, 1)
                measured[name]["times"] += times
                measured[name]["value"] = value

    ours_name = next(iter(routes))
    ours = measured[ours_name]
    ours["median_s"] = statistics.median(ours["times"])
    rows = []
    for name, result in measured.items():
        result["median_s"] = statistics.median(result["times"])
        result["speedup_of_ours"] = result["median_s"] / ours["median_s"]
        result["relative_difference"] = abs(ours["value"] - result["value"]) / abs(result["value"])
        rows.append(
            f"| {name} | {result['median_s']:.3f} | {len(result['times'])} | "
            f"{result['speedup_of_ours']:.1f}× | {result['value']:.10g} | "
            f"{result['relative_difference']:.2e} |"
        )

    print(f"D={args.dim}, N={args.samples} per set, BLAS threads={args.threads or 'default'}, "
          f"load average={os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print()
    print("| route | median s | runs | its time / ours | FID | rel. diff. to ours |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))

    write_json(
        args.out,
        {
            "dim": args.dim,
            "samples": args.samples,
            "seed": args.seed,
            "blas_threads": args.threads,
            "setup_seconds": round(setup_seconds, 3),
            "routes": measured,
            "environment": {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "load_average_1min": os.getloadavg()[0],
            },
        },
    )
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
