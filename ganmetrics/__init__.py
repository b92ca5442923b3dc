"""ganmetrics: defensible GAN evaluation, following the protocol of "The GAN Landscape".

The public API::

    ganmetrics.evaluate(real, fake, metrics=("fid", "is", "kid"))
    ganmetrics.fid(real, fake)
    ganmetrics.compute_stats(source, "stats.npz")
    ganmetrics.evaluate_reconstruction("generator.pt", "test_images/")
    ganmetrics.FeatureExtractor(weights=None, device=None)
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
    "compute_stats": "ganmetrics.api",
    "evaluate": "ganmetrics.api",
    "evaluate_reconstruction": "ganmetrics.api",
    "fid": "ganmetrics.api",
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
}

__all__ = [
    "METRICS",
    "METRIC_TABLE",
    "EvalSettings",
    "Evaluator",
    "FeatureExtractor",
    "Features",
    "ImageSource",
    "InputError",
    "JudgeScores",
    "StatsFile",
    "__version__",
    "compute_stats",
    "evaluate",
    "evaluate_reconstruction",
    "fid",
    "judge_procedural",
    "load_stats",
    "open_source",
    "run_demo",
    "save_stats",
]

if TYPE_CHECKING:
    from ganmetrics.api import Evaluator, compute_stats, evaluate, evaluate_reconstruction, fid
    from ganmetrics.datasets.procedural_judge import JudgeScores, judge_procedural
    from ganmetrics.demo import run_demo
    from ganmetrics.features import FeatureExtractor, Features
    from ganmetrics.metrics import METRIC_TABLE, METRICS
    from ganmetrics.settings import EvalSettings
    from ganmetrics.sources import ImageSource, StatsFile, load_stats, open_source, save_stats


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
