"""One rank of ``tests/test_distributed.py``: run under ``torchrun --nproc-per-node 2``.

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/distributed_worker.py \
        WEIGHTS FOLDER ARRAY.npy OUT_DIR [DEVICE]

Writes ``OUT_DIR/rank<r>.npz``: this rank's gathered features of the folder (first 9 images, an
indexed source: each rank decodes only its batches) and of the array (iterated in full), and what
the feature cache did with a per-rank cache folder that only rank 0 can fill. ``DEVICE`` is
``cpu`` (default) or ``cuda`` (each rank on its ``LOCAL_RANK`` GPU).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent


def environment(backend: str) -> dict[str, str]:
    """This checkout first on the path, one thread per process, no inherited rank variables."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    env["GANMETRICS_DIST_BACKEND"] = backend
    return env


def torchrun(*args: str, cwd: Path, backend: str = "gloo") -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc-per-node 2 ARGS`` as a subprocess (test helper)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", "2", *args]  # fmt: skip
    return subprocess.run(
        command, cwd=cwd, env=environment(backend), capture_output=True, text=True, timeout=600
    )


def main() -> None:
    weights, folder, array_file, out = sys.argv[1:5]
    device = sys.argv[5] if len(sys.argv) > 5 else "cpu"
    torch.set_num_threads(1)
    from ganmetrics import cache, distributed
    from ganmetrics.features import FeatureExtractor
    from ganmetrics.sources import ArraySource, FolderSource

    if not distributed.init_from_env():
        raise SystemExit("expected WORLD_SIZE > 1")
    try:
        rank = distributed.rank()
        os.environ[cache.ENV_VAR] = str(Path(out) / f"cache-rank{rank}")
        extractor = FeatureExtractor(
            weights, device=None if device == "cuda" else device, batch_size=4, num_workers=0
        )
        folder_features = extractor.extract(FolderSource(folder).limit(9))
        array_features = extractor.extract(ArraySource(np.load(array_file)))
        key = cache.cache_key("distributed-test", extractor.weights_sha256, extractor.variant)
        cache.store(key, folder_features)
        entry_written = any((Path(out) / f"cache-rank{rank}").rglob("*.npz"))
        np.savez(
            Path(out) / f"rank{rank}.npz",
            folder_pool3=folder_features.pool3,
            folder_logits=folder_features.logits,
            array_pool3=array_features.pool3,
            array_logits=array_features.logits,
            entry_written=entry_written,
            hit_after_store=cache.load(key) is not None,
            primary=distributed.is_primary(),
            world_size=distributed.world_size(),
        )
    finally:
        distributed.shutdown()


if __name__ == "__main__":
    main()
