"""The names a training run can choose from: the one owner of every choice list of the trainer.

Torch-free, so that the config and the CLI read them without loading torch; the modules that
implement each choice (``losses.py``, ``penalties.py``, ``models/``, ``train.py``) import their list
from here, so a name is added in one place and listed in one order everywhere.

"The GAN Landscape" (Kurach, Lucic et al. 2019): losses of section 2.1 (plus the hinge loss of
Appendix A), penalties and discriminator normalizations of section 2.2, architectures of section
2.3 (Tables 3-6), ablations of Appendix D, data sets of section 2.5.
"""

from __future__ import annotations

#: Losses of section 2.1 (plus the hinge loss of Appendix A).
LOSSES = ("ns", "minimax", "wgan", "ls", "hinge")
#: Discriminator penalties of section 2.2 (plus R1, which the study does not use).
PENALTIES = ("none", "gp", "dragan", "l2", "r1")
#: Architectures of section 2.3: DCGAN, SNDCGAN (Table 3), ResNet19 (Table 4), ResNet CIFAR
#: (Table 6).
ARCHITECTURES = ("dcgan", "sndcgan", "resnet19", "resnet_cifar")
RESNET_ARCHITECTURES = ("resnet19", "resnet_cifar")
#: Discriminator normalizations of section 2.2 (plus weight normalization).
D_NORMALIZATIONS = ("none", "bn", "ln", "sn", "wn")
#: Generator normalizations: batch norm everywhere in the study; weight norm pairs with WN in D.
G_NORMALIZATIONS = ("bn", "none", "wn")
#: Ablations of Appendix D (ResNet architectures only).
ABLATIONS = ("skip", "cin", "opt", "sum", "tan", "eps")
GENERATOR_ABLATIONS = ("tan", "eps")
DISCRIMINATOR_ABLATIONS = ("skip", "cin", "opt", "sum", "tan")
#: Data sets the trainer reads (section 2.5, plus any image folder and the built-in procedural set;
#: readers in :mod:`ganmetrics.datasets`).
DATASETS = ("cifar10", "celeba-hq-128", "lsun-bedroom", "folder", "procedural")
#: How D sees real and generated images: "split" calls it on each batch separately and trains G on
#: the D step's z (compare_gan's paper-era ``src/gans/``); "concat" is compare_gan v3's single call
#: on ``concat(real, fake)`` with a G step of its own (see :mod:`ganmetrics_train.train`).
DISC_CALLS = ("split", "concat")
#: The image side each architecture is built for in the study (Tables 3-6); the built-in
#: procedural set is rendered at this size unless an image size is given.
NATIVE_IMAGE_SIZE = {"dcgan": 32, "sndcgan": 32, "resnet19": 128, "resnet_cifar": 32}
