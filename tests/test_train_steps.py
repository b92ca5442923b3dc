"""The training step as a user meets it: split vs concat D calls, the G schedule, divergence,
evaluation status, a small best.pt, user-facing names, the FLOP count and the config layering."""

from __future__ import annotations

import json
import sys

import pytest
import torch
import yaml
from test_train_cli import one_error_line
from test_train_loop import tiny

import ganmetrics_train.evaluation as evaluation_module
import ganmetrics_train.objectives as objectives_module
import ganmetrics_train.train as train_module
from ganmetrics_train import checkpoint as ckpt
from ganmetrics_train.cli import main
from ganmetrics_train.config import build_config, load_run_config
from ganmetrics_train.models import build_discriminator, build_generator
from ganmetrics_train.objectives import discriminator_objective, generator_objective
from ganmetrics_train.performance import iteration_flops, make_adam
from ganmetrics_train.step_metrics import StepMetrics
from ganmetrics_train.train import Trainer, generator_trains_after, train

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def d_losses(tmp_path, disc_calls, **model):
    """The D objective of one fixed batch and z, for the same fresh networks, in one mode."""
    cfg = tiny(tmp_path / "unused", disc_calls=disc_calls, **model)
    torch.manual_seed(0)
    G = build_generator(cfg.arch, cfg.image_size, norm=cfg.g_norm)
    D = build_discriminator(cfg.arch, cfg.image_size, norm=cfg.norm)
    real = torch.rand(4, 3, cfg.image_size, cfg.image_size)
    z = torch.rand(4, cfg.z_dim) * 2 - 1
    g_real = None if disc_calls == "split" else real
    with torch.no_grad():
        loss, _, _ = discriminator_objective(cfg, G, D, real, z, None)
        return float(loss), float(generator_objective(cfg, G, D, z, g_real))


@pytest.mark.parametrize(
    "model",
    [
        {"arch": "dcgan", "image_size": 16, "norm": "none"},
        {"arch": "resnet_cifar", "image_size": 32, "norm": "ln"},
    ],
)
def test_split_and_concat_agree_without_batch_statistics(tmp_path, model):
    split, concat = d_losses(tmp_path, "split", **model), d_losses(tmp_path, "concat", **model)
    assert split == pytest.approx(concat, rel=1e-5, abs=1e-6)


def test_split_and_concat_differ_with_a_batch_normalized_discriminator(tmp_path):
    model = {"arch": "dcgan", "image_size": 16, "norm": "bn"}
    split, concat = d_losses(tmp_path, "split", **model), d_losses(tmp_path, "concat", **model)
    assert abs(split[0] - concat[0]) > 1e-4 and abs(split[1] - concat[1]) > 1e-4


def test_generator_schedule_follows_the_paper_era_counter_rule(tmp_path, monkeypatch):
    """df8998c abstract_gan.py: G after D step `counter` when (counter - 1) % disc_iters == 0."""
    trained_after = []
    original = Trainer.generator_step

    def recording(self):
        trained_after.append(self.step)
        original(self)

    monkeypatch.setattr(Trainer, "generator_step", recording)
    train(tiny(tmp_path / "split", steps=7, n_disc=3), progress=False, tensorboard=False)
    assert trained_after == [s for s in range(1, 8) if (s - 1) % 3 == 0] == [1, 4, 7]
    trained_after.clear()
    train(tiny(tmp_path / "concat", steps=7, n_disc=3, disc_calls="concat"), progress=False)
    assert trained_after == [3, 6]
    assert [generator_trains_after(s, 1, "split") for s in (1, 2, 3)] == [True] * 3


def test_split_generator_step_reuses_the_d_step_z_and_reads_no_real_batch(tmp_path, monkeypatch):
    seen = {"d": [], "g": []}
    d_objective, g_objective = (
        train_module.discriminator_objective,
        train_module.generator_objective,
    )

    def d_spy(cfg, G, D, real, z, *args):
        seen["d"].append(z.clone())
        return d_objective(cfg, G, D, real, z, *args)

    def g_spy(cfg, G, D, z, real):
        seen["g"].append((z.clone(), real))
        return g_objective(cfg, G, D, z, real)

    monkeypatch.setattr(train_module, "discriminator_objective", d_spy)
    monkeypatch.setattr(train_module, "generator_objective", g_spy)
    result = train(tiny(tmp_path / "run", steps=4, n_disc=2), progress=False, tensorboard=False)
    assert len(seen["g"]) == 2  # after D steps 1 and 3
    for (g_z, g_real), d_z in zip(seen["g"], (seen["d"][0], seen["d"][2]), strict=True):
        assert g_real is None and torch.equal(g_z, d_z)
    assert ckpt.latest_checkpoint(result.run_dir)[1]["data_next_batch"] == 4


