"""The results store of a study: one SQLite file (``OUT/study.sqlite``).

It holds every variant, every setting (with its stage and bandit round), every trial (variant,
setting, seed, status, error, attempts, wall time, steps/s, final and best FID) and every
evaluation (step, metric, value). The database runs in WAL mode and every change is one
``BEGIN IMMEDIATE`` transaction, so a killed study leaves a readable store and two processes
writing at once wait for each other (``busy_timeout``) instead of losing writes.

A setting's score is the median over its finished seeds' final FIDs, as in section 3 of "The GAN
Landscape" ("Each model was retrained 5 times with a different random seed and we report the
median score"); :meth:`StudyStore.setting_scores` is the one place that computes it.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ganmetrics.errors import InputError

STORE_NAME = "study.sqlite"
PENDING, RUNNING, DONE, FAILED, DIVERGED = "pending", "running", "done", "failed", "diverged"
FINISHED_STATUSES = (DONE, FAILED, DIVERGED)
STATUSES = (PENDING, RUNNING, *FINISHED_STATUSES)
BUSY_TIMEOUT_MS = 120_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS variants (
    name TEXT PRIMARY KEY, label TEXT NOT NULL, position INTEGER NOT NULL,
    values_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (
    id INTEGER PRIMARY KEY, variant TEXT NOT NULL REFERENCES variants(name), name TEXT NOT NULL,
    stage TEXT NOT NULL, round INTEGER NOT NULL, position INTEGER NOT NULL,
    lr REAL NOT NULL, beta1 REAL NOT NULL, beta2 REAL NOT NULL, n_disc INTEGER NOT NULL,
    lambda REAL, created_at REAL NOT NULL, UNIQUE (variant, name));
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY, setting_id INTEGER NOT NULL REFERENCES settings(id),
    seed INTEGER NOT NULL, run_dir TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, started_at REAL, finished_at REAL, wall_s REAL,
    steps INTEGER, steps_per_s REAL, final_fid REAL, best_fid REAL, node TEXT,
    UNIQUE (setting_id, seed));
CREATE TABLE IF NOT EXISTS evaluations (
    trial_id INTEGER NOT NULL REFERENCES trials(id), step INTEGER NOT NULL,
    metric TEXT NOT NULL, value REAL, PRIMARY KEY (trial_id, step, metric));
"""

