"""Tests of the MS-SSIM diversity score ("The GAN Landscape", Kurach et al. 2019, section 2.4 and
Appendix G; Fedus et al. 2018, section 5.3) against pytorch-msssim, an independent numpy/scipy
transcription of compare_gan's TensorFlow MS-SSIM, a slow pairwise loop, and its properties."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.signal
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_msssim import ms_ssim as pytorch_msssim_ms_ssim

from ganmetrics.errors import InputError
from ganmetrics.msssim import (
    MIN_SIDE,
    MsssimDiversity,
    batch_pairwise_ms_ssim,
    gaussian_window_1d,
    ms_ssim,
    msssim_diversity,
)

SETTINGS = settings(max_examples=20, deadline=None)


pytestmark = pytest.mark.usefixtures("single_torch_thread")


def smooth_images(rng: np.random.Generator, count: int, height: int, width: int) -> np.ndarray:
    """Float (count, 3, H, W) images in [0, 255] with structure at several scales."""
    noise = rng.uniform(0.0, 255.0, size=(count, 3, height + 4, width + 4))
    blurred = sum(noise[:, :, i : i + height, j : j + width] for i in range(5) for j in range(5))
    return blurred / 25.0


def noisy_copies(rng: np.random.Generator, images: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(images + rng.normal(0.0, sigma, size=images.shape), 0.0, 255.0)


def to_uint8(images: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


# --- pytorch-msssim ------------------------------------------------------------------------------


@pytest.mark.parametrize("side", [176, 192])
def test_agrees_with_pytorch_msssim_where_the_algorithms_coincide(side):
    """pytorch-msssim 1.0.0 and compare_gan's TF MS-SSIM coincide when

    * every scale is at least 11 px wide (side >= 11 * 2**4 = 176; pytorch-msssim asserts
      side > 160), so compare_gan's window ``min(11, H, W)`` is 11 at every scale as in
      pytorch-msssim: same Gaussian (sigma 1.5, coordinates ``i - size // 2`` = ``i - (size-1)/2``
      for odd sizes, normalised to sum 1, separable), same VALID filtering (padding 0);
    * every pooled side is even (176 = 11 * 16, 192 = 12 * 16): pytorch-msssim pads odd sides
      with zeros on both ends (``avg_pool2d(padding=s % 2)``, zeros counted), compare_gan copies
      the last row / column at the end; with even sides neither pads and both use 2x2 averages.

    Identical in both: k1 = 0.01, k2 = 0.03, data range 255, compensation 1, ``cs`` and ``ssim`` as
    spatial means per channel, ReLU on cs of scales 1-4 and on ssim of scale 5 (after averaging),
    the power factors, the product over scales per channel, then the mean over channels. The one
    difference left: pytorch-msssim builds its default window in float32, hence the 1e-5
    tolerance; with our float64 window passed as ``win`` the two agree to 1e-10.
    """
    rng = np.random.default_rng(side)
    images_a = smooth_images(rng, 3, side, side)
    images_b = np.concatenate(
        [noisy_copies(rng, images_a[:2], 25.0), smooth_images(rng, 1, side, side)]
    )
    tensor_a = torch.from_numpy(images_a)
    tensor_b = torch.from_numpy(images_b)
    k1_k2 = (0.01, 0.03)
    ours = ms_ssim(tensor_a, tensor_b)
    theirs_default = pytorch_msssim_ms_ssim(
        tensor_a, tensor_b, data_range=255, size_average=False, win_size=11, win_sigma=1.5, K=k1_k2
    )
    window64 = gaussian_window_1d(11).reshape(1, 1, 1, 11).repeat(3, 1, 1, 1)
    theirs_float64_window = pytorch_msssim_ms_ssim(
        tensor_a, tensor_b, data_range=255, size_average=False, win=window64, K=k1_k2
    )
    assert ours.shape == (3,)
    assert 0.3 < float(ours[:2].min()) < 0.999  # not a trivial comparison
    torch.testing.assert_close(ours, theirs_default, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours, theirs_float64_window, atol=1e-10, rtol=0)


# --- independent transcription of compare_gan / tf.image.ssim_multiscale -------------------------


def reference_ms_ssim(image_a: np.ndarray, image_b: np.ndarray) -> float:
    """Straight transcription of compare_gan ``image_similarity.multiscale_ssim`` for one pair of
    (H, W, C) float64 images in [0, 255]: 2-D softmax Gaussian kernel, VALID correlation per
    channel, SYMMETRIC end padding of odd sides before 2x2 average pooling."""
    power_factors = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
    c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2
    x, y = image_a.astype(np.float64), image_b.astype(np.float64)
    mcs = []
    for scale in range(len(power_factors)):
        if scale > 0:
            remainder = (x.shape[0] % 2, x.shape[1] % 2)
            if any(remainder):
                padding = ((0, remainder[0]), (0, remainder[1]), (0, 0))
                x = np.pad(x, padding, mode="symmetric")
                y = np.pad(y, padding, mode="symmetric")
            h, w, c = x.shape
            x = x.reshape(h // 2, 2, w // 2, 2, c).mean(axis=(1, 3))
            y = y.reshape(h // 2, 2, w // 2, 2, c).mean(axis=(1, 3))
        size = min(11, x.shape[0], x.shape[1])
        coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
        g = -0.5 * coords**2 / 1.5**2
        logits = (g[None, :] + g[:, None]).ravel()
        kernel = (np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()).reshape(
            size, size
        )

        def reducer(z, kernel=kernel):
            return np.stack(
                [scipy.signal.correlate2d(z[..., k], kernel, mode="valid") for k in range(3)], -1
            )

        mean0, mean1 = reducer(x), reducer(y)
        num0 = mean0 * mean1 * 2.0
        den0 = mean0**2 + mean1**2
        luminance = (num0 + c1) / (den0 + c1)
        num1 = reducer(x * y) * 2.0
        den1 = reducer(x**2 + y**2)
        cs_map = (num1 - num0 + c2) / (den1 - den0 + c2)
        ssim = (luminance * cs_map).mean(axis=(0, 1))
        mcs.append(np.maximum(cs_map.mean(axis=(0, 1)), 0.0))
    mcs.pop()
    stacked = np.stack([*mcs, np.maximum(ssim, 0.0)], axis=-1)
    return float(np.prod(stacked ** np.asarray(power_factors), axis=-1).mean())


@pytest.mark.parametrize(("height", "width"), [(64, 64), (37, 37), (45, 29), (128, 128)])
def test_agrees_with_independent_numpy_transcription(height, width):
    rng = np.random.default_rng(height * 1000 + width)
    images_a = smooth_images(rng, 2, height, width)
    images_b = np.concatenate(
        [noisy_copies(rng, images_a[:1], 30.0), smooth_images(rng, 1, height, width)]
    )
    ours = ms_ssim(images_a, images_b).numpy()
    expected = [
        reference_ms_ssim(a.transpose(1, 2, 0), b.transpose(1, 2, 0))
        for a, b in zip(images_a, images_b, strict=True)
    ]
    assert expected[0] > expected[1]
    np.testing.assert_allclose(ours, expected, atol=1e-10, rtol=0)


def test_compare_gan_unit_test_value():
    """compare_gan ``ms_ssim_score_test.py``: constant 64x64 images of 1, 0.7 and 0 (max_val 255)
    have mean pairwise MS-SSIM 0.989989 (+- 0.001)."""
    values = (1.0, 0.7, 0.0)
    images = torch.stack([torch.full((3, 64, 64), v, dtype=torch.float64) for v in values])
    first, second = torch.triu_indices(3, 3, offset=1)
    scores = ms_ssim(images[first], images[second])
    assert abs(float(scores.mean()) - 0.989989) < 1e-3
    torch.testing.assert_close(scores, batch_pairwise_ms_ssim(images), atol=1e-12, rtol=0)


# --- properties ----------------------------------------------------------------------------------


@st.composite
def image_pairs(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    height = draw(st.integers(MIN_SIDE, 40))
    width = draw(st.integers(MIN_SIDE, 40))
    count = draw(st.integers(1, 3))
    mix = draw(st.floats(0.0, 1.0))
    rng = np.random.default_rng(seed)
    images_a = rng.integers(0, 256, size=(count, 3, height, width)).astype(np.float64)
    other = rng.integers(0, 256, size=(count, 3, height, width)).astype(np.float64)
    return to_uint8(images_a), to_uint8((1.0 - mix) * images_a + mix * other)


@SETTINGS
@given(image_pairs())
def test_identical_images_score_one(pair):
    images_a, _ = pair
    ones = torch.ones(len(images_a), dtype=torch.float64)
    torch.testing.assert_close(ms_ssim(images_a, images_a), ones, atol=1e-12, rtol=0)


@SETTINGS
@given(image_pairs())
def test_symmetric_and_in_unit_interval(pair):
    images_a, images_b = pair
    forward = ms_ssim(images_a, images_b)
    backward = ms_ssim(images_b, images_a)
    torch.testing.assert_close(forward, backward, atol=1e-12, rtol=0)
    assert bool(((forward >= 0.0) & (forward <= 1.0 + 1e-12)).all())


@SETTINGS
@given(image_pairs())
def test_uint8_and_float_inputs_agree(pair):
    images_a, images_b = pair
    torch.testing.assert_close(
        ms_ssim(images_a, images_b),
        ms_ssim(torch.from_numpy(images_a).float(), images_b.astype(np.float64)),
        atol=1e-12,
        rtol=0,
    )


@pytest.mark.parametrize(
    ("height", "width"), [(128, 128), (64, 64), (32, 32), (63, 63), (100, 100), (9, 9), (33, 70)]
)
def test_works_at_small_and_odd_sides(height, width):
    """pytorch-msssim refuses sides <= 160; the per-scale window min(11, H, W) does not."""
    rng = np.random.default_rng(height + width)
    base = smooth_images(rng, 1, height, width)
    images_a = to_uint8(np.concatenate([base, base]))
    other = smooth_images(rng, 1, height, width)
    images_b = to_uint8(np.concatenate([noisy_copies(rng, base, 10.0), other]))
    scores = ms_ssim(images_a, images_b)
    assert bool(torch.isfinite(scores).all())
    assert 0.0 <= float(scores[1]) < float(scores[0]) < 1.0


# --- the diversity score -------------------------------------------------------------------------


@pytest.mark.parametrize(("height", "width"), [(32, 32), (21, 34)])
def test_vectorised_diversity_equals_slow_pairwise_loop(height, width):
    rng = np.random.default_rng(7)
    base = smooth_images(rng, 1, height, width)
    similar = noisy_copies(rng, np.repeat(base, 4, axis=0), 40.0)
    images = to_uint8(np.concatenate([similar, smooth_images(rng, 9, height, width)]))
    num_batches, batch_size = 2, 6
    result = msssim_diversity(images, num_batches=num_batches, batch_size=batch_size)
    expected = []
    for batch_index in range(num_batches):
        batch = images[batch_index * batch_size : (batch_index + 1) * batch_size]
        pair_scores = [
            float(ms_ssim(batch[i : i + 1], batch[j : j + 1])[0])
            for i in range(batch_size)
            for j in range(i + 1, batch_size)
        ]
        expected.append(float(np.mean(pair_scores)))
    np.testing.assert_allclose(result.per_batch, expected, atol=1e-12, rtol=0)
    assert result.score == pytest.approx(float(np.mean(expected)), abs=1e-12)
    assert result.num_pairs == num_batches * batch_size * (batch_size - 1) // 2 == 30
    assert (result.num_batches, result.batch_size) == (num_batches, batch_size)


def test_pair_chunking_does_not_change_scores():
    rng = np.random.default_rng(3)
    batch = torch.from_numpy(smooth_images(rng, 7, 24, 24))
    whole = batch_pairwise_ms_ssim(batch)
    assert whole.shape == (21,)
    for pairs_per_chunk in (1, 2, 5):
        chunked = batch_pairwise_ms_ssim(batch, pairs_per_chunk=pairs_per_chunk)
        torch.testing.assert_close(chunked, whole, atol=1e-13, rtol=0)
    first, second = torch.triu_indices(7, 7, offset=1)
    torch.testing.assert_close(whole, ms_ssim(batch[first], batch[second]), atol=1e-12, rtol=0)


def test_copies_score_one_and_noise_scores_near_zero():
    rng = np.random.default_rng(11)
    copies = np.repeat(to_uint8(smooth_images(rng, 1, 48, 48)), 8, axis=0)
    noise = rng.integers(0, 256, size=(8, 3, 48, 48), dtype=np.uint8)
    assert msssim_diversity(copies, num_batches=2, batch_size=4).score == pytest.approx(
        1.0, abs=1e-12
    )
    noise_score = msssim_diversity(noise, num_batches=2, batch_size=4).score
    assert 0.0 <= noise_score < 0.1


def test_batches_are_consecutive_slices_and_extra_images_are_ignored():
    rng = np.random.default_rng(5)
    copies = np.repeat(to_uint8(smooth_images(rng, 1, 32, 32)), 4, axis=0)
    noise = rng.integers(0, 256, size=(6, 3, 32, 32), dtype=np.uint8)
    images = np.concatenate([copies, noise])
    result = msssim_diversity(torch.from_numpy(images), num_batches=2, batch_size=4)
    assert result.per_batch[0] == pytest.approx(1.0, abs=1e-12)
    assert result.per_batch[1] < 0.2
    assert result.score == pytest.approx(sum(result.per_batch) / 2, abs=1e-15)
    assert result == msssim_diversity(images[:8], num_batches=2, batch_size=4)
    read_only = images.copy()
    read_only.flags.writeable = False
    assert result == msssim_diversity(read_only, num_batches=2, batch_size=4)
    assert isinstance(result, MsssimDiversity)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.score = 0.0  # type: ignore[misc]


def test_float32_computation_is_close_to_float64():
    rng = np.random.default_rng(2)
    images = to_uint8(smooth_images(rng, 6, 40, 40))
    reference = msssim_diversity(images, num_batches=1, batch_size=6).score
    single = msssim_diversity(images, num_batches=1, batch_size=6, dtype=torch.float32).score
    assert single == pytest.approx(reference, abs=1e-4)


# --- bad input -----------------------------------------------------------------------------------


GOOD = np.zeros((8, 3, 16, 16), dtype=np.uint8)


@pytest.mark.parametrize(
    ("call", "message_part"),
    [
        (lambda: msssim_diversity(GOOD, num_batches=3, batch_size=4), "need at least 12"),
        (lambda: msssim_diversity(GOOD.astype(np.float32), 2, 4), "uint8"),
        (lambda: msssim_diversity(torch.zeros(8, 3, 16, 16), 2, 4), "uint8"),
        (lambda: msssim_diversity(GOOD.astype(np.int64), 2, 4), "uint8"),
        (lambda: ms_ssim(GOOD.astype(np.longdouble), GOOD), "uint8 or float"),
        (lambda: ms_ssim(GOOD.astype(bool), GOOD), "uint8 or float"),
        (lambda: msssim_diversity(GOOD.transpose(0, 2, 3, 1), 2, 4), "transpose(0, 3, 1, 2)"),
        (lambda: msssim_diversity(GOOD[0], 2, 4), "(N, 3, H, W)"),
        (lambda: msssim_diversity(GOOD[:, :1], 2, 4), "(N, 3, H, W)"),
        (lambda: msssim_diversity(GOOD[:, :, :8, :], 2, 4), f"at least {MIN_SIDE} px"),
        (lambda: msssim_diversity(GOOD.tolist(), 2, 4), "numpy array or torch tensor"),
        (lambda: msssim_diversity(GOOD, num_batches=0, batch_size=4), "num_batches"),
        (lambda: msssim_diversity(GOOD, num_batches=2, batch_size=1), "batch_size"),
        (lambda: ms_ssim(GOOD, GOOD[:, :, :, :12]), "same shape"),
        (lambda: ms_ssim(GOOD.astype(np.float32) - 1.0, GOOD), "outside [0, 255]"),
        (lambda: ms_ssim(np.full(GOOD.shape, np.nan), GOOD), "NaN"),
    ],
)
def test_bad_input_raises_one_line_input_error(call, message_part):
    with pytest.raises(InputError) as excinfo:
        call()
    message = str(excinfo.value)
    assert message_part in message
    assert "\n" not in message
