"""Adapters of :class:`ganmetrics.Stream` to other libraries, each in its own module.

``ganmetrics.adapters.torchmetrics`` (``FID``, ``KID``, ``IS``: ``torchmetrics.Metric``
subclasses) and ``ganmetrics.adapters.lightning`` (``StreamEvaluation``, a Lightning callback)
import their library when they are imported, never before: torchmetrics and lightning stay
optional (``pip install "ganmetrics[lightning]"``).
"""
