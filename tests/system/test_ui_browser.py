"""The UI as a user sees it: `dagster dev`, a run launched over GraphQL, headless Chromium.

The webserver, daemon and code server run as `dagster dev` does for a user (own process group,
temporary DAGSTER_HOME). A case is added to the instance (what the inbox sensor does for a file),
and the prepare job is launched for its partition through the GraphQL API the UI itself uses
(`launchRun`); it goes through the daemon's queue and the default run launcher. Chromium then
renders the asset graph to a PNG (copied into $SEEDSIEVE_UI_SCREENSHOT_DIR when that is set, so
a benchmark run can keep it; the test never writes into the source tree) and dumps the rendered
DOM, on which the asset names and the check results are asserted.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from gpu_executors.prng.synth import planted_history, write_history
from prng_assets.checks import ingest as ingest_checks
from tests.net import free_port
from tests.paths import ROOT

SCREENSHOT_DIR_ENV = "SEEDSIEVE_UI_SCREENSHOT_DIR"  # where to keep a copy of the screenshot
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CASE = "ui"  # the case (a partition of every asset) the run materialises
pytestmark = pytest.mark.slow

LAUNCH = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}"""
WORKSPACE = """
{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename
      ... on RepositoryLocation { repositories { name pipelines { name } } }
      ... on PythonError { message } } } } } }"""
RUN_STATUS = "query S($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def _browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None



@dataclass
class Ui:
    base: str
    log: Path
    location: str
    repository: str
    run_id: str
    status: str

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        return _graphql(self.base, query, variables)


def _graphql(base: str, query: str, variables: dict | None = None) -> dict:
    req = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        payload = json.loads(resp.read())
    assert "errors" not in payload, payload["errors"]
    return payload["data"]


def _wait(what: str, check, timeout: float, proc: subprocess.Popen, log: Path):
    """Poll ``check()`` until it returns something truthy; fail with the server log."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError, TypeError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
            pytest.fail(
                f"{what} not reached in {timeout:.0f} s (dagster dev exit {proc.poll()}):\n{tail}"
            )
        time.sleep(0.5)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the whole process group (webserver, daemon, code servers), then SIGKILL.

    `dagster dev` exits within seconds of SIGTERM; its code servers would otherwise linger until
    their heartbeat times out, so whatever is left of the group after a grace period is killed.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:  # poll() also reaps it
        time.sleep(0.2)
    grace = time.monotonic() + 5
    while time.monotonic() < grace and _group_alive(proc.pid):
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> str:
    path = _browser()
    if path is None:
        pytest.skip("Chromium not found: `apt-get install chromium` (.ci/run installs it)")
    return path


@pytest.fixture(scope="module")
def ui(browser: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    tmp = tmp_path_factory.mktemp("ui")
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    values, truth = planted_history("java_lcg", "mod:1000", 40_000, n=120, offset=1)
    history = write_history(tmp / "history.json", values, truth)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SEEDSIEVE_ARTEFACTS": str(tmp / "art"),
        "SEEDSIEVE_SPACE_BITS": "16",
        "SEEDSIEVE_BLOCK_BITS": "14",
        "SEEDSIEVE_BACKEND": "cpu",
    }
    for key in ("SEEDSIEVE_OPTUNA_URL", "SEEDSIEVE_ALERT_WEBHOOK"):
        env.pop(key, None)
    log = tmp / "dagster_dev.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dagster",
                "dev",
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        t0 = time.perf_counter()

        def server_info() -> bool:
            with urllib.request.urlopen(f"{base}/server_info", timeout=5) as resp:
                return resp.status == 200

        _wait("/server_info", server_info, 120, proc, log)

        def location() -> tuple[str, str] | None:
            entries = _graphql(base, WORKSPACE)["workspaceOrError"]["locationEntries"]
            for entry in entries:
                loaded = entry["locationOrLoadError"]
                if entry["loadStatus"] != "LOADED" or loaded is None:
                    continue
                assert loaded["__typename"] == "RepositoryLocation", loaded
                for repo in loaded["repositories"]:
                    if "prepare" in {p["name"] for p in repo["pipelines"]}:
                        return entry["name"], repo["name"]
            return None

        location_name, repo_name = _wait("code location loaded", location, 120, proc, log)
        loaded_after = time.perf_counter() - t0
        # A case must exist in the instance before it is materialised.
        with dg.DagsterInstance.from_config(str(home)) as instance:
            instance.add_dynamic_partitions("cases", [CASE])
        params = {
            "selector": {
                "repositoryLocationName": location_name,
                "repositoryName": repo_name,
                "jobName": "prepare",
            },
            "runConfigData": {
                "ops": {
                    "draw_history": {"config": {"path": str(history)}},
                    "sieve_settings": {"config": {"search": False}},
                },
            },
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": CASE}]},
            "mode": "default",
        }
        launched = _graphql(base, LAUNCH, {"executionParams": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]

        def finished() -> str | None:
            status = _graphql(base, RUN_STATUS, {"id": run_id})["runOrError"]["status"]
            return status if status in TERMINAL else None

        status = _wait(f"run {run_id} finished", finished, 240, proc, log)
        print(
            f"\nUI: code location loaded after {loaded_after:.1f} s, run {status} after "
            f"{time.perf_counter() - t0:.1f} s"
        )
        # What the "Skip" button of the first-visit community dialog does, so it does not
        # cover the screenshot.
        assert _graphql(base, "mutation { setNuxSeen }")["setNuxSeen"] is True
        yield Ui(base, log, location_name, repo_name, run_id, status)
    finally:
        _stop_group(proc)


def _chromium(
    browser: str, profile: Path, *args: str, budget_ms: int = 15000
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1400,900",
            f"--virtual-time-budget={budget_ms}",
            *args,
        ],
        capture_output=True,
        timeout=120,
    )


def _page_text(browser: str, profile: Path, url: str, expect: list[str]) -> str:
    """The rendered page's visible text; re-rendered with more time until ``expect`` shows."""
    text = ""
    for budget in (15000, 30000, 60000):
        dom = _chromium(browser, profile, "--dump-dom", url, budget_ms=budget).stdout.decode()
        text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", dom, flags=re.S)
        text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))
        if all(re.search(e, text) for e in expect):
            break
    return text


