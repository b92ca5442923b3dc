"""Hyperparameter sweeps with the protocol of "The GAN Landscape" (Kurach, Lucic et al. 2019).

* ``table1a``: the cross product of Table 1a's fixed values - learning rate in {0.0002, 0.0001,
  0.001}, (beta1, beta2, n_disc) in {(0.5, 0.9, 5), (0.5, 0.999, 1), (0.5, 0.999, 5),
  (0.9, 0.999, 5)} and, for penalised models only, lambda in {1, 10}: 24 settings with a penalty,
  12 without (section 2.6: "the cross product of these parameters to obtain 24 hyperparameter
  settings").
* ``random:N``: N settings drawn (seeded) from Table 1b's ranges - learning rate log-uniform in
  [1e-5, 1e-2], lambda log-uniform in [1e-4, 1e1] for L2 and [1e-1, 1e2] otherwise, beta1 and beta2
  uniform in [0, 1) and n_disc in {1, 5} (section 2.6: "we explore the number of discriminator
  updates per generator update (1 or 5)"). The paper picks points from these ranges by Gaussian
  Process bandit optimization; uniform random sampling of the same ranges is the simple stand-in.

Every setting is trained with ``--seeds`` seeds (section 3: "Each model was retrained 5 times with a
different random seed and we report the median score"), each in its own resumable run folder
``OUT/<setting>/seed<k>``; finished runs are skipped. The summary reports median and best FID over
the seeds of each setting, as Tables 7-9 do.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import json
import math
import multiprocessing
import statistics
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ganmetrics.atomic import atomic_write, write_json
from ganmetrics.errors import InputError
from ganmetrics_train.config import TrainConfig, config_from_dict, resolve_config

TABLE_1A_LEARNING_RATES = (0.0002, 0.0001, 0.001)
TABLE_1A_LAMBDAS = (1.0, 10.0)
TABLE_1A_BETAS_N_DISC = ((0.5, 0.9, 5), (0.5, 0.999, 1), (0.5, 0.999, 5), (0.9, 0.999, 5))
#: Table 1b: (low, high) of each range, all but the betas log-uniform.
TABLE_1B_LEARNING_RATE = (1e-5, 1e-2)
TABLE_1B_LAMBDA_L2 = (1e-4, 1e1)
TABLE_1B_LAMBDA = (1e-1, 1e2)
TABLE_1B_N_DISC = (1, 5)
ENGINES = ("local", "ray")
#: The fields a sweep sets in every run (the grid, the seed, the run folder); the fixed settings
#: of a sweep never hold them.
SWEPT_FIELDS = frozenset({"lr", "beta1", "beta2", "n_disc", "lambda_", "seed", "out"})


@dataclasses.dataclass(frozen=True)
class Setting:
    """One hyperparameter setting of a sweep: lr, beta1, beta2, n_disc and (if penalised) lambda."""

    name: str
    values: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class SweepRun:
    """One (setting, seed) pair with its resolved config."""

    setting: Setting
    seed: int
    config: TrainConfig

    @property
    def run_dir(self) -> Path:
        return Path(self.config.out)


def _format(value: float) -> str:
    return f"{value:.3g}".replace("e-0", "e-").replace("e+0", "e")


def setting_name(values: Mapping[str, Any], prefix: str = "") -> str:
    """A run folder name of a setting, e.g. ``lr0.0002_b1-0.5_b2-0.999_nd1_lam10``."""
    parts = [
        f"lr{_format(values['lr'])}",
        f"b1-{_format(values['beta1'])}",
        f"b2-{_format(values['beta2'])}",
        f"nd{values['n_disc']}",
    ]
    if values.get("lambda_") is not None:
        parts.append(f"lam{_format(values['lambda_'])}")
    return prefix + "_".join(parts)


def table1a_settings(penalty: str) -> list[Setting]:
    """Table 1a's cross product: 24 settings with a penalty, 12 without."""
    lambdas: tuple[float | None, ...] = TABLE_1A_LAMBDAS if penalty != "none" else (None,)
    settings = []
    for lr, (beta1, beta2, n_disc), lam in itertools.product(
        TABLE_1A_LEARNING_RATES, TABLE_1A_BETAS_N_DISC, lambdas
    ):
        values = {"lr": lr, "beta1": beta1, "beta2": beta2, "n_disc": n_disc, "lambda_": lam}
        settings.append(Setting(setting_name(values), values))
    return settings


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def random_settings(penalty: str, count: int, seed: int = 0) -> list[Setting]:
    """``count`` settings drawn from Table 1b's ranges with ``numpy.random.default_rng(seed)``."""
    if count < 1:
        raise InputError(f"--grid random:{count}: the number of settings must be >= 1")
    rng = np.random.default_rng(seed)
    settings = []
    for index in range(count):
        values: dict[str, Any] = {
            "lr": _log_uniform(rng, *TABLE_1B_LEARNING_RATE),
            "beta1": float(rng.uniform(0.0, 1.0)),
            "beta2": float(rng.uniform(0.0, 1.0)),
            "n_disc": int(rng.choice(TABLE_1B_N_DISC)),
            "lambda_": None,
        }
        if penalty != "none":
            low_high = TABLE_1B_LAMBDA_L2 if penalty == "l2" else TABLE_1B_LAMBDA
            values["lambda_"] = _log_uniform(rng, *low_high)
        settings.append(Setting(setting_name(values, prefix=f"r{index:03d}_"), values))
    return settings


