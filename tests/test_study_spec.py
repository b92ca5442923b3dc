"""Study files: validation before anything runs, Table 1a expansion, the shipped files."""

from __future__ import annotations

import itertools

import pytest
import yaml
from click.testing import CliRunner

from ganmetrics.errors import InputError
from ganmetrics_train.study.cli import study
from ganmetrics_train.study.grid import GRID_STAGE
from ganmetrics_train.study.runner import StudyRunner
from ganmetrics_train.study.spec import load_study, parse_study, shipped_studies

PAPER_STUDIES = ("loss", "regularization", "combined", "architecture", "cifar10")

MINIMAL = {
    "fixed": {"arch": "sndcgan", "dataset": "procedural", "image_size": 32, "eval_every": 0},
    "variants": [{"norm": ["none", "sn"]}, {"penalty": "gp"}],
    "protocol": "grid",
    "seeds": 2,
}


def _write(tmp_path, data, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_grid_stage_is_exactly_table_1a(tmp_path):
    spec = parse_study(MINIMAL, "inline")
    runner = StudyRunner(spec, tmp_path, engine=None)
    try:
        store = runner.store
        by_variant = {v.name: v for v in spec.variants}
        for name, variant in by_variant.items():
            settings = store.settings(name, GRID_STAGE)
            got = sorted(
                (s["lr"], s["beta1"], s["beta2"], s["n_disc"], s["lambda"]) for s in settings
            )
            # Table 1a of the paper, written out here independently of the code
            lambdas = [1.0, 10.0] if variant.penalty != "none" else [None]
            betas = [(0.5, 0.9, 5), (0.5, 0.999, 1), (0.5, 0.999, 5), (0.9, 0.999, 5)]
            expected = sorted(
                (lr, b1, b2, nd, lam)
                for lr, (b1, b2, nd), lam in itertools.product([2e-4, 1e-4, 1e-3], betas, lambdas)
            )
            assert got == expected
            assert len(store.trials(name)) == len(expected) * 2
        assert {len(store.settings(n)) for n in by_variant} == {12, 24}
    finally:
        runner.close()


def test_variants_are_crossed_and_named():
    spec = parse_study(MINIMAL, "inline")
    assert [v.name for v in spec.variants] == ["ns_none", "ns_sn", "ns_gp"]
    assert spec.planned_settings() == 12 + 12 + 24


@pytest.mark.parametrize(
    "change, words",
    [
        ({"colour": 1}, ["'colour'"]),
        ({"fixed": {"arch": "sndcgan", "dataset": "procedural", "lrr": 1}}, ["lrr"]),
        ({"fixed": {**MINIMAL["fixed"], "lr": 1e-3}}, ["fixed.lr", "protocol"]),
        ({"variants": [{"norm": "bn"}]}, ["variant ns_bn", "bn"]),
        ({"variants": [{"loss": "nss"}]}, ["loss", "nss"]),
        ({"seeds": 0}, ["seeds=0"]),
        ({"protocol": "table1b"}, ["protocol"]),
        ({"protocol": {"bandit": {"rounds": 2, "batch": 0}, "random": 1}}, ["batch"]),
        ({"protocol": {"bandit": {"rounds": 2}, "random": 0}}, ["protocol.random"]),
        ({"protocol": {"grid": True, "bandit": {"round": 2}}}, ["'round'"]),
        ({"resources": {"gpus": -1}}, ["resources.gpus"]),
    ],
)
def test_bad_study_files_are_refused_naming_file_and_key(tmp_path, change, words):
    path = _write(tmp_path, {**MINIMAL, **change})
    with pytest.raises(InputError) as info:
        load_study(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for word in words:
        assert word in message


def test_cli_refuses_a_bad_file_in_one_line_before_starting(tmp_path):
    path = _write(tmp_path, {**MINIMAL, "unknown_key": 3})
    result = CliRunner().invoke(study, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "unknown_key" in result.output and str(path) in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_unreachable_ray_address_is_one_line(tmp_path):
    path = _write(tmp_path, MINIMAL)
    result = CliRunner().invoke(
        study, ["run", str(path), "--out", str(tmp_path / "o"), "--address", "127.0.0.1:9"]
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.startswith("error")]
    assert len(lines) == 1 and "127.0.0.1:9" in lines[0] and "cannot reach" in lines[0]


def test_the_papers_studies_ship_and_validate(tmp_path):
    shipped = shipped_studies()
    assert set(PAPER_STUDIES) | {"mini"} <= set(shipped)
    specs = {name: load_study(name, {"data_dir": str(tmp_path)}) for name in PAPER_STUDIES}
    assert {v.values["loss"] for v in specs["loss"].variants} == {"ns", "ls", "wgan"}
    regs = {(v.values["norm"], v.values["penalty"]) for v in specs["regularization"].variants}
    assert regs == {
        ("none", "none"),
        ("bn", "none"),
        ("ln", "none"),
        ("sn", "none"),
        ("none", "gp"),
        ("none", "dragan"),
        ("none", "l2"),
    }
    assert specs["regularization"].protocol.bandit.rounds == 12
    assert specs["regularization"].protocol.bandit.batch == 10
    assert specs["combined"].protocol.random == 24
    assert {v.values["arch"] for v in specs["architecture"].variants} == {"sndcgan", "resnet19"}
    assert "hinge" in {v.values["loss"] for v in specs["cifar10"].variants}
    assert all(spec.seeds == 5 for spec in specs.values())


def test_bandit_protocol_defaults_to_12_rounds_of_10():
    spec = parse_study({**MINIMAL, "protocol": "bandit"}, "inline")
    assert (spec.protocol.bandit.rounds, spec.protocol.bandit.batch) == (12, 10)
    assert spec.protocol.random == 10 and not spec.protocol.grid


def test_given_settings_are_planned_first_and_checked(tmp_path):
    given = {"name": "best", "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "n_disc": 1, "lambda": 10}
    data = {
        **MINIMAL,
        "variants": [{"penalty": "gp"}],
        "protocol": {"settings": [given], "random": 1},
    }
    spec = parse_study(data, "inline")
    assert spec.planned_trials() == 2 * 2  # (1 given + 1 random) x 2 seeds
    runner = StudyRunner(spec, tmp_path, engine=None)
    try:
        first = runner.store.settings("ns_gp")[0]
        assert (first["name"], first["stage"], first["lr"], first["n_disc"], first["lambda"]) == (
            "best",
            "given",
            2e-4,
            1,
            10.0,
        )
    finally:
        runner.close()
    # a study written before given settings keeps its identity (and so its store)
    assert "settings" not in parse_study(MINIMAL, "inline").identity()["protocol"]

    missing = {k: v for k, v in given.items() if k != "lr"}
    path = _write(tmp_path, {**data, "protocol": {"settings": [missing]}})
    result = CliRunner().invoke(study, ["run", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {path}: protocol.settings[0].lr=None must be a number"
    )
