"""Issue 14's metric-command points, as a new user meets them: the command, the exit code, the
line printed (the offline route, stats files, --expect, stats -o, the help texts)."""

from __future__ import annotations

import json
import shutil
import sys
import urllib.error

import numpy as np
import pytest
from click.testing import CliRunner

import ganmetrics.api
from ganmetrics import inception
from ganmetrics.cli import main


def _cli(args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def _error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def offline(monkeypatch):
    """No standard weights anywhere and no network: the download fails as it does offline."""

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("offline")

    monkeypatch.delenv(inception.ENV_VAR, raising=False)
    monkeypatch.setattr(inception.torch.hub, "download_url_to_file", no_network)


# ---------------------------------------------------------------- point 4: the offline route


@pytest.mark.parametrize("command", ["fid", "eval", "stats"])
def test_missing_weights_names_the_offline_route(command, offline, image_sets, tmp_path):
    args = {
        "fid": ["fid", "--real", image_sets["real"], "--fake", image_sets["fake"]],
        "eval": ["eval", "--real", image_sets["real"], "--fake", image_sets["fake"]],
        "stats": ["stats", image_sets["real"], "-o", tmp_path / "s.npz"],
    }[command]
    line = _error_line(_cli([*args, "--quiet"]))
    assert "could not download" in line and "GANMETRICS_INCEPTION_WEIGHTS" in line
    assert "ganmetrics make-test-weights PATH" in line and "never with papers" in line


def test_a_missing_weights_file_names_the_offline_route(tmp_path, image_sets):
    missing = tmp_path / "nowhere.pth"
    args = ["fid", "--real", image_sets["real"], "--fake", image_sets["fake"]]
    line = _error_line(_cli([*args, "--inception-weights", missing]))
    assert str(missing) in line and "ganmetrics make-test-weights PATH" in line


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n not weights", b""])
def test_a_file_that_is_not_weights_is_one_line(content, tmp_path, image_sets):
    wrong = tmp_path / "000.png"
    wrong.write_bytes(content)
    args = ["fid", "--real", image_sets["real"], "--fake", image_sets["fake"], "--quiet"]
    line = _error_line(_cli([*args, "--inception-weights", wrong]))
    assert str(wrong) in line and "not a torch-fidelity InceptionV3 state dict" in line
    assert "make-test-weights" in line and len(line) < 300


def test_demo_says_why_before_the_work_and_leaves_no_cache(
    offline, inception_weights_path, tmp_path, monkeypatch
):
    cache = tmp_path / "cache"
    monkeypatch.setenv("GANMETRICS_CACHE", str(cache))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(inception, "make_random_inception_weights",
                        lambda path, seed: shutil.copy(inception_weights_path, path))  # fmt: skip
    real_evaluate = ganmetrics.api.evaluate

    def evaluate(*args, **kwargs):
        print("<the evaluation starts>", file=sys.stderr)
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(ganmetrics.api, "evaluate", evaluate)
    result = _cli(["demo", "--num", "10"])
    assert result.exit_code == 0, result.output
    err = result.stderr
    why = err.index("note: ")
    assert "could not download" in err[why:] and "RANDOM" in err[why:]
    assert why < err.index("<the evaluation starts>")
    assert "make-test-weights" not in err  # the demo takes that route itself
    assert result.stdout.startswith("FID") and "temporary folder" in result.stdout
    assert "weights=NON-STANDARD" in result.stdout
    assert list(cwd.iterdir()) == []
    assert not list(cache.rglob("*.npz"))  # no entries for the removed temporary folder


# ---------------------------------------------------------------- point 5: a stats file's keys


def test_a_stats_file_with_other_keys_is_told_what_a_stats_file_holds(tmp_path, image_sets):
    other = tmp_path / "other-tool-stats.npz"
    np.savez(other, mean=np.zeros(4), cov=np.eye(4))
    line = _error_line(_cli(["fid", "--real", other, "--fake", image_sets["fake"]]))
    assert line.startswith(f"error: {other}: ")
    assert "'cov', 'mean'" in line  # what was found
    assert "'mu' of shape (2048,)" in line and "'sigma' (2048, 2048)" in line  # what is needed


# ---------------------------------------------------------------- point 7: --expect up front


@pytest.mark.parametrize(
    ("args", "expect", "says"),
    [
        (["fid"], "fid<=50,kid<=0.01", "'kid_mean' comes from kid, which this run does not "
                                       "compute (it computes fid)"),
        (["eval", "--metrics", "fid"], "fid_interval.high<=50", "only reported with --bootstrap"),
        (["eval", "--metrics", "fid"], "fid_infinity.value<=50", "only reported with --fid-inf"),
        (["eval", "--metrics", "fid"], "fdi<=50", "no metric reports 'fdi'"),
    ],
)  # fmt: skip
def test_expect_on_a_score_not_computed_is_refused_before_any_work(
    args, expect, says, image_sets, monkeypatch
):
    def no_work(*args, **kwargs):
        raise AssertionError("the evaluation ran")

    monkeypatch.setattr(ganmetrics.api.Evaluator, "evaluate", no_work)
    sides = ["--real", image_sets["real"], "--fake", image_sets["fake"]]
    line = _error_line(_cli([*args, *sides, "--expect", expect]))
    assert line.startswith(f"error: --expect {expect.split(',')[-1]}: ") and says in line


# ---------------------------------------------------------------- point 8: stats -o NAME


def test_stats_without_suffix_round_trips_into_fid(image_sets, inception_weights_path, tmp_path):
    weights = ["--inception-weights", inception_weights_path, "--quiet", "--num", "4"]
    name = tmp_path / "cifar-stats"
    made = _cli(["stats", image_sets["real"], "-o", name, *weights])
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith(f"wrote {name}.npz (.npz added to -o {name}: ")
    assert not name.exists() and (tmp_path / "cifar-stats.npz").is_file()

    line = _error_line(_cli(["fid", "--real", name, "--fake", image_sets["fake"], *weights]))
    assert line == f"error: {name}: no such file or folder; did you mean {name}.npz?"

    scores = {}
    for real in (f"{name}.npz", image_sets["real"]):
        run = _cli(["fid", "--real", real, "--fake", image_sets["fake"], "--json", *weights])
        assert run.exit_code == 0, run.output
        scores[str(real)] = json.loads(run.stdout)["fid"]
    from_stats, from_images = scores.values()
    assert from_stats == pytest.approx(from_images, rel=1e-9) and from_stats > 0


def test_a_stats_file_without_suffix_is_named_so(tmp_path, image_sets):
    from ganmetrics.sources import save_stats

    bare = tmp_path / "old-stats"
    save_stats(bare, np.zeros(2048), np.eye(2048))
    line = _error_line(_cli(["fid", "--real", bare, "--fake", image_sets["fake"]]))
    assert line == (f"error: {bare}: a statistics file without the .npz suffix, by which stats "
                    f"files are known; rename it to {bare}.npz")  # fmt: skip


# ---------------------------------------------------------------- point 11: the help and messages


def _command_summaries(help_text: str) -> dict[str, str]:
    """The Commands section of ``--help``: name -> its text, wrapped lines joined."""
    section = help_text.split("Commands:\n", 1)[1]
    found: dict[str, str] = {}
    name = None
    for line in section.splitlines():
        parts = line.split(maxsplit=1)
        if line.startswith("  ") and not line.startswith("   ") and parts:
            name = parts[0]
            found[name] = parts[1] if len(parts) > 1 else ""
        elif name is not None and line.strip():
            found[name] += " " + line.strip()
    return found


def test_help_lists_every_command_with_a_whole_summary():
    result = _cli(["--help"])
    assert result.exit_code == 0
    summaries = _command_summaries(result.output)
    visible = {name for name, command in main.commands.items() if not command.hidden}
    assert set(summaries) == visible
    for name, text in summaries.items():
        assert text and not text.endswith("..."), (name, text)
        assert text.count("(") == text.count(")"), (name, text)
        assert text == main.commands[name].short_help, name
    assert summaries["fid"] == "Fréchet Inception Distance (Heusel et al. 2017)"


@pytest.mark.parametrize("command", ["is", "msssim"])
def test_real_images_given_to_a_metric_of_generated_images_alone(command, image_sets):
    line = _error_line(_cli([command, "--real", image_sets["real"], "--fake", image_sets["fake"]]))
    assert line == (f"error: --real {image_sets['real']}: `ganmetrics {command}` scores the "
                    "generated images alone and needs no real images; drop --real")  # fmt: skip
    assert "--real" not in _cli([command, "--help"]).output


def test_a_stats_file_for_kid_is_refused_in_plain_words(tmp_path, image_sets):
    from ganmetrics.sources import save_stats

    stats = tmp_path / "real-stats.npz"
    save_stats(stats, np.zeros(2048), np.eye(2048))
    line = _error_line(_cli(["kid", "--real", stats, "--fake", image_sets["fake"]]))
    assert "a stats file holds no per-image features, and kid needs them;" in line
    both = _cli(["eval", "--metrics", "kid,prc", "--real", stats, "--fake", image_sets["fake"]])
    assert "and each of kid and prc needs them;" in _error_line(both)
