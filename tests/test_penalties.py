"""Discriminator penalties against analytical values on linear and quadratic critics."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganmetrics.errors import InputError
from ganmetrics_train.penalties import PENALTIES, discriminator_penalty, penalized_weights

SHAPE = (4, 3, 5, 5)


class LinearCritic(nn.Module):
    """D(x) = w · flatten(x) + b, whose input gradient is w everywhere."""

    def __init__(self, weight_norm: float):
        super().__init__()
        generator = torch.Generator().manual_seed(1)
        weight = torch.randn(math.prod(SHAPE[1:]), generator=generator, dtype=torch.float64)
        self.weight = nn.Parameter(weight * (weight_norm / weight.norm()))
        self.bias = nn.Parameter(torch.tensor(0.3, dtype=torch.float64))

    def forward(self, x):
        return x.flatten(1) @ self.weight + self.bias


class QuadraticCritic(nn.Module):
    """D(x) = ½ s ‖x‖², whose input gradient is s x; records the points it is evaluated at."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0, dtype=torch.float64))
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return 0.5 * self.scale * x.square().flatten(1).sum(dim=1)


class SmallCritic(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 3 * 3, 1)
        self.ln = nn.LayerNorm([4, 3, 3])

    def forward(self, x):
        h = torch.tanh(self.ln(self.norm(self.conv(x))))
        return self.fc(h.flatten(1)).squeeze(1)


def _batches(seed: int = 0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    real = torch.rand(SHAPE, generator=generator, dtype=dtype)
    fake = torch.rand(SHAPE, generator=generator, dtype=dtype)
    return real, fake


def _seeded(seed: int = 7) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_penalty_names():
    assert PENALTIES == ("none", "gp", "dragan", "l2", "r1")


@pytest.mark.parametrize("penalty", ["gp", "dragan"])
@pytest.mark.parametrize("weight_norm", [1.0, 2.0, 0.5])
def test_gradient_penalties_on_a_linear_critic(penalty, weight_norm):
    """‖∇D‖ = ‖w‖ at every point, so the penalty is (√(‖w‖² + 1e-4) - 1)² wherever it is taken."""
    real, fake = _batches()
    value = discriminator_penalty(penalty, LinearCritic(weight_norm), real, fake, _seeded())
    expected = (math.sqrt(weight_norm**2 + 1e-4) - 1.0) ** 2
    assert value.shape == ()
    assert value.item() == pytest.approx(expected, rel=1e-9)


def test_gp_interpolates_with_alpha_on_the_fake_side():
    """compare_gan: x̃ = x + α (x̂ - x), one α ~ U[0, 1) per sample (the generator's first draws)."""
    real, fake = _batches()
    critic = QuadraticCritic()
    value = discriminator_penalty("gp", critic, real, fake, _seeded(11))
    alpha = torch.rand(SHAPE[0], generator=_seeded(11), dtype=torch.float64).view(-1, 1, 1, 1)
    expected_points = real + alpha * (fake - real)
    torch.testing.assert_close(critic.seen[0], expected_points)
    # ∇D(x̃) = x̃ for the quadratic critic.
    slopes = torch.sqrt(expected_points.flatten(1).square().sum(1) + 1e-4)
    assert value.item() == pytest.approx(((slopes - 1) ** 2).mean().item(), rel=1e-12)
    # Every sample of the batch sits at its own point of the segment, as α varies per sample.
    ratios = (critic.seen[0] - real).flatten(1) / (fake - real).flatten(1)
    assert torch.allclose(ratios, ratios[:, :1].expand_as(ratios))
    assert ratios[:, 0].unique().numel() == SHAPE[0]


def test_dragan_perturbs_every_value_by_the_batch_std_and_stays_in_the_unit_range():
    real, fake = _batches()
    real[0, 0, 0, :3] = torch.tensor([0.0, 1.0, 0.999])  # values the noise can push out of [0, 1]
    critic = QuadraticCritic()
    discriminator_penalty("dragan", critic, real, fake, _seeded())
    noisy = critic.seen[0]
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0
    population_std = real.flatten().std(correction=0).item()
    shift = noisy - real
    assert shift.abs().max().item() <= 0.5 * population_std + 1e-12
    # Element-wise noise: many distinct shifts within each image; none around the fake images.
    assert shift[0].unique().numel() > 50
    assert not torch.allclose(noisy, fake)
    # Unclipped values reproduce x + std (u - 0.5) with the generator's draws.
    draws = torch.rand(SHAPE, generator=_seeded(), dtype=torch.float64)
    expected = (real + population_std * (draws - 0.5)).clamp(0.0, 1.0)
    torch.testing.assert_close(noisy, expected)


@pytest.mark.parametrize("penalty", ["gp", "dragan", "r1"])
def test_gradient_penalties_back_propagate_into_the_critic(penalty):
    real, fake = _batches(dtype=torch.float32)
    critic = SmallCritic()
    value = discriminator_penalty(penalty, critic, real, fake, _seeded())
    value.backward()
    for name in ("conv", "fc"):
        grad = getattr(critic, name).weight.grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert real.grad is None and fake.grad is None


@pytest.mark.parametrize("penalty", ["gp", "dragan"])
def test_seeded_draws_are_deterministic(penalty):
    real, fake = _batches(dtype=torch.float32)
    critic = SmallCritic().eval()
    first = discriminator_penalty(penalty, critic, real, fake, _seeded(5))
    again = discriminator_penalty(penalty, critic, real, fake, _seeded(5))
    other = discriminator_penalty(penalty, critic, real, fake, _seeded(6))
    assert first.item() == again.item()
    assert first.item() != other.item()


def test_l2_is_the_mean_over_kernels_of_half_squared_norms():
    critic = SmallCritic()
    value = discriminator_penalty("l2", critic, *_batches(dtype=torch.float32))
    conv_term = 0.5 * (critic.conv.weight.detach() ** 2).sum()
    fc_term = 0.5 * (critic.fc.weight.detach() ** 2).sum()
    assert value.item() == pytest.approx(((conv_term + fc_term) / 2).item(), rel=1e-6)
    value.backward()
    # d/dW of mean(½‖W‖²) over two kernels is W / 2; biases and norm-layer parameters untouched.
    torch.testing.assert_close(critic.conv.weight.grad, critic.conv.weight.detach() / 2)
    for parameter in (critic.conv.bias, critic.fc.bias, critic.norm.weight, critic.ln.weight):
        assert parameter.grad is None


def test_l2_penalises_the_raw_kernel_under_spectral_normalisation():
    torch.manual_seed(0)
    layer = nn.utils.parametrizations.spectral_norm(nn.Linear(6, 3))
    critic = nn.Sequential(layer, nn.Linear(3, 1, bias=False))
    weights = penalized_weights(critic)
    raw = layer.parametrizations.weight.original
    assert len(weights) == 2 and weights[0] is raw
    value = discriminator_penalty("l2", critic, *_batches(dtype=torch.float32))
    expected = (
        0.5 * raw.detach().square().sum() + 0.5 * critic[1].weight.detach().square().sum()
    ) / 2
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)