_TRIAL_COLUMNS = """
    t.id AS trial_id, s.variant, s.id AS setting_id, s.name AS setting, s.stage, s.round,
    s.position, s.lr, s.beta1, s.beta2, s.n_disc, s.lambda, t.seed, t.status, t.error,
    t.attempts, t.started_at, t.finished_at, t.wall_s, t.steps, t.steps_per_s, t.final_fid,
    t.best_fid, t.node, t.run_dir
"""


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class StudyStore:
    """A connection to one study's SQLite store (created on first use)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"{self.path}: cannot open the study store ({exc})") from None
        self._db.row_factory = sqlite3.Row
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("PRAGMA foreign_keys = ON")
        with self.transaction() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StudyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: taken at once (IMMEDIATE), committed whole or rolled back."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def query(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self._db.execute(sql, params).fetchall()]

    # ----------------------------------------------------------------------------------------
    # The study and its plan

    def meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def bind_study(self, name: str, identity: dict[str, Any], identity_hash: str) -> None:
        """Record the study, or check that the store belongs to this same study."""
        stored = self.meta("identity_hash")
        if stored is not None and stored != identity_hash:
            raise InputError(
                f"{self.path}: holds study {self.meta('study')!r} with other settings "
                f"(hash {stored}, not {identity_hash}); use another --out for a new study"
            )
        if stored is None:
            with self.transaction() as db:
                for key, value in (
                    ("study", name),
                    ("identity", json.dumps(identity, sort_keys=True, default=str)),
                    ("identity_hash", identity_hash),
                    ("created_at", str(time.time())),
                ):
                    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def add_variant(self, name: str, label: str, position: int, values: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO variants VALUES (?, ?, ?, ?)",
                (name, label, position, json.dumps(values, sort_keys=True)),
            )

    def variants(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM variants ORDER BY position")

    def add_settings(
        self,
        variant: str,
        stage: str,
        round_index: int,
        settings: list[tuple[str, dict[str, Any]]],
        seeds: int,
        run_dir_of: Any,
    ) -> None:
        """Insert settings and their ``seeds`` pending trials (existing ones are kept)."""
        now = time.time()
        with self.transaction() as db:
            start = db.execute(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM settings WHERE variant = ?", (variant,)
            ).fetchone()[0]
            for offset, (name, values) in enumerate(settings):
                db.execute(
                    "INSERT OR IGNORE INTO settings (variant, name, stage, round, position, lr, "
                    "beta1, beta2, n_disc, lambda, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        variant,
                        name,
                        stage,
                        round_index,
                        start + offset,
                        values["lr"],
                        values["beta1"],
                        values["beta2"],
                        values["n_disc"],
                        values.get("lambda_"),
                        now,
                    ),
                )
                setting_id = db.execute(
                    "SELECT id FROM settings WHERE variant = ? AND name = ?", (variant, name)
                ).fetchone()[0]
                for seed in range(seeds):
                    db.execute(
                        "INSERT OR IGNORE INTO trials (setting_id, seed, run_dir, status) "
                        "VALUES (?, ?, ?, ?)",
                        (setting_id, seed, str(run_dir_of(variant, name, seed)), PENDING),
                    )

    def settings(self, variant: str | None = None, stage: str | None = None) -> list[dict]:
        sql, params = "SELECT * FROM settings WHERE 1 = 1", []
        if variant is not None:
            sql, params = sql + " AND variant = ?", [*params, variant]
        if stage is not None:
            sql, params = sql + " AND stage = ?", [*params, stage]
        return self.query(sql + " ORDER BY variant, position", tuple(params))

    # ----------------------------------------------------------------------------------------
    # Trials

    def trials(self, variant: str | None = None, statuses: tuple[str, ...] = ()) -> list[dict]:
        sql = f"SELECT {_TRIAL_COLUMNS} FROM trials t JOIN settings s ON s.id = t.setting_id"
        where, params = [], []
        if variant is not None:
            where, params = [*where, "s.variant = ?"], [*params, variant]
        if statuses:
            where.append(f"t.status IN ({','.join('?' * len(statuses))})")
            params.extend(statuses)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self.query(sql + " ORDER BY s.variant, s.position, t.seed", tuple(params))

    def mark_running(self, trial_id: int) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE trials SET status = ?, attempts = attempts + 1, started_at = ?, "
                "error = NULL WHERE id = ?",
                (RUNNING, time.time(), trial_id),
            )

    def requeue(self, trial_id: int, reason: str) -> None:
        """A trial stopped on request goes back to pending; a resumed study reruns it."""
        with self.transaction() as db:
            db.execute(
                "UPDATE trials SET status = ?, error = ? WHERE id = ?", (PENDING, reason, trial_id)
            )

    def record_result(self, trial_id: int, result: dict[str, Any]) -> None:
        """A trial's outcome and all its evaluations, in one transaction."""
        status = result.get("status")
        if status not in FINISHED_STATUSES:
            raise ValueError(f"trial result status {status!r} is not one of {FINISHED_STATUSES}")
        with self.transaction() as db:
            db.execute(
                "UPDATE trials SET status = ?, error = ?, finished_at = ?, wall_s = ?, steps = ?, "
                "steps_per_s = ?, final_fid = ?, best_fid = ?, node = ? WHERE id = ?",
                (
                    status,
                    result.get("error"),
                    time.time(),
                    _finite(result.get("wall_s")),
                    result.get("steps"),
                    _finite(result.get("steps_per_s")),
                    _finite(result.get("final_fid")),
                    _finite(result.get("best_fid")),
                    result.get("node"),
                    trial_id,
                ),
            )
            db.execute("DELETE FROM evaluations WHERE trial_id = ?", (trial_id,))
            for evaluation in result.get("evaluations", []):
                for metric, value in evaluation["metrics"].items():
                    if isinstance(value, bool) or not isinstance(value, int | float):
                        continue
                    db.execute(
                        "INSERT OR REPLACE INTO evaluations VALUES (?, ?, ?, ?)",
                        (trial_id, int(evaluation["step"]), metric, _finite(value)),
                    )

    def add_evaluation(self, trial_id: int, step: int, metrics: dict[str, float]) -> None:
        with self.transaction() as db:
            for metric, value in metrics.items():
                db.execute(
                    "INSERT OR REPLACE INTO evaluations VALUES (?, ?, ?, ?)",
                    (trial_id, step, metric, _finite(value)),
                )

    def evaluations(self, variant: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT e.trial_id, s.variant, s.name AS setting, t.seed, e.step, e.metric, e.value "
            "FROM evaluations e JOIN trials t ON t.id = e.trial_id "
            "JOIN settings s ON s.id = t.setting_id"
        )
        params: tuple = ()
        if variant is not None:
            sql, params = sql + " WHERE s.variant = ?", (variant,)
        return self.query(sql + " ORDER BY s.variant, s.position, t.seed, e.step, e.metric", params)

    def final_metric(self, trial_id: int, metric: str) -> float | None:
        """The metric at a trial's last evaluation step."""
        rows = self.query(
            "SELECT value FROM evaluations WHERE trial_id = ? AND metric = ? "
            "ORDER BY step DESC LIMIT 1",
            (trial_id, metric),
        )
        return rows[0]["value"] if rows else None

    # ----------------------------------------------------------------------------------------
    # Scores

    def setting_scores(self, variant: str | None = None) -> list[dict[str, Any]]:
        """Each setting with its median and best final FID over finished seeds (section 3)."""
        by_setting: dict[int, dict[str, Any]] = {}
        for setting in self.settings(variant):
            by_setting[setting["id"]] = {**setting, "fids": [], "seeds": 0, "finished": 0}
        for trial in self.trials(variant):
            row = by_setting[trial["setting_id"]]
            row["seeds"] += 1
            row["finished"] += trial["status"] in FINISHED_STATUSES
            if trial["status"] == DONE and trial["final_fid"] is not None:
                row["fids"].append(trial["final_fid"])
        for row in by_setting.values():
            row["median_fid"] = statistics.median(row["fids"]) if row["fids"] else None
            row["best_fid"] = min(row["fids"]) if row["fids"] else None
        return list(by_setting.values())

    def integrity(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def open_existing(out: str | Path) -> StudyStore:
    """The store of an existing study folder; a folder without one is refused."""
    path = Path(out) / STORE_NAME
    if not path.is_file():
        raise InputError(f"{out}: no {STORE_NAME} here; pass the --out folder of a study run")
    return StudyStore(path)
