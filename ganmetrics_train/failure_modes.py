"""Failure modes a user recognises: a collapse to one mode, and a discriminator that has won.

At each evaluation the trainer asks :func:`failure_warning` for at most one line, printed as a
``warning:`` and kept in the ``scores.jsonl`` record (``warning``). Two signs, both well known from
GAN training ("The GAN Landscape", Kurach, Lucic et al. 2019, section 2 and its references):

* **Mode collapse** - the procedural judge (:func:`ganmetrics.judge_procedural`, logged as
  ``judge_*`` next to FID on the built-in set) finds at least :data:`COLLAPSE_QUALITY` of the
  samples in distribution, all of them from one mode.
* **Diverging losses** - the discriminator has won: its GAN loss over the last logging window is
  below :data:`WON_FRACTION` of its value at chance (logits 0: ``2 ln 2`` for NS and minimax, 2 for
  hinge, 0.25 for LS), so the generator's gradient carries little; or, for the Wasserstein loss,
  whose value at chance is 0, the critic's loss exceeds :data:`WGAN_LIMIT` in size.

A run is not stopped: collapse and a winning D can recover, and the study records what happened.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: Share of in-distribution samples above which one mode alone is a collapse, not a start.
COLLAPSE_QUALITY = 0.25
#: D's GAN loss below this share of its value at chance: D separates the batches almost perfectly.
WON_FRACTION = 0.1
#: |critic loss| above this is a diverging Wasserstein critic (it is O(1-10) while training well).
WGAN_LIMIT = 100.0


def chance_loss(loss: str) -> float:
    """D's GAN loss when it outputs logit 0 for every image (section 2.1's losses)."""
    import torch

    from ganmetrics_train.losses import discriminator_loss

    zero = torch.zeros(1)
    return float(discriminator_loss(loss, zero, zero))


def failure_warning(
    step: int, loss: str, metrics: Mapping[str, Any], losses: Mapping[str, float] | None
) -> str | None:
    """One warning line for the evaluation at ``step``, or None (module docstring)."""
    problems = []
    modes, quality = metrics.get("judge_modes"), metrics.get("judge_quality")
    if modes == 1 and isinstance(quality, float) and quality >= COLLAPSE_QUALITY:
        problems.append(
            f"the samples collapsed to one mode (judge: quality {quality:.2f}, 1 of the data's "
            "modes)"
        )
    d_loss = (losses or {}).get("loss/d_gan")
    if d_loss is not None and math.isfinite(d_loss):
        chance = chance_loss(loss)
        if chance > 0 and d_loss < WON_FRACTION * chance:
            g_loss = (losses or {}).get("loss/g")
            g_text = f", G's {g_loss:.3g}" if g_loss is not None else ""
            problems.append(
                f"the losses diverge: D's loss {d_loss:.3g} is under {WON_FRACTION:g} x its "
                f"{chance:.3g} at chance{g_text} (D has won)"
            )
        elif chance == 0 and abs(d_loss) > WGAN_LIMIT:
            problems.append(f"the critic's loss diverges ({d_loss:.3g})")
    if not problems:
        return None
    return (
        f"step {step}: "
        + "; ".join(problems)
        + "; training goes on: compare later evaluations, try another seed or a smaller --lr"
    )
