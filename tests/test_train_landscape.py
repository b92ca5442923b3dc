"""Every loss, penalty and normalization of the study trains on every architecture.

A covering set rather than the full product: on each architecture, each of the five losses runs
once, paired with each of the five penalties once, cycling through the discriminator
normalizations that architecture accepts. Each run takes real optimizer steps through the actual
training loop (procedural data, batch 2) and must finish with finite, changed weights.
"""

from __future__ import annotations

import pytest
import torch

from ganmetrics.sources import load_generator_export
from ganmetrics_train.config import build_config
from ganmetrics_train.losses import LOSSES
from ganmetrics_train.models import D_NORMALIZATIONS, build_generator, validate_architecture
from ganmetrics_train.penalties import PENALTIES
from ganmetrics_train.train import train

SMALLEST_SIZE = {"dcgan": 16, "sndcgan": 8, "resnet_cifar": 32, "resnet19": 64}


def accepted_norms(arch: str) -> list[str]:
    norms = []
    for norm in D_NORMALIZATIONS:
        g_norm = "wn" if norm == "wn" else "bn"
        try:
            validate_architecture(arch, SMALLEST_SIZE[arch], norm, g_norm, ())
        except ValueError:
            continue
        norms.append(norm)
    return norms


def covering_cases() -> list[tuple[str, str, str, str]]:
    cases = []
    for arch in SMALLEST_SIZE:
        norms = accepted_norms(arch)
        for index, (loss, penalty) in enumerate(zip(LOSSES, PENALTIES, strict=True)):
            cases.append((arch, loss, penalty, norms[index % len(norms)]))
    return cases


def test_cover_reaches_every_option():
    cases = covering_cases()
    for arch in SMALLEST_SIZE:
        mine = [case for case in cases if case[0] == arch]
        assert {case[1] for case in mine} == set(LOSSES)
        assert {case[2] for case in mine} == set(PENALTIES)
        assert {case[3] for case in mine} == set(accepted_norms(arch))


pytestmark = pytest.mark.usefixtures("single_torch_thread")


@pytest.mark.parametrize(("arch", "loss", "penalty", "norm"), covering_cases())
def test_variant_trains(arch, loss, penalty, norm, tmp_path):
    config = build_config(
        overrides={
            "arch": arch,
            "loss": loss,
            "penalty": penalty,
            "lambda_": 1.0 if penalty != "none" else 0.0,
            "norm": norm,
            "dataset": "procedural",
            "image_size": SMALLEST_SIZE[arch],
            "dataset_options": {"num_images": 8},
            "batch_size": 2,
            "n_disc": 1,
            "steps": 2,
            "eval_every": 0,
            "checkpoint_every": 0,
            "sample_every": 0,
            "log_every": 1,
            "out": str(tmp_path / "run"),
        }
    )
    result = train(config, progress=False, tensorboard=False)
    assert result.step == 2
    generator, header = load_generator_export(result.generator_path)
    z = torch.rand(2, header["z_dim"]) * 2 - 1
    with torch.no_grad():
        images = generator.eval()(z)
    assert images.shape == (2, 3, SMALLEST_SIZE[arch], SMALLEST_SIZE[arch])
    assert torch.isfinite(images).all()
    torch.manual_seed(config.seed)  # the trainer builds its initial weights right after this
    initial = build_generator(**generator.config).state_dict()
    trained = generator.state_dict()
    assert all(
        torch.isfinite(value).all() for value in trained.values() if value.is_floating_point()
    )
    assert any(not torch.equal(initial[name], value) for name, value in trained.items())
