"""The case's own settings for the assets that automation runs (the ranking and the predictions).

The inbox sensor's run carries the settings of ``draw_history`` and ``sieve_settings`` as run
config; the assets after the pool run in automation's runs, which carry none. So ``draw_history``
records the case's ``[scorer]``, ``[models]`` and ``[predictions]`` sections as it read them
(``CASE_SETTINGS``), and each of those assets takes its config from them: a key the run config
sets to other than its default (the Launchpad, ``dagster asset materialize``) wins, then the
case's value, then the default.
"""

from __future__ import annotations

from typing import Any, TypeVar

import dagster as dg

from prng_assets.artefact_keys import CASE_SETTINGS
from resources.artefacts import ArtefactStore

C = TypeVar("C", bound=dg.Config)


def case_sections(artefacts: ArtefactStore) -> dict[str, Any]:
    """What ``draw_history`` recorded: the settings file, its digest and the sections."""
    return artefacts.read_json(*CASE_SETTINGS) if artefacts.exists(*CASE_SETTINGS) else {}


def with_case_settings(config: C, artefacts: ArtefactStore, section: str) -> tuple[C, str]:
    """``config`` with the case's ``[section]`` under it, and where the values came from."""
    recorded = case_sections(artefacts)
    body = recorded.get("sections", {}).get(section) or {}
    if not body:
        return config, f"run config (the case sets no [{section}])"
    defaults = type(config)().model_dump()
    given = {k: v for k, v in config.model_dump().items() if v != defaults[k]}
    merged = type(config)(**{**defaults, **body, **given})
    source = f"[{section}] of {recorded.get('path') or 'the case settings'}"
    if given:
        source += f", run config for {', '.join(sorted(given))}"
    return merged, source
