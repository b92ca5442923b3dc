"""``--bootstrap B`` and ``--fid-inf`` through the API and the command line, on tiny folders."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import ganmetrics
from ganmetrics import fid_infinity
from ganmetrics.cli import main

INTERVAL_KEYS = (
    "fid_interval", "is_interval", "kid_interval", "precision_interval", "recall_interval",
    "density_interval", "coverage_interval",
)  # fmt: skip
METRICS = ("fid", "is", "kid", "prc")


def _cli(args, weights):
    return CliRunner().invoke(main, [*args, "--inception-weights", str(weights), "--quiet"])


@pytest.fixture(scope="module")
def counted(extractor):
    """The suite's extractor, counting its forward passes."""
    calls = []
    original = extractor._forward

    def forward(batch):
        calls.append(len(batch))
        return original(batch)

    extractor._forward = forward
    yield extractor, calls
    extractor._forward = original


@pytest.fixture(scope="module")
def with_intervals(image_sets, counted):
    extractor, calls = counted
    options = {"extractor": extractor, "cache": False, "kid_subset_size": 10}
    plain = ganmetrics.evaluate(image_sets["real"], image_sets["fake"], METRICS, **options)
    passes_plain = len(calls)
    bootstrapped = ganmetrics.evaluate(
        image_sets["real"], image_sets["fake"], METRICS, bootstrap=2, seed=3, **options
    )
    return plain, bootstrapped, passes_plain, len(calls) - passes_plain


def test_every_score_gets_an_interval_from_one_pass(with_intervals):
    plain, bootstrapped, passes_plain, passes_bootstrapped = with_intervals
    assert passes_bootstrapped == passes_plain  # resampled features, no second network pass
    assert not any(key in plain for key in INTERVAL_KEYS)
    for key in INTERVAL_KEYS:
        interval = bootstrapped[key]
        assert interval["low"] <= interval["high"], key
        assert interval["num_resamples"] == 2 and interval["seed"] == 3
        assert interval["confidence"] == 0.95
    for key in ("fid", "is_mean", "precision", "recall", "density", "coverage"):
        assert bootstrapped[key] == plain[key]  # the scores themselves do not move
        interval = bootstrapped[f"{key.removesuffix('_mean')}_interval"]
        assert interval["estimate"] == pytest.approx(plain[key], rel=1e-9), key


def test_intervals_are_seeded(image_sets, extractor):
    # KID and IS only: each FID resample is a 2048-d Fréchet distance, seconds on a CPU
    options = {"extractor": extractor, "bootstrap": 30, "kid_subset_size": 10}
    sets = (image_sets["real"], image_sets["fake"], ("is", "kid"))
    first = ganmetrics.evaluate(*sets, seed=3, **options)
    again = ganmetrics.evaluate(*sets, seed=3, **options)
    other = ganmetrics.evaluate(*sets, seed=4, **options)
    for key in ("is_interval", "kid_interval"):
        assert again[key] == first[key]
        assert other[key]["low"] != first[key]["low"]


def test_confidence_widens_the_interval(image_sets, extractor):
    options = {"extractor": extractor, "bootstrap": 40}
    narrow = ganmetrics.evaluate(None, image_sets["fake"], ["is"], confidence=0.5, **options)
    wide = ganmetrics.evaluate(None, image_sets["fake"], ["is"], confidence=0.99, **options)
    width = {name: r["is_interval"]["high"] - r["is_interval"]["low"]
             for name, r in (("narrow", narrow), ("wide", wide))}  # fmt: skip
    assert width["wide"] > width["narrow"] > 0.0


def test_fid_infinity_fits_the_fids_of_subsets(image_sets, extractor, monkeypatch):
    monkeypatch.setattr(fid_infinity, "default_sizes", lambda num, dim, points=15: [12, num])
    result = ganmetrics.evaluate(image_sets["real"], image_sets["fake"], ["fid"],
                                 extractor=extractor, fid_inf=True)  # fmt: skip
    fitted = result["fid_infinity"]
    assert fitted["sizes"] == [12, 24]
    assert fitted["fids"][-1] == pytest.approx(result["fid"], rel=1e-6)  # the whole set
    assert fitted["residual"] >= 0.0


def test_fid_infinity_refuses_too_few_images_before_the_network(image_sets, counted):
    extractor, calls = counted
    before = len(calls)
    with pytest.raises(ganmetrics.InputError, match="FID∞ needs subsets larger"):
        ganmetrics.evaluate(image_sets["real"], image_sets["fake"], ["fid"],
                            extractor=extractor, fid_inf=True, cache=False)  # fmt: skip
    assert len(calls) == before


def test_cli_bootstrap_against_a_stats_file(
    image_sets, extractor, inception_weights_path, tmp_path
):
    stats = tmp_path / "real.npz"
    ganmetrics.compute_stats(image_sets["real"], stats, extractor=extractor)
    out = tmp_path / "result.json"
    args = ["eval", "--real", str(stats), "--fake", str(image_sets["fake"]), "--metrics", "fid",
            "--bootstrap", "2", "--out", str(out)]  # fmt: skip
    table = _cli(args, inception_weights_path)
    assert table.exit_code == 0, table.output
    result = json.loads(out.read_text())
    interval = result["fid_interval"]
    assert interval["estimate"] == pytest.approx(result["fid"], rel=1e-9)  # real side held fixed
    fid_line = next(line for line in table.stdout.splitlines() if line.startswith("FID"))
    assert fid_line.startswith("FID@24 ")  # FID named with its N
    assert f"[{interval['low']:.4f}, {interval['high']:.4f}] 95% bootstrap" in fid_line


def test_cli_refuses_one_resample_in_one_line(image_sets, inception_weights_path):
    result = _cli(["fid", "--real", str(image_sets["real"]), "--fake", str(image_sets["fake"]),
                   "--bootstrap", "1"], inception_weights_path)  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: --bootstrap must be 0")


def test_cli_fid_inf_with_too_few_images_is_one_line(image_sets, inception_weights_path):
    result = _cli(["fid", "--real", str(image_sets["real"]), "--fake", str(image_sets["fake"]),
                   "--fid-inf"], inception_weights_path)  # fmt: skip
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "generate at least 4098 images" in errors[0]
