"""The command line and the API as a user meets them: the command, the exit code, the one line."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import ganmetrics
from ganmetrics import inception
from ganmetrics.cli import main
from ganmetrics.errors import InputError
from ganmetrics.metrics import METRIC_TABLE, METRICS
from ganmetrics.settings import CLI_FLAGS, EvalSettings


def _cli(args, weights=None):
    extra = [] if weights is None else ["--inception-weights", str(weights), "--quiet"]
    return CliRunner().invoke(main, [*args, *extra])


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def _fresh_python(code: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


# ---------------------------------------------------------------- the metric table


def test_metric_table_rows_are_consistent():
    fields = {field.name for field in dataclasses.fields(EvalSettings)}
    assert tuple(METRIC_TABLE) == METRICS
    for name, row in METRIC_TABLE.items():
        assert row.name == name and row.keys
        assert set(row.options) <= fields, name
        for _, fmt in row.rows:
            assert fmt.format(**dict.fromkeys(row.keys, 0.5))  # formats name only its own keys
        if row.needs_real_features:
            assert row.needs_real_images, name
    assert set(CLI_FLAGS) <= fields


def test_every_metric_reports_its_table_keys(image_sets, extractor):
    result = ganmetrics.evaluate(
        image_sets["real"], image_sets["fake"], METRICS, extractor=extractor, is_splits=2,
        kid_subset_size=10, msssim_batches=2, msssim_batch_size=4,
    )  # fmt: skip
    expected = {key for row in METRIC_TABLE.values() for key in row.keys}
    assert set(result) == expected | {"meta"}


def test_feature_metrics_import_without_torch():
    _fresh_python(
        "import sys, ganmetrics.kid, ganmetrics.prc, ganmetrics.metrics, ganmetrics.cli\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )


def test_fid_stays_the_function_whatever_is_imported_first():
    _fresh_python(
        "import ganmetrics, ganmetrics.fid, ganmetrics.api, types\n"
        "assert ganmetrics.fid is ganmetrics.api.fid\n"
        "from ganmetrics.fid import frechet_distance\n"
        "assert not isinstance(ganmetrics.fid, types.ModuleType)\n"
    )


def test_fid_is_callable_after_evaluate(image_sets, extractor):
    ganmetrics.evaluate(image_sets["real"], image_sets["fake"], ("fid", "kid"), extractor=extractor)
    assert callable(ganmetrics.fid)
    assert ganmetrics.fid(image_sets["real"], image_sets["fake"], extractor=extractor) > 0


def test_public_names():
    for name in ganmetrics.__all__:
        assert getattr(ganmetrics, name) is not None, name
    assert callable(ganmetrics.evaluate_reconstruction) and callable(ganmetrics.run_demo)


# ---------------------------------------------------------------- one required-argument message


def test_real_is_required_everywhere_with_one_message(image_sets, tmp_path):
    fake = str(image_sets["fake"])
    lines = [
        _one_error_line(_cli(["eval", "--fake", fake])),
        _one_error_line(_cli(["fid", "--fake", fake])),
        _one_error_line(_cli(["kid", "--fake", fake])),
        _one_error_line(_cli(["eval", "--fake", str(tmp_path / "generator.pt"), "--num", "8"])),
    ]
    assert all(line.startswith("error: --real is required for ") for line in lines), lines
    assert lines[0] == lines[3] and "for kid:" in lines[2]
    with pytest.raises(InputError) as error:
        ganmetrics.evaluate(None, "samples/", ["fid"])
    assert lines[1] == f"error: {error.value}"


def test_fake_is_required_with_the_same_kind_of_message(image_sets):
    line = _one_error_line(_cli(["fid", "--real", str(image_sets["real"])]))
    assert line.startswith("error: --fake is required")


# ---------------------------------------------------------------- counts


def test_num_above_what_a_folder_holds_is_an_error(image_sets, inception_weights_path):
    result = _cli(["fid", "--real", str(image_sets["real"]), "--fake", str(image_sets["fake"]),
                   "--num", "500"], inception_weights_path)  # fmt: skip
    assert "--num 500" in _one_error_line(result)


def test_num_zero_answers_about_num(image_sets, inception_weights_path):
    result = _cli(["fid", "--real", str(image_sets["real"]), "--fake", str(image_sets["fake"]),
                   "--num", "0"], inception_weights_path)  # fmt: skip
    assert _one_error_line(result) == "error: --num must be at least 2, got 0"


# ---------------------------------------------------------------- output paths


def test_unwritable_out_is_refused_before_any_work(image_sets, inception_weights_path, tmp_path,
                                                   monkeypatch):  # fmt: skip
    def no_work(*args, **kwargs):
        raise AssertionError("features were computed before the output path was checked")

    monkeypatch.setattr(ganmetrics.api.Evaluator, "features", no_work)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _cli(["fid", "--real", str(image_sets["real"]), "--fake", str(image_sets["fake"]),
                   "--out", str(blocker / "r.json")], inception_weights_path)  # fmt: skip
    line = _one_error_line(result)
    assert line.startswith("error: --out ") and "r.json" in line


def test_result_is_printed_when_the_final_write_fails(image_sets, inception_weights_path, tmp_path,
                                                      monkeypatch):  # fmt: skip
    import errno

    from ganmetrics import atomic

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic, "write_json", disk_full)
    out = tmp_path / "r.json"
    result = _cli(["fid", "--real", str(image_sets["real"]), "--fake", str(image_sets["fake"]),
                   "--json", "--out", str(out)], inception_weights_path)  # fmt: skip
    line = _one_error_line(result)
    assert "r.json" in line and "printed above" in line
    assert json.loads(result.stdout)["fid"] > 0


def test_stats_into_a_folder_is_one_line_exit_2(image_sets, inception_weights_path, tmp_path):
    result = _cli(["stats", str(image_sets["real"]), "-o", str(tmp_path)], inception_weights_path)
    assert "is a folder" in _one_error_line(result)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_stats_into_a_read_only_folder_is_one_line_exit_2(image_sets, inception_weights_path,
                                                          tmp_path):  # fmt: skip
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = _cli(["stats", str(image_sets["real"]), "-o", str(locked / "s.npz")],
                  inception_weights_path)  # fmt: skip
    assert "s.npz" in _one_error_line(result)


# ---------------------------------------------------------------- warnings and KID notes


def test_warnings_are_one_line_each(image_sets, inception_weights_path, monkeypatch):
    monkeypatch.setattr(inception, "_warned", set())  # as in a fresh process
    result = _cli(["fid", "--real", str(image_sets["real"]), "--fake", str(image_sets["fake"])],
                  inception_weights_path)  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    weights_lines = [line for line in lines if "not the standard file" in line]
    assert len(weights_lines) == 1 and weights_lines[0].startswith("warning: ")
    assert all(line.startswith("warning: ") for line in lines), lines  # no source lines


def test_kid_explains_a_zero_spread_and_a_negative_value(image_sets, inception_weights_path):
    result = _cli(["kid", "--real", str(image_sets["real"]), "--fake",
                   str(image_sets["real_copy"]), "--kid-subset-size", "24"],
                  inception_weights_path)  # fmt: skip
    assert result.exit_code == 0, result.output
    kid_line = next(line for line in result.stdout.splitlines() if line.startswith("KID"))
    assert kid_line.endswith("± 0.000000") and "-" in kid_line.split()[1]
    assert "note: kid spread is 0: every subset of 24 is the whole set" in result.stdout
    assert "note: kid is negative: the unbiased MMD² estimate" in result.stdout


# ---------------------------------------------------------------- per-command help and demo


def test_fid_help_lists_only_what_applies():
    text = _cli(["fid", "--help"]).output
    assert "--real" in text and "[required]" in text.split("--fake")[0]
    for other in ("--kid-subsets", "--is-splits", "--prc-k", "--msssim-batches", "--metrics"):
        assert other not in text
    assert "Ampere" in text and "trades exactness for speed" in " ".join(text.split())
    assert "--real" not in _cli(["is", "--help"]).output
    assert "--inception-weights" not in _cli(["msssim", "--help"]).output


def test_allow_tf32_is_recorded(image_sets, extractor):
    result = ganmetrics.evaluate(image_sets["real"], image_sets["fake"], ("fid",),
                                 extractor=extractor)  # fmt: skip
    assert result["meta"]["settings"]["allow_tf32"] is False


# ---------------------------------------------------------------- recon through the API


@pytest.fixture
def linear_export(tmp_path, monkeypatch):
    """A generator export of a tiny linear generator, and 6 test images it can produce."""
    import torch

    from ganmetrics.sources import save_generator_export

    (tmp_path / "tiny_linear_gen.py").write_text(
        "import torch\n"
        "def build(z_dim, side):\n"
        "    return torch.nn.Sequential(\n"
        "        torch.nn.Linear(z_dim, 3 * side * side), torch.nn.Sigmoid(),\n"
        "        torch.nn.Unflatten(1, (3, side, side)))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from tiny_linear_gen import build

    torch.manual_seed(0)
    module = build(z_dim=4, side=6)
    export = tmp_path / "generator.pt"
    save_generator_export(export, module, "tiny_linear_gen:build", {"z_dim": 4, "side": 6}, 4)
    images = np.random.default_rng(0).integers(0, 256, (6, 3, 6, 6), dtype=np.uint8)
    np.save(tmp_path / "test.npy", images)
    yield export, tmp_path / "test.npy", module, images
    sys.modules.pop("tiny_linear_gen", None)


def test_recon_command_is_the_api_function(linear_export):
    from ganmetrics.recon import reconstruction_error

    export, test_images, module, images = linear_export
    result = _cli(["recon", "--generator", str(export), "--real", str(test_images), "--num", "6",
                   "--steps", "3", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    direct = reconstruction_error(module, images, z_dim=4, steps=3)
    assert printed["recon_mse"] == pytest.approx(direct.mean_mse, rel=1e-6)
    assert printed["meta"]["num_images"] == 6
    api = ganmetrics.evaluate_reconstruction(export, test_images, num=6, steps=3)
    assert api["recon_mse"] == printed["recon_mse"]


def test_recon_refuses_more_images_than_the_source_holds(linear_export):
    export, test_images, _, _ = linear_export
    result = _cli(["recon", "--generator", str(export), "--real", str(test_images), "--num", "50"])
    assert "--num 50" in _one_error_line(result)
    assert _one_error_line(_cli(["recon", "--real", str(test_images)])).startswith(
        "error: --generator is required"
    )


def test_click_usage_mistakes_are_one_line_with_exit_2():
    """An unknown option is answered like every other input error: one line naming the
    command's --help, exit code 2 (not click's Usage/Error block)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "ganmetrics", "fid", "--bogus"], capture_output=True, text=True
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: No such option '--bogus'")
    assert lines[0].endswith("fid --help')")
