"""Reconstruction error (Xiang & Li 2017) on a linear generator with known optimum."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from ganmetrics.errors import InputError
from ganmetrics.recon import ReconstructionResult, reconstruction_error

Z_DIM = 4
IMAGE_SHAPE = (3, 4, 4)
PIXELS = math.prod(IMAGE_SHAPE)


class LinearGenerator(nn.Module):
    """G(z) = b + A z, reshaped to (3, 4, 4); records the mode it runs in."""

    def __init__(self, dtype=torch.float64):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.A = nn.Parameter(torch.randn(PIXELS, Z_DIM, generator=generator, dtype=dtype) * 0.1)
        self.b = nn.Parameter(torch.full((PIXELS,), 0.5, dtype=dtype), requires_grad=False)
        self.modes: list[bool] = []

    def forward(self, z):
        self.modes.append(self.training)
        return (z @ self.A.T + self.b).view(-1, *IMAGE_SHAPE)


@pytest.fixture(scope="module")
def generator_and_targets():
    generator = LinearGenerator()
    codes = torch.rand(6, Z_DIM, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        targets = generator(codes * 2 - 1)
    assert targets.min() > 0 and targets.max() < 1
    return generator, targets


def test_zero_steps_measure_the_code_zero(generator_and_targets):
    generator, targets = generator_and_targets
    result = reconstruction_error(generator, targets, Z_DIM, steps=0)
    expected = ((0.5 - targets) ** 2).flatten(1).mean(1).numpy()
    np.testing.assert_allclose(result.per_image, expected, rtol=1e-12)
    assert isinstance(result, ReconstructionResult)
    assert result.num_images == 6 and result.steps == 0
    assert result.mean_mse == pytest.approx(expected.mean())
    assert result.std_mse == pytest.approx(expected.std())


def test_one_step_is_pytorch_rmsprop_with_the_reference_settings(generator_and_targets):
    """From square_avg = 0: z₁ = -lr g / (√((1 - α) g²) + ε) with lr 0.01, α 0.9, ε 1e-6."""
    generator, targets = generator_and_targets
    result = reconstruction_error(generator, targets, Z_DIM, steps=1)
    A = generator.A.detach()
    residual = (0.5 - targets).flatten(1)  # G(0) - x
    gradient = 2.0 / PIXELS * residual @ A  # ∇_z of the per-image MSE at z = 0
    codes = -0.01 * gradient / (torch.sqrt(0.1 * gradient**2) + 1e-6)
    expected = ((codes @ A.T + 0.5 - targets.flatten(1)) ** 2).mean(1).numpy()
    np.testing.assert_allclose(result.per_image, expected, rtol=1e-10)


def test_error_decreases_towards_zero_with_more_steps(generator_and_targets):
    generator, targets = generator_and_targets
    errors = [
        reconstruction_error(generator, targets, Z_DIM, steps=steps).mean_mse
        for steps in (0, 10, 50, 100, 400)
    ]
    assert all(later < earlier for earlier, later in itertools.pairwise(errors))
    assert errors[-1] < 1e-3 * errors[0]


def test_batching_does_not_couple_images(generator_and_targets):
    generator, targets = generator_and_targets
    one_by_one = reconstruction_error(generator, targets, Z_DIM, steps=30, batch_size=1)
    all_at_once = reconstruction_error(generator, targets, Z_DIM, steps=30, batch_size=6)
    uneven = reconstruction_error(generator, targets, Z_DIM, steps=30, batch_size=4)
    np.testing.assert_allclose(all_at_once.per_image, one_by_one.per_image, rtol=1e-9)
    np.testing.assert_allclose(uneven.per_image, one_by_one.per_image, rtol=1e-9)


def test_generator_is_frozen_in_eval_mode_and_restored():
    generator = LinearGenerator(dtype=torch.float32)
    generator.train()
    before = {name: p.detach().clone() for name, p in generator.named_parameters()}
    flags = {name: p.requires_grad for name, p in generator.named_parameters()}
    assert flags == {"A": True, "b": False}
    images = torch.rand(3, *IMAGE_SHAPE, generator=torch.Generator().manual_seed(2))
    reconstruction_error(generator, images, Z_DIM, steps=5, batch_size=2)
    assert generator.modes and not any(generator.modes)
    assert generator.training
    for name, parameter in generator.named_parameters():
        assert torch.equal(parameter, before[name]), name
        assert parameter.requires_grad == flags[name], name
        assert parameter.grad is None, name


def test_flags_are_restored_when_the_generator_fails():
    generator = LinearGenerator(dtype=torch.float32)
    wrong_size = torch.rand(2, 3, 8, 8)
    with pytest.raises(InputError, match="does not match"):
        reconstruction_error(generator, wrong_size, Z_DIM, steps=2)
    assert generator.A.requires_grad and generator.training


def test_uint8_images_equal_their_float_scaling():
    generator = LinearGenerator(dtype=torch.float32)
    pixels = np.random.default_rng(0).integers(0, 256, size=(3, *IMAGE_SHAPE), dtype=np.uint8)
    from_uint8 = reconstruction_error(generator, pixels, Z_DIM, steps=5)
    from_float = reconstruction_error(generator, pixels.astype(np.float32) / 255, Z_DIM, steps=5)
    np.testing.assert_allclose(from_uint8.per_image, from_float.per_image, rtol=1e-5)
    assert from_uint8.per_image.dtype == np.float64
    assert not from_uint8.per_image.flags.writeable


@pytest.mark.parametrize(
    "images",
    [
        np.zeros((2, 4, 4), dtype=np.uint8),
        np.zeros((0, *IMAGE_SHAPE), dtype=np.uint8),
        np.full((2, *IMAGE_SHAPE), 1.5, dtype=np.float32),
        np.zeros((2, *IMAGE_SHAPE), dtype=np.int64),
    ],
)
def test_bad_images_are_input_errors(images):
    with pytest.raises(InputError, match="images"):
        reconstruction_error(LinearGenerator(dtype=torch.float32), images, Z_DIM, steps=1)


def test_bad_settings_are_input_errors():
    images = np.zeros((2, *IMAGE_SHAPE), dtype=np.uint8)
    with pytest.raises(InputError, match="batch_size"):
        reconstruction_error(LinearGenerator(dtype=torch.float32), images, Z_DIM, batch_size=0)
