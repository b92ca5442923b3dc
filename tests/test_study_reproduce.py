"""`ganmetrics-train reproduce PRESET`, as a user meets it: a preset's seeds run as a study on a
local Ray (tiny overrides on the procedural set, random Inception weights), the paper's numbers
beside ours in reproduce.md/json, a second call that resumes and trains nothing, bad input in one
line with exit 2."""

from __future__ import annotations

import json
import math
import statistics

import pytest
from click.testing import CliRunner

from ganmetrics_train.cli import cli
from ganmetrics_train.presets import PRESETS
from ganmetrics_train.study.reproduce import median_interval
from ganmetrics_train.study.store import DONE, STORE_NAME, StudyStore

ray = pytest.importorskip("ray")

PRESET = "sndcgan-cifar10-sn"
TINY_SETS = [
    "dataset=procedural",
    "image_size=32",
    "dataset_options={num_images: 32}",
    "batch_size=8",
    "steps=2",
    "eval_every=2",
    "eval_num_real=16",
    "eval_num_fake=16",
    "eval_metrics=[fid]",
    "checkpoint_every=0",
    "sample_every=0",
]


def _reproduce(out, weights, *extra):
    args = ["reproduce", PRESET, "--seeds", "3", "--out", str(out), "--num-cpus", "2"]
    args += ["--inception-weights", str(weights), *extra]
    for item in TINY_SETS:
        args += ["--set", item]
    return CliRunner().invoke(cli, args)


@pytest.fixture(scope="module")
def local_ray():
    """One Ray for both calls (the CLI joins a Ray this process started; it starts one if not)."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory, inception_weights_path, local_ray):
    out = tmp_path_factory.mktemp("reproduce")
    first = _reproduce(out, inception_weights_path)
    return out, first


def test_reproduce_runs_the_presets_seeds_and_compares_with_the_paper(reproduced):
    out, result = reproduced
    assert result.exit_code == 0, result.output
    preset = PRESETS[PRESET]
    with StudyStore(out / STORE_NAME) as store:
        trials = store.trials()
    assert [t["seed"] for t in trials] == [0, 1, 2] and {t["status"] for t in trials} == {DONE}
    fids = [t["final_fid"] for t in trials]

    # every trial trained the preset's hyperparameters and model
    for trial in trials:
        config = json.loads((out / trial["run_dir"] / "config.json").read_text())
        for key in ("lr", "beta1", "beta2", "n_disc", "norm", "loss", "arch"):
            assert config[key] == preset.settings[key], key
        assert config["seed"] == trial["seed"] and config["steps"] == 2

    summary = json.loads((out / "reproduce.json").read_text())
    ours = summary["ours"]
    assert summary["paper"] == {"median_fid": preset.median_fid, "best_fid": preset.best_fid}
    assert ours["median_fid"] == pytest.approx(statistics.median(fids))
    assert ours["best_fid"] == pytest.approx(min(fids))
    assert ours["worst_fid"] == pytest.approx(max(fids))
    low, high = ours["median_interval"]
    assert min(fids) <= low <= ours["median_fid"] <= high <= max(fids)
    assert summary["comparable"] is False
    assert summary["changed_from_paper"]["dataset"] == "procedural"

    # what the user reads: the paper's row beside ours, printed and written
    markdown = (out / "reproduce.md").read_text()
    assert result.stdout == markdown
    assert f"| paper (Table 7) | {preset.median_fid:.2f} | {preset.best_fid:.2f} | 5 |" in markdown
    assert f"| ours | {statistics.median(fids):.2f} | {min(fids):.2f} | 3 |" in markdown
    assert f"[{low:.2f}, {high:.2f}]" in markdown
    assert "not comparable to the paper's" in markdown
    assert "3/3 trials finished" in result.stderr


def test_reproduce_again_resumes_and_trains_nothing(reproduced, inception_weights_path):
    out, _ = reproduced
    with StudyStore(out / STORE_NAME) as store:
        before = {t["trial_id"]: t["finished_at"] for t in store.trials()}
    again = _reproduce(out, inception_weights_path)
    assert again.exit_code == 0, again.output
    assert "0 ran now" in again.stderr
    with StudyStore(out / STORE_NAME) as store:
        assert {t["trial_id"]: t["finished_at"] for t in store.trials()} == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["reproduce", "nope"],
            "error: reproduce: unknown preset 'nope'; `ganmetrics-train presets`",
        ),
        (
            ["reproduce", PRESET, "--set", "lr=0.1"],
            "error: --set lr: reproduce keeps the preset's lr",
        ),
        (["reproduce", PRESET], "dataset cifar10 needs --data-dir DIR"),
    ],
)
def test_reproduce_bad_input_is_one_line_and_exit_2(args, message):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_bootstrap_interval_of_the_median_matches_its_exact_distribution():
    """For distinct values x_1 < ... < x_n (n odd), the bootstrap median is <= x_j exactly when at
    least (n + 1) / 2 of the n draws are among the j smallest: a binomial tail."""
    values = [float(v) for v in (4, 9, 1, 7, 3, 8, 2, 6, 5)]
    n = len(values)

    def cdf(j: int) -> float:
        p = j / n
        return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range((n + 1) // 2, n + 1))

    low_index = next(j for j in range(1, n + 1) if cdf(j) >= 0.025)
    high_index = next(j for j in range(1, n + 1) if cdf(j) >= 0.975)
    assert median_interval(values) == (float(low_index), float(high_index))
    assert median_interval([3.0]) is None
    assert median_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)
