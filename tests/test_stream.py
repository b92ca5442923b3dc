"""``ganmetrics.Stream`` equals ``ganmetrics.evaluate`` on the same images (issue 15).

One set of 8 real and 8 generated 32×32 images is passed through the random-weights network
a few times in all: by ``evaluate`` (cached on disk, so its second call reads the cache) and by
the streams, whose batch boundaries follow the extractor's batch size whatever the updates are.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from ganmetrics import compute_features, evaluate
from ganmetrics.errors import InputError
from ganmetrics.inception import calibration_images
from ganmetrics.stream import Stream

BATCH = 4
METRICS = ("fid", "is", "kid", "prc")
NO_FID = ("is", "kid", "prc")


@pytest.fixture(scope="module")
def images():
    return calibration_images(8, 32, seed=11), calibration_images(8, 32, seed=12)


@pytest.fixture(scope="module")
def options(inception_weights_path, single_torch_thread):
    return {"inception_weights": str(inception_weights_path), "device": "cpu",
            "batch_size": BATCH, "num_workers": 0, "is_splits": 2,
            "kid_subset_size": 6, "kid_subsets": 20}  # fmt: skip


@pytest.fixture(scope="module")
def reference(images, options):
    real, fake = images
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (
            evaluate(real, fake, METRICS, **options),
            evaluate(real, fake, NO_FID, bootstrap=3, **options),  # features from the cache
        )


@pytest.fixture(scope="module")
def fed(images, options):
    """A stream fed in uneven updates (5 + 3 generated, 3 + 3 + 2 real) of tensors."""
    real, fake = images
    stream = Stream(METRICS, **options)
    for start in range(0, 8, 3):
        stream.update(torch.from_numpy(real[start : start + 3]), real=True)
    stream.update(torch.from_numpy(fake[:5]))
    stream.update(torch.from_numpy(fake[5:]))
    return stream


def _assert_same_values(expected, got, tolerance=1e-9):
    if isinstance(expected, dict):
        assert expected.keys() == got.keys()
        for key in expected:
            _assert_same_values(expected[key], got[key], tolerance)
    elif isinstance(expected, list):
        assert len(expected) == len(got)
        for a, b in zip(expected, got, strict=True):
            _assert_same_values(a, b, tolerance)
    elif isinstance(expected, float):
        assert math.isclose(expected, got, rel_tol=tolerance, abs_tol=1e-12), (expected, got)
    else:
        assert expected == got


def _assert_same_result(expected, got, tolerance=1e-9):
    _assert_same_values({k: v for k, v in expected.items() if k != "meta"},
                        {k: v for k, v in got.items() if k != "meta"}, tolerance)  # fmt: skip
    differing = {k for k in expected["meta"] if expected["meta"][k] != got["meta"].get(k)}
    assert differing <= {"real", "fake", "seconds"}, differing
    for role in ("real", "fake"):
        assert expected["meta"][role]["num_images"] == got["meta"][role]["num_images"]


def test_stream_equals_evaluate(reference, fed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _assert_same_result(reference[0], fed.compute())


def test_metric_stage_overrides_reuse_the_features(reference, fed):
    got = fed.compute(metrics=NO_FID, bootstrap=3)
    _assert_same_result(reference[1], got)
    assert {"is_interval", "kid_interval", "precision_interval"} <= got.keys()


def test_float_batches_in_a_declared_range_map_like_arrays(images, options, reference):
    real, fake = images
    stream = Stream(("kid",), value_range=(-1, 1), **options)
    stream.update(torch.from_numpy(real).double() / 127.5 - 1.0, real=True)
    stream.update(torch.from_numpy(fake).float() / 127.5 - 1.0)
    got = stream.compute()
    assert got["kid_mean"] == pytest.approx(reference[0]["kid_mean"], rel=1e-9)


def test_checkpoint_reset_and_a_features_file(reference, images, options, fed, tmp_path):
    real, fake = images
    half = Stream(METRICS, **options)
    half.update(torch.from_numpy(real), real=True)
    half.update(torch.from_numpy(fake[:6]))
    torch.save(half.state_dict(), tmp_path / "stream.pt")

    resumed = Stream(METRICS, **options)
    resumed.load_state_dict(torch.load(tmp_path / "stream.pt", weights_only=False))
    resumed.update(torch.from_numpy(fake[6:]))
    expected = reference[1]
    _assert_same_values(expected["kid_mean"], resumed.compute(metrics=("kid",))["kid_mean"])

    resumed.reset()  # keeps the real side
    with pytest.raises(InputError, match=r"fake side.*no images"):
        resumed.compute(metrics=("kid",))
    resumed.update(torch.from_numpy(fake))
    assert resumed.compute(metrics=("kid",))["kid_mean"] == expected["kid_mean"]

    compute_features(real, tmp_path / "real_features.npz", **options)
    from_file = Stream(("kid", "prc"), real=tmp_path / "real_features.npz", **options)
    from_file.update(torch.from_numpy(fake))
    got = from_file.compute()
    for key in ("kid_mean", "precision", "recall", "density", "coverage"):
        assert got[key] == expected[key]
    assert got["meta"]["real"]["source"].endswith("real_features.npz")

    other = Stream(METRICS, **{**options, "float64": True})
    with pytest.raises(InputError, match="other float64"):
        other.load_state_dict(torch.load(tmp_path / "stream.pt", weights_only=False))


def test_fid_only_sums_from_a_stats_file(reference, images, options, tmp_path):
    from ganmetrics import compute_stats

    real, fake = images
    stats = tmp_path / "real_stats.npz"
    compute_stats(real, stats, **options)
    stream = Stream(("fid",), fid_only_sums=True, real=stats, **options)
    stream.update(torch.from_numpy(fake[:7]))
    stream.update(torch.from_numpy(fake[7:]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = stream.compute()
    assert got["fid"] == pytest.approx(reference[0]["fid"], rel=1e-7)
    assert got["meta"]["real"]["source"] == str(stats)
    with pytest.raises(InputError, match="sums give FID only"):
        Stream(("fid", "kid"), fid_only_sums=True, **options)
    with pytest.raises(InputError, match=r"real_stats.npz: a stats file .* kid needs them"):
        Stream(("fid", "kid"), real=stats, **options)  # refused before any image is fed


def test_sums_equal_the_features_statistics(fed):
    """Σx and Σxxᵀ in float64 give numpy's mean and covariance (the FID inputs) to 1e-9."""
    from ganmetrics.fid import feature_statistics

    pool3 = fed._metric_side("fake", fed.settings).features.pool3
    stream = Stream(("fid",), fid_only_sums=True, settings=fed.settings)
    side = stream._sides["fake"]
    for chunk in np.array_split(pool3, 3):
        stream._add_sums(side, torch.from_numpy(chunk), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mu, sigma = feature_statistics(pool3)
        stats = stream._stats_from_sums(side, "fake", distributed=False)
    np.testing.assert_allclose(stats.mu, mu, rtol=1e-12)
    np.testing.assert_allclose(stats.sigma, sigma, rtol=1e-9, atol=1e-12 * np.abs(sigma).max())


def test_misuse_is_one_line(options):
    stream = Stream(("kid",), value_range=(0, 1), **options)
    with pytest.raises(InputError, match=r"outside the declared value_range 0,1") as raised:
        stream.update(torch.full((2, 3, 16, 16), 2.0))
    assert "\n" not in str(raised.value)
    stream.update(torch.zeros(2, 3, 16, 16, dtype=torch.uint8))  # waits for a full batch
    with pytest.raises(InputError, match=r"8x8 images after 16x16 ones; .*resize=True"):
        stream.update(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(InputError, match=r"compute\(device=...\): changes the features"):
        stream.compute(device="cuda")
    uint8_only = Stream(("kid",), **options)
    with pytest.raises(InputError, match="value_range='uint8' was declared"):
        uint8_only.update(torch.rand(2, 3, 8, 8))
    with pytest.raises(InputError, match=r"Stream\(\): .*unexpected keyword"):
        Stream(("kid",), not_a_setting=1, **options)


def test_a_generator_fed_by_update_from_equals_evaluate(images, options):
    """The trainer's path (``RunEvaluation``): a module's unrounded images through the stream."""
    real, _ = images
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 3 * 32 * 32), torch.nn.Sigmoid(),
                                 torch.nn.Unflatten(1, (3, 32, 32)))  # fmt: skip
    settings = {**options, "num_fake": 8, "z_dim": 4, "round_generated": False, "seed": 3}
    expected = evaluate(real, module, ("kid",), **settings)
    stream = Stream(("kid",), real=real, **settings)
    stream.update_from(module, num=8)
    _assert_same_result(expected, stream.compute())
