"""``study export``: the store's trials and evaluations as flat CSV and Parquet tables.

``trials.*`` has one row per trial: variant, setting (stage, round, lr, beta1, beta2, n_disc,
lambda), seed, status, error, attempts, wall time, steps, steps/s, final and best FID.
``evaluations.*`` has one row per (trial, step, metric). Parquet is written with pyarrow.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from ganmetrics.atomic import atomic_write
from ganmetrics.errors import InputError
from ganmetrics_train.study.store import open_existing


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_write(path, "w") as handle:
        handle.write(buffer.getvalue())
    return path


def _write_parquet(path: Path, rows: list[dict], columns: list[str]) -> Path:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            "--format parquet: needs pyarrow; pip install pyarrow, or pass --format csv"
        ) from None
    table = pa.table({name: [row[name] for row in rows] for name in columns})
    with atomic_write(path, "wb") as handle:
        pq.write_table(table, handle)
    return path


def export_tables(out: str | Path, target: str | Path, formats: Sequence[str]) -> list[Path]:
    """Write ``trials`` and ``evaluations`` in each of ``formats``; returns the paths."""
    target = Path(target)
    with open_existing(out) as store:
        trials = store.trials()
        evaluations = store.evaluations()
    tables = {
        "trials": (trials, list(trials[0]) if trials else ["trial_id"]),
        "evaluations": (
            evaluations,
            ["trial_id", "variant", "setting", "seed", "step", "metric", "value"],
        ),
    }
    written = []
    for name, (rows, columns) in tables.items():
        for fmt in formats:
            writer = _write_csv if fmt == "csv" else _write_parquet
            written.append(writer(target / f"{name}.{fmt}", rows, columns))
    return written
