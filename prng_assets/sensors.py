"""A new draw-history file in the inbox becomes a case and starts a run of its ``draw_history``
and ``sieve_settings``.

Each file is a case (a partition named after the file, less its suffix, added by the sensor) and
runs with its case's settings (``case_settings``: ``NAME.seedsieve.toml`` beside it, or
the inbox's ``seedsieve.toml``) as the run config. The seed-block scan and the pool downstream
follow by declarative automation (their eager conditions), since one run cannot mix partitioned
and unpartitioned assets.

The run key is the case with the file's content hash and its settings' digest, so the same bytes
with the same settings never run twice for a case; the JSON cursor remembers both per path, so a
changed file or a changed settings file runs again. A file still being written (modified within
``settle_seconds``), unreadable, or whose settings are refused is skipped with a reason and
retried on a later tick: mending the settings file picks it up.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import dagster as dg

from gpu_executors.io.hashing import file_sha256
from prng_assets import run_tags
from prng_assets.assets.ingest import draw_history
from prng_assets.assets.sieve import sieve_settings
from prng_assets.case_settings import CaseSettingsError, settings_for, settings_path
from prng_assets.partitions import case_name, cases

INBOX_ENV = "SEEDSIEVE_INBOX"
DEFAULT_INBOX = "data/inbox"
SETTLE_SECONDS = 2.0
HISTORY_SUFFIXES = {".json", ".csv", ".txt"}


def scan_inbox(
    inbox: Path, cursor: dict[str, str], now: float, settle_seconds: float = SETTLE_SECONDS
) -> tuple[list[dg.RunRequest], dict[str, str], list[str]]:
    """Run requests for new or changed files (each for its case's partition), the new cursor,
    and the reasons for skips."""
    requests: list[dg.RunRequest] = []
    skipped: list[str] = []
    new_cursor = dict(cursor)
    if not inbox.is_dir():
        return requests, new_cursor, [f"inbox {inbox} does not exist"]
    owners: dict[str, str] = {}  # case -> the file that names it
    for path in sorted(inbox.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in HISTORY_SUFFIXES:
            continue
        if path.name.endswith(".truth.json"):
            continue
        case = case_name(path.stem)
        if case in owners:
            skipped.append(f"{path.name}: case {case} is already {owners[case]}'s; "
                           "rename one of them")
            continue
        owners[case] = path.name
        try:
            if not path.is_file():
                continue
            age = now - path.stat().st_mtime
            if age < settle_seconds:
                skipped.append(f"{path.name}: modified {age:.1f} s ago, may be half-written")
                continue
            digest = file_sha256(path)
        except OSError as exc:
            skipped.append(f"{path.name}: unreadable ({exc.strerror or exc})")
            continue
        own = settings_path(path)
        try:
            settings_age = now - own.stat().st_mtime if own is not None else settle_seconds
        except OSError:
            settings_age = settle_seconds  # gone since: settings_for says what applies now
        if settings_age < settle_seconds:
            skipped.append(
                f"{path.name}: its settings {own.name if own else ''} modified "
                f"{settings_age:.1f} s ago, may be half-written"
            )
            continue
        try:
            settings = settings_for(path)
        except CaseSettingsError as exc:
            skipped.append(f"{path.name}: settings refused: {exc}")
            continue
        key = str(path.resolve())
        seen = f"{digest}:{settings.digest}"
        if cursor.get(key) == seen:
            continue
        new_cursor[key] = seen
        tags = {run_tags.SOURCE: key, run_tags.SOURCE_SHA256: digest, run_tags.CASE: case}
        if settings.path is not None:
            tags[run_tags.SETTINGS] = str(settings.path.resolve())
        tags[run_tags.SETTINGS_SHA256] = settings.digest
        requests.append(
            dg.RunRequest(
                run_key=f"{case}:draws:{digest}:settings:{settings.digest}",
                run_config=settings.run_config(path.resolve()),
                tags=tags,
                partition_key=case,
            )
        )
    return requests, new_cursor, skipped


@dg.sensor(
    name="draw_file_sensor",
    target=dg.AssetSelection.assets(draw_history, sieve_settings),
    minimum_interval_seconds=30,
    description=f"Runs the pipeline for each new or changed file in ${INBOX_ENV} "
    f"(default {DEFAULT_INBOX}). Starts stopped: turn it on in the UI or with "
    "`dagster sensor start draw_file_sensor`.",
)
def draw_file_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    inbox = Path(os.environ.get(INBOX_ENV, DEFAULT_INBOX))
    cursor = json.loads(context.cursor) if context.cursor else {}
    requests, new_cursor, skipped = scan_inbox(inbox, cursor, time.time())
    for reason in skipped:
        context.log.info(f"skipped {reason}")
    if not requests:
        reason = "; ".join(skipped) if skipped else f"no new or changed files in {inbox}"
        return dg.SensorResult(skip_reason=reason, cursor=json.dumps(new_cursor, sort_keys=True))
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(new_cursor, sort_keys=True),
        dynamic_partitions_requests=[
            cases.build_add_request(sorted({r.partition_key for r in requests}))],
    )
