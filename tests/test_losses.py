"""GAN losses against hand-computed values and naive sigmoid/log formulas (section 2.1)."""

from __future__ import annotations

import math

import pytest
import torch

from ganmetrics.errors import InputError
from ganmetrics_train.losses import LOSSES, discriminator_loss, generator_loss

LOG2 = math.log(2.0)


def test_loss_names():
    assert LOSSES == ("ns", "minimax", "wgan", "ls", "hinge")


@pytest.mark.parametrize(
    ("loss", "expected_d", "expected_g"),
    [
        # σ(0) = ½: each cross-entropy term is log 2.
        ("ns", 2 * LOG2, LOG2),
        ("minimax", 2 * LOG2, -LOG2),
        ("wgan", 0.0, 0.0),
        # ½ ((½ - 1)² + ½²) and ½ (½ - 1)², compare_gan's factors.
        ("ls", 0.25, 0.125),
        ("hinge", 2.0, 0.0),
    ],
)
def test_values_at_zero_logits(loss, expected_d, expected_g):
    zeros = torch.zeros(5)
    assert discriminator_loss(loss, zeros, zeros).item() == pytest.approx(expected_d, abs=1e-6)
    assert generator_loss(loss, zeros).item() == pytest.approx(expected_g, abs=1e-6)


def _naive(loss: str, d_real: torch.Tensor, d_fake: torch.Tensor) -> tuple[float, float]:
    p_real, p_fake = torch.sigmoid(d_real), torch.sigmoid(d_fake)
    if loss in ("ns", "minimax"):
        d = -torch.log(p_real).mean() - torch.log(1 - p_fake).mean()
        g = -torch.log(p_fake).mean() if loss == "ns" else torch.log(1 - p_fake).mean()
    elif loss == "wgan":
        d, g = -d_real.mean() + d_fake.mean(), -d_fake.mean()
    elif loss == "ls":
        d = 0.5 * (((p_real - 1) ** 2).mean() + (p_fake**2).mean())
        g = 0.5 * ((p_fake - 1) ** 2).mean()
    else:
        d = torch.clamp(1 - d_real, min=0).mean() + torch.clamp(1 + d_fake, min=0).mean()
        g = -d_fake.mean()
    return d.item(), g.item()


@pytest.mark.parametrize("loss", LOSSES)
def test_matches_naive_formulas_on_moderate_logits(loss):
    generator = torch.Generator().manual_seed(3)
    d_real = torch.randn(64, generator=generator, dtype=torch.float64) * 3
    d_fake = torch.randn(64, generator=generator, dtype=torch.float64) * 3 - 1
    naive_d, naive_g = _naive(loss, d_real, d_fake)
    assert discriminator_loss(loss, d_real, d_fake).item() == pytest.approx(naive_d, rel=1e-10)
    assert generator_loss(loss, d_fake).item() == pytest.approx(naive_g, rel=1e-10)


def test_cross_entropy_stays_finite_for_extreme_logits():
    confident = torch.tensor([100.0, 200.0])
    assert discriminator_loss("ns", confident, -confident).item() == pytest.approx(0.0, abs=1e-6)
    # Fooled discriminator: -log σ(-x) = x, where the naive formula gives log(0) = inf.
    assert discriminator_loss("ns", -confident, confident).item() == pytest.approx(300.0)
    assert generator_loss("ns", -confident).item() == pytest.approx(150.0)
    assert generator_loss("minimax", confident).item() == pytest.approx(-150.0)


def test_non_saturating_versus_minimax_gradients_on_rejected_fakes():
    """The point of the non-saturating loss: a strong gradient where D confidently rejects fakes."""
    rejected = torch.full((4,), -20.0, requires_grad=True)
    generator_loss("ns", rejected).backward()
    assert rejected.grad.abs().mean().item() == pytest.approx(0.25, rel=1e-6)
    rejected.grad = None
    generator_loss("minimax", rejected).backward()
    assert rejected.grad.abs().max().item() < 1e-8


def test_hinge_margins():
    d_real = torch.tensor([2.0, 0.5])
    d_fake = torch.tensor([-3.0, 0.0])
    # relu(1 - 2) = 0, relu(1 - 0.5) = 0.5; relu(1 - 3) = 0, relu(1 + 0) = 1.
    assert discriminator_loss("hinge", d_real, d_fake).item() == pytest.approx(0.25 + 0.5)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("scale", [1.0, 80.0])
def test_gradients_flow_and_are_finite(loss, scale):
    generator = torch.Generator().manual_seed(0)
    d_real = (torch.randn(8, generator=generator) * scale).requires_grad_(True)
    d_fake = (torch.randn(8, generator=generator) * scale).requires_grad_(True)
    discriminator_loss(loss, d_real, d_fake).backward()
    assert torch.isfinite(d_real.grad).all() and torch.isfinite(d_fake.grad).all()
    fake_for_g = (torch.randn(8, generator=generator) * scale).requires_grad_(True)
    generator_loss(loss, fake_for_g).backward()
    assert torch.isfinite(fake_for_g.grad).all()
    if scale == 1.0:
        assert d_real.grad.abs().sum() > 0 and d_fake.grad.abs().sum() > 0
        assert fake_for_g.grad.abs().sum() > 0


def test_unknown_loss_is_an_input_error():
    with pytest.raises(InputError, match="choose one of"):
        discriminator_loss("wasserstein", torch.zeros(2), torch.zeros(2))
    with pytest.raises(InputError, match="choose one of"):
        generator_loss("NS", torch.zeros(2))
