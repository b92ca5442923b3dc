"""Sweeps: Table 1a / Table 1b expansion, the local engine, skipping finished runs, the summary."""

from __future__ import annotations

import json
import math
import sys

import pytest

from ganmetrics.errors import InputError
from ganmetrics_train import sweep as sweep_lib
from ganmetrics_train.cli import main

pytestmark = pytest.mark.usefixtures("single_torch_thread")


BASE = {"arch": "sndcgan", "dataset": "cifar10", "data_dir": "data/cifar10", "norm": "sn"}


def test_table_1a_has_24_settings_with_a_penalty_and_12_without():
    penalised = sweep_lib.table1a_settings("gp")
    plain = sweep_lib.table1a_settings("none")
    assert (len(penalised), len(plain)) == (24, 12)
    assert len({s.name for s in penalised}) == 24
    combos = {(s.values["lr"], s.values["beta1"], s.values["beta2"], s.values["n_disc"])
              for s in plain}  # fmt: skip
    assert len(combos) == 12
    assert {s.values["lr"] for s in plain} == {0.0002, 0.0001, 0.001}
    assert {(s.values["beta1"], s.values["beta2"], s.values["n_disc"]) for s in plain} == {
        (0.5, 0.9, 5),
        (0.5, 0.999, 1),
        (0.5, 0.999, 5),
        (0.9, 0.999, 5),
    }
    assert {s.values["lambda_"] for s in penalised} == {1.0, 10.0}
    assert {s.values["lambda_"] for s in plain} == {None}


def test_expansion_multiplies_settings_by_seeds(tmp_path):
    runs = sweep_lib.expand_sweep({**BASE, "penalty": "gp"}, "table1a", 5, tmp_path)
    assert len(runs) == 24 * 5
    assert len({run.run_dir for run in runs}) == len(runs)
    assert {run.config.seed for run in runs} == set(range(5))
    for run in runs[:10]:
        assert run.config.lr == run.setting.values["lr"]
        assert run.config.lambda_ == run.setting.values["lambda_"]
        assert run.run_dir.parent.parent == tmp_path
    plain = sweep_lib.expand_sweep(BASE, "table1a", 1, tmp_path)
    assert len(plain) == 12 and all(run.config.lambda_ == 0.0 for run in plain)


def test_random_grid_samples_table_1b_ranges_reproducibly():
    draws = sweep_lib.random_settings("gp", 200, seed=3)
    assert draws == sweep_lib.random_settings("gp", 200, seed=3)
    assert draws != sweep_lib.random_settings("gp", 200, seed=4)
    lrs = [d.values["lr"] for d in draws]
    assert min(lrs) >= 1e-5 and max(lrs) <= 1e-2
    # log-uniform: about half of the draws lie below the geometric midpoint 10^-3.5
    below = sum(lr < 10**-3.5 for lr in lrs) / len(lrs)
    assert 0.35 < below < 0.65
    lambdas = [d.values["lambda_"] for d in draws]
    assert min(lambdas) >= 1e-1 and max(lambdas) <= 1e2
    l2 = [d.values["lambda_"] for d in sweep_lib.random_settings("l2", 200, seed=3)]
    assert min(l2) >= 1e-4 and max(l2) <= 1e1 and min(l2) < 1e-1
    for d in draws:
        assert 0 <= d.values["beta1"] < 1 and 0 <= d.values["beta2"] < 1
    assert {d.values["n_disc"] for d in draws} == {1, 5}
    assert all(d.values["lambda_"] is None for d in sweep_lib.random_settings("none", 5))
    assert not math.isnan(sum(lrs))


@pytest.mark.parametrize("spec", ["table1b", "random:0", "random:x", ""])
def test_bad_grid_is_refused(spec):
    with pytest.raises(InputError, match="--grid"):
        sweep_lib.parse_grid(spec)


def test_ray_engine_without_ray_is_a_clear_input_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    runs = sweep_lib.expand_sweep(BASE, "random:1", 1, tmp_path)
    with pytest.raises(InputError, match="Ray is not installed"):
        sweep_lib.run_sweep(runs, engine="ray")


def test_cli_dry_run_lists_the_runs(tmp_path, capsys):
    args = ["sweep", "--arch", "sndcgan", "--dataset", "cifar10", "--data-dir", "d",
            "--penalty", "gp", "--grid", "table1a", "--seeds", "2", "--out", str(tmp_path),
            "--dry-run"]  # fmt: skip
    assert main(args) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("48 runs")
    bad_grid = ["sweep", "--arch", "sndcgan", "--dataset", "cifar10", "--data-dir", "d",
                "--grid", "nope", "--out", str(tmp_path), "--dry-run"]  # fmt: skip
    assert main(bad_grid) == 2
    assert "--grid 'nope'" in capsys.readouterr().err


