"""The metric stage on torch tensors (issue 15, part 3) equals the numpy path, and the bootstrap
shows its progress (issue 14, point 9).

The torch path runs on the CPU always and on CUDA where present (skipped otherwise); both are
compared with the numpy/scipy path at 1e-9 relative: FID (N > D and N <= D), the bootstrap
interval (both sides resampled, or one held fixed) and FID∞ (the same seeded subsets).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ganmetrics
from ganmetrics import bootstrap
from ganmetrics.bootstrap import fid_interval
from ganmetrics.features import Features
from ganmetrics.fid import (
    FewSamplesWarning,
    feature_statistics,
    fid_from_features,
    frechet_distance_to_features,
)
from ganmetrics.fid_infinity import fid_infinity

RELATIVE = 1e-9
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                  reason="needs CUDA")),
]  # fmt: skip


@pytest.fixture(scope="module")
def features():
    """Correlated real and generated features whose FID is a few units, not zero."""
    rng = np.random.default_rng(7)
    mixing = rng.standard_normal((12, 12)) / 4
    real = rng.standard_normal((400, 12)) @ mixing
    fake = 1.1 * rng.standard_normal((400, 12)) @ mixing + 0.3
    return real, fake


def _interval_values(interval) -> np.ndarray:
    return np.array([interval.low, interval.high, interval.std, interval.estimate])


@pytest.mark.parametrize("device", DEVICES)
def test_fid_on_tensors_equals_numpy(features, device):
    real, fake = features
    on_device = [torch.from_numpy(side).to(device) for side in features]
    expected = fid_from_features(real, fake)
    assert expected > 0.1
    assert fid_from_features(*on_device) == pytest.approx(expected, rel=RELATIVE)
    _, covariance = feature_statistics(on_device[0])
    assert covariance.device.type == device and covariance.dtype == torch.float64
    with pytest.warns(FewSamplesWarning):  # N <= D: the N x N sample-factor route
        few = fid_from_features(real[:8], fake[:8])
        assert fid_from_features(on_device[0][:8], on_device[1][:8]) == pytest.approx(
            few, rel=RELATIVE
        )
    stats_file = feature_statistics(real)  # numpy statistics follow the features' device
    assert frechet_distance_to_features(*stats_file, on_device[1]) == (
        pytest.approx(expected, rel=RELATIVE)
    )


@pytest.mark.parametrize("device", DEVICES)
def test_bootstrap_on_tensors_equals_numpy(features, device):
    real, fake = features
    real_t, fake_t = (torch.from_numpy(side).to(device) for side in features)
    expected = fid_interval(real, fake, num_resamples=6, seed=2)
    got = fid_interval(real_t, fake_t, num_resamples=6, seed=2)
    np.testing.assert_allclose(_interval_values(got), _interval_values(expected), rtol=RELATIVE)
    assert got.low < got.high
    stats = feature_statistics(real)  # a stats file held fixed, its factor computed once
    expected = fid_interval(stats, fake, num_resamples=6, seed=2)
    got = fid_interval(stats, fake_t, num_resamples=6, seed=2)
    np.testing.assert_allclose(_interval_values(got), _interval_values(expected), rtol=RELATIVE)
    assert expected.estimate == pytest.approx(fid_from_features(real, fake), rel=RELATIVE)


@pytest.mark.parametrize("device", DEVICES)
def test_fid_infinity_on_tensors_equals_numpy(features, device):
    real, fake = features
    sizes = [10, 60, 150, 250, 400]  # one at N <= D, some above N / 2 (Gram complements)
    with pytest.warns(FewSamplesWarning):
        expected = fid_infinity(real, fake, sizes=sizes, seed=5)
        got = fid_infinity(*(torch.from_numpy(side).to(device) for side in features),
                           sizes=sizes, seed=5)  # fmt: skip
    np.testing.assert_allclose(got.fids[1:], expected.fids[1:], rtol=RELATIVE)
    # N <= D: the centred N x N problem has an exact zero eigenvalue whose computed value is
    # round-off of either sign; its clamped square root (~1e-8 here, on both paths) is the noise
    assert got.fids[0] == pytest.approx(expected.fids[0], rel=1e-8)
    assert got.value == pytest.approx(expected.value, rel=1e-8)
    # each subset's FID is the plain FID of those rows (same generator, same draws)
    rng = np.random.default_rng(5)
    with pytest.warns(FewSamplesWarning):
        plain = [fid_from_features(real, fake[rng.choice(400, size, replace=False)])
                 for size in sizes]  # fmt: skip
    np.testing.assert_allclose(expected.fids, plain, rtol=RELATIVE)


def test_bootstrap_progress_steps_once_per_resample(features, monkeypatch, capfd):
    steps = []

    class Bar:
        def __init__(self, total, label, progress):
            steps.append((total, label, progress))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, count):
            steps.append(count)

    with monkeypatch.context() as patch:
        patch.setattr(bootstrap, "progress_bar", Bar)
        fid_interval(*features, num_resamples=4, progress=True)
    assert steps == [(4, "Fréchet bootstrap", True), 1, 1, 1, 1]
    fid_interval(*features, num_resamples=3, progress=False)
    assert capfd.readouterr().err == ""
    fid_interval(*features, num_resamples=3, progress=True)
    shown = capfd.readouterr().err
    assert "Fréchet bootstrap" in shown and "resample" in shown


def test_evaluate_passes_its_progress_setting_to_the_bootstrap(
    image_sets, extractor, monkeypatch, capfd
):
    """The ``progress`` setting (the CLI's default, off with ``--quiet``) reaches the bootstrap;
    the network is replaced by random 16-d features, as only the metric stage is under test."""
    rng = np.random.default_rng(0)

    def extract(source, progress=False, label=""):
        return Features(rng.standard_normal((len(source), 16)),
                        rng.standard_normal((len(source), 1008)))  # fmt: skip

    monkeypatch.setattr(extractor, "extract", extract)
    options = {"extractor": extractor, "cache": False, "bootstrap": 2}
    quiet = ganmetrics.evaluate(image_sets["real"], image_sets["fake"], ["fid"], **options)
    assert "Fréchet bootstrap" not in capfd.readouterr().err
    shown = ganmetrics.evaluate(image_sets["real"], image_sets["fake"], ["fid"], progress=True,
                                **options)  # fmt: skip
    assert "Fréchet bootstrap" in capfd.readouterr().err
    assert quiet["fid_interval"]["num_resamples"] == shown["fid_interval"]["num_resamples"] == 2


@pytest.mark.parametrize("device", DEVICES)
def test_the_metric_table_uses_a_sides_device_features(features, device):
    """A side that carries its features as a tensor (a stream on a GPU) gets FID, its bootstrap
    and FID∞ from that tensor: the same numbers as from the numpy array."""
    from ganmetrics.metrics import METRIC_TABLE
    from ganmetrics.settings import EvalSettings
    from ganmetrics.stream_sides import MetricSide

    real, fake = features

    def side(role, array, on_device):
        pool3 = array.astype(np.float32)
        tensor = torch.from_numpy(pool3).to(device) if on_device else None
        logits = np.empty((len(pool3), 0), np.float32)
        return MetricSide(role, role, len(pool3), Features(pool3, logits), None, "w", None, tensor)

    settings = EvalSettings(metrics=("fid",), bootstrap=5, fid_inf=True, progress=False)
    row = METRIC_TABLE["fid"]
    results = []
    for on_device in (False, True):
        real_side, fake_side = side("real", real, on_device), side("fake", fake, on_device)
        values = row.compute(real_side, fake_side, settings)
        values.update(row.intervals(real_side, fake_side, settings))
        results.append(values)
    host, tensors = results
    assert tensors["fid"] == pytest.approx(host["fid"], rel=RELATIVE)
    for key in ("low", "high", "estimate"):
        assert tensors["fid_interval"][key] == pytest.approx(
            host["fid_interval"][key], rel=RELATIVE
        )
    assert tensors["fid_infinity"]["value"] == pytest.approx(
        host["fid_infinity"]["value"], rel=1e-8
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_stream_on_cuda_equals_evaluate(inception_weights_path):
    """Features kept on the GPU: FID and its interval from the device equal evaluate's."""
    from ganmetrics.inception import calibration_images

    real, fake = calibration_images(24, 32, seed=1), calibration_images(24, 32, seed=2)
    options = dict(inception_weights=inception_weights_path, device="cuda", progress=False,
                   bootstrap=5, cache=False)  # fmt: skip
    expected = ganmetrics.evaluate(real, fake, ("fid",), **options)
    stream = ganmetrics.Stream(("fid",), **options)
    stream.update(torch.from_numpy(real).cuda(), real=True)
    stream.update(torch.from_numpy(fake).cuda())
    got = stream.compute()
    assert got["fid"] == pytest.approx(expected["fid"], rel=RELATIVE)
    assert got["fid_interval"]["high"] == pytest.approx(
        expected["fid_interval"]["high"], rel=RELATIVE
    )
