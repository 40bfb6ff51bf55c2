"""How assets downstream of the sensor's run follow: eagerly, never past a failed blocking check.

Plain ``eager()`` would request downstream after a failed blocking check (dagster#17332).
The ranking side (``AFTER_POOL``) ignores ``draw_history``: a new history reaches it through the
survivor pool rebuilt from it, never directly, so a case is not ranked on its old pool joined
with its new draws while the seed blocks are still being scanned (``lineage`` refuses it too).
"""

import dagster as dg

AUTOMATION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
)
AFTER_POOL = AUTOMATION.ignore(dg.AssetSelection.assets("draw_history"))
