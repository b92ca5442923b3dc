"""ganmetrics_train: every GAN of "The GAN Landscape" (Kurach, Lucic et al.), as compare_gan ran
it."""
