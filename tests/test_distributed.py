"""Feature passes sharded over 2 gloo processes equal one process (issue #6 item 3).

Both tests start real ``torchrun`` process groups on the CPU: ``tests/distributed_worker.py`` for
the library (indexed and iterated sources, the cache's rank rules) and ``-m ganmetrics fid`` for
the command line. Every process runs one thread, so that the kernels' float32 order is the same.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from distributed_worker import REPO, environment, torchrun

from ganmetrics import distributed
from ganmetrics.features import FeatureExtractor
from ganmetrics.fid import fid_from_features
from ganmetrics.inception import calibration_images
from ganmetrics.sources import ArraySource, FolderSource


@pytest.fixture(scope="module")
def two_ranks(inception_weights_path, image_sets, tmp_path_factory):
    out = tmp_path_factory.mktemp("ranks")
    array = calibration_images(10, 32, seed=21)  # batches of 4: 4, 4, 2 → ranks get 6 and 4
    np.save(out / "array.npy", array)
    worker = REPO / "tests" / "distributed_worker.py"
    done = torchrun(
        str(worker), str(inception_weights_path), str(image_sets["real"]), str(out / "array.npy"),
        str(out), cwd=out,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [dict(np.load(out / f"rank{rank}.npz")) for rank in (0, 1)]
    return ranks, array


@pytest.fixture(scope="module")
def one_process(inception_weights_path, image_sets, two_ranks, single_torch_thread):
    _, array = two_ranks
    extractor = FeatureExtractor(inception_weights_path, device="cpu", batch_size=4, num_workers=0)
    return (
        extractor.extract(FolderSource(image_sets["real"]).limit(9)),
        extractor.extract(ArraySource(array)),
    )


def test_every_rank_gathers_one_process_features(two_ranks, one_process):
    ranks, _ = two_ranks
    folder, array = one_process
    for result in ranks:
        assert int(result["world_size"]) == 2
        np.testing.assert_array_equal(result["folder_pool3"], folder.pool3)
        np.testing.assert_array_equal(result["folder_logits"], folder.logits)
        np.testing.assert_array_equal(result["array_pool3"], array.pool3)
        np.testing.assert_array_equal(result["array_logits"], array.logits)


@pytest.mark.filterwarnings("ignore::ganmetrics.fid.FewSamplesWarning")
def test_sharded_fid_equals_one_process(two_ranks, one_process):
    ranks, _ = two_ranks
    folder, array = one_process
    expected = fid_from_features(folder.pool3, array.pool3)
    assert expected > 0
    for result in ranks:
        assert fid_from_features(result["folder_pool3"], result["array_pool3"]) == expected


def test_only_rank_zero_writes_and_a_hit_needs_every_rank(two_ranks):
    ranks, _ = two_ranks
    assert [bool(r["primary"]) for r in ranks] == [True, False]
    assert [bool(r["entry_written"]) for r in ranks] == [True, False]
    # rank 1's cache folder has no entry, so no rank may skip the (collective) feature pass
    assert [bool(r["hit_after_store"]) for r in ranks] == [False, False]


def test_single_process_is_not_sharded():
    assert not distributed.active()
    assert distributed.world_size() == 1 and distributed.rank() == 0 and distributed.is_primary()
    assert distributed.owned_count(10, 4) == 10
    assert not distributed.init_from_env()  # no WORLD_SIZE in a plain pytest run


def test_torchrun_cli_fid_equals_one_process(inception_weights_path, image_sets, tmp_path):
    arguments = ["fid", "--real", str(image_sets["real"]), "--fake", str(image_sets["fake"]),
                 "--inception-weights", str(inception_weights_path), "--device", "cpu",
                 "--batch-size", "8", "--workers", "0", "--no-cache", "--quiet",
                 "--json"]  # fmt: skip
    sharded = torchrun("-m", "ganmetrics", *arguments, cwd=tmp_path)
    assert sharded.returncode == 0, sharded.stderr[-3000:]
    single = subprocess.run(
        [sys.executable, "-m", "ganmetrics", *arguments],
        cwd=tmp_path, env=environment("gloo"), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr[-3000:]
    expected = json.loads(single.stdout)["fid"]
    printed = [
        json.loads(line)["fid"] for line in sharded.stdout.splitlines() if line.startswith("{")
    ]
    assert printed and all(value == expected for value in printed)
