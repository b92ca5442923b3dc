"""torchmetrics and Lightning adapters of ``ganmetrics.Stream`` (issue 15 item 4).

Agreement: on the same uint8 images and the same weights file (random weights in
torch-fidelity's format), our FID equals torchmetrics' own ``FrechetInceptionDistance`` to 1e-4
relative. torchmetrics loads torch-fidelity's ``FeatureExtractorInceptionV3`` from
``feature_extractor_weights_path``; ``antialias=False`` selects its TensorFlow-1 resize, the one
ganmetrics and torch-fidelity use (its default antialiased resize computes other pixels).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("torchmetrics")

from ganmetrics.adapters.torchmetrics import FID, IS, KID
from ganmetrics.inception import calibration_images
from ganmetrics.inception_score import inception_score


@pytest.fixture(scope="module")
def images():
    return (torch.from_numpy(calibration_images(10, 32, seed=41)),
            torch.from_numpy(calibration_images(10, 32, seed=42)))  # fmt: skip


@pytest.fixture(scope="module")
def options(inception_weights_path, single_torch_thread):
    return {"inception_weights": str(inception_weights_path), "device": "cpu",
            "batch_size": 5, "num_workers": 0}  # fmt: skip


@pytest.fixture(scope="module")
def ours(images, options):
    real, fake = images
    metric = FID(**options)
    metric.update(real[:4], real=True)
    metric.update(real[4:], real=True)
    metric(fake)  # forward: accumulates only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return metric, metric.compute()


def test_fid_equals_torchmetrics(images, inception_weights_path, ours):
    from torchmetrics.image.fid import FrechetInceptionDistance

    real, fake = images
    theirs = FrechetInceptionDistance(
        feature=2048, feature_extractor_weights_path=str(inception_weights_path),
        antialias=False,
    )  # fmt: skip
    theirs.update(real, real=True)
    theirs.update(fake, real=False)
    expected = float(theirs.compute())
    metric, value = ours
    assert value.dtype == torch.float64 and float(value) > 0
    assert float(value) == pytest.approx(expected, rel=1e-4)
    assert metric.result["meta"]["precision"] == "float32-exact"


def test_reset_keeps_the_real_side(ours):
    metric, _ = ours
    held = metric.stream._sides["real"].count
    metric.reset()
    assert len(metric.stream) == 0 and metric.stream._sides["real"].count == held == 10


def test_kid_and_is_metrics(images, options, ours):
    real, fake = images
    kid = KID(kid_subset_size=5, kid_subsets=10, **options)
    kid.update(real[:6], real=True)
    kid.update(fake[:6])
    mean, std = kid.compute()
    expected = kid.stream.compute(metrics=("kid",))
    assert (float(mean), float(std)) == (expected["kid_mean"], expected["kid_std"])

    score = IS(is_splits=2, **options)
    score.update(fake[:6])
    mean, std = score.compute()
    logits = score.stream._metric_side("fake", score.stream.settings).features.logits
    assert logits.shape == (6, 1008)
    assert (float(mean), float(std)) == tuple(inception_score(logits, splits=2))
    assert np.isfinite(float(mean))


def test_lightning_logs_the_metric_per_epoch(images, options):
    """``self.log("fid", metric)``: Lightning calls compute() at the epoch's end, then reset()."""
    pl = pytest.importorskip("lightning.pytorch")
    real, fake = images

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))
            self.fid = FID(real=real[:6].numpy(), **options)

        def training_step(self, batch, batch_idx):
            (generated,) = batch
            self.fid.update(generated)
            self.log("fid", self.fid, on_step=False, on_epoch=True)
            return (self.weight**2).sum()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    module = Module()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(fake[:6]), batch_size=3)
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, loader)
    logged = float(trainer.callback_metrics["fid"])
    assert logged == pytest.approx(module.fid.result["fid"], rel=1e-6) and logged > 0
    assert module.fid.result["meta"]["n_fake"] == 6 and len(module.fid.stream) == 0  # reset
