"""One trial of a study: train (or resume) one run and report it; runs inside a Ray task.

The trial never raises: a diverged run (:class:`ganmetrics_train.train.TrainingDiverged`) or any
other failure comes back as a status with its error, so one broken model does not stop a study.
Its evaluations (every line of the run's ``scores.jsonl``) travel back with the result, so the
store on the driver is complete even when the worker's disk is not shared.

A trial stopped on request comes back as ``interrupted``: the study puts it back in the queue and
a resumed study continues it from its run folder's last checkpoint. That is a stop signal in the
worker (the trainer's graceful stop, :class:`ganmetrics_train.interrupt.TrainingInterrupted`,
checkpoints at the current step first) or the driver cancelling the task on Ctrl-C/SIGTERM
(Ray raises ``KeyboardInterrupt`` in the task).

A file lock on the run folder keeps two processes from training the same run at once (e.g. a
resumed study and a worker of the killed one that Ray has not reaped yet).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from ganmetrics_train.interrupt import TrainingInterrupted
from ganmetrics_train.run_logging import SCORES_NAME, read_jsonl

LOCK_NAME = ".study-trial.lock"
INTERRUPTED = "interrupted"


def _checkpoint_step(run_dir: Path) -> int:
    """The step of the run's newest checkpoint (0 without one): where a resumed trial starts."""
    from ganmetrics_train.checkpoint import list_checkpoints

    try:
        found = list_checkpoints(run_dir)
    except Exception:  # an unreadable folder: the trainer reports it
        return 0
    return int(found[-1][0]) if found else 0


def _done_summary(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / "done.json").read_text())
    except (OSError, ValueError):
        return {}


def run_trial(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload``: ``config`` (TrainConfig fields, device may be ``auto``) and ``env`` (variables
    such as ``GANMETRICS_INCEPTION_WEIGHTS`` to set in this worker)."""
    from filelock import FileLock

    from ganmetrics_train.config import config_from_dict, resolve_config
    from ganmetrics_train.train import TrainingDiverged, train

    for key, value in payload.get("env", {}).items():
        os.environ[key] = value
    started = time.perf_counter()
    run_dir = Path(payload["config"]["out"])
    result: dict[str, Any] = {"node": platform.node(), "error": None, "start_step": 0}
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(run_dir.parent / f"{run_dir.name}{LOCK_NAME}")):
            result["start_step"] = _checkpoint_step(run_dir)
            config = resolve_config(config_from_dict(payload["config"], "study trial"))
            outcome = train(config, resume=True, progress=False)
        result.update(status="done", steps=outcome.step, best_fid=outcome.best_fid)
    except (TrainingInterrupted, KeyboardInterrupt) as exc:
        step = _checkpoint_step(run_dir)
        result.update(
            status=INTERRUPTED,
            steps=step,
            error=f"stopped ({type(exc).__name__}); resumes from the checkpoint at step {step}",
        )
    except TrainingDiverged as exc:
        result.update(status="diverged", error=str(exc))
    except Exception as exc:  # one broken trial must not stop the study
        message = " ".join(str(exc).split())
        result.update(status="failed", error=f"{type(exc).__name__}: {message}"[:2000])
    result["wall_s"] = time.perf_counter() - started
    evaluations = [
        {"step": int(r["step"]), "metrics": r.get("metrics", {})}
        for r in read_jsonl(run_dir / SCORES_NAME)
        if isinstance(r, dict) and "step" in r
    ]
    result["evaluations"] = evaluations
    fids = [e["metrics"]["fid"] for e in evaluations if isinstance(e["metrics"].get("fid"), float)]
    result["final_fid"] = fids[-1] if fids else None
    result.setdefault("best_fid", min(fids) if fids else None)
    done = _done_summary(run_dir)
    if done.get("elapsed_s"):
        result["steps_per_s"] = float(done["step"]) / float(done["elapsed_s"])
    return result
