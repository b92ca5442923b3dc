"""The report from a store filled here: tables equal the stored medians, every figure is a PNG."""

from __future__ import annotations

import re
import statistics

import numpy as np
import pytest
from PIL import Image

from ganmetrics_train.study.report import budget_curves, settings_to_reach, top_models, write_report
from ganmetrics_train.study.store import DONE, FAILED, STORE_NAME, StudyStore

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report-study")
    rng = np.random.default_rng(3)
    store = StudyStore(out / STORE_NAME)
    store.bind_study("synthetic", {}, "0")
    for position, (name, label, level) in enumerate(
        [("ns_none", "NS, none", 60.0), ("ns_sn", "NS, SN", 35.0), ("ns_gp", "NS, GP", 45.0)]
    ):
        store.add_variant(name, label, position, {})
        settings = []
        for index in range(12):
            values = {
                "lr": float(10 ** rng.uniform(-5, -2)),
                "beta1": float(rng.uniform(0, 1)),
                "beta2": float(rng.uniform(0, 1)),
                "n_disc": int(rng.choice([1, 5])),
                "lambda_": float(10 ** rng.uniform(-1, 2)) if name == "ns_gp" else None,
            }
            settings.append((f"s{index:02d}", values))
        store.add_settings(name, "grid", 0, settings, 3, lambda v, s, k: f"runs/{v}/{s}/{k}")
        for trial in store.trials(name):
            failed = rng.uniform() < 0.1
            fid = float(level * rng.uniform(0.7, 2.0))
            store.record_result(
                trial["trial_id"],
                {
                    "status": FAILED if failed else DONE,
                    "error": "RuntimeError: boom" if failed else None,
                    "final_fid": None if failed else fid,
                    "wall_s": 10.0,
                    "steps_per_s": 5.0,
                    "evaluations": []
                    if failed
                    else [{"step": 100, "metrics": {"fid": fid, "msssim": rng.uniform(0.2, 0.5)}}],
                },
            )
    store.close()
    return out, write_report(out, top=12)


def test_report_tables_equal_the_medians_in_the_store(study_dir):
    out, paths = study_dir
    report = paths["Report"].read_text()
    with StudyStore(out / STORE_NAME) as store:
        for variant in store.variants():
            section = report.split(f"### {variant['label']}\n")[1].split("###")[0]
            fids: dict[str, list[float]] = {}
            for trial in store.trials(variant["name"]):
                if trial["status"] == DONE:
                    fids.setdefault(trial["setting"], []).append(trial["final_fid"])
            rows = re.findall(
                r"\| (\d+) \| (s\d+) \| grid \| ([\d.]+) \| ([\d.]+) \| (\d)/3 \|", section
            )
            assert len(rows) == len(fids)
            medians = []
            for _, setting, median, best, seeds in rows:
                assert float(median) == pytest.approx(statistics.median(fids[setting]), abs=0.006)
                assert float(best) == pytest.approx(min(fids[setting]), abs=0.006)
                assert int(seeds) == len(fids[setting])
                medians.append(float(median))
            assert medians == sorted(medians)
    assert "RuntimeError: boom" in report


def test_every_figure_is_a_png_of_real_size(study_dir):
    _, paths = study_dir
    figures = [p for title, p in paths.items() if title != "Report"]
    assert {p.name for p in figures} == {
        "top5_fid.png",
        "budget.png",
        "hyperparameters.png",
        "msssim.png",
    }
    for path in figures:
        assert path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 20_000
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert min(image.size) > 300


def test_top_five_percent_and_budget_curves():
    assert top_models([5.0, 1.0, 3.0]) == [1.0]
    assert top_models([float(i) for i in range(40, 0, -1)]) == [1.0, 2.0]
    curves = budget_curves([30.0, None, 10.0, 20.0], orders=200)
    assert curves.shape == (200, 4)
    assert np.all(np.diff(curves, axis=1) <= 0) and np.all(curves[:, -1] == 10.0)
    # a uniformly random position of the best of 4 settings: 2.5 settings on average
    assert settings_to_reach(curves, 10.0) == pytest.approx(2.5, abs=0.25)
    assert settings_to_reach(curves, 5.0) is None
