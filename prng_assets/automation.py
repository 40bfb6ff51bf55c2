"""How assets downstream of the sensor's run follow: eagerly, never past a failed blocking check.

Plain ``eager()`` would request downstream after a failed blocking check (dagster#17332).
"""

import dagster as dg

AUTOMATION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
)