def test_nan_read_at_the_log_point_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real_loss = objectives_module.discriminator_loss
    calls = {"count": 0}

    def nan_at_step_3(loss, d_real, d_fake):
        calls["count"] += 1
        value = real_loss(loss, d_real, d_fake)
        return value * float("nan") if calls["count"] == 3 else value

    monkeypatch.setattr(objectives_module, "discriminator_loss", nan_at_step_3)
    reads = {"count": 0}
    original_read = StepMetrics.first_nonfinite

    def counting_read(self):
        reads["count"] += 1
        return original_read(self)

    monkeypatch.setattr(StepMetrics, "first_nonfinite", counting_read)
    run_dir = tmp_path / "run"
    config = tiny(run_dir, steps=8, log_every=4, checkpoint_every=2)
    with pytest.raises(train_module.TrainingDiverged) as error:
        train(config, progress=False, tensorboard=False)
    message = str(error.value)
    assert "step 3: discriminator loss is nan" in message and "step_00000002.pt" in message
    assert reads["count"] == 2  # before the checkpoint at step 2, at the log point of step 4
    assert [step for step, _ in ckpt.list_checkpoints(run_dir)] == [2]
    good = ckpt.load_checkpoint(ckpt.checkpoint_path(run_dir, 2))
    assert ckpt.tensors_finite(good["generator"]) and ckpt.tensors_finite(good["discriminator"])


def stub_scores(monkeypatch, fids):
    """Evaluation without Inception: FIDs in the given order."""
    values = iter(fids)

    def compute(self, generator):
        return {"fid": next(values), "meta": {"stub": True}}

    monkeypatch.setattr(evaluation_module.RunEvaluation, "compute", compute)
    monkeypatch.setattr(evaluation_module.RunEvaluation, "check_inputs", lambda self: None)


def test_evaluation_prints_a_status_line_and_best_pt_is_small(tmp_path, monkeypatch, capsys):
    stub_scores(monkeypatch, [30.0, 20.0, 25.0])
    run_dir = tmp_path / "run"
    config = tiny(
        run_dir, steps=6, eval_every=2, eval_num_real=8, eval_num_fake=8, eval_metrics=("fid",),
        checkpoint_every=2, penalty="gp", ema_decay=0.9,
    )  # fmt: skip
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal: bars (a log: lines)
    trainer = Trainer(config, progress=True, tensorboard=False)
    try:
        assert trainer.evaluation.settings.progress is True  # feature bars
        trainer.run()
        result = trainer.finish()
    finally:
        trainer.close()
    err = capsys.readouterr().err
    assert "step 2: evaluating fid on 8 test and 8 generated images" in err
    assert "lambda: 1.0" in err and "lambda_" not in err  # the config printout's names
    assert (result.best_fid, result.best_step) == (20.0, 4)

    best_path = ckpt.best_checkpoint_path(run_dir)
    best = ckpt.load_checkpoint(best_path)
    assert "discriminator" not in best and "d_optimizer" not in best and "g_optimizer" not in best
    assert best["best"] == {"fid": 20.0, "step": 4}
    full_size = ckpt.checkpoint_path(run_dir, 6).stat().st_size
    assert best_path.stat().st_size < full_size / 3
    assert main(["export", str(run_dir), "--best"]) == 0
    from ganmetrics.sources import load_generator_export

    load_generator_export(run_dir / "best_generator.pt")
    assert "lambda: 1.0" in (run_dir / "config.yaml").read_text()


def test_missing_inception_weights_name_every_way_out(tmp_path, capsys):
    config_file = tmp_path / "run.yaml"
    missing = tmp_path / "no-weights.pth"
    values = {
        "dataset": "procedural",
        "image_size": 8,
        "dataset_options": {"num_images": 16},
        "batch_size": 4,
        "eval_num_real": 10,
        "eval_num_fake": 10,
        "inception_weights": str(missing),
    }
    config_file.write_text(yaml.safe_dump(values))
    code = main(["run", "--config", str(config_file), "--out", str(tmp_path / "r"), "--quiet"])
    assert code == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(missing) in line
    for fix in ("--inception-weights PATH", "--eval-every 0", "ganmetrics make-test-weights"):
        assert fix in line
    assert not (tmp_path / "r").exists()  # refused before the run folder is made


