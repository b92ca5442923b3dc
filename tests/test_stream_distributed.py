"""Two gloo ranks feeding a ``Stream`` give one process's features and numbers (issue 15).

Each rank holds its ``DistributedSampler`` share, padding included; ``compute()`` must count every
image once, in the data set's order (``ganmetrics.stream_gather``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from distributed_worker import REPO, torchrun
from stream_worker import BATCH, NUM_FAKE, images

from ganmetrics.fid import feature_statistics
from ganmetrics.stream import Stream


@pytest.fixture(scope="module")
def two_ranks(inception_weights_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("stream-ranks")
    done = torchrun(str(REPO / "tests" / "stream_worker.py"), str(inception_weights_path),
                    str(out), cwd=out)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return [dict(np.load(out / f"rank{rank}.npz")) for rank in (0, 1)]


@pytest.fixture(scope="module")
def one_process(inception_weights_path, single_torch_thread):
    fake, real = images()
    stream = Stream(("kid",), inception_weights=str(inception_weights_path), device="cpu",
                    batch_size=BATCH, num_workers=0, kid_subset_size=4, kid_subsets=10)  # fmt: skip
    stream.update(torch.from_numpy(fake))
    stream.update(torch.from_numpy(real), real=True)
    return stream


def test_two_ranks_gather_each_image_once_in_order(two_ranks, one_process):
    settings = one_process.settings
    fake = one_process._metric_side("fake", settings).features.pool3
    real = one_process._metric_side("real", settings).features.pool3
    kid = one_process.compute()["kid_mean"]
    assert [int(r["fed"]) for r in two_ranks] == [4, 4]  # 7 images, padded to 8
    for result in two_ranks:
        assert result["fake_pool3"].shape == fake.shape and result["real_pool3"].shape == real.shape
        np.testing.assert_allclose(result["fake_pool3"], fake, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(result["real_pool3"], real, rtol=1e-6, atol=1e-6)
        assert float(result["kid"]) == pytest.approx(kid, rel=1e-6)


def test_two_ranks_sums_skip_the_sampler_padding(two_ranks, one_process):
    fake = one_process._metric_side("fake", one_process.settings).features.pool3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mu, sigma = feature_statistics(fake)
    for result in two_ranks:
        assert int(result["n"]) == NUM_FAKE
        np.testing.assert_allclose(result["mu"], mu, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(result["sigma"], sigma, rtol=1e-5, atol=1e-9)
