"""The trainer shown to learn: each loss family learns the procedural set on a CPU (issue 13).

One short run per loss of "The GAN Landscape" (Kurach, Lucic et al. 2019, section 2.1: NS,
minimax, WGAN with the gradient penalty of section 2.2, LS, hinge), covering the discriminator
normalizations none, SN, BN and WN (+ translated ReLU) of section 2.2 at least once each (six
runs). Settings are from Table 1's ranges (Adam lr 1e-3 is inside Table 1b's [1e-5, 1e-2]; beta1
0.5; beta2 0.9 or 0.999; n_disc 1; lambda 1), seeds fixed. To fit the CI budget (all runs
together about 2 minutes of one CPU core) the runs are 16 px, batch 32, 300 discriminator steps,
with the networks shrunk to a quarter of their width: ``width: 0.25``, which the config records
and marks as not the paper's, and which the presets and studies refuse.

The measure is the procedural judge (:func:`ganmetrics.judge_procedural`) on 512 samples of a
fixed z. Its strict scores (quality, modes) need longer runs (``docs/learning.md``); what 300 steps
move is ``colour_fd``, the Frechet distance of 4 x 4 pooled colours to the data: about 2.5 for the
untrained generator's grey, about 2 for uniform noise, 0.03 for real images. Each run must end
below :data:`CEILING` (which neither the untrained generator nor noise reaches) and below
:data:`GAIN` times its own step-0 value. A sign error in a loss or in a penalty fails these tests
(checked by hand: a flipped NS generator loss ends at colour FD 3.7, a gradient penalty with the
wrong sign blows the penalty up).
"""

from __future__ import annotations

import pytest

from ganmetrics_train.config import build_config
from ganmetrics_train.evaluation import judge_metrics
from ganmetrics_train.train import Trainer

pytestmark = pytest.mark.usefixtures("single_torch_thread")

#: Largest colour FD a learning run may end with: under noise (~2.0) and the untrained G (~2.5).
CEILING = 1.95
#: A learning run ends below this share of its step-0 colour FD.
GAIN = 0.8
STEPS = 300

SHARED = {
    "dataset": "procedural",
    "dataset_options": {"num_images": 2048},
    "image_size": 16,
    "width": 0.25,
    "batch_size": 32,
    "lr": 1e-3,
    "beta1": 0.5,
    "beta2": 0.999,
    "n_disc": 1,
    "seed": 0,
    "steps": STEPS,
    "eval_every": 0,
    "checkpoint_every": 0,
    "sample_every": 0,
    "log_every": 50,
}
#: One run per loss family, plus one for batch norm in D: together they cover the D normalizations
#: none, SN, BN and WN (+ translated leaky ReLU; G keeps the paper's batch norm). Found by trying:
#: LS with BN (DCGAN) and hinge or minimax with WN in G too did not learn in 300 steps.
CASES = {
    "ns-sn": {"arch": "sndcgan", "loss": "ns", "norm": "sn", "beta2": 0.9},
    "minimax-none": {"arch": "sndcgan", "loss": "minimax", "norm": "none"},
    "wgan-gp-none": {
        "arch": "sndcgan",
        "loss": "wgan",
        "penalty": "gp",
        "lambda_": 1.0,
        "norm": "none",
        "beta2": 0.9,
    },
    "ls-sn": {"arch": "sndcgan", "loss": "ls", "norm": "sn", "beta2": 0.9},
    "hinge-wn": {"arch": "sndcgan", "loss": "hinge", "norm": "wn", "g_norm": "bn", "beta2": 0.9},
    "hinge-bn": {"arch": "dcgan", "loss": "hinge", "norm": "bn", "beta2": 0.9},
}
#: A healthy WGAN-GP keeps the critic's gradient norm near 1: its penalty (before lambda) stays
#: small; a penalty applied with the wrong sign drives it up instead.
PENALTY_LIMIT = 1.0


def learn(case: dict, out) -> tuple[dict, dict, dict]:
    """The judge's scores at step 0 and after :data:`STEPS` steps, and the last logged losses."""
    config = build_config(overrides={**SHARED, **case, "out": str(out)})
    assert config.width != 1  # recorded in the config: not the paper's network
    trainer = Trainer(config, progress=False, tensorboard=False, announce=False)
    try:
        before = judge_metrics(config, trainer.sampling_generator())
        trainer.run()
        after = judge_metrics(config, trainer.sampling_generator())
        losses = dict(trainer.last_losses or {})
    finally:
        trainer.close()
    return before, after, losses


@pytest.mark.parametrize("name", list(CASES))
def test_each_loss_family_learns_the_procedural_set(name, tmp_path):
    before, after, losses = learn(CASES[name], tmp_path / name)
    print(f"{name}: step 0 {before}, step {STEPS} {after}, losses {losses}")
    assert before["judge_quality"] == 0.0
    start, end = before["judge_colour_fd"], after["judge_colour_fd"]
    assert end < CEILING, f"{name}: colour FD {end:.3f} after {STEPS} steps (from {start:.3f})"
    assert end < GAIN * start, f"{name}: colour FD {start:.3f} -> {end:.3f}, too little progress"
    if CASES[name].get("penalty") == "gp":
        assert losses["loss/penalty"] < PENALTY_LIMIT, f"{name}: gradient penalty {losses}"
