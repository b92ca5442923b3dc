"""``ganmetrics check`` and ``eval --expect`` as a user's CI meets them: exit 0, 1 or 2."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ganmetrics.cli import main

RESULT = {"fid": 13.1, "is_mean": 7.4, "is_std": 0.1, "kid_mean": 0.002, "meta": {}}


def _cli(args):
    return CliRunner().invoke(main, args)


@pytest.fixture
def result_file(tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(RESULT))
    return path


def test_check_passes_when_every_bound_holds(result_file, tmp_path):
    expected = tmp_path / "EXPECTED.json"
    expected.write_text(json.dumps({"_comment": "model of today", "fid": {"max": 14},
                                    "is": {"value": 7.4, "tol": 0.05}}))  # fmt: skip
    for spec in (str(expected), "fid<=14,is>=7"):
        outcome = _cli(["check", str(result_file), "--expect", spec])
        assert outcome.exit_code == 0, outcome.output
        assert outcome.stderr == ""
        assert outcome.stdout.startswith("ok: 2 expectation(s) hold")


def test_check_fails_with_one_line_per_violation(result_file):
    outcome = _cli(["check", str(result_file), "--expect", "fid<=12.5,is>=7,kid<0.001"])
    assert outcome.exit_code == 1
    assert outcome.stderr.splitlines() == [
        "fid 13.1 > 12.5 (expected fid<=12.5)",
        "kid 0.002 > 0.001 (expected kid<0.001)",
    ]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["check", "missing.json", "--expect", "fid<=1"], "missing.json: result file not found"),
        (["check", "RESULT", "--expect", "fid<<1"], "cannot read the expectation 'fid<<1'"),
        (["check", "RESULT"], "--expect is required"),
        (["check", "--expect", "fid<=1"], "pass the result file"),
        (["check", "RESULT", "--expect", "nope.json"], "nope.json: expectations file not found"),
    ],
)
def test_check_bad_input_is_one_line_exit_2(result_file, args, fragment):
    args = [str(result_file) if arg == "RESULT" else arg for arg in args]
    outcome = _cli(args)
    assert outcome.exit_code == 2, outcome.output
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines
    assert "Traceback" not in outcome.output


def test_eval_expect_prints_the_result_then_gates(image_sets, inception_weights_path):
    base = ["is", "--fake", str(image_sets["fake"]), "--inception-weights",
            str(inception_weights_path), "--quiet"]  # fmt: skip
    passing = _cli([*base, "--expect", "is>=1"])
    assert passing.exit_code == 0, passing.output
    assert passing.stdout.startswith("Inception Score")
    failing = _cli([*base, "--json", "--expect", "is>=1000"])
    assert failing.exit_code == 1
    score = json.loads(failing.stdout)["is_mean"]  # printed before the verdict
    violation = [line for line in failing.stderr.splitlines() if not line.startswith("warning: ")]
    assert violation == [f"is {score:.6g} < 1000 (expected is>=1000)"]


def test_eval_refuses_a_bad_expectation_before_any_work(image_sets, inception_weights_path):
    outcome = _cli(["is", "--fake", str(image_sets["fake"]), "--inception-weights",
                    str(inception_weights_path), "--quiet", "--expect", "is>>1"])  # fmt: skip
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "--expect: cannot read the expectation" in errors[0]
