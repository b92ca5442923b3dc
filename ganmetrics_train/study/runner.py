"""The study loop: plan the settings, run every (setting, seed) on the engine, and resume.

For each variant the fixed stages (the Table 1a grid, then the seeded Table 1b start) are written
to the store first. A bandit round is proposed for a variant once every trial of its earlier
settings has finished, from the median FIDs in the store, and written to the store before any of
its trials starts. So an interrupted study, run again on the same ``--out``:

* does not rerun finished trials (done, failed or diverged; ``retry_failed`` reruns the last two);
* reruns the trials that were pending or running, each resuming its own run folder;
* keeps the bandit rounds it had proposed and proposes the next ones from the stored results.

A first SIGINT or SIGTERM to the driver (Ctrl-C; a cluster's preemption notice) submits nothing
more and cancels the running trials: each stops at a checkpoint where the trainer can (its
graceful stop) and goes back to pending, then :class:`StudyInterrupted` says how to resume. A
second signal aborts at once; the trials it cuts off are pending or running in the store and
resume from their last checkpoint all the same.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganmetrics_train.interrupt import GracefulStop, signal_name
from ganmetrics_train.study import bandit
from ganmetrics_train.study.grid import (
    BANDIT_STAGE,
    GIVEN_STAGE,
    GRID_STAGE,
    RANDOM_STAGE,
    derived_seed,
    grid_settings,
    random_start,
)
from ganmetrics_train.study.spec import StudySpec, Variant
from ganmetrics_train.study.store import (
    DIVERGED,
    FAILED,
    FINISHED_STATUSES,
    PENDING,
    RUNNING,
    STORE_NAME,
    StudyStore,
)
from ganmetrics_train.study.trial import INTERRUPTED

RUNS_DIRNAME = "runs"
#: Seconds between checks for a stop signal while trials run.
POLL_S = 1.0


class StudyInterrupted(Exception):
    """The study stopped on a signal; its stopped trials are pending and resume on a rerun."""

    def __init__(self, signal_number: int, stopped: int):
        self.signal_number = signal_number
        self.exit_code = 128 + signal_number
        name = signal_name(signal_number)
        super().__init__(
            f"study stopped by {name}: {stopped} running trial(s) stopped and queued again; "
            "run the same command again to resume them from their checkpoints"
        )


@dataclasses.dataclass
class StudyOutcome:
    store_path: Path
    trials: int
    by_status: dict[str, int]
    ran: int
    seconds: float


def _log(message: str) -> None:
    print(f"ganmetrics-train study: {message}", file=sys.stderr, flush=True)


def run_dir_for(out: Path) -> Callable[[str, str, int], Path]:
    def run_dir(variant: str, setting: str, seed: int) -> Path:
        return out / RUNS_DIRNAME / variant / setting / f"seed{seed}"

    return run_dir


def trial_config(spec: StudySpec, variant: Variant, setting: dict[str, Any], trial: dict) -> dict:
    """The TrainConfig fields of one trial: fixed < variant < setting, seed and run folder."""
    values = {**spec.fixed, **variant.values}
    values.update(
        lr=setting["lr"],
        beta1=setting["beta1"],
        beta2=setting["beta2"],
        n_disc=setting["n_disc"],
        lambda_=setting["lambda"],
        seed=trial["seed"],
        out=trial["run_dir"],
    )
    values.setdefault("device", "auto")
    return values


class StudyRunner:
    """Runs one study into ``out`` (``out/study.sqlite`` and ``out/runs/...``)."""

    def __init__(
        self,
        spec: StudySpec,
        out: str | Path,
        engine: Any,
        *,
        retry_failed: bool = False,
        log: Callable[[str], None] = _log,
        bandit_options: dict[str, Any] | None = None,
    ):
        self.spec = spec
        self.out = Path(out)
        self.engine = engine
        self.log = log
        self.bandit_options = bandit_options or {}
        self.store = StudyStore(self.out / STORE_NAME)
        self.store.bind_study(spec.name, spec.identity(), spec.identity_hash())
        self.variants = {v.name: v for v in spec.variants}
        self._run_dir = run_dir_for(self.out)
        self._plan_fixed_stages()
        if retry_failed:
            with self.store.transaction() as db:
                db.execute(
                    "UPDATE trials SET status = ? WHERE status IN (?, ?)",
                    (PENDING, FAILED, DIVERGED),
                )
        self._in_flight: dict[Any, int] = {}

    def _plan_fixed_stages(self) -> None:
        spec, protocol = self.spec, self.spec.protocol
        for position, variant in enumerate(spec.variants):
            self.store.add_variant(variant.name, variant.label, position, variant.values)
            if protocol.settings:
                self._add(variant, GIVEN_STAGE, 0, list(protocol.settings))
            if protocol.grid:
                settings = grid_settings(variant.penalty)
                self._add(variant, GRID_STAGE, 0, [(s.name, s.values) for s in settings])
            if protocol.random:
                settings = random_start(variant.penalty, protocol.random, spec.seed)
                self._add(variant, RANDOM_STAGE, 0, [(s.name, s.values) for s in settings])

    def _add(self, variant: Variant, stage: str, round_index: int, settings: list) -> None:
        seeds = self.spec.seeds
        if stage == BANDIT_STAGE and self.spec.protocol.bandit.seeds is not None:
            seeds = self.spec.protocol.bandit.seeds
        self.store.add_settings(variant.name, stage, round_index, settings, seeds, self._run_dir)

    # ----------------------------------------------------------------------------------------

    def _next_bandit_round(self, variant: Variant) -> bool:
        """Propose the variant's next round if its earlier trials have all finished."""
        options = self.spec.protocol.bandit
        if options is None:
            return False
        trials = self.store.trials(variant.name)
        if any(t["status"] not in FINISHED_STATUSES for t in trials):
            return False
        rounds = [s["round"] for s in self.store.settings(variant.name, BANDIT_STAGE)]
        next_round = max(rounds, default=0) + 1
        if next_round > options.rounds:
            return False
        scores = self.store.setting_scores(variant.name)
        history = [
            (
                {
                    "lr": s["lr"],
                    "beta1": s["beta1"],
                    "beta2": s["beta2"],
                    "n_disc": s["n_disc"],
                    "lambda_": s["lambda"],
                },
                s["median_fid"],
            )
            for s in scores
        ]
        seed = derived_seed(self.spec.seed, variant.name, "bandit", next_round)
        try:
            proposals = bandit.propose(
                variant.penalty,
                history,
                options.batch,
                seed=seed,
                round_index=next_round,
                beta=options.beta,
                **self.bandit_options,
            )
        except ValueError:
            self.log(f"{variant.name}: no finished FID yet; round {next_round} draws at random")
            fallback = random_start(variant.penalty, options.batch, seed)
            proposals = [s.values for s in fallback]
        named = [(f"b{next_round:02d}-{i:02d}", values) for i, values in enumerate(proposals)]
        self._add(variant, BANDIT_STAGE, next_round, named)
        self.log(f"{variant.name}: bandit round {next_round}/{options.rounds} proposed")
        return True

    def _submit_ready(self) -> None:
        for variant in self.spec.variants:
            while self._next_bandit_round(variant):
                pass  # a round with no trials to run (cannot happen with seeds >= 1)
        in_flight = set(self._in_flight.values())
        settings = {s["id"]: s for s in self.store.settings()}
        for trial in self.store.trials(statuses=(PENDING, RUNNING)):
            if trial["trial_id"] in in_flight:
                continue
            variant = self.variants[trial["variant"]]
            config = trial_config(self.spec, variant, settings[trial["setting_id"]], trial)
            self.store.mark_running(trial["trial_id"])
            self._in_flight[self.engine.submit(config)] = trial["trial_id"]

    def _record(self, trial_id: int, result: dict[str, Any]) -> bool:
        """Store a trial's result; False for a trial stopped on request (queued again)."""
        if result["status"] == INTERRUPTED:
            self.store.requeue(trial_id, result.get("error") or INTERRUPTED)
            self.log(f"trial {trial_id} interrupted: {result.get('error')}")
            return False
        self.store.record_result(trial_id, result)
        if result.get("start_step"):
            self.log(f"trial {trial_id} resumed from the checkpoint at step {result['start_step']}")
        if result["status"] != "done":
            self.log(f"trial {trial_id} {result['status']}: {result.get('error')}")
        return True

    def run(self) -> StudyOutcome:
        start = time.perf_counter()
        total_before = len(self.store.trials(statuses=FINISHED_STATUSES))
        ran = stopped = 0
        with GracefulStop(
            self.log,
            doing="stopping the running trials at a checkpoint",
            abort=lambda number: KeyboardInterrupt(),
        ) as stop:
            self._submit_ready()
            cancelled = False
            while self._in_flight:
                if stop.signal_number is not None and not cancelled:
                    self.engine.cancel(list(self._in_flight))
                    cancelled = True
                for handle, result in self.engine.wait(list(self._in_flight), timeout=POLL_S):
                    trial_id = self._in_flight.pop(handle)
                    if self._record(trial_id, result):
                        ran += 1
                    else:
                        stopped += 1
                    finished = len(self.store.trials(statuses=FINISHED_STATUSES))
                    self.log(
                        f"{finished}/{self.spec.planned_trials()} trials finished "
                        f"({finished - total_before} in this run)"
                    )
                if stop.signal_number is None:
                    self._submit_ready()
            if stop.signal_number is not None:
                raise StudyInterrupted(stop.signal_number, stopped)
        trials = self.store.trials()
        by_status: dict[str, int] = {}
        for trial in trials:
            by_status[trial["status"]] = by_status.get(trial["status"], 0) + 1
        return StudyOutcome(
            self.store.path, len(trials), by_status, ran, time.perf_counter() - start
        )

    def close(self) -> None:
        self.store.close()


def run_study(spec: StudySpec, out: str | Path, engine: Any, **options: Any) -> StudyOutcome:
    runner = StudyRunner(spec, out, engine, **options)
    try:
        return runner.run()
    finally:
        runner.close()
