"""ganmetrics: defensible GAN evaluation, following the protocol of "The GAN Landscape"."""

from ganmetrics.version import __version__

__all__ = ["__version__"]
