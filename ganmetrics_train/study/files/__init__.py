"""Study files shipped with ganmetrics-train: the paper's studies and the miniature one."""