def test_inception_weights_are_kept_in_the_run_config(tmp_path):
    weights = tmp_path / "w.pth"
    config = tiny(tmp_path / "run", steps=1, inception_weights=str(weights))
    train(config, progress=False, tensorboard=False)
    assert load_run_config(tmp_path / "run").inception_weights == str(weights)
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["inception_weights"]
    # an operational setting: the weights may move when the run is resumed
    assert tiny(tmp_path / "run", steps=1).hash() == config.hash()


def test_resnet19_without_data_says_the_command_that_works(tmp_path, capsys):
    assert main(["run", "--arch", "resnet19", "--norm", "ln"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--data-dir" in line and "add --dataset procedural --out runs/NAME" in line
    suggested = build_config(
        overrides={"arch": "resnet19", "norm": "ln", "dataset": "procedural", "out": "runs/NAME"}
    )
    assert suggested.image_size == 128  # the built-in set follows the architecture
    explicit = build_config(
        overrides={"arch": "sndcgan", "dataset": "procedural", "image_size": 16, "out": "x"}
    )
    assert explicit.image_size == 16


def test_build_config_layers_base_preset_file_and_overrides(tmp_path):
    base = tiny(tmp_path / "run", steps=5, lr=0.5, beta2=0.5, seed=3)
    config_file = tmp_path / "more.yaml"
    config_file.write_text(yaml.safe_dump({"lr": 0.003, "beta1": 0.25}))
    layered = build_config(
        base=base,
        preset="sndcgan-cifar10-sn",
        config_file=config_file,
        overrides={"beta1": 0.1, "dataset": "procedural", "data_dir": None},
    )
    assert layered.seed == 3  # base
    assert (layered.norm, layered.beta2) == ("sn", 0.999)  # preset over base
    assert layered.lr == 0.003  # file over preset
    assert layered.beta1 == 0.1  # overrides over file


def test_run_written_before_disc_calls_resumes_with_its_own_step(tmp_path):
    run_dir = tmp_path / "run"
    config = tiny(run_dir, steps=2, disc_calls="concat")
    train(config, progress=False, tensorboard=False)
    stored = json.loads((run_dir / "config.json").read_text())
    del stored["disc_calls"]  # as an older version wrote it
    (run_dir / "config.json").write_text(json.dumps(stored))
    assert load_run_config(run_dir).disc_calls == "concat"
    assert load_run_config(run_dir).hash() == config.hash()
    assert main(["run", "--out", str(run_dir), "--resume", "--quiet", "--steps", "3"]) == 0


def test_steps_per_second_reach_the_logger(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr(
        train_module.RunLogger, "scalars", lambda self, step, values: logged.append(values)
    )
    train(tiny(tmp_path / "run", steps=2), progress=False, tensorboard=False)
    assert logged and all(v["perf/steps_per_sec"] > 0 for v in logged)
    assert {"loss/d", "loss/g", "grad_norm/d", "grad_norm/g"} <= logged[0].keys()


def test_iteration_flops_count_one_d_and_one_g_step(tmp_path):
    split = iteration_flops(tiny(tmp_path / "a"), batch_size=4)
    concat = iteration_flops(tiny(tmp_path / "b", disc_calls="concat"), batch_size=4)
    assert split["d_step"] > 0 and split["g_step"] > 0
    assert split["iteration"] == split["d_step"] + split["g_step"]
    assert split["d_step"] == concat["d_step"]  # D sees 2 x batch either way
    assert concat["g_step"] > split["g_step"]  # v3's G step also runs D on the real batch


def test_adam_is_fused_only_for_cuda_float_parameters(tmp_path):
    config = tiny(tmp_path / "run")
    cpu = make_adam([torch.nn.Parameter(torch.zeros(3))], config)
    assert not cpu.defaults.get("fused")
    if torch.cuda.is_available():
        cuda = make_adam([torch.nn.Parameter(torch.zeros(3, device="cuda"))], config)
        assert cuda.defaults.get("fused")
