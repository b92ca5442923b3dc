"""Benchmark: the CPU metric stage at protocol size against the code of an earlier commit.

Issue 15 (part 3) targets, at 10k real vs 10k generated 2048-d features on 2 cores: ``--bootstrap
100`` FID in at most 5 min and FID∞ in at most 30 s, results unchanged beyond 1e-9 relative.
This script times, in one run on the same features (correlated Gaussians with a power-law
spectrum, as pool3 features have):

* ``fid_interval`` of the earlier commit (``--reference``, default 6a6f444, the code before the
  speed-up; its ``fid.py``, ``bootstrap.py`` and ``fid_infinity.py`` are read with ``git show``
  into a temporary package) and of this checkout, both with ``--reference-resamples`` B (few: the
  old code takes seconds per resample), the same seed, so the intervals must agree;
* this checkout's ``fid_interval`` with ``--resamples`` B (100, the target);
* ``fid_infinity`` of both (the same 15 seeded subsets), each subset's FID compared.

Prints markdown rows (seconds, seconds per resample, old/new ratio, largest relative difference)
with the 1-minute load average before each timing, and writes bench/results/metric_stage.json.

    python bench/bench_bootstrap.py [--samples 10000] [--dim 2048] [--resamples 100]
        [--reference-resamples 5] [--reference 6a6f444] [--threads 0]
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "bench" / "results" / "metric_stage.json"
OLD_MODULES = ("fid", "bootstrap", "fid_infinity")


def load_reference(commit: str, folder: Path):
    """The metric-stage modules of ``commit`` as a package ``reference_stage`` (their imports of
    each other rewritten to stay inside it; the rest of ganmetrics is this checkout's)."""
    package = folder / "reference_stage"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in OLD_MODULES:
        source = subprocess.run(["git", "show", f"{commit}:ganmetrics/{name}.py"], cwd=REPO,
                                check=True, capture_output=True, text=True).stdout  # fmt: skip
        for other in OLD_MODULES:
            source = source.replace(f"from ganmetrics.{other} import",
                                    f"from reference_stage.{other} import")  # fmt: skip
        (package / f"{name}.py").write_text(source)
    sys.path.insert(0, str(folder))
    return {name: importlib.import_module(f"reference_stage.{name}") for name in OLD_MODULES}


def make_features(samples: int, dim: int, seed: int):
    """Real and generated features: ``Z diag(s) Q^T + m``, ``s_i = 5 (i + 1)^-0.75``, the generated
    side with a perturbed spectrum, a tilted basis and a shifted mean (FID in the tens)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    spectrum = 5.0 * (np.arange(dim) + 1.0) ** -0.75
    tilt = np.eye(dim) + 0.05 * rng.standard_normal((dim, dim)) / np.sqrt(dim)
    real_mixing = spectrum[:, None] * rotation.T
    fake_mixing = ((spectrum * rng.uniform(0.7, 1.3, dim))[:, None] * rotation.T) @ tilt
    mean = rng.uniform(0.0, 1.0, dim)
    real = rng.standard_normal((samples, dim)) @ real_mixing + mean
    fake = rng.standard_normal((samples, dim)) @ fake_mixing + mean + 0.02
    return real, fake


def timed(function, *args, **kwargs):
    load = os.getloadavg()[0]
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started, load


def relative(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def interval_values(interval) -> list[float]:
    return [interval.low, interval.high, interval.std, interval.estimate]


def compare_with_reference(commit: str, resamples: int, real, fake, results, rows) -> float:
    """Time the bootstrap (``resamples``) and FID∞ of ``commit`` and of this checkout; add the
    rows; return the old bootstrap's seconds."""
    from ganmetrics.bootstrap import fid_interval
    from ganmetrics.fid_infinity import fid_infinity

    with tempfile.TemporaryDirectory() as folder:
        old = load_reference(commit, Path(folder))
        old_interval, old_s, old_load = timed(old["bootstrap"].fid_interval, real, fake, resamples)
        new_interval, new_s, new_load = timed(fid_interval, real, fake, resamples)
        difference = relative(interval_values(new_interval), interval_values(old_interval))
        results["bootstrap_small"] = {"resamples": resamples, "old_s": old_s, "new_s": new_s,
                                      "max_relative_difference": difference,
                                      "load": [old_load, new_load]}  # fmt: skip
        rows.append(
            f"| bootstrap B={resamples} (+ estimate) | {old_s:.1f} ({old_load:.1f}) | "
            f"{new_s:.1f} ({new_load:.1f}) | {old_s / new_s:.2f}× | {difference:.1e} |"
        )
        print(rows[-1], flush=True)
        old_inf, old_inf_s, old_load = timed(old["fid_infinity"].fid_infinity, real, fake)
    new_inf, new_inf_s, new_load = timed(fid_infinity, real, fake)
    difference = max(relative(new_inf.fids, old_inf.fids), relative(new_inf.value, old_inf.value))
    results["fid_infinity"] = {"old_s": old_inf_s, "new_s": new_inf_s, "sizes": new_inf.sizes,
                               "max_relative_difference": difference, "value": new_inf.value,
                               "load": [old_load, new_load]}  # fmt: skip
    rows.append(f"| FID∞, {len(new_inf.sizes)} subsets | {old_inf_s:.1f} ({old_load:.1f}) | "
                f"{new_inf_s:.1f} ({new_load:.1f}) | {old_inf_s / new_inf_s:.2f}× | "
                f"{difference:.1e} |")  # fmt: skip
    print(rows[-1], flush=True)
    return old_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--resamples", type=int, default=100)
    parser.add_argument(
        "--reference-resamples",
        type=int,
        default=5,
        help="resamples of the old and new bootstrap compared (0: no reference)",
    )
    parser.add_argument("--reference", default="6a6f444", help="commit of the code to beat")
    parser.add_argument("--threads", type=int, default=0, help="BLAS threads (0: default)")
    parser.add_argument("--skip-full", action="store_true", help="skip the B = --resamples run")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.threads:
        for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[key] = str(args.threads)

    import numpy as np
    import scipy

    from ganmetrics.atomic import write_json
    from ganmetrics.bootstrap import fid_interval
    from ganmetrics.fid import FewSamplesWarning
    from ganmetrics.fid_infinity import fid_infinity

    warnings.simplefilter("ignore", FewSamplesWarning)
    real, fake = make_features(args.samples, args.dim, seed=0)
    results: dict = {"samples": args.samples, "dim": args.dim, "reference": args.reference}
    rows = []
    b_small = args.reference_resamples
    if b_small:
        old_s = compare_with_reference(args.reference, b_small, real, fake, results, rows)
    else:  # this checkout only
        old_s = float("nan")
        new_inf, new_inf_s, new_load = timed(fid_infinity, real, fake)
        results["fid_infinity"] = {"new_s": new_inf_s, "load": new_load, "value": new_inf.value}
        rows.append(f"| FID∞, {len(new_inf.sizes)} subsets | — | {new_inf_s:.1f} ({new_load:.1f})"
                    " | — | — |")  # fmt: skip

    if not args.skip_full:
        b = args.resamples
        interval, full_s, load = timed(fid_interval, real, fake, b)
        per_resample_old = old_s / (b_small + 1)
        projected_old = per_resample_old * (b + 1)
        results["bootstrap_full"] = {"resamples": b, "new_s": full_s, "load": load,
                                     "old_projected_s": projected_old,
                                     "interval": interval.to_dict()}  # fmt: skip
        rows.append(f"| bootstrap B={b} (+ estimate) | {projected_old:.0f} projected from "
                    f"{per_resample_old:.2f} s/FID | {full_s:.1f} ({load:.1f}) | "
                    f"{projected_old / full_s:.2f}× | — |")  # fmt: skip

    header = (
        f"N={args.samples} vs {args.samples}, D={args.dim}, BLAS threads="
        f"{args.threads or 'default'}, {os.cpu_count()} CPUs; (load average before each)"
    )
    print(f"\n{header}\n")
    print(f"| stage | {args.reference} s (load) | new s (load) | old / new | max rel. diff. |")
    print("|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    results["environment"] = {"python": platform.python_version(), "numpy": np.__version__,
                              "scipy": scipy.__version__, "platform": platform.platform(),
                              "cpu_count": os.cpu_count()}  # fmt: skip
    write_json(args.out, results)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