def test_l2_counts_a_shared_kernel_once():
    shared = nn.Linear(3, 3)
    critic = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(penalized_weights(critic)) == 1


def test_l2_without_any_kernel_is_an_error():
    with pytest.raises(ValueError, match="no weight"):
        discriminator_penalty("l2", nn.BatchNorm2d(3), *_batches(dtype=torch.float32))


def test_r1_on_a_linear_critic_is_the_squared_weight_norm():
    real, fake = _batches()
    value = discriminator_penalty("r1", LinearCritic(2.0), real, fake)
    assert value.item() == pytest.approx(4.0, rel=1e-12)


def test_r1_is_taken_on_real_images_without_the_half_factor():
    real, fake = _batches()
    critic = QuadraticCritic()
    value = discriminator_penalty("r1", critic, real, fake)
    torch.testing.assert_close(critic.seen[0], real)
    expected = real.flatten(1).square().sum(1).mean()  # ∇D(x) = x
    assert value.item() == pytest.approx(expected.item(), rel=1e-12)


def test_none_is_a_zero_scalar_like_the_images():
    real, fake = _batches(dtype=torch.float32)
    value = discriminator_penalty("none", SmallCritic(), real, fake)
    assert value.shape == () and value.item() == 0.0
    assert value.device == real.device and value.dtype == real.dtype


def test_unknown_penalty_is_an_input_error():
    real, fake = _batches()
    with pytest.raises(InputError, match="choose one of"):
        discriminator_penalty("wgangp", LinearCritic(1.0), real, fake)


def test_gp_rejects_mismatched_batches():
    real, fake = _batches()
    with pytest.raises(ValueError, match="differ"):
        discriminator_penalty("gp", LinearCritic(1.0), real, fake[:2])
