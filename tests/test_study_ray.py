"""Studies running for real on a local Ray (one Ray for the whole session, 2 CPUs).

* the shipped miniature study runs end to end through the CLI: store, report, every figure;
* a deliberately failing trial is recorded with its error and does not stop the study;
* a study whose driver is SIGKILLed mid-trial resumes: finished trials are not rerun, the
  bandit round continues from the stored results and the store stays consistent;
* a study stopped by SIGINT queues its running trial again and resumes it from its checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from ganmetrics_train.study.cli import study
from ganmetrics_train.study.engine import RayEngine
from ganmetrics_train.study.runner import run_study
from ganmetrics_train.study.spec import parse_study
from ganmetrics_train.study.store import DONE, FAILED, FINISHED_STATUSES, STORE_NAME, StudyStore

ray = pytest.importorskip("ray")

TINY = {
    "arch": "sndcgan",
    "dataset": "procedural",
    "image_size": 32,
    "dataset_options": {"num_images": 16},
    "batch_size": 8,
    "eval_every": 0,
    "checkpoint_every": 0,
    "sample_every": 0,
    "log_every": 1,
    "steps": 2,
}
KILL_DEADLINE_S = 600


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray for every test here; yields its GCS address (for --address)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture
def engine(ray_cluster):
    return RayEngine()


def test_miniature_study_runs_end_to_end(
    tmp_path, ray_cluster, inception_weights_path, monkeypatch
):
    monkeypatch.setenv("GANMETRICS_INCEPTION_WEIGHTS", str(inception_weights_path))
    out = tmp_path / "mini"
    result = CliRunner().invoke(study, ["run", "mini", "--out", str(out)])
    assert result.exit_code == 0, result.output
    store = StudyStore(out / STORE_NAME)
    trials = store.trials()
    assert len(trials) == 2 * 4 * 2 and {t["status"] for t in trials} == {DONE}
    assert all(t["final_fid"] is not None and t["wall_s"] > 0 for t in trials)
    assert len({t["node"] for t in trials}) >= 1
    bandit_settings = store.settings(stage="bandit")
    assert len(bandit_settings) == 2 * 2 and {s["round"] for s in bandit_settings} == {1}
    assert {e["metric"] for e in store.evaluations()} >= {"fid"}

    # (d) the report's tables equal medians computed here from the trials
    report = (out / "report" / "report.md").read_text()
    for variant in store.variants():
        done = [t for t in trials if t["variant"] == variant["name"]]
        by_setting: dict[str, list[float]] = {}
        for t in done:
            by_setting.setdefault(t["setting"], []).append(t["final_fid"])
        for setting, fids in by_setting.items():
            row = re.search(
                rf"\| \d+ \| {re.escape(setting)} \| \w+ \| ([\d.]+) \| ([\d.]+) \|",
                report.split(f"### {variant['label']}")[1],
            )
            assert row, setting
            assert float(row.group(1)) == pytest.approx(statistics.median(fids), abs=0.006)
            assert float(row.group(2)) == pytest.approx(min(fids), abs=0.006)

    # every figure is a valid PNG of non-trivial size
    figures = sorted((out / "report").glob("*.png"))
    assert {p.name for p in figures} >= {"top5_fid.png", "budget.png", "hyperparameters.png"}
    for path in figures:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 15_000
        with Image.open(path) as image:
            image.verify()
        assert f"]({path.name})" in report

    exported = CliRunner().invoke(study, ["export", str(out)])
    assert exported.exit_code == 0, exported.output
    csv_rows = (out / "export" / "trials.csv").read_text().strip().splitlines()
    assert len(csv_rows) == 1 + len(trials)
    import pyarrow.parquet as pq

    assert pq.read_table(out / "export" / "evaluations.parquet").num_rows == len(
        store.evaluations()
    )
    store.close()


def test_a_failing_trial_is_recorded_and_isolated(tmp_path, engine):
    spec = parse_study(
        {
            "fixed": TINY,
            "variants": [{"norm": "none"}, {"name": "broken", "batch_size": 64}],
            "protocol": {"random": 1},
            "seeds": 1,
        },
        "failing.yaml",
    )
    outcome = run_study(spec, tmp_path, engine)
    assert outcome.by_status == {DONE: 1, FAILED: 1}
    store = StudyStore(tmp_path / STORE_NAME)
    [broken] = store.trials("broken")
    assert broken["status"] == FAILED and "fewer than one batch" in broken["error"]
    [good] = store.trials("ns_none")
    assert good["status"] == DONE and good["steps"] == 2
    store.close()


def test_study_killed_mid_trial_resumes_without_rerunning(tmp_path, ray_cluster, engine):
    data = {
        "fixed": {**TINY, "steps": 6},
        "variants": [{"norm": "none"}],
        "protocol": {"random": 2, "bandit": {"rounds": 1, "batch": 1}},
        "seeds": 1,
    }
    path = tmp_path / "kill.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    driver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ganmetrics_train.study",
            "run",
            str(path),
            "--out",
            str(out),
            "--address",
            ray_cluster,
            "--no-report",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + KILL_DEADLINE_S
    finished_before: list[dict] = []
    try:
        while time.monotonic() < deadline:
            try:  # waiting on the driver doubles as the poll interval
                driver.wait(timeout=0.5)
                pytest.fail(f"the study ended before it was killed: {driver.stderr.read()}")
            except subprocess.TimeoutExpired:
                pass
            if not (out / STORE_NAME).is_file():
                continue
            with StudyStore(out / STORE_NAME) as store:
                trials = store.trials()
            finished_before = [t for t in trials if t["status"] in FINISHED_STATUSES]
            if finished_before and len(finished_before) < len(trials):
                break
        else:
            pytest.fail("no trial finished in time")
    finally:
        driver.kill()
        driver.wait()
    assert driver.returncode == -9

    with StudyStore(out / STORE_NAME) as store:
        assert store.integrity() == "ok"
    outcome = run_study(parse_study(data, str(path)), out, engine)
    with StudyStore(out / STORE_NAME) as store:
        trials = {t["trial_id"]: t for t in store.trials()}
        assert store.integrity() == "ok"
        assert len(trials) == 2 + 1 and {t["status"] for t in trials.values()} == {DONE}
        for before in finished_before:
            after = trials[before["trial_id"]]
            assert after["attempts"] == before["attempts"] == 1
            assert after["finished_at"] == before["finished_at"]
        assert len(store.settings(stage="bandit")) == 1
    assert outcome.ran == len(trials) - len(finished_before)


def test_study_stopped_by_sigint_requeues_its_trial_and_resumes_it_from_a_checkpoint(
    tmp_path, ray_cluster, engine
):
    """Ctrl-C on `study run`: the running trial stops, goes back to pending, the driver exits 130
    with one line; the next `study run` continues the trial from its checkpoint."""
    data = {
        "fixed": {**TINY, "steps": 60, "checkpoint_every": 2, "keep_checkpoints": 2},
        "variants": [{"norm": "none"}],
        "protocol": {"random": 1},
        "seeds": 1,
    }
    path = tmp_path / "stop.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "ganmetrics_train.study", "run", str(path), "--out", str(out)]
    driver = subprocess.Popen(
        [*command, "--address", ray_cluster, "--no-report"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + KILL_DEADLINE_S
    try:
        while not list(out.glob("runs/*/*/seed0/checkpoints/*")):
            assert time.monotonic() < deadline, "no checkpoint in time"
            with contextlib.suppress(subprocess.TimeoutExpired):
                driver.wait(timeout=0.2)  # the poll interval
                pytest.fail(f"the study ended before it was stopped: {driver.stderr.read()}")
        driver.send_signal(signal.SIGINT)
        _, stderr = driver.communicate(timeout=KILL_DEADLINE_S)
    finally:
        driver.kill()
    assert driver.returncode == 130, stderr
    last = stderr.strip().splitlines()[-1]
    assert last == (
        "ganmetrics-train study: study stopped by SIGINT: 1 running trial(s) stopped and queued "
        "again; run the same command again to resume them from their checkpoints"
    )
    with StudyStore(out / STORE_NAME) as store:
        [stopped] = store.trials()
    assert stopped["status"] == "pending" and stopped["attempts"] == 1
    assert "stopped" in stopped["error"] or "cancelled" in stopped["error"]

    messages: list[str] = []
    run_study(parse_study(data, str(path)), out, engine, log=messages.append)
    with StudyStore(out / STORE_NAME) as store:
        [resumed] = store.trials()
    assert resumed["status"] == DONE and resumed["attempts"] == 2 and resumed["steps"] == 60
    resumed_line = [m for m in messages if "resumed from the checkpoint at step" in m]
    assert len(resumed_line) == 1 and int(resumed_line[0].rsplit(" ", 1)[1]) >= 2