def test_run_launched_through_graphql_succeeds(ui: Ui) -> None:
    assert ui.status == "SUCCESS", ui.log.read_text(errors="replace")[-4000:]


def test_asset_graph_screenshot(ui: Ui, browser: str, tmp_path: Path) -> None:
    shot = tmp_path / "ui_asset_graph.png"
    url = f"{ui.base}/locations/{ui.location}/asset-groups/sieve"
    proc = _chromium(browser, tmp_path / "profile", f"--screenshot={shot}", url)
    assert shot.exists(), proc.stderr.decode()[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1400, 900)
    assert len(png) > 20_000, f"suspiciously small screenshot: {len(png)} bytes"
    keep = os.environ.get(SCREENSHOT_DIR_ENV)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)


def test_rendered_pages_show_assets_and_passed_checks(ui: Ui, browser: str, tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    group = _page_text(
        browser,
        profile,
        f"{ui.base}/locations/{ui.location}/asset-groups/ingest",
        [r"draw_history", r"sieve_settings", r"Passed", r"100% filled"],
    )
    assert "draw_history" in group and "sieve_settings" in group
    passed = re.search(r"Asset checks (\d+) / (\d+) Passed", group)
    assert passed and passed.group(1) == passed.group(2) != "0", group[:3000]
    # Partitioned by case, an asset shows how much of it is filled: the one case, materialised.
    assert re.search(r"draw_history .*?Partitions 100% filled", group), group[:3000]
    sieve = _page_text(
        browser,
        profile,
        f"{ui.base}/locations/{ui.location}/asset-groups/sieve",
        [r"sieve_settings .*?100% filled", r"survivors", r"4 partitions"],
    )
    assert re.search(r"sieve_settings .*?Partitions 100% filled", sieve), sieve[:3000]
    # survivors: the one case x 4 seed blocks (SEEDSIEVE_SPACE_BITS/BLOCK_BITS reached the code
    # location)
    assert "4 partitions" in sieve
    names = sorted(key.name for check in dg.load_asset_checks_from_modules([ingest_checks])
                   for key in check.check_keys)
    checks = _page_text(
        browser, profile, f"{ui.base}/assets/draw_history?view=checks", [*names, r"Passed"]
    )
    for name in names:
        assert name in checks, f"check {name} not on the page: {checks[:3000]}"
    assert "Passed" in checks and "Failed" not in checks
