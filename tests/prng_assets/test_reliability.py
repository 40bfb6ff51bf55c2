"""Reliability: failure alerts to a webhook, step retries, run timeouts, atomic artefacts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from prng_assets.hooks import (
    MAX_RUNTIME_TAG,
    RETRY_POLICY,
    failure_alert,
    max_runtime_tags,
)
from resources.artefacts import ArtefactStore
from resources.notifications import WEBHOOK_ENV, Notifier
from tests.paths import ROOT


@dg.op
def flaky_download() -> int:
    raise RuntimeError("upstream returned HTTP 503")


@dg.op
def fine() -> int:
    return 1


@dg.job(hooks={failure_alert})
def fragile_job() -> None:
    fine()
    flaky_download()


def test_failure_hook_posts_job_run_step_and_error(webhook) -> None:
    url, received = webhook
    result = fragile_job.execute_in_process(
        resources={"notifications": Notifier(webhook_url=url)}, raise_on_error=False
    )
    assert not result.success
    assert len(received) == 1  # the failed step only; the step that succeeded sends nothing
    event = received[0]
    assert event["path"] == "/alerts" and event["type"] == "application/json"
    body = event["body"]
    assert body["job"] == "fragile_job" and body["run_id"] == result.run_id
    assert body["step"] == "flaky_download" and body["event"] == "step_failure"
    assert "upstream returned HTTP 503" in body["error"]


def test_failure_hook_is_a_noop_without_a_url(webhook, monkeypatch) -> None:
    _url, received = webhook
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    notifier = Notifier.from_env()
    assert not notifier.enabled and notifier.send({"x": 1}) is False
    result = fragile_job.execute_in_process(
        resources={"notifications": notifier}, raise_on_error=False
    )
    assert not result.success  # the run's own failure is untouched
    hooks = [e for e in result.all_events if e.event_type_value.startswith("HOOK_")]
    assert hooks, "the hook ran"
    assert received == []
    monkeypatch.setenv(WEBHOOK_ENV, "http://127.0.0.1:9/x")
    assert Notifier.from_env().webhook_url == "http://127.0.0.1:9/x"


def test_send_never_raises_on_a_dead_endpoint() -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    dead = Notifier(webhook_url="http://127.0.0.1:9/hook", timeout_seconds=1)
    assert dead.send({"a": 1}) is False
    assert Notifier(webhook_url="not a url").send({"a": 1}) is False


def test_failure_hook_on_an_asset_job(webhook) -> None:
    """The same hook on a define_asset_job, as definitions.py wires it."""
    url, received = webhook

    @dg.asset
    def brittle() -> None:
        raise dg.Failure(description="disk full")

    job = dg.define_asset_job("brittle_job", selection=[brittle], hooks={failure_alert})
    defs = dg.Definitions(
        assets=[brittle], jobs=[job], resources={"notifications": Notifier(webhook_url=url)}
    )
    dg.Definitions.validate_loadable(defs)
    result = defs.resolve_job_def("brittle_job").execute_in_process(raise_on_error=False)
    assert not result.success
    assert [e["body"]["step"] for e in received] == ["brittle"]
    assert "disk full" in received[0]["body"]["error"]


def test_retry_policy_recovers_a_transient_failure() -> None:
    attempts: list[int] = []

    @dg.asset(retry_policy=RETRY_POLICY)
    def sometimes() -> dg.MaterializeResult:
        ctx = dg.AssetExecutionContext.get()
        attempts.append(ctx.retry_number)
        if ctx.retry_number == 0:
            raise ConnectionError("database connection reset")
        return dg.MaterializeResult(metadata={"attempt": ctx.retry_number})

    result = dg.materialize([sometimes])
    assert result.success
    assert attempts == [0, 1]
    assert result.asset_materializations_for_node("sometimes")[0].metadata["attempt"].value == 1
    kinds = [e.event_type_value for e in result.all_events]
    assert "STEP_UP_FOR_RETRY" in kinds and "STEP_RESTARTED" in kinds
    # It waited before retrying: the retry event records the policy's first delay.
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert [e.event_specific_data.seconds_to_wait for e in retries] == [RETRY_POLICY.delay]
    assert "database connection reset" in str(retries[0].event_specific_data.error)


def test_run_timeouts_are_configured() -> None:
    assert RETRY_POLICY.max_retries == 2 and RETRY_POLICY.backoff == dg.Backoff.EXPONENTIAL
    assert max_runtime_tags(3600) == {MAX_RUNTIME_TAG: "3600"}
    assert MAX_RUNTIME_TAG == "dagster/max_runtime"
    with pytest.raises(ValueError):
        max_runtime_tags(0)
    for profile in ("dagster.yaml", "deploy/postgres/dagster.yaml", "deploy/docker/dagster.yaml"):
        cfg = yaml.safe_load((ROOT / profile).read_text())
        assert cfg["run_monitoring"]["enabled"] is True, profile
        assert cfg["run_monitoring"]["max_runtime_seconds"] > 0, profile


# --- atomic artefacts under SIGKILL

WRITER = """
import sys
import numpy as np
import polars as pl
from resources.artefacts import ArtefactStore

store, kind, n = ArtefactStore(root=sys.argv[1]), sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(1)
while True:  # overwrite the artefact again and again until killed
    if kind == "parquet":
        store.write_parquet(pl.DataFrame({"x": rng.random(n), "marker": np.ones(n, np.int64)}),
                            "big", "table.parquet")
    else:
        store.write_json({"marker": 1, "values": rng.random(n).tolist()}, "big", "record.json")
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["parquet", "json"])
def test_sigkill_mid_write_leaves_the_previous_artefact(tmp_path: Path, kind: str) -> None:
    store = ArtefactStore(root=str(tmp_path / "art"))
    name = "table.parquet" if kind == "parquet" else "record.json"
    good = pl.DataFrame({"x": [0.5, 0.25], "marker": [0, 0]})
    if kind == "parquet":
        store.write_parquet(good, "big", name)
    else:
        store.write_json({"marker": 0, "values": [0.5, 0.25]}, "big", name)
    folder = store.path("big")
    before = (folder / name).read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, store.root, kind, "8000000"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    killed_at = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            tmps = list(folder.glob(f".{name}.*"))  # atomic_write's temp file beside it
            # parquet: kill once bytes are landing; json: dumps runs before the write, so the
            # temp file's existence is the sign the write is under way.
            live = [t for t in tmps if t.exists() and (kind == "json" or t.stat().st_size > 0)]
            if live:
                killed_at = live[0].stat().st_size if live[0].exists() else -1
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
    finally:
        if proc.poll() is None:
            proc.kill()
        _out, err = proc.communicate(timeout=30)
    assert killed_at is not None, f"no temp file seen; writer said: {err.decode()[-2000:]}"
    assert proc.returncode == -signal.SIGKILL
    # The previous artefact is byte for byte intact and readable.
    assert (folder / name).read_bytes() == before
    if kind == "parquet":
        assert pl.read_parquet(folder / name).equals(good)
    else:
        assert json.loads((folder / name).read_text())["marker"] == 0
    # At most a stale temp file beside it (dot-prefixed, so the store never lists it).
    leftovers = sorted(p.name for p in folder.iterdir() if p.name != name)
    assert len(leftovers) <= 1 and all(p.startswith(f".{name}.") for p in leftovers), leftovers
    assert store.names("big", pattern="*.parquet" if kind == "parquet" else "*.json") == [name]
