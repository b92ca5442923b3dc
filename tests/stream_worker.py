"""One rank of ``tests/test_stream_distributed.py``: run under ``torchrun --nproc-per-node 2``.

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/stream_worker.py \
        WEIGHTS OUT_DIR

Joins a gloo group the way Lightning does (``init_process_group``, not ganmetrics' own sharding),
feeds each rank's ``DistributedSampler`` share of 7 generated and 5 real images to a
:class:`ganmetrics.Stream` (the sampler pads 7 to 8 and 5 to 6), and writes ``OUT_DIR/rank<r>.npz``
with what the stream gathered: generated images by data set index (shuffled sampler), real ones
by ``num_samples`` (the sampler's order), and the float64 sums of a ``fid_only_sums`` stream.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

NUM_FAKE, NUM_REAL, BATCH = 7, 5, 2


def images():
    from ganmetrics.inception import calibration_images

    return calibration_images(NUM_FAKE, 32, seed=31), calibration_images(NUM_REAL, 32, seed=32)


def main() -> None:
    weights, out = sys.argv[1:3]
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    from ganmetrics.stream import Stream

    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        fake, real = images()
        options = {"inception_weights": weights, "device": "cpu", "batch_size": BATCH,
                   "num_workers": 0, "kid_subset_size": 4, "kid_subsets": 10}  # fmt: skip
        stream = Stream(("kid",), num_samples={"real": NUM_REAL}, **options)
        sums = Stream(("fid",), fid_only_sums=True, num_samples=NUM_FAKE, **options)
        shuffled = list(DistributedSampler(range(NUM_FAKE), world, rank, shuffle=True, seed=3))
        for start in range(0, len(shuffled), BATCH):
            chosen = shuffled[start : start + BATCH]
            stream.update(torch.from_numpy(fake[chosen]), indices=chosen)
        in_order = list(DistributedSampler(range(NUM_FAKE), world, rank, shuffle=False))
        sums.update(torch.from_numpy(fake[in_order]))
        for index in DistributedSampler(range(NUM_REAL), world, rank, shuffle=False):
            stream.update(torch.from_numpy(real[index : index + 1]), real=True)
        kid = stream.compute()["kid_mean"]
        stats = sums._metric_side("fake", sums.settings).stats
        np.savez(
            Path(out) / f"rank{rank}.npz",
            fake_pool3=stream._metric_side("fake", stream.settings).features.pool3,
            real_pool3=stream._metric_side("real", stream.settings).features.pool3,
            kid=kid,
            mu=stats.mu,
            sigma=stats.sigma,
            n=stats.num_images,
            fed=len(stream),
        )
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
