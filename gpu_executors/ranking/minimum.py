"""The smallest pool the ranking can learn from, and why a smaller one is skipped, not failed.

A tight sieve that pins the seed leaves one survivor (or a handful): the best outcome there is,
and nothing to rank. Below ``MIN_RANKING_ROWS`` the scorer search, the model families and their
comparison are skipped with the reason this module gives, and the predictions come from the
candidates confirmed by their own evidence. One constant, so every stage draws the line in the
same place.
"""

from __future__ import annotations

MIN_RANKING_ROWS = 20  # rows a scorer search or a model needs (train, validation and test cuts)

EMPTY_POOL = "the survivor pool is empty"


def pool_skip_reason(rows: int) -> str | None:
    """Why a pool of ``rows`` survivors cannot be ranked, or None when it can."""
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if rows == 0:
        return (
            f"{EMPTY_POOL}: no candidate to rank or predict from (loosen the sieve or "
            "scan more seed blocks)"
        )
    if rows < MIN_RANKING_ROWS:
        return (
            f"the survivor pool has {rows} rows: ranking needs at least "
            f"{MIN_RANKING_ROWS}; predictions come from the confirmed candidates"
        )
    return None


def rankable_skip_reason(rows: int, confirmed: int) -> str | None:
    """Why the models cannot rank ``rows`` survivors of which ``confirmed`` need no ranking (they
    are predicted from their own evidence and kept out of training), or None when they can."""
    if not 0 <= confirmed <= rows:
        raise ValueError(f"confirmed must be in [0, rows={rows}], got {confirmed}")
    reason = pool_skip_reason(rows)
    if reason is not None:
        return reason
    left = rows - confirmed
    if left < MIN_RANKING_ROWS:
        return (
            f"{confirmed} of {rows} survivors are confirmed, leaving {left} to rank: "
            f"ranking needs at least {MIN_RANKING_ROWS}; predictions come from the "
            "confirmed candidates"
        )
    return None
