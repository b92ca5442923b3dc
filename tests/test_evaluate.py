"""End-to-end: ganmetrics.evaluate and the CLI against torch-fidelity on the same weights file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch_fidelity
from click.testing import CliRunner
from PIL import Image

import ganmetrics
from ganmetrics.cli import main
from ganmetrics.errors import InputError


@pytest.fixture(scope="module")
def fidelity_reference(image_sets, inception_weights_path):
    """torch-fidelity's own numbers: FID, KID with one subset of all images, IS with one split."""
    count = len(list(image_sets["fake"].iterdir()))
    return torch_fidelity.calculate_metrics(
        input1=str(image_sets["fake"]),
        input2=str(image_sets["real"]),
        fid=True,
        kid=True,
        isc=True,
        kid_subsets=1,
        kid_subset_size=count,
        isc_splits=1,
        feature_extractor_weights_path=str(inception_weights_path),
        cuda=False,
        verbose=False,
        cache=False,
    )


@pytest.fixture(scope="module")
def ours_exact(image_sets, inception_weights_path):
    count = len(list(image_sets["fake"].iterdir()))
    return ganmetrics.evaluate(
        image_sets["real"],
        image_sets["fake"],
        ("fid", "is", "kid"),
        inception_weights=str(inception_weights_path),
        fast=False,
        is_splits=1,
        kid_subsets=1,
        kid_subset_size=count,
        device="cpu",
        num_workers=0,
        cache=False,
    )


def test_agrees_with_torch_fidelity(ours_exact, fidelity_reference):
    assert fidelity_reference["frechet_inception_distance"] > 1.0  # the sets really differ
    assert ours_exact["fid"] == pytest.approx(
        fidelity_reference["frechet_inception_distance"], rel=1e-6
    )
    assert ours_exact["kid_mean"] == pytest.approx(
        fidelity_reference["kernel_inception_distance_mean"], rel=1e-6
    )
    assert ours_exact["is_mean"] == pytest.approx(
        fidelity_reference["inception_score_mean"], rel=1e-6
    )


def test_fast_network_agrees_closely(image_sets, extractor, ours_exact):
    fast = ganmetrics.evaluate(
        image_sets["real"], image_sets["fake"], ("fid", "is"), extractor=extractor, is_splits=1
    )
    assert fast["fid"] == pytest.approx(ours_exact["fid"], rel=1e-3)
    assert fast["is_mean"] == pytest.approx(ours_exact["is_mean"], rel=1e-3)


def test_identical_sets_give_zero_fid(image_sets, extractor):
    result = ganmetrics.evaluate(image_sets["real"], image_sets["real_copy"], ("fid",),
                                 extractor=extractor)  # fmt: skip
    assert abs(result["fid"]) < 1e-6 * max(1.0, result["meta"]["n_real"])


def test_result_records_provenance(image_sets, extractor):
    result = ganmetrics.evaluate(image_sets["real"], image_sets["fake"], ("fid",),
                                 extractor=extractor)  # fmt: skip
    meta = result["meta"]
    assert meta["n_real"] == meta["n_fake"] == 24
    assert meta["standard_weights"] is False and len(meta["weights_sha256"]) == 64
    assert meta["ganmetrics_version"] == ganmetrics.__version__
    assert meta["settings"]["protocol"] == "custom"
    assert meta["real"]["fingerprint"]


def test_stats_file_round_trip_gives_same_fid(image_sets, extractor, tmp_path):
    stats_path = tmp_path / "real.npz"
    ganmetrics.compute_stats(image_sets["real"], stats_path, extractor=extractor)
    with np.load(stats_path, allow_pickle=False) as data:  # what pytorch-fid reads
        assert data["mu"].shape == (2048,) and data["sigma"].shape == (2048, 2048)
        assert data["mu"].dtype == np.float64
    from_images = ganmetrics.fid(image_sets["real"], image_sets["fake"], extractor=extractor)
    from_stats = ganmetrics.fid(stats_path, image_sets["fake"], extractor=extractor)
    assert from_stats == pytest.approx(from_images, rel=1e-9)


def test_pytorch_fid_reads_our_stats(image_sets, extractor, tmp_path):
    from pytorch_fid.fid_score import calculate_frechet_distance

    real, fake = tmp_path / "real.npz", tmp_path / "fake.npz"
    ganmetrics.compute_stats(image_sets["real"], real, extractor=extractor)
    ganmetrics.compute_stats(image_sets["fake"], fake, extractor=extractor)
    with np.load(real) as a, np.load(fake) as b:
        theirs = calculate_frechet_distance(a["mu"], a["sigma"], b["mu"], b["sigma"])
    ours = ganmetrics.fid(real, image_sets["fake"], extractor=extractor)
    assert ours == pytest.approx(theirs, rel=1e-4)  # their sqrtm is less exact at N < D


