"""Expectations: parsing, EXPECTED.json, one-line violations, one-line input errors."""

from __future__ import annotations

import json

import pytest

from ganmetrics.check import (
    load_expectations,
    load_result,
    parse_expectations,
    read_expectations_json,
    violations,
)
from ganmetrics.errors import InputError

RESULT = {
    "fid": 13.1,
    "is_mean": 7.4,
    "is_std": 0.0,
    "kid_mean": -0.0002,
    "precision": 0.71,
    "fid_infinity": {"value": 12.0},
    "meta": {"protocol": "custom"},
}


def test_the_documented_example():
    assert violations(RESULT, parse_expectations("fid<=12.5,is>=7")) == [
        "fid 13.1 > 12.5 (expected fid<=12.5)"
    ]
    assert violations(RESULT, parse_expectations("fid <= 13.5, is >= 7")) == []


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("is>8", "is 7.4 < 8 (expected is>8)"),
        ("is>7.4", "is 7.4 = 7.4 (expected is>7.4)"),
        ("fid<13.1", "fid 13.1 = 13.1 (expected fid<13.1)"),
        ("fid=12.3+-0.2", "fid 13.1 > 12.5 (expected fid=12.3+-0.2)"),
        ("fid=14±0.5", "fid 13.1 < 13.5 (expected fid=14±0.5)"),
        ("fid=12+-5%", "fid 13.1 > 12.6 (expected fid=12+-5%)"),
        ("kid>=0", "kid -0.0002 < 0 (expected kid>=0)"),
        ("fid_infinity.value<=11", "fid_infinity.value 12 > 11 (expected fid_infinity.value<=11)"),
        ("meta.protocol>=1", "meta.protocol 'custom' is not a number (expected meta.protocol>=1)"),
        ("precision=0.7", "precision 0.71 > 0.7 (expected precision=0.7)"),
    ],
)
def test_each_form_gives_one_line(text, line):
    assert violations(RESULT, parse_expectations(text)) == [line]


@pytest.mark.parametrize("text", ["fid<=", "fid=>12", "12<=fid", "fid<=12;is>=7", "", "f id<=3"])
def test_bad_syntax_names_the_text_and_the_fix(text):
    with pytest.raises(InputError) as caught:
        parse_expectations(text)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("--expect")
    assert "fid<=12.5,is>=7" in message


def test_expected_json_forms(tmp_path):
    path = tmp_path / "EXPECTED.json"
    data = {
        "_comment": "pinned on 2026-12-01",
        "fid": {"value": 13.0, "tol": 0.05},
        "is": {"min": 7, "max": 8},
        "kid": {"max": 0.001},
        "precision": {"value": 0.7, "rel": 0.01},
        "is_std": 0,
    }
    path.write_text(json.dumps({"expect": data}))
    assert violations(RESULT, load_expectations(path)) == [
        "fid 13.1 > 13.05 (expected fid=13+-0.05)",
        "precision 0.71 > 0.707 (expected precision=0.7+-0.007)",
    ]
    assert load_expectations(str(path)) == read_expectations_json(data, str(path))


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"fid": "low"}, "must be a number or an object"),
        ({"fid": {"value": 1, "tolerance": 2}}, "unknown keys tolerance"),
        ({"fid": {"tol": 2}}, "no value"),
        ({"fid": {"value": 1, "max": 2}}, "one form"),
        ({"fid": {}}, "no bound"),
        ({"fid": {"max": "12"}}, "non-numeric max"),
        ({"_only": "comments"}, "holds no expectation"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_expected_json_is_one_line(tmp_path, entry, fragment):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(entry))
    with pytest.raises(InputError, match=fragment) as caught:
        load_expectations(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_files_that_cannot_be_read(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_expectations(tmp_path / "missing.json")
    broken = tmp_path / "result.json"
    broken.write_text("{not json")
    with pytest.raises(InputError, match="cannot read result file"):
        load_result(broken)
    broken.write_text(json.dumps(RESULT))
    assert load_result(broken) == RESULT


def test_a_name_the_result_lacks_is_an_input_error_not_a_violation():
    """A typo ("fdi") must exit 2 naming the scores there are, never read as a regression."""
    with pytest.raises(InputError) as caught:
        violations(RESULT, parse_expectations("fid<=20,recall>=0.5"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("--expect recall>=0.5: the result has no 'recall'")
    assert "fid" in message
