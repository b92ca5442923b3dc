"""``ganmetrics-train plot RUN``: one PNG of a real tiny run's scores and losses; errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from ganmetrics_train.cli import main
from ganmetrics_train.run_logging import LOSSES_NAME, SCORES_NAME, RunLogger, read_jsonl

pytest.importorskip("matplotlib")
pytestmark = pytest.mark.usefixtures("single_torch_thread")

STEPS, LOG_EVERY, EVAL_EVERY = 4, 2, 2


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory, inception_weights_path):
    """A real run: procedural images, SNDCGAN with a gradient penalty, two real evaluations with
    the random-weights Inception (10 vs 10 images)."""
    run_dir = tmp_path_factory.mktemp("plot") / "run"
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("GANMETRICS_INCEPTION_WEIGHTS", str(inception_weights_path))
    try:
        code = main(
            ["run", "--arch", "sndcgan", "--dataset", "procedural", "--image-size", "32",
             "--dataset-option", "num_images=16", "--batch-size", "4", "--penalty", "gp",
             "--steps", str(STEPS), "--log-every", str(LOG_EVERY), "--eval-every", str(EVAL_EVERY),
             "--eval-num-real", "10", "--eval-num-fake", "10", "--eval-metrics", "fid,is,kid",
             "--checkpoint-every", "0", "--sample-every", "0", "--out", str(run_dir), "--quiet"]
        )  # fmt: skip
    finally:
        monkeypatch.undo()
    assert code == 0
    return run_dir


def png(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def test_losses_are_logged_every_log_every_steps(evaluated_run):
    records = read_jsonl(evaluated_run / LOSSES_NAME)
    assert [r["step"] for r in records] == list(range(LOG_EVERY, STEPS + 1, LOG_EVERY))
    for record in records:
        assert {"loss/d", "loss/d_gan", "loss/penalty", "loss/g"} <= record.keys()
        assert record["loss/penalty"] > 0  # a gradient penalty was trained
    assert [r["step"] for r in read_jsonl(evaluated_run / SCORES_NAME)] == [2, 4]


def test_plot_of_scores_and_losses_is_one_png(evaluated_run, tmp_path, capsys):
    out = tmp_path / "figures" / "run.png"
    assert main(["plot", str(evaluated_run), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    image = png(out)
    assert out.stat().st_size > 30_000
    height, width, _ = image.shape
    assert width > 1000 and height > 600  # FID, IS, KID and losses: two columns, two rows
    assert image.std() > 20  # lines, text and bands, not a blank canvas

    losses_only = tmp_path / "losses-only"
    shutil.copytree(evaluated_run, losses_only)
    (losses_only / SCORES_NAME).unlink()
    assert main(["plot", str(losses_only)]) == 0
    assert capsys.readouterr().out.strip() == str(losses_only / "plot.png")
    single = png(losses_only / "plot.png")
    assert single.shape[1] < width * 0.6 and single.shape[0] < height


def test_plot_before_anything_is_logged_is_one_line_error(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["plot", str(empty)]) == 2
    assert "no scores.jsonl or losses.jsonl records yet" in one_error_line(capsys.readouterr().err)
    assert not (empty / "plot.png").exists()

    assert main(["plot", str(tmp_path / "missing")]) == 2
    assert "no such run folder" in one_error_line(capsys.readouterr().err)

    (empty / LOSSES_NAME).write_text(json.dumps({"step": 2, "loss/d": 1.0}) + "\n")
    assert main(["plot", str(empty), "-o", str(tmp_path / "plot.jpg")]) == 2
    assert "-o with a .png name" in one_error_line(capsys.readouterr().err)


def test_resumed_logger_drops_losses_of_steps_to_be_trained_again(tmp_path):
    first = RunLogger(tmp_path, total_steps=6, progress=False, tensorboard=False)
    for step in (2, 4, 6):
        first.scalars(step, {"loss/d": float(step), "perf/steps_per_sec": 1.0})
    first.close()
    assert [r["step"] for r in read_jsonl(tmp_path / LOSSES_NAME)] == [2, 4, 6]
    assert "perf/steps_per_sec" not in read_jsonl(tmp_path / LOSSES_NAME)[0]
    RunLogger(tmp_path, total_steps=6, start_step=4, progress=False, tensorboard=False).close()
    assert [r["step"] for r in read_jsonl(tmp_path / LOSSES_NAME)] == [2, 4]