def test_cache_skips_inception_on_second_run(image_sets, extractor, monkeypatch):
    first = ganmetrics.evaluate(image_sets["real"], image_sets["fake"], ("fid",),
                                extractor=extractor)  # fmt: skip

    def no_network(*args, **kwargs):
        raise AssertionError("the network ran although features were cached")

    monkeypatch.setattr(extractor, "extract", no_network)
    second = ganmetrics.evaluate(image_sets["real"], image_sets["fake"], ("fid",),
                                 extractor=extractor)  # fmt: skip
    assert second["fid"] == first["fid"]
    assert second["meta"]["real"]["features_from_cache"] is True


def test_msssim_and_prc_through_evaluate(image_sets, extractor):
    result = ganmetrics.evaluate(
        image_sets["real"], image_sets["fake"], ("prc", "msssim"), extractor=extractor,
        msssim_batches=2, msssim_batch_size=8,
    )  # fmt: skip
    assert 0.0 <= result["precision"] <= 1.0 and 0.0 <= result["recall"] <= 1.0
    assert 0.0 <= result["msssim"] <= 1.0 and len(result["msssim_per_batch"]) == 2


def test_generator_callable_source(image_sets, extractor):
    def sampler(n, seed):
        rng = np.random.default_rng(seed)
        return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)

    first = ganmetrics.evaluate(image_sets["real"], sampler, ("fid", "is"), extractor=extractor,
                                num_fake=6, is_splits=1)  # fmt: skip
    second = ganmetrics.evaluate(image_sets["real"], sampler, ("fid", "is"), extractor=extractor,
                                 num_fake=6, is_splits=1)  # fmt: skip
    assert first["fid"] == second["fid"] and first["meta"]["n_fake"] == 6


# ---------------------------------------------------------------- protocol and bad input


def test_protocol_refuses_too_few_images(image_sets, extractor):
    with pytest.raises(InputError, match="needs 10000"):
        ganmetrics.evaluate(image_sets["real"], image_sets["fake"], ("fid",), extractor=extractor,
                            protocol="cifar10")  # fmt: skip


def test_stats_file_cannot_feed_kid(image_sets, extractor, tmp_path):
    stats_path = tmp_path / "s.npz"
    ganmetrics.compute_stats(image_sets["real"], stats_path, extractor=extractor)
    with pytest.raises(InputError, match="per-image features"):
        ganmetrics.evaluate(stats_path, image_sets["fake"], ("kid",), extractor=extractor)


def _cli(args, weights):
    runner = CliRunner()
    return runner.invoke(main, [*args, "--inception-weights", str(weights), "--quiet"])


def _assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output


def test_cli_json_output(image_sets, inception_weights_path, tmp_path):
    out = tmp_path / "result.json"
    result = _cli(["eval", "--real", str(image_sets["real"]), "--fake", str(image_sets["fake"]),
                   "--metrics", "fid,is", "--is-splits", "2", "--json", "--out", str(out)],
                  inception_weights_path)  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert set(printed) == {"fid", "is_mean", "is_std", "meta"}
    assert json.loads(out.read_text())["fid"] == printed["fid"]


def test_cli_table_output(image_sets, inception_weights_path):
    result = _cli(["fid", "--real", str(image_sets["real"]), "--fake", str(image_sets["fake"])],
                  inception_weights_path)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("FID") and "NON-STANDARD" in result.stdout


def test_cli_missing_folder(image_sets, inception_weights_path, tmp_path):
    missing = tmp_path / "nope"
    result = _cli(["fid", "--real", str(missing), "--fake", str(image_sets["fake"])],
                  inception_weights_path)  # fmt: skip
    _assert_one_line_error(result, str(missing))


def test_cli_empty_folder(image_sets, inception_weights_path, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _cli(["fid", "--real", str(empty), "--fake", str(image_sets["fake"])],
                  inception_weights_path)  # fmt: skip
    _assert_one_line_error(result, str(empty))


def test_cli_corrupt_image_named(image_sets, inception_weights_path, tmp_path):
    folder = tmp_path / "corrupt"
    folder.mkdir()
    for index in range(3):
        Image.new("RGB", (32, 32), (index * 50, 0, 0)).save(folder / f"{index}.png")
    (folder / "3.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    result = _cli(["fid", "--real", str(folder), "--fake", str(image_sets["fake"]),
                   "--workers", "2"], inception_weights_path)  # fmt: skip
    _assert_one_line_error(result, "3.png")


