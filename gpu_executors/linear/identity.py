"""How a candidate is named to a user: a seed (offset, gap), or a recovered state.

A linear pool row has seed, offset and gap 0 because no seed produced it; shown as such it
reads as "seed 0". Wherever a candidate is shown (the pool's top candidates, the picks, the
alerts, the demo) a row that holds a recovered state is named by where it stands (the draw and
the candidate model) and a digest of its bits instead; the readable state is in the solve's
record (``survivor_pool/linear.json``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

SEED_KEYS = ("seed", "offset", "gap")
STATE_KEYS = ("state", "state_digest", "state_draw", "state_model")


def state_digest(data: bytes) -> str:
    """The first 16 hex digits of the packed state's sha256: short, and stable across runs."""
    return hashlib.sha256(bytes(data)).hexdigest()[:16]


def state_identity(data: bytes, model: int, draw: int) -> dict[str, Any]:
    """A recovered state as a user reads it (``state``) and its parts."""
    digest = state_digest(data)
    return {"state": f"recovered at draw {int(draw)} (model {int(model)}), digest {digest}",
            "state_digest": digest, "state_draw": int(draw), "state_model": int(model)}


def candidate_identity(row: Mapping[str, Any]) -> dict[str, Any]:
    """A pool row's identity: its recovered state when it holds one, else seed, offset, gap."""
    if row.get("state") is not None:
        return state_identity(row["state"], row["state_model"], row["state_draw"])
    return {k: int(row[k]) for k in SEED_KEYS}


def identity_keys(candidate: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys that name ``candidate`` (a pick or a top candidate already identified)."""
    return STATE_KEYS if "state_digest" in candidate else SEED_KEYS


def describe(candidate: Mapping[str, Any]) -> str:
    """One line: ``state: recovered at draw K (model M), digest D`` or ``seed S (offset O,
    gap G)``."""
    if "state_digest" in candidate:
        return f"state: {candidate['state']}"
    return f"seed {candidate['seed']} (offset {candidate['offset']}, gap {candidate['gap']})"
