"""Expectations on scores, for a model's regression test in CI: ``ganmetrics check``.

An expectation bounds one number of a result (the dict :func:`ganmetrics.evaluate` returns,
``ganmetrics eval --json`` writes). Two ways to write them:

* text, comma-separated: ``fid<=12.5,is>=7``; operators ``<= < >= > =``; ``=`` with a tolerance
  reads ``fid=12.3+-0.2`` (or ``±``), a relative one ``fid=12.3+-2%``;
* an EXPECTED.json object mapping each key to ``{"value": v, "tol": t}`` (absolute),
  ``{"value": v, "rel": r}`` (relative), ``{"min": a}``, ``{"max": b}`` or both, or a bare
  number (exact); keys starting with ``_`` are comments, and the object may sit under
  ``"expect"``.

A key is a result key (``fid``, ``is_mean``, ``kid_mean``, ``precision``, ``msssim``, ...), a
short name (``is`` for ``is_mean``, ``kid`` for ``kid_mean``) or a dotted path into nested
values (``fid_infinity.value``). :func:`violations` returns one line per failed expectation, e.g.
``fid 13.1 > 12.5 (expected fid<=12.5)``, so a CLI needs only::

    problems = violations(load_result(path), load_expectations(spec))
    sys.exit(1 if problems else 0)   # after printing them
"""

from __future__ import annotations

import json
import math
import os
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganmetrics.errors import InputError
from ganmetrics.metrics import METRIC_TABLE, interval_key

if TYPE_CHECKING:
    from ganmetrics.settings import EvalSettings

__all__ = [
    "SHORT_NAMES",
    "Expectation",
    "load_expectations",
    "load_result",
    "parse_expectations",
    "read_expectations_json",
    "refuse_uncomputed",
    "violations",
]

#: Short names for result keys that carry a suffix.
SHORT_NAMES = {"is": "is_mean", "kid": "kid_mean"}

_EXAMPLE = "write e.g. fid<=12.5,is>=7 or fid=12.3+-0.2"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BOUND = re.compile(rf"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|==|=|<|>)\s*({_NUMBER})\s*$")
_TOLERANCE = re.compile(
    rf"^\s*([A-Za-z_][\w.]*)\s*==?\s*({_NUMBER})\s*(?:\+-|\+/-|±)\s*({_NUMBER})\s*(%?)\s*$"
)


@dataclass(frozen=True)
class Expectation:
    """``key`` must lie in ``[low, high]`` (a bound ``None`` is open; ``strict`` excludes the
    bounds); ``text`` is how the user wrote it, quoted in messages."""

    key: str
    low: float | None
    high: float | None
    text: str
    strict: bool = False

    def violation(self, result: dict[str, Any]) -> str | None:
        """One line if ``result`` breaks this expectation, else ``None``."""
        value = _lookup(result, self.key)
        if value is None:
            return f"{self.key} missing from the result (expected {self.text})"
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            return f"{self.key} {value!r} is not a number (expected {self.text})"
        if self.high is not None and (value >= self.high if self.strict else value > self.high):
            relation = ">" if value > self.high else "="
            return f"{self.key} {value:.6g} {relation} {self.high:.6g} (expected {self.text})"
        if self.low is not None and (value <= self.low if self.strict else value < self.low):
            relation = "<" if value < self.low else "="
            return f"{self.key} {value:.6g} {relation} {self.low:.6g} (expected {self.text})"
        return None


def _lookup(result: dict[str, Any], key: str) -> Any:
    node: Any = result
    for part in SHORT_NAMES.get(key, key).split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _one(part: str, where: str) -> Expectation:
    text = part.strip()
    match = _TOLERANCE.match(text)
    if match:
        key, value, tol, percent = match.groups()
        centre, spread = float(value), float(tol)
        if percent:
            spread = abs(centre) * spread / 100.0
        if spread < 0:
            raise InputError(f"{where}: tolerance in {text!r} is negative; {_EXAMPLE}")
        return Expectation(key, centre - spread, centre + spread, text.replace(" ", ""))
    match = _BOUND.match(text)
    if not match:
        raise InputError(f"{where}: cannot read the expectation {text!r}; {_EXAMPLE}")
    key, operator, number = match.groups()
    value = float(number)
    compact = f"{key}{operator}{number}"
    if operator in ("=", "=="):
        return Expectation(key, value, value, compact)
    strict = operator in ("<", ">")
    if operator.startswith("<"):
        return Expectation(key, None, value, compact, strict)
    return Expectation(key, value, None, compact, strict)


def parse_expectations(text: str, where: str = "--expect") -> list[Expectation]:
    """Expectations from ``"fid<=12.5,is>=7"`` (see the module docstring); ``InputError``
    naming ``where`` and the fix for anything else."""
    parts = [part for part in str(text).split(",") if part.strip()]
    if not parts:
        raise InputError(f"{where}: no expectation given; {_EXAMPLE}")
    return [_one(part, where) for part in parts]


