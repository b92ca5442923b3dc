"""``python -m ganmetrics`` and ``torchrun --nproc-per-node N -m ganmetrics eval ...``.

Under ``torchrun`` (``WORLD_SIZE > 1``) the process group is joined first, so that every feature
pass is sharded over the ranks (see :mod:`ganmetrics.distributed`).
"""

from __future__ import annotations

from ganmetrics import distributed


def main() -> None:
    distributed.init_from_env()
    try:
        from ganmetrics.cli import main as cli_main

        cli_main()
    finally:
        distributed.shutdown()


if __name__ == "__main__":
    main()
