"""``ganmetrics-train`` as a user meets it: preemption, the CPU pace check, resume mistakes,
``--help`` defaults, ``--version``, ``-o/--out``, and a log file without cursor codes.

Runs are tiny (SNDCGAN, procedural images at 8 px, batch 4, a handful of steps).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganmetrics
from ganmetrics_train import checkpoint as ckpt
from ganmetrics_train import run_logging
from ganmetrics_train.cli import main
from ganmetrics_train.config import build_config
from ganmetrics_train.interrupt import GracefulStop, TrainingAborted, TrainingInterrupted
from ganmetrics_train.pace import CPU_LIMIT_S, PaceCheck
from ganmetrics_train.train import Trainer, train

pytestmark = pytest.mark.usefixtures("single_torch_thread")

REPO = Path(__file__).resolve().parents[1]
TINY_FLAGS = [
    "--arch", "sndcgan", "--dataset", "procedural", "--image-size", "8",
    "--dataset-option", "num_images=16", "--batch-size", "4", "--eval-every", "0",
    "--checkpoint-every", "0", "--sample-every", "0", "--log-every", "1",
]  # fmt: skip


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert "Traceback" not in stderr
    return lines[-1]


def checkpoint_steps(run_dir: Path) -> list[int]:
    return [step for step, _ in ckpt.list_checkpoints(run_dir)]


def trained_state(run_dir: Path) -> dict:
    """What training determines: weights, Adam states, random states, data position."""
    _, state = ckpt.latest_checkpoint(run_dir)
    keys = ("step", "g_steps", "data_next_batch", "generator", "discriminator", "g_optimizer")
    return {key: state[key] for key in (*keys, "d_optimizer", "rng")}


def assert_bit_equal(a, b, where="state"):
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), f"{where} differs"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_bit_equal(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_bit_equal(x, y, f"{where}[{index}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


# ------------------------------------------------------------------------------------------
# Point 3: preemption


def test_sigterm_stops_at_a_checkpoint_and_the_resumed_run_is_bit_identical(tmp_path, capsys):
    """`ganmetrics-train run ...` gets SIGTERM after a few logged steps: exit 143, a checkpoint at
    that step, the exact resume command; resumed, it ends bit for bit where an uninterrupted run
    ends. stderr is a pipe here, as in a cluster's log: it holds no tqdm cursor codes."""
    run_dir = tmp_path / "preempted"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "ganmetrics_train", "run", *TINY_FLAGS]
    command += ["--steps", "100000", "--yes", "--out", str(run_dir)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        losses = run_dir / run_logging.LOSSES_NAME
        while len(run_logging.read_jsonl(losses)) < 3 and process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    stderr = stderr.decode()
    assert process.returncode == 143, stderr[-2000:]
    assert "SIGTERM received: finishing this step" in stderr
    last = error_line(stderr)
    assert f"{run_dir}: stopped by SIGTERM at step " in last
    (stopped_at,) = checkpoint_steps(run_dir)  # --checkpoint-every 0: only the signal's one
    assert stopped_at >= 3 and f"at step {stopped_at};" in last
    resume = last.split("continue with: ", 1)[1]
    assert resume == f"ganmetrics-train run --out {shlex.quote(str(run_dir))} --resume --yes"
    assert "\x1b[" not in stderr and "\r" not in stderr

    end = ["--steps", str(stopped_at + 2), "--quiet"]
    assert main(shlex.split(resume)[1:] + end) == 0
    whole = tmp_path / "whole"
    assert main(["run", *TINY_FLAGS, "--out", str(whole), *end]) == 0
    capsys.readouterr()
    resumed_state, whole_state = trained_state(run_dir), trained_state(whole)
    assert whole_state["step"] == stopped_at + 2
    assert_bit_equal(resumed_state, whole_state)


def test_ctrl_c_in_a_run_exits_130_with_the_resume_command(tmp_path, capsys, monkeypatch):
    original = Trainer.discriminator_step

    def interrupted_at_step_two(self):
        original(self)
        if self.step == 1:  # signalled while step 2 trains
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(Trainer, "discriminator_step", interrupted_at_step_two)
    run_dir = tmp_path / "run"
    assert main(["run", *TINY_FLAGS, "--steps", "50", "--out", str(run_dir)]) == 130
    last = error_line(capsys.readouterr().err)
    assert last.endswith(f"continue with: ganmetrics-train run --out {run_dir} --resume")
    assert "stopped by SIGINT at step 2" in last
    assert checkpoint_steps(run_dir) == [2]
    assert not (run_dir / "done.json").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler given back


def test_a_second_signal_aborts_at_once(capsys):
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingAborted) as caught, GracefulStop() as stop:
        signal.raise_signal(signal.SIGTERM)
        assert stop.signal_number == signal.SIGTERM
        signal.raise_signal(signal.SIGTERM)
        pytest.fail("the second SIGTERM did not abort")
    assert caught.value.exit_code == 143
    assert "send it again to abort at once" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) == previous


