"""ganmetrics: defensible GAN evaluation, following the protocol of "The GAN Landscape".

The public API::

    ganmetrics.evaluate(real, fake, metrics=("fid", "is", "kid"))
    ganmetrics.fid(real, fake)
    ganmetrics.compute_stats(source, "stats.npz")
    ganmetrics.FeatureExtractor(weights=None, device=None)
"""

# The submodule ganmetrics.fid must be loaded before the function of the same name is bound
# here; otherwise its first import (inside evaluate) would replace the function on the package.
import ganmetrics.fid  # noqa: F401  # isort: skip
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
