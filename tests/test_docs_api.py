"""The Lightning example of docs/api.md runs as written (on the CPU, random-weights Inception)."""

from __future__ import annotations

import re
import warnings

import pytest
from distributed_worker import REPO

pytest.importorskip("lightning")


def example(marker: str) -> str:
    text = (REPO / "docs" / "api.md").read_text()
    found = re.search(rf"<!-- docs-test: {marker} -->\n```python\n(.*?)```", text, re.DOTALL)
    assert found, f"no '{marker}' example in docs/api.md"
    return found.group(1)


def test_lightning_example_runs(inception_weights_path, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GANMETRICS_INCEPTION_WEIGHTS", str(inception_weights_path))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(example("lightning"), "docs/api.md", "exec"), namespace)
    step, result = namespace["evaluation"].results[-1]
    assert step == 4 and result["fid"] > 0 and result["meta"]["n_fake"] == 8
    assert result["meta"]["precision"] == "float32-exact"
    printed = capsys.readouterr().out.split()
    assert printed[-4:-2] == ["4", repr(result["fid"])]