def test_local_engine_runs_two_tiny_configs_and_skips_them_afterwards(tmp_path, monkeypatch):
    """Two seeds of one random setting, trained for real; the evaluation is a stub whose FID is
    10 + seed, so the summary's median and best are known (test_train_loop runs the real one)."""
    import ganmetrics_train.evaluation as evaluation_module

    evaluated = []

    def stub_compute(self, generator):
        evaluated.append((len(self.test_source), self.config.eval_num_fake))
        return {"fid": 10.0 + self.config.seed, "meta": {"stub": True}}

    monkeypatch.setattr(evaluation_module.RunEvaluation, "compute", stub_compute)
    weights = tmp_path / "inception.pth"
    weights.write_bytes(b"stub")
    monkeypatch.setenv("GANMETRICS_INCEPTION_WEIGHTS", str(weights))
    base = {
        "arch": "sndcgan",
        "dataset": "procedural",
        "image_size": 8,
        "dataset_options": {"num_images": 12},
        "batch_size": 4,
        "steps": 2,
        "eval_every": 2,
        "eval_num_real": 8,
        "eval_num_fake": 8,
        "eval_metrics": ("fid",),
        "checkpoint_every": 0,
        "sample_every": 0,
        "log_every": 1,
    }
    out = tmp_path / "sweep"
    table, markdown = sweep_lib.sweep(base, "random:1", 2, out, sampler_seed=7)
    summary = json.loads((out / "summary.json").read_text())
    assert [run["status"] for run in summary["runs"]] == ["done", "done"]
    assert evaluated == [(12, 8), (12, 8)]
    (row,) = table
    assert (row["seeds"], row["runs_with_fid"]) == (2, 2)
    assert (row["median_fid"], row["best_fid"]) == (10.5, 10.0)
    assert row["setting"] in markdown and "10.50" in markdown
    assert "| finished 2/2 |" in markdown
    assert (out / "summary.md").read_text() == markdown

    runs = sweep_lib.expand_sweep(base, "random:1", 2, out, sampler_seed=7)
    assert all(sweep_lib.is_finished(run.config) for run in runs)
    again = sweep_lib.run_sweep(runs)
    assert [status["status"] for status in again] == ["skipped (finished)"] * 2
    assert len(evaluated) == 2
    assert sweep_lib.summarize(runs, again) == table


def test_summary_leaves_out_unfinished_runs(tmp_path):
    runs = sweep_lib.expand_sweep(BASE, "table1a", 3, tmp_path)[:3]  # one setting, three seeds
    assert len({run.setting.name for run in runs}) == 1
    statuses = [
        {"run_dir": str(runs[0].run_dir), "done": True, "final_fid": 30.0},
        {"run_dir": str(runs[1].run_dir), "done": True, "final_fid": 20.0},
        {"run_dir": str(runs[2].run_dir), "done": False, "final_fid": 5.0},  # diverged early
    ]
    (row,) = sweep_lib.summarize(runs, statuses)
    assert row["runs_with_fid"] == 2 and row["seeds"] == 3
    assert row["median_fid"] == 25.0 and row["best_fid"] == 20.0


def test_sweep_without_evaluation_says_so(tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["sweep", "--arch", "sndcgan", "--dataset", "procedural", "--image-size", "8",
            "--dataset-option", "num_images=12", "--batch-size", "4", "--steps", "2",
            "--eval-every", "0", "--checkpoint-every", "0", "--sample-every", "0",
            "--grid", "random:1", "--seeds", "1", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| r000")]
    assert "| finished 1/1, not evaluated |" in row
    assert "0/1" not in row
    (setting,) = json.loads((out / "summary.json").read_text())["settings"]
    assert (setting["finished"], setting["runs_with_fid"], setting["median_fid"]) == (1, 0, None)


def test_dry_run_lists_settings_under_the_names_a_user_writes(tmp_path, capsys):
    args = ["sweep", "--arch", "sndcgan", "--dataset", "cifar10", "--data-dir", "d",
            "--penalty", "gp", "--grid", "random:1", "--seeds", "1", "--out", str(tmp_path),
            "--dry-run"]  # fmt: skip
    assert main(args) == 0
    first = capsys.readouterr().out.splitlines()[0]
    values = json.loads(first.split("\t", 1)[1])
    assert set(values) == {"lr", "beta1", "beta2", "n_disc", "lambda"}
