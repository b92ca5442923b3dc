"""ganmetrics: defensible GAN evaluation, following the protocol of "The GAN Landscape".

The public API::

    ganmetrics.evaluate(real, fake, metrics=("fid", "is", "kid"))
    ganmetrics.fid(real, fake)
    ganmetrics.compute_stats(source, "stats.npz")
    ganmetrics.FeatureExtractor(weights=None, device=None)
"""

from ganmetrics.api import EvalSettings, Evaluator, compute_stats, evaluate, fid
from ganmetrics.errors import InputError
from ganmetrics.features import FeatureExtractor, Features
from ganmetrics.sources import ImageSource, StatsFile, load_stats, open_source, save_stats
from ganmetrics.version import __version__

__all__ = [
    "EvalSettings",
    "Evaluator",
    "FeatureExtractor",
    "Features",
    "ImageSource",
    "InputError",
    "StatsFile",
    "__version__",
    "compute_stats",
    "evaluate",
    "fid",
    "load_stats",
    "open_source",
    "save_stats",
]
