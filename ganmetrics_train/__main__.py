"""``python -m ganmetrics_train``: the ``ganmetrics-train`` command line."""

import sys

from ganmetrics_train.cli import main

sys.exit(main())