def test_cli_mixed_sizes_need_resize(image_sets, inception_weights_path, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.new("RGB", (32, 32)).save(folder / "a.png")
    Image.new("RGB", (40, 32)).save(folder / "b.png")
    Image.new("RGB", (32, 32), (9, 9, 9)).save(folder / "c.png")
    result = _cli(["fid", "--real", str(folder), "--fake", str(image_sets["fake"])],
                  inception_weights_path)  # fmt: skip
    _assert_one_line_error(result, "b.png", "--resize")
    resized = _cli(["fid", "--real", str(folder), "--fake", str(image_sets["fake"]), "--resize",
                    "first"], inception_weights_path)  # fmt: skip
    assert resized.exit_code == 0, resized.output


def test_cli_bad_stats_files(image_sets, inception_weights_path, tmp_path):
    no_keys = tmp_path / "nokeys.npz"
    np.savez(no_keys, foo=np.zeros(3))
    wrong_dim = tmp_path / "wrongdim.npz"
    np.savez(wrong_dim, mu=np.zeros(64), sigma=np.eye(64))
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, mu=np.array([{"a": 1}], dtype=object), sigma=np.eye(2))
    for path in (no_keys, wrong_dim, pickled):
        result = _cli(["fid", "--real", str(path), "--fake", str(image_sets["fake"])],
                      inception_weights_path)  # fmt: skip
        _assert_one_line_error(result, str(path))


def test_cli_single_image(image_sets, inception_weights_path, tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    Image.new("RGB", (32, 32)).save(folder / "a.png")
    result = _cli(["fid", "--real", str(folder), "--fake", str(image_sets["fake"])],
                  inception_weights_path)  # fmt: skip
    _assert_one_line_error(result, str(folder))


def test_cli_protocol_needs_more_images(image_sets, inception_weights_path):
    result = _cli(["fid", "--real", str(image_sets["real"]), "--fake", str(image_sets["fake"]),
                   "--protocol", "celeba-hq-128"], inception_weights_path)  # fmt: skip
    _assert_one_line_error(result, "3000")


def test_cli_nan_generator(image_sets, inception_weights_path, tmp_path, monkeypatch):
    module = tmp_path / "nan_sampler_mod.py"
    module.write_text(
        "import numpy as np\n"
        "def sample(n, seed):\n"
        "    x = np.zeros((n, 3, 32, 32), dtype=np.float32)\n"
        "    x[0, 0, 0, 0] = np.nan\n"
        "    return x\n"
    )
    monkeypatch.chdir(tmp_path)
    result = _cli(["is", "--fake", "nan_sampler_mod:sample", "--num", "4", "--range", "0,1"],
                  inception_weights_path)  # fmt: skip
    _assert_one_line_error(result, "nan_sampler_mod:sample")


def test_cli_unwritable_output_keeps_nothing_half_written(image_sets, inception_weights_path,
                                                         tmp_path):  # fmt: skip
    blocker = tmp_path / "file"
    blocker.write_text("x")
    target = blocker / "stats.npz"  # a folder that is a file: cannot be created
    result = _cli(["stats", str(image_sets["real"]), "-o", str(target)], inception_weights_path)
    _assert_one_line_error(result, "stats.npz")


def test_cli_stats_is_atomic(image_sets, inception_weights_path, tmp_path, monkeypatch):
    """An interrupted `stats` leaves the previous file intact and no partial file behind."""
    target = tmp_path / "real.npz"
    target.write_bytes(b"previous content")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    result = _cli(["stats", str(image_sets["real"]), "-o", str(target)], inception_weights_path)
    assert result.exit_code != 0
    assert target.read_bytes() == b"previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["real.npz"]


def test_cli_usage_error_exit_code():
    result = CliRunner().invoke(main, ["fid", "--fake"])
    assert result.exit_code == 2


def test_fid_function_survives_submodule_import(image_sets, extractor):
    import ganmetrics.fid  # the submodule must not replace the function

    assert callable(ganmetrics.fid)
    value = ganmetrics.fid(image_sets["real"], image_sets["fake"], extractor=extractor)
    assert value > 0


def test_stats_from_other_weights_refused(image_sets, extractor, tmp_path):
    from ganmetrics.sources import save_stats

    stats = ganmetrics.compute_stats(image_sets["real"], extractor=extractor)
    foreign = tmp_path / "foreign.npz"
    save_stats(foreign, stats.mu, stats.sigma, n=24, weights_sha256="0" * 64)
    with pytest.raises(InputError, match="recompute the stats"):
        ganmetrics.fid(foreign, image_sets["fake"], extractor=extractor)


def test_cli_stats_reference_refuses_incomplete_copy(cifar_root, inception_weights_path, tmp_path):
    root, _ = cifar_root
    out = tmp_path / "cifar10-test.npz"
    result = _cli(["stats", "--reference", "cifar10-test", "--data-dir", str(root), "-o", str(out)],
                  inception_weights_path)  # fmt: skip
    _assert_one_line_error(result, "10000")
    assert not out.exists()


def test_cli_demo_runs_every_metric(inception_weights_path, tmp_path):
    out_dir = tmp_path / "demo"
    weights = ["--inception-weights", str(inception_weights_path)]
    result = CliRunner().invoke(main, ["demo", "--out", str(out_dir), "--num", "20", *weights])
    assert result.exit_code == 0, result.output
    written = json.loads((out_dir / "result.json").read_text())
    for key in ("fid", "is_mean", "kid_mean", "precision", "recall", "msssim"):
        assert key in written
    assert written["fid"] > 0 and len(list((out_dir / "real").iterdir())) == 20
