"""The procedural judge, calibrated: real images pass, noise and collapse do not (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

import ganmetrics
from ganmetrics.datasets import ProceduralDataset
from ganmetrics.datasets.procedural_judge import judge_procedural
from ganmetrics.errors import InputError


@pytest.fixture(scope="module")
def real16():
    dataset = ProceduralDataset(400, 16, seed=3, split="test")
    modes = np.asarray([dataset.mode(i) for i in range(len(dataset))])
    return dataset.to_array(), modes


@pytest.mark.parametrize("size", [8, 16, 32])
def test_real_images_score_near_one_with_every_mode(size):
    images = ProceduralDataset(256, size, seed=1, split="train").to_array()
    scores = judge_procedural(images)
    assert scores.quality >= 0.97
    assert scores.modes == 4
    assert scores.coverage >= 0.9
    assert sum(scores.mode_shares) == pytest.approx(scores.quality)
    assert scores.colour_fd < 0.2


def test_the_judge_assigns_each_real_image_its_own_mode(real16):
    images, modes = real16
    for mode in range(4):
        scores = judge_procedural(images[modes == mode])
        assert scores.mode_shares[mode] >= 0.97


def test_noise_flat_and_shuffled_images_score_zero(real16):
    images, _ = real16
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, images.shape, dtype=np.uint8)
    flat = np.full_like(images, 128)
    shuffled = images.reshape(len(images), 3, -1)[:, :, rng.permutation(256)].reshape(images.shape)
    for fake in (noise, flat, shuffled):
        scores = judge_procedural(fake)
        assert scores.quality <= 0.02 and scores.modes == 0 and scores.coverage <= 0.02
    assert judge_procedural(noise).colour_fd > 1.0 and judge_procedural(flat).colour_fd > 1.0


def test_backgrounds_without_shapes_fail(real16):
    """The shape colour must be there: only the background gradient is not the data."""
    images, modes = real16
    chosen = images[modes == 0].astype(np.int16)
    top = chosen[:, :, :1, :1]
    bottom = chosen[:, :, -1:, :1]
    ramp = np.linspace(0, 1, 16)[None, None, :, None]
    background = np.broadcast_to(top + (bottom - top) * ramp, chosen.shape).astype(np.uint8)
    assert judge_procedural(background).quality <= 0.05


def test_a_collapsed_generator_shows_one_mode(real16):
    images, modes = real16
    one_mode = images[modes == 2]
    scores = judge_procedural(one_mode)
    assert scores.quality >= 0.97 and scores.modes == 1
    assert scores.coverage <= 0.25 + 1e-9
    assert scores.colour_fd > 10 * judge_procedural(images).colour_fd
    repeated = np.repeat(images[:1], 200, axis=0)
    assert judge_procedural(repeated).modes == 1


def test_two_modes_in_fair_share_count_two(real16):
    images, modes = real16
    scores = judge_procedural(images[(modes == 0) | (modes == 3)])
    assert scores.modes == 2
    assert scores.coverage == pytest.approx(0.5, abs=0.03)


def test_public_api_and_bad_input():
    assert ganmetrics.judge_procedural is judge_procedural
    with pytest.raises(InputError, match="procedural judge"):
        judge_procedural(np.zeros((4, 1, 8, 8), dtype=np.uint8))
    with pytest.raises(InputError, match="num_modes"):
        judge_procedural(np.zeros((4, 3, 8, 8), dtype=np.uint8), num_modes=5)
