"""What a check says about an asset that skipped its work because there was too little to rank.

Blocking checks that failed on a skipped asset would stop the chain that ends in the confirmed
candidates' predictions, so a justified skip is "not applicable" (passed). The skip is judged
against the inputs as they are now (``due``: the reason recomputed from them), never taken on
the asset's word: a skip the inputs do not justify fails, so a skip cannot hide the failure a
check exists to catch.
"""

from __future__ import annotations

import dagster as dg


def skipped_result(
    claimed: str | None,
    due: str | None,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    """Passed, "not applicable: <reason>", when ``due`` justifies the skip; failed otherwise."""
    if due is None:
        return dg.AssetCheckResult(
            passed=False,
            severity=severity,
            metadata={
                "applies": "yes: the skip is not justified",
                "status": "skipped",
                "reason": claimed or "none given",
                "verdict": "skipped although the inputs are large enough to rank",
            },
        )
    return dg.AssetCheckResult(
        passed=True,
        severity=severity,
        metadata={"applies": f"not applicable: {claimed or due}", "status": "skipped"},
    )
