"""Exact float32 by default: the precision guard, its restore, and batch-size invariance (#6)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganmetrics import cache
from ganmetrics.features import FastInception, FeatureExtractor, network_variant
from ganmetrics.fid import fid_from_features
from ganmetrics.inception import build_torch_fidelity_inception, calibration_images
from ganmetrics.precision import EXACT_FLOAT32, FLOAT64, TF32, feature_precision, precision_name
from ganmetrics.sources import ArraySource

backends = torch.backends


def _flags() -> dict:
    """Every setting the guard touches, read through whichever API this PyTorch has."""
    state = {
        "matmul_precision": torch.get_float32_matmul_precision(),
        "benchmark": backends.cudnn.benchmark,
        "bf16_reduction": backends.cuda.matmul.allow_bf16_reduced_precision_reduction,
        "fp16_reduction": backends.cuda.matmul.allow_fp16_reduced_precision_reduction,
    }
    if hasattr(backends.cudnn, "conv") and hasattr(backends.cudnn.conv, "fp32_precision"):
        state["conv"] = backends.cudnn.conv.fp32_precision
        state["matmul"] = backends.cuda.matmul.fp32_precision
        state["cpu_matmul"] = backends.mkldnn.matmul.fp32_precision
    else:
        state["conv"] = backends.cudnn.allow_tf32
        state["matmul"] = backends.cuda.matmul.allow_tf32
    return state


@pytest.fixture
def user_settings():
    """Non-default settings a training script might have made; restored after the test."""
    before = _flags()
    torch.set_float32_matmul_precision("medium")
    backends.cudnn.benchmark = True
    backends.cuda.matmul.allow_bf16_reduced_precision_reduction = True
    backends.cuda.matmul.allow_fp16_reduced_precision_reduction = True
    chosen = _flags()
    yield chosen
    torch.set_float32_matmul_precision(before["matmul_precision"])
    backends.cudnn.benchmark = before["benchmark"]
    backends.cuda.matmul.allow_bf16_reduced_precision_reduction = before["bf16_reduction"]
    backends.cuda.matmul.allow_fp16_reduced_precision_reduction = before["fp16_reduction"]


@pytest.fixture(scope="module")
def small_images() -> np.ndarray:
    return calibration_images(3, 32, seed=5)


def _record_flags_during_forward(extractor: FeatureExtractor, seen: list) -> object:
    first_layer = extractor.model.net.Conv2d_1a_3x3
    return first_layer.register_forward_pre_hook(lambda module, args: seen.append(_flags()))


def test_extraction_is_exact_and_restores_user_settings(extractor, user_settings, small_images):
    seen: list = []
    handle = _record_flags_during_forward(extractor, seen)
    try:
        extractor.extract(ArraySource(small_images))
    finally:
        handle.remove()
    assert seen, "the hook did not run"
    inside = seen[0]
    assert inside["matmul_precision"] == "highest"
    assert inside["conv"] in ("ieee", False) and inside["matmul"] in ("ieee", False)
    assert inside.get("cpu_matmul", "ieee") == "ieee"
    assert not inside["bf16_reduction"] and not inside["fp16_reduction"]
    assert inside["benchmark"] is False  # the CPU extractor's choice; the user had True
    assert _flags() == user_settings


def test_settings_restored_after_an_exception(extractor, user_settings, small_images):
    def fail(module, args):
        raise RuntimeError("forward failed")

    handle = extractor.model.net.Mixed_5b.register_forward_pre_hook(fail)
    try:
        with pytest.raises(RuntimeError, match="forward failed"):
            extractor.extract(ArraySource(small_images))
    finally:
        handle.remove()
    assert _flags() == user_settings


def test_tf32_opt_in_is_recorded_and_keyed_apart(inception_weights_path, small_images):
    tf32 = FeatureExtractor(inception_weights_path, device="cpu", num_workers=0, allow_tf32=True)
    seen: list = []
    handle = _record_flags_during_forward(tf32, seen)
    try:
        tf32.extract(ArraySource(small_images[:2]))
    finally:
        handle.remove()
    assert seen[0]["conv"] in ("tf32", True) and seen[0]["matmul_precision"] == "high"
    exact_description = FeatureExtractor(inception_weights_path, device="cpu").describe()
    assert tf32.describe()["precision"] == TF32
    assert exact_description["precision"] == EXACT_FLOAT32
    variants = {network_variant(tf32.describe()), network_variant(exact_description)}
    assert len(variants) == 2
    keys = {cache.cache_key("fingerprint", "sha", variant) for variant in variants}
    assert len(keys) == 2


def test_precision_names():
    assert precision_name(float64=True, allow_tf32=True) == FLOAT64
    assert precision_name(float64=False, allow_tf32=False) == EXACT_FLOAT32
    assert precision_name(float64=False, allow_tf32=True) == TF32


def test_nested_guards_restore_outer_state(user_settings):
    with feature_precision(allow_tf32=True):
        tf32_state = _flags()
        with feature_precision():
            assert _flags()["matmul_precision"] == "highest"
        assert _flags() == tf32_state
    assert _flags() == user_settings


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(scope="module", params=["cpu", pytest.param("cuda", marks=needs_cuda)])
def invariance_sets(request, inception_weights_path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """pool3 of two 12-image sets at batch sizes 1, 7 (ragged last batch) and 64, per device."""
    real = calibration_images(12, 32, seed=11)
    fake = calibration_images(12, 32, seed=12)
    results = {}
    for batch_size in (1, 7, 64):
        extractor = FeatureExtractor(
            inception_weights_path, device=request.param, batch_size=batch_size, num_workers=0
        )
        results[batch_size] = (
            extractor.extract(ArraySource(real)).pool3,
            extractor.extract(ArraySource(fake)).pool3,
        )
    return results


def test_features_do_not_depend_on_batch_size(invariance_sets):
    reference_real, reference_fake = invariance_sets[64]
    scale = max(1.0, float(np.abs(reference_real).max()))
    for batch_size in (1, 7):
        real, fake = invariance_sets[batch_size]
        assert np.abs(real - reference_real).max() <= 2e-4 * scale
        assert np.abs(fake - reference_fake).max() <= 2e-4 * scale


@pytest.mark.filterwarnings("ignore::ganmetrics.fid.FewSamplesWarning")
def test_fid_does_not_depend_on_batch_size(invariance_sets):
    fids = {size: fid_from_features(*pair) for size, pair in invariance_sets.items()}
    assert fids[64] > 1.0, "the two sets must be told apart for the check to mean anything"
    for batch_size in (1, 7):
        assert abs(fids[batch_size] - fids[64]) <= 1e-5 * fids[64]


def test_float64_torch_fidelity_module_is_float64(inception_weights_path, small_images):
    """torch-fidelity 0.4.0 ignores ``internal_dtype="float64"``; we cast the module ourselves."""
    module = build_torch_fidelity_inception(inception_weights_path, torch.float64)
    assert module.feature_extractor_internal_dtype == torch.float64
    assert {p.dtype for p in module.parameters()} == {torch.float64}
    assert {b.dtype for b in module.buffers() if b.is_floating_point()} == {torch.float64}
    images = torch.from_numpy(small_images)
    with torch.inference_mode():
        pool3_torch_fidelity_64, _ = module(images)
        pool3_folded_64, _ = FastInception(module, torch.float64).eval()(images)
        pool3_32, _ = build_torch_fidelity_inception(inception_weights_path)(images)
    error_64 = (pool3_torch_fidelity_64.double() - pool3_folded_64).abs().max().item()
    error_32 = (pool3_32.double() - pool3_folded_64).abs().max().item()
    assert error_64 < error_32  # only torch-fidelity's final float32 rounding remains
    plain_64 = FeatureExtractor(
        inception_weights_path, device="cpu", float64=True, fast=False, num_workers=0
    )
    assert {p.dtype for p in plain_64.model.parameters()} == {torch.float64}
    assert plain_64.describe()["precision"] == FLOAT64
