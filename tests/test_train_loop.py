"""The training loop: exact resume, crash recovery, evaluation, samples, exports and logs.

Runs are tiny (procedural images at 8-16 px, batch 4, a handful of steps) so the file stays fast.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganmetrics_train import checkpoint as ckpt
from ganmetrics_train.config import build_config
from ganmetrics_train.run_logging import append_jsonl, image_grid, read_jsonl
from ganmetrics_train.train import Trainer, train

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def tiny(out, **values):
    base = {
        "arch": "sndcgan",
        "dataset": "procedural",
        "image_size": 8,
        "dataset_options": {"num_images": 24},
        "batch_size": 4,
        "eval_every": 0,
        "checkpoint_every": 0,
        "sample_every": 0,
        "log_every": 1,
        "out": str(out),
    }
    return build_config(overrides={**base, **values})


def assert_same_tensors(a, b, where="checkpoint"):
    """Every tensor of two nested checkpoint structures is identical (torch.equal)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, where
        assert torch.equal(a, b), f"{where} differs"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_tensors(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_tensors(x, y, f"{where}[{index}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def final_state(run_dir):
    _path, state = ckpt.latest_checkpoint(run_dir)
    return state


def comparable(state):
    """The parts of a checkpoint that training determines (not wall time or paths)."""
    keys = ("step", "g_steps", "data_next_batch", "generator", "discriminator", "generator_ema")
    keys += ("g_optimizer", "d_optimizer", "rng")
    return {key: state[key] for key in keys}


@pytest.mark.parametrize("disc_calls", ["concat", "split"])
def test_resume_n_plus_n_equals_2n_bit_for_bit(tmp_path, disc_calls):
    """SNDCGAN (BN generator, SN discriminator) with GP, n_disc=2 and an EMA: 3 + 3 == 6 steps."""
    values = {"penalty": "gp", "lambda_": 10.0, "norm": "sn", "n_disc": 2, "ema_decay": 0.9}
    values["disc_calls"] = disc_calls
    train(tiny(tmp_path / "split", steps=3, **values), progress=False)
    train(tiny(tmp_path / "split", steps=6, **values), progress=False, resume=True)
    train(tiny(tmp_path / "whole", steps=6, **values), progress=False)

    split, whole = final_state(tmp_path / "split"), final_state(tmp_path / "whole")
    assert (whole["step"], whole["g_steps"]) == (6, 3)
    if disc_calls == "concat":
        assert whole["data_next_batch"] == 6 + 3  # one real batch per D step and per G step
    else:
        assert whole["data_next_batch"] == 6  # the G step reads no real batch
    assert_same_tensors(comparable(split), comparable(whole))
    ema, raw = whole["generator_ema"], whole["generator"]
    assert any(not torch.equal(ema[key], raw[key]) for key in raw if raw[key].is_floating_point())
    # the run really trained: weights moved away from a fresh build with the same seed
    fresh = Trainer(tiny(tmp_path / "fresh", steps=6, **values), progress=False, tensorboard=False)
    try:
        moved = [
            not torch.equal(value, whole["discriminator"][key].to(value.device))
            for key, value in fresh.D.state_dict().items()
            if value.is_floating_point()
        ]
        assert any(moved)
    finally:
        fresh.close()


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    """DCGAN, batch-normalized discriminator, WGAN loss, DRAGAN, n_disc=3, killed at step 4."""
    values = {
        "arch": "dcgan",
        "image_size": 16,
        "norm": "bn",
        "loss": "wgan",
        "penalty": "dragan",
        "lambda_": 1.0,
        "n_disc": 3,
        "checkpoint_every": 1,
        "keep_checkpoints": 2,
        "steps": 5,
    }
    train(tiny(tmp_path / "whole", **values), progress=False)

    original_step = Trainer.discriminator_step

    def killed_at_step_four(self):
        if self.step == 3:
            raise KeyboardInterrupt
        original_step(self)

    monkeypatch.setattr(Trainer, "discriminator_step", killed_at_step_four)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(tmp_path / "killed", **values), progress=False)
    monkeypatch.setattr(Trainer, "discriminator_step", original_step)
    steps_on_disk = [step for step, _ in ckpt.list_checkpoints(tmp_path / "killed")]
    assert steps_on_disk == [2, 3]  # keep_checkpoints=2; step 4 never completed

    train(tiny(tmp_path / "killed", **values), progress=False, resume=True)
    assert_same_tensors(
        comparable(final_state(tmp_path / "killed")), comparable(final_state(tmp_path / "whole"))
    )
    assert [step for step, _ in ckpt.list_checkpoints(tmp_path / "whole")] == [4, 5]


def test_checkpoint_holds_everything_and_loads_weights_only(tmp_path):
    run_dir = tmp_path / "run"
    train(tiny(run_dir, steps=2, n_disc=2, penalty="l2", lambda_=0.1), progress=False)
    path = ckpt.checkpoint_path(run_dir, 2)
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("generator", "discriminator", "g_optimizer", "d_optimizer", "config", "rng"):
        assert key in state
    assert set(state["rng"]["generators"]) == {"z", "penalty"}
    assert state["config"]["penalty"] == "l2"
    assert state["g_steps"] == 1
    done = json.loads((run_dir / "done.json").read_text())
    assert done["step"] == 2


def test_existing_run_dir_needs_resume_or_overwrite(tmp_path):
    from ganmetrics.errors import InputError

    run_dir = tmp_path / "run"
    train(tiny(run_dir, steps=1), progress=False)
    with pytest.raises(InputError, match="--resume"):
        train(tiny(run_dir, steps=1), progress=False)
    with pytest.raises(InputError, match="cannot change lr"):
        train(tiny(run_dir, steps=2, lr=1e-3), progress=False, resume=True)
    result = train(tiny(run_dir, steps=1, lr=1e-3), progress=False, overwrite=True)
    assert result.step == 1
    other = tmp_path / "not-a-run"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="refusing to delete"):
        train(tiny(other, steps=1), progress=False, overwrite=True)
    assert (other / "notes.txt").read_text() == "keep me"