def test_library_callers_get_the_checkpoint_of_an_interrupted_run(tmp_path, monkeypatch):
    """The hook a study trial uses: TrainingInterrupted carries the run, step and checkpoint."""
    original = Trainer.discriminator_step

    def terminated(self):
        original(self)
        if self.step == 2:
            signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(Trainer, "discriminator_step", terminated)
    config = build_config(
        overrides={"arch": "sndcgan", "dataset": "procedural", "image_size": 8, "batch_size": 4,
                   "dataset_options": {"num_images": 16}, "eval_every": 0, "sample_every": 0,
                   "checkpoint_every": 0, "steps": 9, "out": str(tmp_path / "run")}
    )  # fmt: skip
    with pytest.raises(TrainingInterrupted) as caught:
        train(config, progress=False, tensorboard=False)
    assert (caught.value.step, caught.value.exit_code) == (3, 143)
    assert caught.value.checkpoint == ckpt.checkpoint_path(tmp_path / "run", 3)
    assert caught.value.checkpoint.is_file()
    copy = pickle.loads(pickle.dumps(caught.value))  # as it comes back from a Ray worker
    assert (copy.checkpoint, copy.exit_code, str(copy)) == (
        caught.value.checkpoint,
        143,
        str(caught.value),
    )


def test_a_signal_stops_a_sweep_instead_of_moving_on_to_the_next_run(tmp_path, monkeypatch):
    from ganmetrics_train import sweep as sweep_lib

    original = Trainer.discriminator_step

    def terminated(self):
        original(self)
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(Trainer, "discriminator_step", terminated)
    values = {"arch": "sndcgan", "dataset": "procedural", "image_size": 8, "batch_size": 4,
              "dataset_options": {"num_images": 16}, "eval_every": 0, "sample_every": 0,
              "checkpoint_every": 0, "steps": 5, "out": str(tmp_path / "run")}  # fmt: skip
    with pytest.raises(TrainingInterrupted):
        sweep_lib.run_one(values)
    assert checkpoint_steps(tmp_path / "run") == [1]


# ------------------------------------------------------------------------------------------
# Point 2: a GPU-sized run on the CPU


