"""``python -m ganmetrics_train.study run|report|export|files``."""

from ganmetrics_train.study.cli import main

raise SystemExit(main())
