"""``ganmetrics-train``: exit codes, one-line errors, YAML + flags, export, resume, divergence."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from ganmetrics_train import checkpoint as ckpt
from ganmetrics_train.cli import main

pytestmark = pytest.mark.usefixtures("single_torch_thread")


TINY = {
    "arch": "sndcgan",
    "dataset": "procedural",
    "image_size": 8,
    "dataset_options": {"num_images": 16},
    "batch_size": 4,
    "steps": 2,
    "eval_every": 0,
    "checkpoint_every": 2,
    "sample_every": 0,
    "log_every": 1,
}


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert lines and lines[-1].startswith("error: ")
    return lines[-1]


def test_help_and_presets(capsys):
    assert main(["--help"]) == 0
    assert main(["run", "--help"]) == 0
    assert "--lambda" in capsys.readouterr().out
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "sndcgan-cifar10-sn" in out and "Table 9" in out
    assert main(["presets", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["sndcgan-cifar10-sn"]["norm"] == "sn"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--arch", "resnet50", "--dataset", "procedural"], "--arch 'resnet50'"),
        (["--arch", "resnet19", "--dataset", "procedural", "--image-size", "32"], "resnet19"),
        (["--arch", "sndcgan", "--dataset", "procedural", "--lambda", "10"], "without a penalty"),
        (["--arch", "sndcgan", "--dataset", "procedural", "--n-disc", "0"], "n_disc"),
        (["--preset", "no-such-preset"], "unknown preset"),
        (["--dataset", "procedural", "--disc-calls", "both"], "--disc-calls 'both'"),
        (["--dataset", "procedural", "--norm", "xn"], "--norm 'xn': unknown; choose one of"),
    ],
)
def test_bad_settings_exit_2_with_one_line(tmp_path, capsys, args, fragment):
    assert main(["run", *args, "--out", str(tmp_path / "run")]) == 2
    assert fragment in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_missing_data_dir_names_what_was_expected(tmp_path, capsys):
    missing = tmp_path / "no-cifar-here"
    code = main(
        ["run", "--arch", "sndcgan", "--dataset", "cifar10", "--data-dir", str(missing),
         "--out", str(tmp_path / "run")]
    )  # fmt: skip
    assert code == 2
    assert str(missing) in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_yaml_flags_existing_dir_export_and_resume(tmp_path, capsys):
    from ganmetrics.sources import load_generator_export

    config_file = tmp_path / "run.yaml"
    config_file.write_text(yaml.safe_dump({**TINY, "lr": 1e-4}))
    run_dir = tmp_path / "run"
    args = ["run", "--config", str(config_file), "--out", str(run_dir), "--quiet"]
    assert main([*args, "--lr", "0.001"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["step"] == 2
    stored = json.loads((run_dir / "config.json").read_text())
    assert stored["lr"] == 0.001 and stored["batch_size"] == 4

    assert main(args) == 2
    assert "--resume" in one_error_line(capsys.readouterr().err)

    exported = tmp_path / "exported.pt"
    assert main(["export", str(run_dir), "-o", str(exported)]) == 0
    _module, header = load_generator_export(capsys.readouterr().out.strip())
    assert header["builder_kwargs"]["image_size"] == 8
    assert main(["export", str(run_dir), "--best"]) == 2  # never evaluated: no best.pt
    capsys.readouterr()

    # resume needs only --out; operational fields such as --steps may change
    assert main(["run", "--out", str(run_dir), "--resume", "--quiet", "--steps", "3"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 3
    assert main(["run", "--out", str(run_dir), "--resume", "--quiet", "--lr", "0.01"]) == 2
    assert "cannot change lr" in one_error_line(capsys.readouterr().err)


def test_nan_loss_exits_1_and_keeps_the_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    import ganmetrics_train.objectives as objectives_module

    real_loss = objectives_module.discriminator_loss
    calls = {"count": 0}

    def loss_that_explodes_at_step_4(loss, d_real, d_fake):
        calls["count"] += 1
        value = real_loss(loss, d_real, d_fake)
        return value * float("nan") if calls["count"] == 4 else value

    monkeypatch.setattr(objectives_module, "discriminator_loss", loss_that_explodes_at_step_4)
    config_file = tmp_path / "run.yaml"
    config_file.write_text(yaml.safe_dump({**TINY, "steps": 6}))
    run_dir = tmp_path / "run"
    code = main(["run", "--config", str(config_file), "--out", str(run_dir), "--quiet"])
    assert code == 1
    message = one_error_line(capsys.readouterr().err)
    assert "step 4" in message and "nan" in message and "step_00000002.pt" in message

    assert [step for step, _ in ckpt.list_checkpoints(run_dir)] == [2]
    state = ckpt.load_checkpoint(ckpt.checkpoint_path(run_dir, 2))
    assert ckpt.tensors_finite(state["generator"]) and ckpt.tensors_finite(state["discriminator"])
    assert not (run_dir / "done.json").exists()
    assert not (run_dir / "generator.pt").exists()


def test_per_command_help_lists_what_applies_and_marks_required(capsys):
    from ganmetrics_train.config import ARCHITECTURES, DISC_CALLS

    assert main(["sweep", "--help"]) == 0
    sweep_help = capsys.readouterr().out
    assert re.search(r"--out TEXT .*\[required\]", sweep_help)
    assert f"--arch [{'|'.join(ARCHITECTURES)}]" in sweep_help
    for swept_or_run_only in ("--lr", "--lambda", "--seed ", "--resume", "--preset"):
        assert swept_or_run_only not in sweep_help

    assert main(["run", "--help"]) == 0
    run_help = capsys.readouterr().out
    assert re.search(r"--out TEXT .*\s+\[required unless --config sets out\]", run_help)
    assert f"--disc-calls [{'|'.join(DISC_CALLS)}]" in run_help
    assert "--inception-weights FILE" in run_help and "make-test-weights" in run_help
    assert "--grid" not in run_help and "--dry-run" not in run_help

    assert main(["export", "--help"]) == 0
    assert "--arch" not in capsys.readouterr().out
    assert main(["plot", "--help"]) == 0
    assert "RUN_DIR" in capsys.readouterr().out


def test_every_run_option_is_a_setting_under_its_own_name():
    """CLI names equal config names; the exceptions live in one table (issue #9 item 6)."""
    from ganmetrics_train.cli import _OPTION_SETTINGS, cli
    from ganmetrics_train.config import FIELD_NAMES, normalize_overrides

    own = {"config_file", "preset", "out", "resume", "overwrite", "quiet", "yes", "help"}
    names = [p.name for p in cli.commands["run"].params if p.name not in own]
    assert len(names) > 30
    for name in names:
        setting = _OPTION_SETTINGS.get(name, (name,))[0]
        (field,) = normalize_overrides({setting: None}, "test")
        assert field in FIELD_NAMES


def test_new_flags_reach_the_run_config(tmp_path, capsys):
    weights = tmp_path / "inception.pth"
    weights.write_bytes(b"not read: evaluation is off")
    run_dir = tmp_path / "run"
    config_file = tmp_path / "run.yaml"
    config_file.write_text(yaml.safe_dump({**TINY, "steps": 1}))
    args = ["run", "--config", str(config_file), "--out", str(run_dir), "--quiet", "--lambda", "0",
            "--inception-weights", str(weights), "--disc-calls", "concat"]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    stored = json.loads((run_dir / "config.json").read_text())
    assert stored["inception_weights"] == str(weights)
    assert stored["disc_calls"] == "concat"


def test_presets_json_uses_the_names_a_user_writes(capsys):
    assert main(["presets", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["sndcgan-cifar10-sn-gp"]["lambda"] == 1.0
    assert not any("lambda_" in preset for preset in listed.values())


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["sweep", "--arch", "sndcgan"],
            "error: Missing option '--out' (see 'ganmetrics-train sweep --help')",
        ),
        (["run", "--bogus"], "error: No such option '--bogus'"),
    ],
)
def test_usage_mistakes_are_one_line_naming_the_help(argv, expected, capsys):
    """Click's own usage errors (a missing or unknown option) get the same one-line shape as every
    other input error, with exit code 2, instead of click's Usage/Error block."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(expected)
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("argv", [["--help"], ["study", "--help"]])
def test_help_summaries_are_whole(argv, capsys):
    """`ganmetrics-train --help` lists each command with its whole first docstring line."""
    assert main(argv) == 0
    listing = capsys.readouterr().out.split("Commands:", 1)[1]
    assert "..." not in listing
    assert not re.search(r"\.\n", listing), listing
