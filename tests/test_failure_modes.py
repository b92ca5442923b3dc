"""Failure modes users recognise, the study's collapse flag and the test-only width (issue 13)."""

from __future__ import annotations

import math

import pytest
import torch

from ganmetrics.errors import InputError
from ganmetrics_train.config import build_config
from ganmetrics_train.failure_modes import chance_loss, failure_warning
from ganmetrics_train.models import build_discriminator, build_generator
from ganmetrics_train.study.report import collapse_section, never_left_collapse

HEALTHY = {"loss/d_gan": 1.2, "loss/g": 0.9}


def test_chance_losses_are_the_losses_at_logit_zero():
    assert chance_loss("ns") == pytest.approx(2 * math.log(2))
    assert chance_loss("minimax") == pytest.approx(2 * math.log(2))
    assert chance_loss("hinge") == pytest.approx(2.0)
    assert chance_loss("ls") > 0
    assert chance_loss("wgan") == 0.0


def test_a_collapse_to_one_mode_gives_one_line():
    collapsed = {"fid": 30.0, "judge_quality": 0.8, "judge_modes": 1}
    line = failure_warning(1200, "ns", collapsed, HEALTHY)
    assert line is not None and "\n" not in line
    assert line.startswith("step 1200:") and "collapsed to one mode" in line
    # the start of training (nothing in distribution yet) and a healthy run are not collapses
    assert failure_warning(10, "ns", {"judge_quality": 0.0, "judge_modes": 0}, HEALTHY) is None
    assert failure_warning(10, "ns", {"judge_quality": 0.9, "judge_modes": 4}, HEALTHY) is None
    assert failure_warning(10, "ns", {"fid": 3.0}, None) is None


def test_a_discriminator_that_has_won_and_a_diverging_critic():
    line = failure_warning(2000, "ns", {}, {"loss/d_gan": 0.05, "loss/g": 6.0})
    assert line is not None and "the losses diverge" in line and "G's 6" in line
    both = failure_warning(2000, "ns", {"judge_quality": 0.5, "judge_modes": 1}, {"loss/d_gan": 0})
    assert both is not None and "collapsed" in both and "diverge" in both and "\n" not in both
    assert failure_warning(5, "wgan", {}, {"loss/d_gan": -3.0}) is None
    assert "critic" in failure_warning(5, "wgan", {}, {"loss/d_gan": -500.0})


def test_report_flags_trials_that_never_left_collapse():
    def row(trial, step, value, metric="judge_modes"):
        return {"trial_id": trial, "variant": "v", "setting": f"s{trial}", "seed": 0,
                "step": step, "metric": metric, "value": value}  # fmt: skip

    evaluations = [
        row(1, 100, 0),
        row(1, 200, 1),
        row(1, 200, 35.0, "fid"),  # never more than one mode
        row(2, 100, 1),
        row(2, 200, 3),  # left collapse
        row(3, 100, 5.0, "fid"),  # no judge: not the procedural set
    ]
    flagged = never_left_collapse(evaluations)
    assert [t["trial_id"] for t in flagged] == [1]
    lines = collapse_section(evaluations, {"v": "Variant V"})
    assert any("| Variant V | s1 | 0 | 2 | 0, 1 |" in line for line in lines)
    assert collapse_section([row(2, 100, 4)], {"v": "V"}) == []


def test_width_is_test_only_recorded_and_refused_by_presets(tmp_path):
    base = {"dataset": "procedural", "out": str(tmp_path / "r"), "image_size": 16}
    paper = build_config(overrides=base)
    narrow = build_config(overrides={**base, "width": 0.25})
    assert narrow.width == 0.25 and narrow.hash() != paper.hash()
    assert paper.hash() == build_config(overrides={**base, "width": 1.0}).hash()
    with pytest.raises(InputError, match="not the paper's"):
        build_config(preset="sndcgan-cifar10-sn", overrides={"width": 0.5, "data_dir": "x",
                                                             "out": str(tmp_path)})  # fmt: skip
    with pytest.raises(InputError, match="width"):
        build_config(overrides={**base, "arch": "resnet_cifar", "image_size": 32, "width": 0.5})
    G = build_generator("sndcgan", 16, width=0.25)
    D = build_discriminator("dcgan", 16, norm="bn", width=0.25)
    assert G.config["width"] == 0.25 and D.config["width"] == 0.25
    assert "width" not in build_generator("sndcgan", 16).config
    full = sum(p.numel() for p in build_discriminator("sndcgan", 16).parameters())
    narrow_d = sum(p.numel() for p in build_discriminator("sndcgan", 16, width=0.25).parameters())
    assert narrow_d < full / 8
    assert G(torch.zeros(2, 128)).shape == (2, 3, 16, 16)
