"""Lineage within a case: which draw history and which sieve settings each artefact was built from.

Every stage downstream of the sieve settings stamps its folder with the pair (``lineage.json``),
and every reader checks the stamps of what it reads against the case's current pair, failing with
the stage to re-materialise (never retried: a retry would read the same artefacts). So no asset
combines artefacts of two histories or two settings, even when a draw file changes while an older
pool is still on disk, or a run is started by hand.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import dagster as dg

from prng_assets.artefact_keys import DRAWS_RECORD, ArtefactKey, lineage_stamp
from resources.artefacts import ArtefactStore

SIEVE_SETTINGS_FOLDER: ArtefactKey = ("sieve_settings",)


@dataclass(frozen=True)
class Lineage:
    """``history``: draw_history's data version (the file's bytes and how they were read);
    ``settings``: the sieve settings digest."""

    history: str
    settings: str

    @property
    def scan_digest(self) -> str:
        """Names the seed blocks scanned under this pair."""
        return hashlib.sha256(f"{self.history}:{self.settings}".encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, str]:
        return {"history": self.history, "settings": self.settings}

    def describe(self) -> str:
        return f"history {self.history[:12]}, settings {self.settings[:12]}"


def history_digest(artefacts: ArtefactStore) -> str:
    """The case's current draw history (its data version)."""
    return artefacts.read_json(*DRAWS_RECORD)["history_digest"]


def current(artefacts: ArtefactStore) -> Lineage:
    """The case's current pair; fails when the settings were chosen on another history."""
    history = history_digest(artefacts)
    settings = _read(artefacts, SIEVE_SETTINGS_FOLDER, "the sieve settings")
    if settings.history != history:
        raise dg.Failure(allow_retries=False, description=(
            f"sieve_settings was made from draw history {settings.history[:12]}, but the case "
            f"now holds {history[:12]}: re-materialise sieve_settings"))
    return Lineage(history, settings.settings)


def stamp(artefacts: ArtefactStore, folder: ArtefactKey, lineage: Lineage) -> None:
    artefacts.write_json(lineage.to_dict(), *lineage_stamp(folder))


def verify(artefacts: ArtefactStore, reader: str, *folders: ArtefactKey) -> Lineage:
    """The current pair, once every folder read is stamped with it."""
    now = current(artefacts)
    for folder in folders:
        built = _read(artefacts, folder, reader)
        if built != now:
            stage = folder[0] if folder[0] != "models" else f"model_{folder[-1]}"
            raise dg.Failure(allow_retries=False, description=(
                f"{reader}: {stage} was built from {built.describe()}, but the case now has "
                f"{now.describe()}: re-materialise {stage} first"))
    return now


def matches(artefacts: ArtefactStore, folder: ArtefactKey, now: Lineage) -> bool:
    """Whether a folder is stamped with the current pair (False when unstamped)."""
    key = lineage_stamp(folder)
    return artefacts.exists(*key) and Lineage(**artefacts.read_json(*key)) == now


def _read(artefacts: ArtefactStore, folder: ArtefactKey, reader: str) -> Lineage:
    key = lineage_stamp(folder)
    if not artefacts.exists(*key):
        raise dg.Failure(allow_retries=False, description=(
            f"{reader}: {'/'.join(folder)} has no lineage stamp ({artefacts.path(*key)}): "
            f"materialise it first"))
    d = artefacts.read_json(*key)
    return Lineage(d["history"], d["settings"])
