"""Where each artefact lives under the artefact root: one name per file, used by every reader.

Keys are path parts for ``ArtefactStore`` (``artefacts.read_json(*SCORER_RECORD)``), relative
to a case's folder (``ArtefactStore.case``); the functions give the keys that depend on a scan
digest, a seed block or a model family.
"""

from __future__ import annotations

ArtefactKey = tuple[str, ...]

DRAWS_TABLE: ArtefactKey = ("draw_history", "draws.parquet")
DRAWS_RECORD: ArtefactKey = ("draw_history", "record.json")
CASE_SETTINGS: ArtefactKey = ("draw_history", "case_settings.json")
SIEVE_SETTINGS: ArtefactKey = ("sieve_settings", "settings.json")
POOL_TABLE: ArtefactKey = ("survivor_pool", "pool.parquet")
POOL_STATS: ArtefactKey = ("survivor_pool", "stats.json")
# linear mode: the solve's record (rank, states left, held-back check, the readable state)
LINEAR_STATE: ArtefactKey = ("survivor_pool", "linear.json")
SCORER_RECORD: ArtefactKey = ("optimal_scorer_config", "config.json")
MATRIX_TABLE: ArtefactKey = ("feature_matrix", "matrix.parquet")
MATRIX_RECORD: ArtefactKey = ("feature_matrix", "record.json")
SKIP_REGISTRY: ArtefactKey = ("models", "skip_registry.json")
COMPARISON: ArtefactKey = ("model_comparison", "comparison.json")
PREDICTIONS: ArtefactKey = ("predictions", "predictions.json")


def survivors_folder(digest: str) -> ArtefactKey:
    """The blocks scanned with one scan digest (one history under one settings digest: a new
    history or new settings never mix with blocks scanned before)."""
    return ("survivors", digest)


def block_table(digest: str, block: str) -> ArtefactKey:
    return (*survivors_folder(digest), f"{block}.parquet")


def block_stats(digest: str, block: str) -> ArtefactKey:
    return (*survivors_folder(digest), f"{block}.json")


def model_folder(family: str) -> ArtefactKey:
    return ("models", family)


def model_sidecar(family: str) -> ArtefactKey:
    return (*model_folder(family), "sidecar.json")


def model_file(family: str) -> ArtefactKey:
    """The model's native file, without its suffix (each family's saver adds its own)."""
    return (*model_folder(family), "model")


def lineage_stamp(folder: ArtefactKey) -> ArtefactKey:
    """What an artefact folder was built from (``prng_assets.lineage``)."""
    return (*folder, "lineage.json")
