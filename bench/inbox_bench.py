"""From a draw file dropped in the inbox to ``predictions``, unattended, beside the CLI's time.

Starts ``dagster dev`` (webserver and daemon) on a temporary ``DAGSTER_HOME``, artefact root and
inbox, turns on the file sensor and the automation sensor, writes the README's example (a
settings file with ``generator = "auto"``, then 500 mt19937 ``mod:1000`` draws from a planted
seed inside the default seed blocks) and times each asset's materialisation of the file's case
(the partition the sensor adds, named after the file) from the moment the draw file was written,
sensor interval included, until the case's ``predictions``. Then a second file (a second case)
under another seed, with the kernels now cached. Beside it: ``seedsieve crack --generator auto``
over the same seeds and the first 10 draws, and with the generator named.

The first drop on a machine compiles every pair's scan kernels (``seedsieve warm --generator all``
does it ahead); ``--kernel-cache`` picks the folder (default: a fresh temporary one, so the first
drop is a first run).

    python bench/inbox_bench.py
    python bench/inbox_bench.py --kernel-cache ~/.cache/seedsieve/kernels --json bench/inbox.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSETS = [
    "draw_history",
    "sieve_settings",
    "survivors",
    "survivor_pool",
    "feature_matrix",
    "model_comparison",
    "predictions",
]
SEEDS = (1234567, 2345678)  # inside the default 2^22 seed blocks


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PORT = _free_port()


def _run(cmd: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, **kw)


def _wait_for_server(deadline: float) -> None:
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/server_info", timeout=2)
            return
        except OSError:
            time.sleep(1)
    raise RuntimeError("dagster dev did not answer")


def _timeline(env: dict[str, str], case: str, since: float, timeout: float) -> dict:
    """Seconds from ``since`` to each asset's latest materialisation of ``case`` (its partition;
    for ``survivors``, the latest of its ``CASE|BLOCK`` partitions), polled until predictions."""
    probe = (
        "import dagster as dg, json\n"
        "inst = dg.DagsterInstance.get()\n"
        f"case, since = {case!r}, {since!r}\n"
        "out = {}\n"
        f"for key in {ASSETS!r}:\n"
        "    records = inst.fetch_materializations(\n"
        "        dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), after_timestamp=since),\n"
        "        limit=1000).records\n"
        "    ev = next((r for r in records if r.partition_key == case\n"
        "               or (r.partition_key or '').startswith(case + '|')), None)\n"
        "    if ev is not None:\n"
        "        meta = {k: v.value for k, v in ev.asset_materialization.metadata.items()}\n"
        "        keep = ('status', 'identified', 'survivors', 'predictions')\n"
        "        out[key] = {'seconds': ev.timestamp - since,\n"
        "                    **{k: meta[k] for k in keep if k in meta}}\n"
        "failed = [r.dagster_run.run_id for r in inst.get_run_records(limit=200)\n"
        "          if r.dagster_run.status == dg.DagsterRunStatus.FAILURE\n"
        f"          and r.create_timestamp.timestamp() > {since!r}]\n"
        "print(json.dumps({'assets': out, 'failed_runs': failed}, default=str))\n"
    )
    deadline = time.time() + timeout
    while True:
        answer = _run([str(BIN / "python"), "-c", probe], env)
        if answer.returncode != 0:
            raise RuntimeError(f"probing the instance failed: {answer.stderr[-2000:]}")
        found = json.loads(answer.stdout)
        assets = found.get("assets", {})
        # Done when the case's predictions were made from its pool (after it, not before).
        pool, predictions = assets.get("survivor_pool"), assets.get("predictions")
        if pool and predictions and predictions["seconds"] >= pool["seconds"]:
            return found
        if found.get("failed_runs"):
            return found
        if time.time() > deadline:
            return {**found, "timed_out": True}
        time.sleep(5)


def _drop(env: dict[str, str], inbox: Path, name: str, seed: int) -> float:
    """The README's example: settings first, then the draws (``NAME.json``: the sensor makes it the
    case ``NAME``); returns when the draws were written."""
    (inbox / f"{name}.seedsieve.toml").write_text('[sieve]\ngenerator = "auto"\n')
    time.sleep(3)  # past the sensor's settle window for the settings file
    _run(
        [
            str(BIN / "seedsieve"),
            "synth",
            "--generator",
            "mt19937",
            "--draw",
            "mod:1000",
            "--seed",
            str(seed),
            "--n",
            "500",
            "--out",
            str(inbox / f"{name}.json"),
        ],
        env,
        check=True,
    )
    return time.time()


def _crack(env: dict[str, str], draws: list[int], generator: str) -> float:
    t0 = time.perf_counter()
    _run(
        [
            str(BIN / "seedsieve"),
            "crack",
            "--generator",
            generator,
            "--draw",
            "mod:1000",
            "--seeds",
            "0:4194304",
            *map(str, draws),
        ],
        env,
        check=True,
    )
    return time.perf_counter() - t0


def _drops(env: dict[str, str], inbox: Path, timeout: float) -> list[dict]:
    """Both drops, one after the other, each with the CLI's time for the same scan."""
    _wait_for_server(time.time() + 180)
    for sensor in ("draw_file_sensor", "default_automation_condition_sensor"):
        _run(
            [str(BIN / "dagster"), "sensor", "start", sensor, "-w", "workspace.yaml"],
            env,
            check=True,
        )
    drops = []
    for i, seed in enumerate(SEEDS):
        case = f"mt{i}"  # the file's stem: the case (partition) the sensor adds for it
        since = _drop(env, inbox, case, seed)
        found = _timeline(env, case, since, timeout)
        draws = [r["draw"] for r in json.loads((inbox / f"{case}.json").read_text())[:10]]
        drops.append(
            {
                "seed": seed,
                "case": case,
                **found,
                "crack_auto_seconds": _crack(env, draws, "auto"),
                "crack_named_seconds": _crack(env, draws, "mt19937"),
            }
        )
    return drops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel-cache", help="kernel cache folder (default: a fresh one)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per drop")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seedsieve-inbox-bench-"))
    inbox, home = work / "inbox", work / "dagster_home"
    inbox.mkdir()
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SEEDSIEVE_INBOX": str(inbox),
        "SEEDSIEVE_ARTEFACTS": str(work / "artefacts"),
        "SEEDSIEVE_KERNEL_CACHE": args.kernel_cache or str(work / "kernels"),
    }
    env.pop("NUMBA_CACHE_DIR", None)
    with open(work / "dev.log", "w") as log:
        server = subprocess.Popen(
            [
                str(BIN / "dagster"),
                "dev",
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                str(PORT),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            drops = _drops(env, inbox, args.timeout)
        finally:
            # dagster dev's webserver, daemon and code servers are its children: stop them all
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
    report = {
        "machine": f"{platform.node()} {os.cpu_count()} cores {platform.machine()}",
        "date": time.strftime("%Y-%m-%d"),
        "work": str(work),
        "drops": drops,
    }
    for i, d in enumerate(drops):
        label = "first drop (kernels compiled)" if i == 0 else "second drop (kernels cached)"
        print(f"{label}, case {d['case']}, seed {d['seed']}:")
        for key in ASSETS:
            a = d["assets"].get(key)
            print(f"  {key:18s} " + (f"+{a['seconds']:6.0f} s" if a else "  (not reached)"))
        pred = d["assets"].get("predictions", {})
        print(f"  predictions: {pred.get('status')} {json.dumps(pred.get('predictions'))[:160]}")
        print(
            f"  failed runs: {d.get('failed_runs') or 'none'}"
            + ("  TIMED OUT" if d.get("timed_out") else "")
        )
        print(
            f"  CLI, same seeds and 10 draws: crack --generator auto "
            f"{d['crack_auto_seconds']:.1f} s, --generator mt19937 "
            f"{d['crack_named_seconds']:.1f} s"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
