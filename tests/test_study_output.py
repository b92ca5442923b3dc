"""What a study prints and draws, as a user reads it (issue 14, points 1 and 12).

* hyperparameters.png shows a setting at the top of a Table 1b range (lr = 1e-2, lambda = 100);
  its cells hold short numbers; only long tick labels are rotated;
* report.md gives the wall time in a readable unit; the budget legend names the solid line;
* ``studies/`` is ignored by git like ``runs/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ganmetrics_train.study import report as report_module
from ganmetrics_train.study.report import (
    HYPERPARAMETER_BINS,
    StudyReport,
    bin_index,
    compact_number,
    readable_duration,
    write_report,
)
from ganmetrics_train.study.store import DONE, STORE_NAME, StudyStore

REPO = Path(__file__).resolve().parents[1]
#: (lr, lambda, final FID): two settings at the top of Table 1b's ranges, one inside them.
SETTINGS = [(1e-2, 100.0, 52_000.0), (1e-2, 100.0, 48_000.0), (1e-4, 1.0, 61.5)]


@pytest.fixture(scope="module")
def study_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("output-study")
    with StudyStore(out / STORE_NAME) as store:
        store.bind_study("edges", {}, "0")
        store.add_variant("ns_gp", "NS, GP", 0, {})
        settings = [
            (f"s{i}", {"lr": lr, "beta1": 0.5, "beta2": 0.999, "n_disc": 5, "lambda_": lam})
            for i, (lr, lam, _) in enumerate(SETTINGS)
        ]
        store.add_settings("ns_gp", "random", 0, settings, 1, lambda v, s, k: f"runs/{s}/{k}")
        for trial, (_, _, fid) in zip(store.trials(), SETTINGS, strict=True):
            store.record_result(
                trial["trial_id"],
                {"status": DONE, "final_fid": fid, "wall_s": 53.0, "steps_per_s": 2.0},
            )
    return out


def test_a_setting_at_the_top_of_a_range_is_in_the_last_cell(study_out):
    with StudyStore(study_out / STORE_NAME) as store:
        report = StudyReport(store)
        for name, top_label in (("lr", "1e-2"), ("lambda", "1e2")):
            labels, grid = report.hyperparameter_grid(name)
            assert labels[-1].endswith(f"..{top_label}")
            assert grid[0, -1] == pytest.approx(np.median([50_000.0])), name  # median of 52k, 48k
            assert np.isfinite(grid).sum() == 2, name
        labels, grid = report.hyperparameter_grid("n_disc")
        assert labels == ["1", "5"] and np.isnan(grid[0, 0]) and np.isfinite(grid[0, 1])
    edges = HYPERPARAMETER_BINS["lr"][1]
    assert bin_index(edges, -2.0) == len(edges) - 2
    assert bin_index(edges, -5.0) == 0 and bin_index(edges, -4.5) == 1
    assert bin_index(edges, -1.9) is None and bin_index(edges, -5.1) is None


def test_the_hyperparameter_figure_reads_cleanly(study_out, monkeypatch):
    drawn = {}
    real_save = report_module._save

    def keep(fig, path):
        drawn[path.name] = [
            (ax.get_title(), [t.get_text() for t in ax.texts], ax.get_xticklabels())
            for ax in fig.axes
        ]
        return real_save(fig, path)

    monkeypatch.setattr(report_module, "_save", keep)
    paths = write_report(study_out)
    panels = {title: (texts, ticks) for title, texts, ticks in drawn["hyperparameters.png"]}
    texts, ticks = panels["learning rate"]
    assert texts[-1] == "50k" and all(len(t) <= 4 for t in texts)
    assert {t.get_rotation() for t in ticks} == {45.0}
    _, ticks = panels[HYPERPARAMETER_BINS["n_disc"][0]]
    assert [t.get_text() for t in ticks] == ["1", "5"] and {t.get_rotation() for t in ticks} == {0}
    assert panels["lambda (penalty weight)"][0][-1] == "50k"

    markdown = paths["Report"].read_text()
    assert "Trial wall time: 2 min 39 s in total" in markdown  # 3 trials of 53 s


def test_the_budget_legend_names_the_solid_line(study_out, monkeypatch):
    legends = []
    real_save = report_module._save

    def keep(fig, path):
        for ax in fig.axes:
            if ax.get_legend() is not None:
                legends.append((path.name, [t.get_text() for t in ax.get_legend().get_texts()]))
        return real_save(fig, path)

    monkeypatch.setattr(report_module, "_save", keep)
    write_report(study_out)
    budget = dict(legends)["budget.png"]
    assert "median over 1000 random orders" in budget


def test_numbers_and_durations_in_a_readable_form():
    assert [compact_number(v) for v in (72.14, 478.0, 8250.0, 36_100.0, 361_000.0, 1.2e6)] == [
        "72.1",
        "478",
        "8.2k",
        "36k",
        "361k",
        "1.2M",
    ]
    assert [readable_duration(s) for s in (7.4, 106.0, 3600.0, 11_100.0)] == [
        "7 s",
        "1 min 46 s",
        "1 h 00 min",
        "3 h 05 min",
    ]


def test_studies_folder_is_ignored_by_git():
    lines = (REPO / ".gitignore").read_text().splitlines()
    assert "runs/" in lines and "studies/" in lines
