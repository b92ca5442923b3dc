"""Studies of "The GAN Landscape" (Kurach, Lucic et al. 2019, section 3): several variants (loss x
normalization x penalty x architecture) tuned side by side with the Table 1a grid and the
Gaussian-process bandit over Table 1b, each setting trained with several seeds, every result kept
in one SQLite store, and the paper's figures drawn from it.

Modules: :mod:`.spec` (study files), :mod:`.grid` (fixed stages), :mod:`.bandit` (GP-UCB rounds),
:mod:`.store` (SQLite), :mod:`.trial` (one training run inside a Ray task), :mod:`.engine` (Ray),
:mod:`.runner` (the study loop and resume), :mod:`.report` (figures and tables), :mod:`.cli`.
"""