def _from_json_entry(key: str, entry: Any, where: str) -> Expectation:
    if isinstance(entry, (int, float)) and not isinstance(entry, bool):
        return Expectation(key, float(entry), float(entry), f"{key}={entry}")
    if not isinstance(entry, dict):
        raise InputError(
            f"{where}: {key!r} must be a number or an object like "
            '{"value": 12.3, "tol": 0.2} or {"max": 12.5}'
        )
    known = {"value", "tol", "rel", "min", "max"}
    unknown = sorted(k for k in entry if k not in known and not k.startswith("_"))
    numbers = {k: v for k, v in entry.items() if k in known}
    bad = [k for k, v in numbers.items() if not isinstance(v, (int, float)) or isinstance(v, bool)]
    if unknown or bad:
        raise InputError(
            f"{where}: {key!r} has {'unknown keys ' + ', '.join(unknown) if unknown else ''}"
            f"{'non-numeric ' + ', '.join(bad) if bad else ''}; use value with tol or rel, "
            "and/or min, max"
        )
    if "value" in numbers:
        if "min" in numbers or "max" in numbers:
            raise InputError(f"{where}: {key!r} mixes value with min/max; use one form")
        value = float(numbers["value"])
        spread = float(numbers.get("tol", 0.0)) + abs(value) * float(numbers.get("rel", 0.0))
        if spread < 0:
            raise InputError(f"{where}: {key!r} has a negative tolerance")
        return Expectation(key, value - spread, value + spread, f"{key}={value:.6g}+-{spread:.3g}")
    if "tol" in numbers or "rel" in numbers:
        raise InputError(f"{where}: {key!r} has a tolerance but no value")
    if "min" not in numbers and "max" not in numbers:
        raise InputError(f"{where}: {key!r} gives no bound; use value with tol, or min/max")
    low, high = numbers.get("min"), numbers.get("max")
    text = ",".join(
        part
        for part in (
            f"{key}>={low}" if low is not None else "",
            f"{key}<={high}" if high is not None else "",
        )
        if part
    )
    return Expectation(key, None if low is None else float(low),
                       None if high is None else float(high), text)  # fmt: skip


def read_expectations_json(data: Any, where: str) -> list[Expectation]:
    """Expectations from a decoded EXPECTED.json object (see the module docstring)."""
    if isinstance(data, dict) and isinstance(data.get("expect"), dict):
        data = data["expect"]
    if not isinstance(data, dict):
        raise InputError(f"{where}: must hold a JSON object of metric bounds, e.g. "
                         '{"fid": {"max": 12.5}}')  # fmt: skip
    entries = [_from_json_entry(k, v, where) for k, v in data.items() if not k.startswith("_")]
    if not entries:
        raise InputError(f'{where}: holds no expectation; add e.g. {{"fid": {{"max": 12.5}}}}')
    return entries


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found; check the path") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read {what} ({exc}); pass a JSON file") from None


def load_expectations(spec: str | os.PathLike) -> list[Expectation]:
    """Expectations from an EXPECTED.json path (ends in ``.json`` or is an existing file) or from
    expectation text like ``"fid<=12.5,is>=7"``."""
    text = os.fspath(spec)
    if text.lower().endswith(".json") or Path(text).is_file():
        return read_expectations_json(_read_json(Path(text), "expectations file"), text)
    return parse_expectations(text)


def load_result(path: str | os.PathLike) -> dict[str, Any]:
    """A result JSON as ``ganmetrics eval --json`` writes it."""
    data = _read_json(Path(path), "result file")
    if not isinstance(data, dict):
        raise InputError(f"{path}: is not a result object; pass the JSON of ganmetrics eval --json")
    return data


def violations(result: dict[str, Any], expectations: list[Expectation]) -> list[str]:
    """One line per expectation that ``result`` breaks (empty when all hold).

    A name the result does not hold is a mistake in the expectation, not a failed bound: it raises
    :class:`InputError` naming the scores the result has, so a typo never reads as a regression.
    """
    missing = [e for e in expectations if _lookup(result, e.key) is None]
    if missing:
        scores = ", ".join(k for k, v in result.items() if isinstance(v, int | float)) or "none"
        raise InputError(
            f"--expect {missing[0].text}: the result has no {missing[0].key!r} (its scores: "
            f"{scores}); fix the name, or compute that metric with --metrics"
        )
    return [line for line in (e.violation(result) for e in expectations) if line is not None]


def _producers() -> dict[str, tuple[str | None, str | None]]:
    """Each top-level result key: the metric that reports it and the flag it also needs."""
    found: dict[str, tuple[str | None, str | None]] = {"meta": (None, None)}
    for row in METRIC_TABLE.values():
        found.update(dict.fromkeys(row.keys, (row.name, None)))
        if row.intervals is not None:  # the interval of each table row's first value
            for _, fmt in row.rows:
                first = next(name for _, name, _, _ in string.Formatter().parse(fmt) if name)
                found[interval_key(first.split("[")[0])] = (row.name, "--bootstrap B")
    found["fid_infinity"] = ("fid", "--fid-inf")
    return found


def refuse_uncomputed(expectations: list[Expectation], settings: EvalSettings) -> None:
    """Refuse, before any work, an expectation on a score that a run with ``settings`` (validated)
    will not report: another metric's, an interval without ``--bootstrap``, FID∞ without
    ``--fid-inf``, or a name no metric reports. :func:`violations` still checks the result."""
    producers = _producers()
    metrics = settings.metrics
    flags = {"--bootstrap B": settings.bootstrap > 0, "--fid-inf": settings.fid_inf}
    for expectation in expectations:
        head = SHORT_NAMES.get(expectation.key, expectation.key).split(".")[0]
        where = f"--expect {expectation.text}"
        if head not in producers:
            known = ", ".join(k for k in producers if k != "meta")
            raise InputError(f"{where}: no metric reports {head!r} (the scores: {known}); "
                             "fix the name")  # fmt: skip
        metric, flag = producers[head]
        if metric is not None and metric not in metrics:
            both = ",".join((*metrics, metric))
            raise InputError(
                f"{where}: {head!r} comes from {metric}, which this run does not compute (it "
                f"computes {', '.join(metrics)}); compute it too (ganmetrics eval --metrics "
                f"{both}), or drop the bound"
            )
        if flag is not None and not flags[flag]:
            raise InputError(f"{where}: {head!r} is only reported with {flag}; add {flag}, "
                             "or drop the bound")  # fmt: skip
