"""Committed fixtures pin every metric: recompute tests/fixtures/expected.json with the public API.

A change that moves a number fails here with the old and the new value. If the change is meant,
rerun ``PYTHONPATH=$PWD python tests/fixtures/make_fixtures.py --expected`` and commit the diff of
expected.json with the reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ganmetrics.check import read_expectations_json, violations

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def make_fixtures(single_torch_thread):
    sys.path.insert(0, str(FIXTURES))
    import make_fixtures

    yield make_fixtures
    sys.path.remove(str(FIXTURES))


@pytest.fixture(scope="module")
def expected():
    return json.loads((FIXTURES / "expected.json").read_text())


def test_fixture_files_are_small_and_complete(make_fixtures):
    files = [p for p in FIXTURES.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert sum(p.stat().st_size for p in files) < 1 << 20
    for name, count, _, _, _ in make_fixtures.IMAGE_SETS:
        assert len(list((FIXTURES / name).glob("*.png"))) == count
    assert (FIXTURES / make_fixtures.GENERATOR).is_file()


def test_weights_are_the_suites(make_fixtures, expected):
    from conftest import WEIGHTS_SEED

    assert expected["weights_seed"] == WEIGHTS_SEED == make_fixtures.WEIGHTS_SEED


def test_every_metric_is_pinned(expected):
    keys = set(expected["expect"])
    for key in ("fid", "is_mean", "kid_mean", "precision", "recall", "density", "coverage"):
        assert f"folders32.{key}" in keys
    assert {"folders64.msssim", "generator32.fid", "recon32.recon_mse"} <= keys
    assert {"estimators32.kid_blocks", "estimators32.is_one_split"} <= keys


def test_values_match_the_committed_ones(make_fixtures, expected, inception_weights_path):
    values = make_fixtures.compute_values(FIXTURES, inception_weights_path)
    problems = violations(values, read_expectations_json(expected, "expected.json"))
    assert not problems, "fixture values moved:\n" + "\n".join(problems)
