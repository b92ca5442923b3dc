"""The SQLite store: two writers at once lose nothing; scores are medians over finished seeds."""

from __future__ import annotations

import multiprocessing
import sqlite3
import statistics

from ganmetrics_train.study.store import DONE, FAILED, StudyStore

WRITES = 40


def _writer(path: str, trial_id: int) -> None:
    store = StudyStore(path)
    for step in range(WRITES):
        store.add_evaluation(trial_id, step, {"fid": float(step), "is_mean": 1.0})
    store.close()


def _store_with_trials(path, fids_by_seed):
    store = StudyStore(path)
    store.add_variant("v", "V", 0, {})
    setting = {"lr": 1e-4, "beta1": 0.5, "beta2": 0.9, "n_disc": 5, "lambda_": None}
    store.add_settings(
        "v",
        "grid",
        0,
        [("s0", setting)],
        len(fids_by_seed),
        lambda v, s, k: f"runs/{v}/{s}/seed{k}",
    )
    return store


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "study.sqlite"
    store = _store_with_trials(path, [None, None])
    ids = [t["trial_id"] for t in store.trials()]
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(path), i)) for i in ids]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
        assert process.exitcode == 0
    rows = store.evaluations()
    assert len(rows) == 2 * WRITES * 2
    for trial_id in ids:
        steps = {r["step"] for r in rows if r["trial_id"] == trial_id and r["metric"] == "fid"}
        assert steps == set(range(WRITES))
    assert store.integrity() == "ok"
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    store.close()


def test_a_failed_write_rolls_back_whole(tmp_path):
    store = _store_with_trials(tmp_path / "study.sqlite", [None])
    trial_id = store.trials()[0]["trial_id"]
    result = {
        "status": DONE,
        "final_fid": 10.0,
        "evaluations": [{"step": 1, "metrics": {"fid": 10.0}}],
    }
    store.record_result(trial_id, result)
    try:
        with store.transaction() as db:
            db.execute("DELETE FROM evaluations")
            raise RuntimeError("killed mid-transaction")
    except RuntimeError:
        pass
    assert len(store.evaluations()) == 1
    store.close()


def test_setting_score_is_the_median_of_finished_seeds(tmp_path):
    fids = [31.0, 12.0, 50.0, 20.0]
    store = _store_with_trials(tmp_path / "study.sqlite", [*fids, None])
    trials = store.trials()
    for trial, fid in zip(trials, [*fids, None], strict=True):
        status = DONE if fid is not None else FAILED
        store.record_result(
            trial["trial_id"],
            {"status": status, "final_fid": fid, "error": None if fid else "boom"},
        )
    [score] = store.setting_scores("v")
    assert score["median_fid"] == statistics.median(fids) and score["best_fid"] == min(fids)
    assert (score["seeds"], score["finished"], len(score["fids"])) == (5, 5, 4)
    failed = store.trials(statuses=(FAILED,))
    assert len(failed) == 1 and failed[0]["error"] == "boom"
    store.close()