def test_a_run_projected_beyond_a_day_on_the_cpu_stops_after_its_measured_steps(tmp_path, capsys):
    run_dir = tmp_path / "huge"
    code = main(["run", *TINY_FLAGS, "--steps", str(10**9), "--out", str(run_dir)])
    assert code == 2
    line = error_line(capsys.readouterr().err)
    # even the first step (start-up included) projects beyond ten days: it stops after it
    assert line.startswith(f"error: {run_dir}: stopped at step 1 (checkpoint ")
    assert "days" in line and "--steps N" in line and "GPU" in line and "README" in line
    assert line.endswith(f"ganmetrics-train run --out {run_dir} --resume --yes")
    assert checkpoint_steps(run_dir) == [1]  # the measured step is kept

    # shortened on resume, it trains on from step 1 and finishes without a word about pace
    assert main(["run", "--out", str(run_dir), "--resume", "--steps", "6", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert '"step": 6' in captured.out and "warning" not in captured.err
    assert (run_dir / "done.json").is_file()

    # point 11: one output flag, -o/--out, in export and plot; --output still works (hidden)
    assert main(["export", str(run_dir), "--out", str(tmp_path / "g.pt")]) == 0
    assert (tmp_path / "g.pt").is_file()
    assert main(["plot", str(run_dir), "--output", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").is_file()


def test_with_yes_a_slow_cpu_run_warns_in_one_line_and_trains_on(tmp_path, capsys):
    config = build_config(
        overrides={"arch": "sndcgan", "dataset": "procedural", "image_size": 8, "batch_size": 4,
                   "dataset_options": {"num_images": 16}, "eval_every": 0, "sample_every": 0,
                   "checkpoint_every": 0, "steps": 10**9, "out": str(tmp_path / "run")}
    )  # fmt: skip
    trainer = Trainer(config, progress=False, tensorboard=False, announce=False)
    try:
        trainer.run(until_step=6)
    finally:
        trainer.close()
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "would take about" in warnings[0]
    assert trainer.step == 6 and checkpoint_steps(tmp_path / "run") == []


def test_pace_check_times_a_whole_generator_group_and_only_on_the_cpu():
    # n_disc 5 after a resume at step 10: steps 12..16 are timed (11 pays for start-up)
    pace = PaceCheck("cpu", start_step=10, total_steps=10 + 1000, n_disc=5)
    times = {11: 500.0, 12: 60.0, 13: 60.0, 14: 60.0, 15: 60.0, 16: 210.0}  # G step after 16
    verdicts = [pace.record(step, times.get(step, 60.0)) for step in range(11, 20)]
    slow = verdicts[5]
    assert [v is None for v in verdicts] == [True] * 5 + [False] + [True] * 3
    assert (slow.step, slow.seconds_per_step, slow.steps_left) == (16, 90.0, 994)
    assert slow.projected_s > CPU_LIMIT_S and "would take about 25 hours" in slow.line()
    # minutes per step: the first timed step decides at once, from its (lower-bound) time
    early = PaceCheck("cpu", start_step=0, total_steps=100_000, n_disc=5)
    assert early.record(1, 5.0) is None  # 5.8 days: start-up may explain it, wait for step 2
    early = early.record(2, 170.0)
    assert early is not None and early.step == 2 and "days" in early.line()
    # months from the very first step (ResNet19 on a CPU): the verdict comes after step 1
    first = PaceCheck("cpu", start_step=0, total_steps=100_000, n_disc=5).record(1, 170.0)
    assert first is not None and first.step == 1 and "days" in first.line()
    fast = PaceCheck("cpu", start_step=0, total_steps=1000, n_disc=1)
    assert all(fast.record(step, 1.0) is None for step in range(1, 10))
    gpu = PaceCheck("cuda", start_step=0, total_steps=10**9, n_disc=1)
    assert all(gpu.record(step, 100.0) is None for step in range(1, 10))


# ------------------------------------------------------------------------------------------
# Point 6: --resume on a folder that is not a run


def test_resume_on_a_folder_that_is_not_a_run_says_so_first(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"not a run")
    assert main(["run", "--out", str(folder), "--resume"]) == 2
    line = error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {folder}: not a ganmetrics-train run folder (no config.json)")
    assert "--data-dir" not in line and "check --out" in line

    missing = tmp_path / "typo"
    assert main(["run", "--out", str(missing), "--resume"]) == 2
    line = error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {missing}: no run to resume here") and "--data-dir" not in line
    assert not missing.exists()


# ------------------------------------------------------------------------------------------
# Point 11: --help defaults and --version


def test_run_help_shows_defaults_and_version_exits_0(capsys):
    assert main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag, default in [
        ("--z-dim INTEGER Latent dimension.", "128"),
        ("--lr FLOAT Adam learning rate for G and D.", "0.0002"),
        ("--batch-size INTEGER Batch size (64 in the study).", "64"),
        ("--checkpoint-every INTEGER Checkpoint every N steps.", "5000"),
        ("--disc-calls [split|concat]", None),
        ("--device TEXT cpu, cuda, cuda:N or auto.", "auto"),
        ("--deterministic / --no-deterministic torch.use_deterministic_algorithms(True).", "off"),
    ]:
        assert flag in text
        if default is not None:
            assert f"{flag} [default: {default}]" in text
    assert "[default: 200000 on cifar10, else 100000]" in text
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ganmetrics-train, version {ganmetrics.__version__}"
    for command in (["plot"], ["export"], ["study", "export"]):  # one output flag everywhere
        assert main([*command, "--help"]) == 0
        help_text = capsys.readouterr().out
        assert "-o, --out" in help_text and "--output" not in help_text


# ------------------------------------------------------------------------------------------
# Point 12: no tqdm cursor codes in a log


@pytest.mark.filterwarnings("ignore:Fréchet statistics from N=10")
def test_a_log_file_gets_progress_lines_and_no_cursor_codes(
    tmp_path, capsys, monkeypatch, inception_weights_path
):
    """stderr is not a terminal (capsys): no bars, so the evaluation's nested bar cannot write
    ``ESC[A``; plain ``step N/M`` lines instead (every PROGRESS_LINE_EVERY_S, here always)."""
    monkeypatch.setattr(run_logging, "PROGRESS_LINE_EVERY_S", 0.0)
    config = build_config(
        overrides={"arch": "sndcgan", "dataset": "procedural", "image_size": 8, "batch_size": 4,
                   "dataset_options": {"num_images": 16}, "eval_every": 2, "eval_num_real": 10,
                   "eval_num_fake": 10, "eval_metrics": ["fid"], "sample_every": 0,
                   "inception_weights": str(inception_weights_path), "checkpoint_every": 0,
                   "steps": 2, "out": str(tmp_path / "run")}
    )  # fmt: skip
    train(config, tensorboard=False)  # progress requested, as the CLI does without --quiet
    err = capsys.readouterr().err
    assert "\x1b[" not in err and "\r" not in err
    assert "step 1/2 (50%)" in err and "step 2/2 (100%)" in err and "step 2: fid" in err


def test_resume_without_a_checkpoint_says_it_starts_over(tmp_path):
    config = build_config(
        overrides={"arch": "sndcgan", "dataset": "procedural", "image_size": 8, "batch_size": 4,
                   "dataset_options": {"num_images": 16}, "eval_every": 0, "sample_every": 0,
                   "checkpoint_every": 0, "steps": 2, "out": str(tmp_path / "run")}
    )  # fmt: skip
    Trainer(config, progress=False, tensorboard=False, announce=False).close()  # config, no step
    with pytest.warns(UserWarning, match=r"no checkpoint to resume from yet.*starts at step 0"):
        trainer = Trainer(config, resume=True, progress=False, tensorboard=False, announce=False)
    trainer.close()
    assert trainer.step == 0
