"""Unrounded generated images (compare_gan's ``fake_images *= 255.0``) against the uint8 path."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import ganmetrics
from ganmetrics.protocols import PROTOCOLS
from ganmetrics.settings import EvalSettings
from ganmetrics.sources import CallableGeneratorSource

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GENERATOR = FIXTURES / "generator32.pt"


@pytest.fixture(scope="module")
def tiny_generator_importable():
    sys.path.insert(0, str(FIXTURES))  # the export's builder is tiny_generator:build
    yield GENERATOR
    sys.path.remove(str(FIXTURES))


def _integral_levels(n: int, seed: int) -> np.ndarray:
    """Float64 images whose values are k / 255: 255 x is exactly representable after rounding."""
    levels = np.random.default_rng(seed).integers(0, 256, size=(n, 3, 32, 32))
    return levels / 255.0


def test_protocols_own_the_estimators_and_settings_override_them():
    for name, protocol in PROTOCOLS.items():
        resolved = EvalSettings(protocol=name).validated()
        assert resolved.round_generated is protocol.round_generated
        assert resolved.is_splits == protocol.is_splits
        assert resolved.kid_estimator == protocol.kid_estimator
    overridden = EvalSettings(protocol="cifar10", round_generated=True, is_splits=10).validated()
    assert overridden.round_generated is True and overridden.is_splits == 10
    with pytest.raises(ganmetrics.InputError, match="--kid-estimator"):
        EvalSettings(kid_estimator="pairs").validated()


def test_unrounded_batches_are_float_and_keep_the_fraction():
    def soft(n, seed):
        return np.random.default_rng(seed).uniform(0, 1, (n, 3, 8, 8)).astype(np.float32)

    rounded = next(CallableGeneratorSource(soft, 4, value_range="0,1").batches(4))
    unrounded = next(
        CallableGeneratorSource(soft, 4, value_range="0,1", round_generated=False).batches(4)
    )
    assert rounded.dtype == np.uint8 and unrounded.dtype == np.float32
    assert unrounded.min() >= 0.0 and unrounded.max() <= 255.0
    assert np.abs(unrounded - rounded).max() <= 0.5 + 1e-4  # only the rounding
    assert np.any(unrounded != np.rint(unrounded))


def test_float_path_equals_uint8_path_on_integral_values(extractor):
    options = {"value_range": "0,1"}
    as_uint8 = CallableGeneratorSource(_integral_levels, 8, **options)
    as_float = CallableGeneratorSource(_integral_levels, 8, round_generated=False, **options)
    assert next(as_float.batches(8)).dtype == np.float32
    uint8_features = extractor.extract(as_uint8)
    float_features = extractor.extract(as_float)
    assert np.array_equal(uint8_features.pool3, float_features.pool3)
    assert np.array_equal(uint8_features.logits, float_features.logits)


def test_unrounded_fid_differs_from_rounded_only_by_the_rounding(
    tiny_generator_importable, extractor
):
    scores = {
        rounded: ganmetrics.evaluate(
            FIXTURES / "real32",
            tiny_generator_importable,
            ["fid"],
            num_fake=24,
            extractor=extractor,
            round_generated=rounded,
        )
        for rounded in (True, False)
    }
    difference = abs(scores[False]["fid"] - scores[True]["fid"])
    assert 0.0 < difference < 1e-3 * scores[True]["fid"]
    meta = scores[False]["meta"]
    assert meta["settings"]["round_generated"] is False
    assert "unrounded" in meta["estimators"]["generated_images"]
    assert "uint8" in scores[True]["meta"]["estimators"]["generated_images"]


def test_study_protocol_scores_generators_unrounded(tiny_generator_importable, extractor):
    result = ganmetrics.evaluate(
        None, tiny_generator_importable, ["is"], num_fake=24, extractor=extractor,
        protocol="custom", round_generated=None,
    )  # fmt: skip
    assert result["meta"]["settings"]["round_generated"] is True  # custom: torch-fidelity's
    assert result["meta"]["settings"]["is_splits"] == 10
    assert "10 shuffled splits" in result["meta"]["estimators"]["is"]
