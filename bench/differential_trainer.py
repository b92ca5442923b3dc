"""The trainer's side of the differential test of issue 13 (see ``bench/differential_loop.py``).

Trains SNDCGAN NS+SN (16 px; width 0.25 by default, test-only, 1 is the paper's; batch 64, lr 2e-4,
beta 0.5/0.999, seed 0) with ``ganmetrics_train``'s Trainer in pieces and judges 512 samples of the
same fixed z as the independent loop every EVERY steps (no FID), saving them as .npy::

    OMP_NUM_THREADS=1 python bench/differential_trainer.py split|concat STEPS EVERY OUT_DIR [WIDTH]
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import warnings

import numpy as np
import torch

from ganmetrics.datasets.procedural_judge import judge_procedural
from ganmetrics_train.config import build_config
from ganmetrics_train.evaluation import generate_uint8
from ganmetrics_train.train import Trainer


def main(argv: list[str]) -> int:
    disc_calls, steps, every, out = argv[0], int(argv[1]), int(argv[2]), argv[3]
    width = float(argv[4]) if len(argv) > 4 else 0.25
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    settings = {
        "arch": "sndcgan", "loss": "ns", "norm": "sn", "dataset": "procedural", "image_size": 16,
        "width": width, "batch_size": 64, "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "n_disc": 1,
        "seed": 0, "steps": steps, "disc_calls": disc_calls, "eval_every": 0,
        "checkpoint_every": 0, "sample_every": 0, "log_every": 50, "out": out,
    }  # fmt: skip
    trainer = Trainer(
        build_config(overrides=settings),
        progress=False,
        tensorboard=False,
        announce=False,
        overwrite=True,
    )
    z = torch.rand(512, 128, generator=torch.Generator().manual_seed(12345)) * 2 - 1
    start = time.perf_counter()
    try:
        for step in range(0, steps + 1, every):
            trainer.run(step)
            images = generate_uint8(trainer.sampling_generator(), z, contextlib.nullcontext())
            np.save(f"{out}/step_{step:06d}.npy", images)
            scores = judge_procedural(images)
            losses = {k: round(v, 4) for k, v in (trainer.last_losses or {}).items()
                      if k.startswith("loss/")}  # fmt: skip
            record = {"step": step, "quality": scores.quality, "modes": scores.modes,
                      "colour_fd": round(scores.colour_fd, 3),
                      "shares": [round(v, 3) for v in scores.mode_shares], **losses,
                      "elapsed_s": round(time.perf_counter() - start, 1)}  # fmt: skip
            print(json.dumps(record), flush=True)
    finally:
        trainer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