def parse_grid(spec: str) -> tuple[str, int]:
    """``table1a`` -> ("table1a", 0); ``random:N`` -> ("random", N)."""
    spec = spec.strip().lower()
    if spec == "table1a":
        return "table1a", 0
    if spec.startswith("random:"):
        try:
            count = int(spec.split(":", 1)[1])
        except ValueError:
            count = 0
        if count >= 1:
            return "random", count
    raise InputError(f"--grid {spec!r}: use table1a or random:N (N >= 1 settings from Table 1b)")


def expand_sweep(
    base: Mapping[str, Any],
    grid: str,
    seeds: int,
    out: str | Path,
    sampler_seed: int = 0,
) -> list[SweepRun]:
    """All (setting, seed) runs of a sweep, each with a resolved config and run folder.

    ``base`` holds the fixed fields (arch, dataset, loss, norm, penalty, steps, ...); the grid
    fills lr, beta1, beta2, n_disc, lambda; seeds are 0 .. seeds-1.
    """
    if seeds < 1:
        raise InputError(f"--seeds {seeds}: need at least one seed")
    kind, count = parse_grid(grid)
    penalty = str(base.get("penalty", "none"))
    settings = (
        table1a_settings(penalty)
        if kind == "table1a"
        else random_settings(penalty, count, sampler_seed)
    )
    out = Path(out)
    runs = []
    for setting in settings:
        for seed in range(seeds):
            values = {**base, **setting.values, "seed": seed}
            values["out"] = str(out / setting.name / f"seed{seed}")
            config = resolve_config(config_from_dict(values, "sweep"), f"sweep {setting.name}")
            runs.append(SweepRun(setting, seed, config))
    return runs


# --------------------------------------------------------------------------------------------
# Running