def test_end_to_end_run_with_evaluation(tmp_path, inception_weights_path, monkeypatch):
    """Scores, best checkpoint, samples, TensorBoard and an export that ganmetrics loads.

    One real evaluation (random-weights Inception, 10 vs 10 images) keeps the test affordable.
    """
    from ganmetrics.sources import load_generator_export

    monkeypatch.setenv("GANMETRICS_INCEPTION_WEIGHTS", str(inception_weights_path))
    run_dir = tmp_path / "run"
    config = tiny(
        run_dir,
        image_size=32,
        dataset_options={"num_images": 16},
        steps=3,
        n_disc=2,
        eval_every=3,
        eval_num_real=10,
        eval_num_fake=10,
        eval_metrics=("fid", "is", "kid"),
        checkpoint_every=2,
        sample_every=2,
        num_samples=6,
    )
    result = train(config, progress=False)

    (record,) = read_jsonl(run_dir / "scores.jsonl")
    assert record["step"] == 3
    assert np.isfinite(record["metrics"]["fid"]) and record["metrics"]["fid"] > 0
    assert {"is_mean", "is_std", "kid_mean", "kid_std"} <= record["metrics"].keys()
    assert record["config_hash"] == config.hash()
    assert record["meta"]
    best = ckpt.load_checkpoint(ckpt.best_checkpoint_path(run_dir))
    assert (best["step"], best["best"]["fid"]) == (3, record["metrics"]["fid"])
    assert (result.best_fid, result.best_step) == (record["metrics"]["fid"], 3)
    assert [step for step, _ in ckpt.list_checkpoints(run_dir)] == [2, 3]

    samples = sorted(p.name for p in (run_dir / "samples").glob("*.png"))
    assert samples == ["step_000000.png", "step_000002.png", "step_000003.png"]
    with Image.open(run_dir / "samples" / "step_000003.png") as grid:
        assert grid.mode == "RGB" and grid.size[0] > 32
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))

    module, header = load_generator_export(run_dir / "generator.pt")
    assert header["z_dim"] == 128 and header["z_distribution"] == "uniform"
    with torch.no_grad():
        images = module(torch.rand(3, 128) * 2 - 1)
    assert images.shape == (3, 3, 32, 32)
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    trained = torch.load(run_dir / "generator.pt", weights_only=True)["state_dict"]
    final = ckpt.load_checkpoint(ckpt.checkpoint_path(run_dir, 3))["generator"]
    assert_same_tensors(trained, final)

    exported = ckpt.export_generator(run_dir, tmp_path / "best.pt", best=True)
    load_generator_export(exported)


def test_scores_lines_survive_a_torn_write(tmp_path):
    path = tmp_path / "scores.jsonl"
    append_jsonl(path, {"step": 1, "metrics": {"fid": 10.0}})
    with open(path, "a") as handle:
        handle.write('{"step": 2, "metr')  # a writer killed mid-line
    append_jsonl(path, {"step": 3, "metrics": {"fid": 8.0}})
    assert [r["step"] for r in read_jsonl(path)] == [1, 3]


def test_image_grid_tiles_images():
    images = np.stack([np.full((3, 4, 5), value, np.uint8) for value in (10, 20, 30)])
    grid = image_grid(images, columns=2, padding=1)
    assert grid.shape == (2 * (4 + 1) + 1, 2 * (5 + 1) + 1, 3)
    assert grid[1, 1, 0] == 10 and grid[1, 7, 0] == 20 and grid[6, 1, 0] == 30
    assert grid[0, 0, 0] == 0 and grid[6, 7, 0] == 0
