"""How a result is shown: the table of ``ganmetrics`` commands (rows from the metric table, FID
named with its N, bootstrap intervals beside their values, notes, provenance) and its JSON."""

from __future__ import annotations

import json
import string
from typing import Any

import click

from ganmetrics.encoders.table import ENCODER_TABLE
from ganmetrics.errors import InputError
from ganmetrics.metrics import METRIC_TABLE, interval_key

#: Rows of results that are not in the metric table.
EXTRA_ROWS = (
    ("FID∞", "{fid_infinity[value]:.4f} (slope {fid_infinity[slope]:.4g}, fit residual "
             "{fid_infinity[residual]:.3g})"),
    ("FD∞", "{fd_infinity[value]:.4f} (slope {fd_infinity[slope]:.4g}, fit residual "
            "{fd_infinity[residual]:.3g})"),
    ("Reconstruction MSE", "{recon_mse:.6f} ± {recon_std:.6f}"),
)  # fmt: skip


def row_label(label: str, fmt: str, meta: dict[str, Any]) -> str:
    """FID is named with its N ("FID@10k"): FID is biased in N (Chong & Forsyth 2020)."""
    from ganmetrics.fid_infinity import fid_label

    if format_keys(fmt) == ["fid"] and meta.get("n_fake"):
        return fid_label(meta["n_fake"])
    if format_keys(fmt) == ["fd"] and meta.get("n_fake"):
        space = ENCODER_TABLE[meta.get("encoder") or "inception"].space
        return fid_label(meta["n_fake"]).replace("FID", f"FD_{space}")
    return label


def with_interval(value: str, fmt: str, result: dict[str, Any]) -> str:
    """``value`` followed by the bootstrap interval of its first key, in that key's format."""
    fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(fmt) if name]
    interval = result.get(interval_key(fields[0][0])) if fields else None
    if not isinstance(interval, dict):
        return value
    spec = fields[0][1]
    return (f"{value}  [{interval['low']:{spec}}, {interval['high']:{spec}}] "
            f"{interval['confidence']:.0%} bootstrap")  # fmt: skip


def format_table(result: dict[str, Any]) -> str:
    meta = result.get("meta", {})
    formats = [row for metric in METRIC_TABLE.values() for row in metric.rows]
    rows = [
        (row_label(label, fmt, meta), with_interval(fmt.format(**result), fmt, result))
        for label, fmt in (*formats, *EXTRA_ROWS)
        if all(key in result for key in format_keys(fmt))
    ]
    width = max(len(label) for label, _ in rows) if rows else 0
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    lines += [f"note: {note}" for note in meta.get("notes", ())]
    details = []
    if meta.get("n_real") is not None:
        details.append(f"n_real={meta['n_real']}")
    if meta.get("n_fake") is not None:
        details.append(f"n_fake={meta['n_fake']}")
    if meta.get("protocol"):
        details.append(f"protocol={meta['protocol']}")
    if meta.get("weights_sha256"):
        standard = "standard" if meta.get("standard_weights") else "NON-STANDARD"
        details.append(f"weights={standard} ({meta['weights_sha256'][:12]})")
    if details:
        lines.append("")
        lines.append("  ".join(details))
    return "\n".join(lines)


def format_keys(fmt: str) -> list[str]:
    """The result keys a row format reads (``fid_infinity[value]`` reads ``fid_infinity``)."""
    return [name.split("[")[0] for _, name, _, _ in string.Formatter().parse(fmt) if name]


def emit(result: dict[str, Any], as_json: bool, out: str | None) -> None:
    """Print the result, then write it: a path that fails at the end loses nothing."""
    from ganmetrics import distributed
    from ganmetrics.atomic import write_json

    if not distributed.is_primary():
        return  # under torchrun every rank computed the same result; rank 0 reports it
    click.echo(json.dumps(result, sort_keys=False) if as_json else format_table(result))
    if out:
        try:
            write_json(out, result)
        except (OSError, InputError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise InputError(f"--out {out}: could not be written ({reason}); "
                             "the result is printed above") from None  # fmt: skip


__all__ = ["emit", "format_table", "row_label"]