def is_finished(config: TrainConfig) -> bool:
    """Whether the run folder holds a finished run of exactly this config."""
    done_path = Path(config.out) / "done.json"
    try:
        done = json.loads(done_path.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return done.get("config_hash") == config.hash() and int(done.get("step", 0)) >= config.steps


def run_one(config_values: dict[str, Any], progress: bool = False) -> dict[str, Any]:
    """Train (or resume) one run; failures come back as a status. A run stopped by SIGINT or
    SIGTERM raises :class:`~ganmetrics_train.interrupt.TrainingInterrupted`: the sweep stops
    there, and rerunning it continues the run from the checkpoint written at the signal."""
    from ganmetrics_train.interrupt import TrainingInterrupted
    from ganmetrics_train.train import TrainingDiverged, run_status, train

    config = resolve_config(config_from_dict(config_values, "sweep"))
    status: dict[str, Any] = {"run_dir": config.out}
    if is_finished(config):
        return {**run_status(config.out), "status": "skipped (finished)"}
    try:
        train(config, resume=True, progress=progress)
        status["status"] = "done"
    except TrainingDiverged as exc:
        status["status"] = f"diverged: {exc}"
    except InputError as exc:
        status["status"] = f"input error: {exc}"
    except TrainingInterrupted:
        raise  # the user (or the cluster) stops the sweep, not just this run
    except Exception as exc:  # one broken run must not stop the sweep
        status["status"] = f"failed: {type(exc).__name__}: {exc}"
    return {**run_status(config.out), **status}


def run_sweep(
    runs: list[SweepRun],
    engine: str = "local",
    max_parallel: int = 1,
    progress: bool = False,
    gpus_per_run: float = 0.0,
) -> list[dict[str, Any]]:
    """Run every (setting, seed) of a sweep; returns one status dict per run, in order."""
    if engine not in ENGINES:
        raise InputError(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if max_parallel < 1:
        raise InputError(f"--max-parallel {max_parallel}: must be >= 1")
    payloads = [run.config.to_dict() for run in runs]
    if engine == "ray":
        return _run_with_ray(payloads, max_parallel, gpus_per_run)
    if max_parallel == 1:
        return [run_one(payload, progress) for payload in payloads]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_parallel, mp_context=context) as pool:
        return list(pool.map(run_one, payloads, itertools.repeat(False)))


def _run_with_ray(
    payloads: list[dict[str, Any]], max_parallel: int, gpus_per_run: float
) -> list[dict[str, Any]]:
    """Ray remote tasks, at most ``max_parallel`` in flight (Ray is an optional extra)."""
    try:
        import ray
    except ImportError:
        raise InputError(
            "--engine ray: Ray is not installed; pip install 'ganmetrics[study]' "
            "or use --engine local"
        ) from None
    if not ray.is_initialized():
        ray.init()
    remote_run = ray.remote(num_cpus=1, num_gpus=gpus_per_run)(run_one)
    results: dict[Any, dict[str, Any]] = {}
    in_flight: list[Any] = []
    order = []
    for payload in payloads:
        if len(in_flight) >= max_parallel:
            finished, in_flight = ray.wait(in_flight, num_returns=1)
            for ref in finished:
                results[ref] = ray.get(ref)
        ref = remote_run.remote(payload, False)
        order.append(ref)
        in_flight.append(ref)
    for ref in in_flight:
        results[ref] = ray.get(ref)
    return [results[ref] for ref in order]


# --------------------------------------------------------------------------------------------
# Summary


def summarize(runs: list[SweepRun], statuses: list[dict[str, Any]] | None = None) -> list[dict]:
    """Median and best final FID over the seeds of each setting, sorted by median (Tables 7-9).

    Only finished runs count: a run that diverged or stopped early is left out of the median
    (``finished`` says how many seeds finished, ``runs_with_fid`` how many of those have a FID),
    never counted with an earlier score.
    """
    from ganmetrics_train.train import run_status

    statuses = statuses or [run_status(run.config.out) for run in runs]
    by_run = {str(Path(s["run_dir"])): s for s in statuses}
    rows: dict[str, dict[str, Any]] = {}
    for run in runs:
        row = rows.setdefault(
            run.setting.name,
            {
                "setting": run.setting.name,
                **run.setting.values,
                "fids": [],
                "seeds": 0,
                "finished": 0,
            },
        )
        row["seeds"] += 1
        status = by_run.get(str(run.run_dir)) or run_status(run.run_dir)
        if status.get("done"):
            row["finished"] += 1
            if status.get("final_fid") is not None:
                row["fids"].append(status["final_fid"])
    table = []
    for row in rows.values():
        fids = row.pop("fids")
        row["runs_with_fid"] = len(fids)
        row["median_fid"] = statistics.median(fids) if fids else None
        row["best_fid"] = min(fids) if fids else None
        table.append(row)
    table.sort(key=lambda r: (r["median_fid"] is None, r["median_fid"] or 0.0))
    return table


def _runs_cell(row: Mapping[str, Any]) -> str:
    """What happened to a setting's seeds: "finished 3/5", "finished 1/1, not evaluated"."""
    cell = f"finished {row['finished']}/{row['seeds']}"
    if row["finished"] and not row["runs_with_fid"]:
        return cell + ", not evaluated"
    if row["runs_with_fid"] < row["finished"]:
        return cell + f", {row['runs_with_fid']} with FID"
    return cell


def summary_markdown(table: list[dict[str, Any]], base: Mapping[str, Any]) -> str:
    def fid(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    regularizer = "+".join(
        t.upper() for t in (base.get("norm", "none"), base.get("penalty", "none")) if t != "none"
    )
    lines = [
        f"Sweep of {base.get('arch')} on {base.get('dataset')} ({base.get('loss', 'ns')} loss, "
        f"{regularizer or 'no normalization or penalty'}); FID over seeds",
        "",
        "| setting | median | best | runs | LR (1e-3) | beta1 | beta2 | n_disc | lambda |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table:
        lam = "-" if row.get("lambda_") is None else f"{row['lambda_']:.3g}"
        lines.append(
            f"| {row['setting']} | {fid(row['median_fid'])} | {fid(row['best_fid'])} | "
            f"{_runs_cell(row)} | {row['lr'] * 1e3:.3g} | {row['beta1']:.3g} | "
            f"{row['beta2']:.3g} | {row['n_disc']} | {lam} |"
        )
    return "\n".join(lines) + "\n"


def write_summary(
    out: str | Path, table: list[dict[str, Any]], base: Mapping[str, Any], statuses: list[dict]
) -> str:
    """``summary.json`` and ``summary.md`` in the sweep folder; returns the markdown."""
    out = Path(out)
    markdown = summary_markdown(table, base)
    write_json(out / "summary.json", {"base": dict(base), "settings": table, "runs": statuses})
    with atomic_write(out / "summary.md", "w") as handle:
        handle.write(markdown)
    return markdown


def sweep(
    base: Mapping[str, Any],
    grid: str,
    seeds: int,
    out: str | Path,
    *,
    engine: str = "local",
    max_parallel: int = 1,
    sampler_seed: int = 0,
    progress: bool = False,
    gpus_per_run: float = 0.0,
) -> tuple[list[dict[str, Any]], str]:
    """Expand, run and summarize a sweep; returns (summary rows, markdown table)."""
    runs = expand_sweep(base, grid, seeds, out, sampler_seed)
    print(f"ganmetrics-train sweep: {len(runs)} runs in {out}", file=sys.stderr)
    statuses = run_sweep(runs, engine, max_parallel, progress, gpus_per_run)
    for status in statuses:
        if status.get("status", "").startswith(("diverged", "input error", "failed")):
            print(f"{status['run_dir']}: {status['status']}", file=sys.stderr)
    table = summarize(runs, statuses)
    return table, write_summary(out, table, base, statuses)
