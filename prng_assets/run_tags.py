"""The tags a sensor run carries about its case, and the metadata each asset records from them.

The sensor names the draw file and the settings it ran with on the run; the assets copy them into
their materialisation metadata, so every artefact says which settings made it.
"""

from __future__ import annotations

from collections.abc import Mapping

CASE = "seedsieve/case"  # the case (the partition) the file is
SOURCE = "seedsieve/source"  # the draw file, resolved
SOURCE_SHA256 = "seedsieve/sha256"  # its content hash
SETTINGS = "seedsieve/settings"  # the settings file that applied (absent: the defaults)
SETTINGS_SHA256 = "seedsieve/settings_sha256"  # digest of the settings as parsed


def settings_metadata(tags: Mapping[str, str]) -> dict[str, str]:
    """``settings_file`` and ``settings_sha256`` for a run the sensor started; {} otherwise."""
    if SETTINGS_SHA256 not in tags:
        return {}
    return {
        "settings_file": tags.get(SETTINGS, "none (the defaults)"),
        "settings_sha256": tags[SETTINGS_SHA256],
    }
