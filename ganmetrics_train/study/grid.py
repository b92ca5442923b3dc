"""The fixed stages of a study's protocol (section 2.6 of "The GAN Landscape").

* settings given by name in the study file (``protocol.settings``), e.g. a row of Tables 7-9
  for ``ganmetrics-train reproduce``;
* the Table 1a grid, from :func:`ganmetrics_train.sweep.table1a_settings` (24 settings with a
  penalty, 12 without);
* a seeded start of ``count`` points drawn from Table 1b's ranges, from
  :func:`ganmetrics_train.sweep.random_settings`. Every variant of a study with the same kind of
  penalty gets the same points, so that their first settings are directly comparable.

Both are pure functions of the study file, so a resumed study finds the same settings.
"""

from __future__ import annotations

import hashlib

from ganmetrics_train.sweep import Setting, random_settings, table1a_settings

GIVEN_STAGE = "given"
GRID_STAGE = "grid"
RANDOM_STAGE = "random"
BANDIT_STAGE = "bandit"
STAGES = (GIVEN_STAGE, GRID_STAGE, RANDOM_STAGE, BANDIT_STAGE)


def grid_settings(penalty: str) -> list[Setting]:
    """Table 1a's cross product for a variant with ``penalty``."""
    return table1a_settings(penalty)


def random_start(penalty: str, count: int, seed: int) -> list[Setting]:
    """``count`` seeded Table 1b draws (uniform, log-uniform for lr and lambda)."""
    return random_settings(penalty, count, seed)


def derived_seed(seed: int, *parts: object) -> int:
    """A 31-bit seed for one use (a variant's bandit round) of a study seeded ``seed``."""
    text = ":".join(["ganmetrics_train.study", str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") >> 1
