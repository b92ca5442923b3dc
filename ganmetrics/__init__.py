"""ganmetrics: defensible GAN evaluation, following the protocol of "The GAN Landscape".

The public API::

    ganmetrics.evaluate(real, fake, metrics=("fid", "is", "kid"))
    ganmetrics.fid(real, fake)
    ganmetrics.fid_from_features(real_features, fake_features)    # numpy, or torch on any device
    ganmetrics.fid_interval(real_features, fake_features, num_resamples=100)
    ganmetrics.compute_stats(source, "stats.npz")
    ganmetrics.evaluate(real, fake, ("fd", "cmmd"), encoder="clip-vitl14-336")
    ganmetrics.compute_features(source, "feats.npz", encoder="dinov2-vitl14")
    ganmetrics.evaluate_reconstruction("generator.pt", "test_images/")
    ganmetrics.FeatureExtractor(weights=None, device=None)
    ganmetrics.Stream(metrics=("fid",)).update(images) ... .compute()   # in a training loop
    ganmetrics.judge_procedural(images)  # weight-free scores for the built-in procedural set

Names load on first use, so ``import ganmetrics.kid`` (features in, numbers out) does not load
torch. ``ganmetrics.fid`` is the function: importing the submodule ``ganmetrics.fid`` (the FID
linear algebra) never rebinds it.
"""

import importlib
import sys
import types
from typing import TYPE_CHECKING

from ganmetrics.errors import InputError
from ganmetrics.version import __version__

#: Public name -> the module that defines it.
_EXPORTS = {
    "EvalSettings": "ganmetrics.settings",
    "Evaluator": "ganmetrics.api",
    "compute_features": "ganmetrics.api",
    "compute_stats": "ganmetrics.api",
    "evaluate": "ganmetrics.api",
    "ENCODERS": "ganmetrics.encoders",
    "ENCODER_TABLE": "ganmetrics.encoders",
    "EncoderExtractor": "ganmetrics.encoders.extractor",
    "make_extractor": "ganmetrics.encoders",
    "evaluate_reconstruction": "ganmetrics.api",
    "fid": "ganmetrics.api",
    "fid_from_features": "ganmetrics.fid",
    "fid_interval": "ganmetrics.bootstrap",
    "FeatureExtractor": "ganmetrics.features",
    "Features": "ganmetrics.features",
    "METRICS": "ganmetrics.metrics",
    "METRIC_TABLE": "ganmetrics.metrics",
    "run_demo": "ganmetrics.demo",
    "JudgeScores": "ganmetrics.datasets.procedural_judge",
    "judge_procedural": "ganmetrics.datasets.procedural_judge",
    "ImageSource": "ganmetrics.sources",
    "StatsFile": "ganmetrics.sources",
    "load_stats": "ganmetrics.sources",
    "open_source": "ganmetrics.sources",
    "save_stats": "ganmetrics.sources",
    "Stream": "ganmetrics.stream",
}

__all__ = [
    "ENCODERS",
    "ENCODER_TABLE",
    "METRICS",
    "METRIC_TABLE",
    "EncoderExtractor",
    "EvalSettings",
    "Evaluator",
    "FeatureExtractor",
    "Features",
    "ImageSource",
    "InputError",
    "JudgeScores",
    "StatsFile",
    "Stream",
    "__version__",
    "compute_features",
    "compute_stats",
    "evaluate",
    "evaluate_reconstruction",
    "fid",
    "fid_from_features",
    "fid_interval",
    "judge_procedural",
    "load_stats",
    "make_extractor",
    "open_source",
    "run_demo",
    "save_stats",
]

if TYPE_CHECKING:
    from ganmetrics.api import (
        Evaluator,
        compute_features,
        compute_stats,
        evaluate,
        evaluate_reconstruction,
        fid,
    )
    from ganmetrics.bootstrap import fid_interval
    from ganmetrics.datasets.procedural_judge import JudgeScores, judge_procedural
    from ganmetrics.demo import run_demo
    from ganmetrics.encoders import ENCODER_TABLE, ENCODERS, make_extractor
    from ganmetrics.encoders.extractor import EncoderExtractor
    from ganmetrics.features import FeatureExtractor, Features
    from ganmetrics.fid import fid_from_features
    from ganmetrics.metrics import METRIC_TABLE, METRICS
    from ganmetrics.settings import EvalSettings
    from ganmetrics.sources import ImageSource, StatsFile, load_stats, open_source, save_stats
    from ganmetrics.stream import Stream


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:  # a submodule not imported yet, e.g. ganmetrics.sources
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """The package object: a submodule import never replaces a public name of the same name.

    Python binds a newly imported submodule as an attribute of its package, so the first
    ``import ganmetrics.fid`` would otherwise turn the function ``ganmetrics.fid`` into a module.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
