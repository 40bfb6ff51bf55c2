"""The platform as it is meant to be used: files dropped in the inbox, the real daemon, no hands.

``dagster dev`` (webserver and daemon) runs on a temporary ``DAGSTER_HOME``, artefact root and
inbox, with the file sensor, the automation sensor and the finding alerts started. Three files
arrive: a planted mt19937 history with its own settings file, a planted xorshift32 history left to
the inbox's default settings (``generator = "auto"``), and an ``os.urandom`` control under the
same defaults. Each becomes a case; the test waits (bounded) for every case's predictions and
then asserts, per case: the planted seed on top with its exact next draws, the control
abstaining, no failed run, every run about one case only, every artefact under its own case's
folder and built from its own history, and a finding alert for each planted case alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from gpu_executors.prng.synth import planted_history, random_history, write_history
from tests.net import free_port, webhook_server
from tests.paths import ROOT

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
N = 300
# 4 blocks of 2^18 seeds: every case's whole scan is a few seconds of kernel time, so the test
# measures the unattended path (sensor, runs, automation, backfills), not the sieve.
SPACE = {"SEEDSIEVE_SPACE_BITS": "20", "SEEDSIEVE_BLOCK_BITS": "18",
         "SEEDSIEVE_BLOCKS_PER_RUN": "2"}
PLANTED = {
    "mt": {"generator": "mt19937", "draw": "mod:1000", "seed": 777_777, "n": N},
    "xs": {"generator": "xorshift32", "draw": "mod:1000", "seed": 654_321, "n": N},
}
MT_SETTINGS = '[sieve]\ngenerator = "mt19937"\ndraw = "mod:1000"\n'
INBOX_DEFAULT = '[sieve]\ngenerator = "auto"\n'
TIMEOUT = 1500.0



def _age(path: Path) -> None:
    t = time.time() - 60
    os.utime(path, (t, t))


@pytest.fixture(scope="module")
def unattended(tmp_path_factory) -> Iterator[dict]:
    """The three cases run by the daemon; yields what the instance and the webhook recorded."""
    work = tmp_path_factory.mktemp("inbox-daemon")
    with webhook_server() as (url, received):
        yield from _run_daemon(work, url, received)


def _run_daemon(work: Path, url: str, received: list[dict]) -> Iterator[dict]:
    inbox, home, art = work / "inbox", work / "home", work / "artefacts"
    inbox.mkdir()
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    env = {**os.environ, **SPACE, "DAGSTER_HOME": str(home), "SEEDSIEVE_ARTEFACTS": str(art),
           "SEEDSIEVE_INBOX": str(inbox), "SEEDSIEVE_BACKEND": "cpu",
           "SEEDSIEVE_ALERT_WEBHOOK": url, "PYTHONUNBUFFERED": "1"}
    log = open(work / "dagster_dev.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-p", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: _answers(port), 240, "dagster dev did not answer")
        for sensor in ("draw_file_sensor", "default_automation_condition_sensor",
                       "pool_finding_alert", "predictions_finding_alert"):
            started = subprocess.run(
                [str(BIN / "dagster"), "sensor", "start", sensor, "-w", "workspace.yaml"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert started.returncode == 0, started.stderr[-2000:]
        truths = _drop(inbox)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            _wait_for(lambda: _all_predicted(instance, art, truths), TIMEOUT,
                      "the cases did not all reach predictions", log=work / "dagster_dev.log")
            time.sleep(40)  # the finding sensors tick every 30 s
            yield {"instance": instance, "art": art, "truths": truths, "received": received,
                   "inbox": inbox}
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        log.close()


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
        return True
    except OSError:
        return False


def _wait_for(done, timeout: float, message: str, log: Path | None = None) -> None:
    deadline = time.time() + timeout
    while not done():
        if time.time() > deadline:
            tail = log.read_text()[-4000:] if log is not None else ""
            pytest.fail(f"{message} within {timeout:.0f} s\n{tail}")
        time.sleep(5)


def _drop(inbox: Path) -> dict[str, dict]:
    """Settings first (the folder's default and mt's own), then the three draw files."""
    (inbox / "seedsieve.toml").write_text(INBOX_DEFAULT)
    (inbox / "mt.seedsieve.toml").write_text(MT_SETTINGS)
    truths: dict[str, dict] = {}
    for case, spec in PLANTED.items():
        values, truth = planted_history(**spec)
        write_history(inbox / f"{case}.json", values, truth)
        whole, _ = planted_history(**{**spec, "n": N + 5})
        truths[case] = {"seed": spec["seed"], "next_draws": [int(v) for v in whole[N:]]}
    _values, truth = random_history(1000, N)
    control = np.frombuffer(os.urandom(4 * N), dtype=np.uint32) % 1000
    write_history(inbox / "control.json", control, truth)
    truths["control"] = {}
    for path in inbox.iterdir():
        _age(path)  # settled: the sensor takes them at its next tick
    return truths


def _predictions(art: Path, case: str) -> dict | None:
    path = art / "cases" / case / "predictions" / "predictions.json"
    return json.loads(path.read_text()) if path.exists() else None


def _all_predicted(instance: dg.DagsterInstance, art: Path, truths: dict) -> bool:
    failed = instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    if failed:
        pytest.fail("failed run(s): " + ", ".join(
            f"{r.dagster_run.job_name} {r.dagster_run.tags.get('dagster/partition', '')}"
            for r in failed))
    return all(_predictions(art, case) is not None for case in truths)


def test_planted_cases_predict_their_seeds_exact_next_draws(unattended) -> None:
    for case, truth in unattended["truths"].items():
        if not truth:
            continue
        out = _predictions(unattended["art"], case)
        assert out["status"] == "predict", (case, out["reason"])
        top = out["predictions"][0]
        assert (top["seed"], top["next_draws"]) == (truth["seed"], truth["next_draws"]), case


def test_the_auto_case_names_its_generator(unattended) -> None:
    record = json.loads((unattended["art"] / "cases" / "xs" / "sieve_settings" /
                         "settings.json").read_text())
    assert (record["settings"]["generator"], record["settings"]["draw"]) == (
        "xorshift32", "mod:1000")
    assert record["identification"] is not None
    mt = json.loads((unattended["art"] / "cases" / "mt" / "sieve_settings" /
                     "settings.json").read_text())
    assert mt.get("identification") is None  # named in its own settings file: nothing to identify


def test_the_control_abstains(unattended) -> None:
    out = _predictions(unattended["art"], "control")
    assert out["status"] != "predict", out["reason"]
    assert out["predictions"] == []


def test_every_run_is_about_one_case_and_none_failed(unattended) -> None:
    instance = unattended["instance"]
    records = instance.get_run_records()
    assert records
    cases = set(unattended["truths"])
    for r in records:
        run = r.dagster_run
        assert run.status == dg.DagsterRunStatus.SUCCESS, (run.job_name, run.status)
        tags = run.tags
        if "dagster/partition" in tags:
            named = {tags["dagster/partition"].split("|")[0]}
        else:
            named = {tags["dagster/asset_partition_range_start"].split("|")[0],
                     tags["dagster/asset_partition_range_end"].split("|")[0]}
        assert len(named) == 1 and named <= cases, (run.job_name, dict(tags))


def test_every_artefact_is_its_own_cases_and_of_one_history(unattended) -> None:
    art = unattended["art"]
    assert sorted(p.name for p in (art / "cases").iterdir()) == sorted(unattended["truths"])
    for case in unattended["truths"]:
        folder = art / "cases" / case
        history = json.loads((folder / "draw_history" / "record.json").read_text())
        assert history["source_path"] == str((unattended["inbox"] / f"{case}.json").resolve())
        stamps = {json.dumps(json.loads(p.read_text()), sort_keys=True)
                  for p in folder.rglob("lineage.json")}
        assert len(stamps) == 1, (case, stamps)  # every stage built from one history + settings
        (stamp,) = stamps
        assert json.loads(stamp)["history"] == history["history_digest"]
        out = _predictions(art, case)
        assert Path(out["draws_table"]).is_relative_to(folder)


def test_findings_are_alerted_for_the_planted_cases_only(unattended) -> None:
    findings = [r["body"] for r in unattended["received"] if r["body"].get("event") == "finding"]
    by_case = {f["case"] for f in findings if f["finding"] == "survivors beat chance"}
    assert by_case == {"mt", "xs"}
    for f in findings:
        if f["finding"] == "survivors beat chance":
            assert f["candidates"][0]["seed"] == PLANTED[f["case"]]["seed"]
