"""TrainConfig: derived fields, validation at the edge, YAML round trip and the paper's presets."""

from __future__ import annotations

import json

import pytest
import yaml

from ganmetrics.errors import InputError
from ganmetrics_train.config import (
    PRESETS,
    TrainConfig,
    build_config,
    config_from_dict,
    load_config_file,
    load_run_config,
    resolve_config,
    save_config_files,
)


def _config(**values):
    base = {"arch": "sndcgan", "dataset": "cifar10", "data_dir": "data/cifar10", "out": "runs/x"}
    return build_config(overrides={**base, **values})


def test_protocol_defaults_follow_the_paper():
    cifar = _config()
    assert (cifar.image_size, cifar.steps, cifar.batch_size, cifar.z_dim) == (32, 200_000, 64, 128)
    assert (cifar.eval_num_real, cifar.eval_num_fake) == (10_000, 10_000)
    assert "msssim" not in cifar.eval_metrics
    celeba = _config(arch="resnet19", dataset="celeba-hq-128")
    assert (celeba.image_size, celeba.steps) == (128, 100_000)
    assert (celeba.eval_num_real, celeba.eval_num_fake) == (3_000, 3_000)
    assert "msssim" in celeba.eval_metrics
    lsun = _config(arch="resnet19", dataset="lsun-bedroom")
    assert (lsun.image_size, lsun.steps, lsun.eval_num_real) == (128, 100_000, 10_000)
    small = _config(eval_num_real=20, eval_num_fake=30)
    assert (small.eval_num_real, small.eval_num_fake) == (20, 30)


def test_generator_norm_and_lambda_are_derived():
    assert _config().g_norm == "bn"
    assert _config(norm="wn").g_norm == "wn"
    assert _config(norm="sn", g_norm="none").g_norm == "none"
    assert _config().lambda_ == 0.0
    assert _config(penalty="gp").lambda_ == 1.0
    assert _config(penalty="gp", lambda_=10).lambda_ == 10.0


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"arch": "resnet50"}, "arch"),
        ({"loss": "kl"}, "loss"),
        ({"penalty": "gp2"}, "penalty"),
        ({"norm": "gn"}, "norm"),
        ({"dataset": "imagenet"}, "dataset"),
        ({"lambda_": 10.0}, "without a penalty"),
        ({"penalty": "gp", "lambda_": 0.0}, "lambda"),
        ({"penalty": "gp", "lambda_": -1.0}, "lambda"),
        ({"n_disc": 0}, "n_disc"),
        ({"lr": 0.0}, "lr"),
        ({"lr": -1e-4}, "lr"),
        ({"beta1": 1.0}, "beta1"),
        ({"beta2": -0.1}, "beta2"),
        ({"arch": "resnet19"}, "resnet19"),
        ({"arch": "resnet_cifar", "dataset": "celeba-hq-128"}, "resnet_cifar"),
        ({"arch": "sndcgan", "norm": "bn"}, "norm"),
        ({"image_size": 64}, "32 px"),
        ({"ablations": ("cin",)}, "ablation"),
        ({"amp_bf16": True, "device": "cpu"}, "CUDA"),
        ({"compile": True, "device": "cpu"}, "CUDA"),
        ({"ema_decay": 1.5}, "ema_decay"),
        ({"eval_metrics": ("is",)}, "fid"),
        ({"data_dir": None}, "--data-dir"),
        ({"out": None}, "--out"),
    ],
)
def test_invalid_settings_are_refused_with_the_reason(values, fragment):
    with pytest.raises(InputError) as error:
        _config(**values)
    message = str(error.value)
    assert fragment in message
    assert "\n" not in message


def test_unknown_and_mistyped_keys_are_refused(tmp_path):
    with pytest.raises(InputError, match="unknown setting 'learning_rate'"):
        config_from_dict({"learning_rate": 1e-3})
    with pytest.raises(InputError, match="wrong type"):
        config_from_dict({"n_disc": "five"})
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("arch: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_config_file(bad_yaml)
    with pytest.raises(InputError, match="not found"):
        load_config_file(tmp_path / "missing.yaml")


def test_yaml_round_trip_and_flags_override_the_file(tmp_path):
    config = _config(
        penalty="gp", lambda_=10, norm="sn", n_disc=5, ema_decay=0.999, eval_num_real=100
    )
    save_config_files(config, tmp_path)
    assert load_run_config(tmp_path) == config
    from_yaml = build_config(config_file=tmp_path / "config.yaml")
    assert from_yaml == config
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["config_hash"] == config.hash()

    user_file = tmp_path / "run.yaml"
    user_file.write_text(
        yaml.safe_dump({"arch": "sndcgan", "lambda": 10, "penalty": "gp", "n-disc": 5, "lr": 1e-3})
    )
    overridden = build_config(
        config_file=user_file,
        overrides={"lr": 2e-4, "dataset": "cifar10", "data_dir": "d", "out": "o"},
    )
    assert (overridden.lr, overridden.lambda_, overridden.n_disc) == (2e-4, 10.0, 5)


def test_hash_ignores_operational_fields_only():
    config = _config()
    assert config.replace(steps=10, eval_every=5, out="elsewhere").hash() == config.hash()
    assert config.replace(lr=1e-3).hash() != config.hash()
    assert config.replace(seed=1).hash() != config.hash()


def test_resolve_is_idempotent():
    config = _config(penalty="dragan", lambda_=1, norm="sn")
    assert resolve_config(config) == config
    assert isinstance(config, TrainConfig)


def test_presets_hold_the_rows_of_tables_7_to_9():
    preset = PRESETS["sndcgan-cifar10-sn"]
    assert preset.table == "Table 7"
    assert preset.settings["norm"] == "sn"
    assert (preset.settings["lr"], preset.settings["n_disc"]) == (2e-4, 1)
    assert preset.median_fid == pytest.approx(26.66)
    two_regularizers = PRESETS["resnet_cifar-cifar10-sn-gp"]
    assert (two_regularizers.settings["penalty"], two_regularizers.settings["lambda_"]) == (
        "gp",
        1.0,
    )
    assert PRESETS["resnet19-celeba-hq-128-ln-dragan"].settings["beta2"] == 0.9
    for name in PRESETS:
        config = build_config(preset=name, overrides={"data_dir": "d", "out": "o"})
        assert config.arch in name and config.dataset in name
        assert config.loss == "ns"


def test_preset_flags_override_and_unknown_preset_is_refused():
    config = build_config(
        preset="sndcgan-cifar10-sn", overrides={"lr": 1e-3, "data_dir": "d", "out": "o"}
    )
    assert (config.lr, config.norm) == (1e-3, "sn")
    with pytest.raises(InputError, match="unknown preset"):
        build_config(preset="nope", overrides={"data_dir": "d", "out": "o"})
