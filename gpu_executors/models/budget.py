"""What a model search may spend: deterministic compute caps, off by default.

Search spaces are fixed (see ``families/``); a :class:`Budget` only bounds each fit (step caps for
the net, histogram bins, early stopping and a leaf cap for the trees) and lets the median pruner
stop trials, so modest hardware can search the same spaces.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Budget:
    """Compute caps for searching on modest hardware; the default caps nothing (full fidelity).

    Deterministic caps only (no wall-clock limits), so a seeded search stays reproducible.
    ``nn_max_steps`` caps optimiser steps per fit; ``nn_max_passes`` caps them at that many passes
    over the fit rows (full batch: one step per pass, batch 256: ~N/256 steps per pass), which
    bounds a fit's compute whatever batch size the trial drew. ``max_bin`` sets xgboost/lightgbm
    ``max_bin`` and catboost ``border_count``. ``tree_early_stopping`` stops trees after that many
    rounds without improvement on the validation rows (in CV: the same inner 10% split of the
    fold's training rows the neural net uses). ``tree_max_leaves`` caps the leaves a tree fit may
    grow in all, rounds x leaves per tree (2^depth; LightGBM: at most its 31), so that the costly
    corner of the space (deep trees at a small learning rate, hundreds of rounds) stays bounded
    like the rest: a fit stops at ``tree_max_leaves // leaves_per_tree`` rounds if the trial drew
    more. ``prune`` lets the study's pruner (median, from ``search.make_study``) stop a trial
    whose running fold mean trails, from its first fold on.
    """

    nn_max_steps: int | None = None
    nn_max_passes: float | None = None
    max_bin: int | None = None
    tree_early_stopping: int | None = None
    tree_max_leaves: int | None = None
    prune: bool = False

    def __post_init__(self) -> None:
        for name in ("nn_max_steps", "max_bin", "tree_early_stopping", "tree_max_leaves"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"Budget.{name} must be None or an int >= 1, got {v!r}")
        p = self.nn_max_passes
        if p is not None and not (isinstance(p, int | float) and math.isfinite(p) and p > 0):
            raise ValueError(f"Budget.nn_max_passes must be None or > 0, got {p!r}")
        if self.max_bin is not None and self.max_bin < 2:
            raise ValueError(f"Budget.max_bin must be >= 2, got {self.max_bin}")

    def nn_step_cap(self, n_rows: int, batch_size: int) -> int | None:
        """The MLP's ``max_steps`` for ``n_rows`` fit rows at this batch size (None: no cap)."""
        caps = []
        if self.nn_max_steps is not None:
            caps.append(self.nn_max_steps)
        if self.nn_max_passes is not None:
            bs = n_rows if batch_size == 0 or batch_size >= n_rows else batch_size
            caps.append(max(1, math.ceil(self.nn_max_passes * math.ceil(n_rows / bs))))
        return min(caps) if caps else None

    def tree_round_cap(self, leaves_per_tree: int) -> int | None:
        """Most boosting rounds a tree fit may run when each tree has up to this many leaves
        (None: no cap); the family knows its leaves per tree (see ``TreeFamily``)."""
        if self.tree_max_leaves is None:
            return None
        return max(1, self.tree_max_leaves // leaves_per_tree)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = Budget()
# The default of the model assets and the bench: 4 x 20 trials x 5 folds on 20,000 x 90 rows in
# under 3 minutes on 2 cores (README, bench/models_bench.py), searching the same spaces as FULL.
CAPPED = Budget(
    nn_max_passes=3,
    max_bin=32,
    tree_early_stopping=10,
    tree_max_leaves=32768,
    prune=True,
)
