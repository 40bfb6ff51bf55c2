"""The inbox sensor: new file, same file again, changed file, half-written and unreadable files,
and each file run with its case's settings (refused settings skip the file until mended)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from prng_assets.definitions import build_defs, defs
from prng_assets.sensors import INBOX_ENV, draw_file_sensor, scan_inbox
from tests.run_config import QUIET


@dataclass
class Tick:
    run_requests: list[dg.RunRequest]
    cursor: str | None
    skip_message: str | None
    dynamic_partitions_requests: list


def _tick(instance, cursor: str | None) -> Tick:
    """One evaluation, called directly: ``evaluate_tick`` would resolve the run requests' case
    partitions before the daemon's step that adds them (the result's own requests) has run."""
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    result = draw_file_sensor(ctx)
    skip = result.skip_reason.skip_message if result.skip_reason else None
    return Tick(list(result.run_requests or []), result.cursor, skip,
                list(result.dynamic_partitions_requests or []))


def _age(path: Path, seconds: float = 60.0) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


@pytest.fixture
def inbox(tmp_path, monkeypatch) -> Path:
    box = tmp_path / "inbox"
    box.mkdir()
    monkeypatch.setenv(INBOX_ENV, str(box))
    return box


def test_cursor_round_trip(instance, inbox: Path) -> None:
    f = inbox / "draws.txt"
    f.write_text("1\n2\n3\n")
    _age(f)
    first = _tick(instance, None)
    assert len(first.run_requests) == 1
    req = first.run_requests[0]
    assert req.run_config["ops"]["draw_history"]["config"]["path"] == str(f.resolve())
    assert req.run_key.startswith("draws:draws:")  # the case (the file's stem), then its bytes
    assert req.partition_key == "draws"

    again = _tick(instance, first.cursor)  # same bytes: nothing to do
    assert again.run_requests == []
    assert again.skip_message

    f.write_text("1\n2\n3\n4\n")  # changed file: runs again, with a new key
    _age(f)
    changed = _tick(instance, again.cursor)
    assert len(changed.run_requests) == 1
    assert changed.run_requests[0].run_key != req.run_key
    digest, settings_digest = json.loads(changed.cursor)[str(f.resolve())].split(":")
    assert changed.run_requests[0].run_key == f"draws:draws:{digest}:settings:{settings_digest}"


def test_each_file_is_a_case_of_its_own(instance, inbox: Path) -> None:
    """The same bytes under two names are two cases: two partitions, two runs."""
    a, b = inbox / "a.txt", inbox / "b.txt"
    a.write_text("7\n8\n")
    b.write_text("7\n8\n")
    _age(a)
    _age(b)
    result = _tick(instance, None)
    assert {r.partition_key for r in result.run_requests} == {"a", "b"}
    assert len({r.run_key for r in result.run_requests}) == 2
    (added,) = result.dynamic_partitions_requests
    assert (added.partitions_def_name, sorted(added.partition_keys)) == ("cases", ["a", "b"])
    assert {r.tags["seedsieve/case"] for r in result.run_requests} == {"a", "b"}


def test_case_names_are_safe_and_never_shared(instance, inbox: Path) -> None:
    """A name a partition key cannot hold is made safe; a second file with the same case name
    is skipped with the reason, never merged into the first one's case."""
    for name in ("my draws|2024.json", "mt.json", "mt.csv"):
        (inbox / name).write_text("7\n8\n" if name.endswith("csv") else "[7, 8]")
        _age(inbox / name)
    result = _tick(instance, None)
    assert sorted(r.partition_key for r in result.run_requests) == ["mt", "my_draws_2024"]
    _requests, _cursor, skipped = scan_inbox(inbox, {}, time.time())
    assert "mt.json: case mt is already mt.csv's; rename one of them" in skipped


def test_half_written_file_is_skipped_then_picked_up(instance, inbox: Path) -> None:
    f = inbox / "fresh.json"
    f.write_text('[{"date": "2020-01-01", "draw": 1}')  # still being written
    result = _tick(instance, None)
    assert result.run_requests == []
    assert "half-written" in result.skip_message
    f.write_text('[{"date": "2020-01-01", "draw": 1}]')
    _age(f)
    later = _tick(instance, result.cursor)
    assert len(later.run_requests) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_skipped_with_reason(instance, inbox: Path) -> None:
    f = inbox / "locked.txt"
    f.write_text("1\n")
    _age(f)
    f.chmod(0)
    try:
        result = _tick(instance, None)
    finally:
        f.chmod(0o644)
    assert result.run_requests == []
    assert "unreadable" in result.skip_message


def test_unreadable_file_is_skipped_via_directory(instance, inbox: Path) -> None:
    """A name that looks like a history but cannot be opened as a file (works as root too)."""
    d = inbox / "broken.json"
    os.symlink(inbox / "missing-target.json", d)
    result = _tick(instance, None)
    assert result.run_requests == []


def test_missing_inbox_is_a_skip_not_a_crash(instance, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(INBOX_ENV, str(tmp_path / "nope"))
    result = _tick(instance, None)
    assert result.run_requests == []
    assert "does not exist" in result.skip_message


MT_SETTINGS = """
[history]
modulus = 1000

[sieve]
generator = "mt19937"
draw = "mod:1000"
search = false
window = 8

[predictions]
top_k = 3
"""


def test_each_file_runs_with_its_own_settings(instance, inbox: Path) -> None:
    mt, other = inbox / "mt.txt", inbox / "other.txt"
    mt.write_text("1\n2\n3\n")
    other.write_text("4\n5\n6\n")
    (inbox / "mt.seedsieve.toml").write_text(MT_SETTINGS)
    (inbox / "seedsieve.toml").write_text('[sieve]\ngenerator = "xorshift32"\n')
    for f in inbox.iterdir():
        _age(f)
    result = _tick(instance, None)
    by_source = {r.tags["seedsieve/source"]: r for r in result.run_requests}
    assert set(by_source) == {str(mt.resolve()), str(other.resolve())}  # the .toml are no cases
    ops = by_source[str(mt.resolve())].run_config["ops"]
    assert ops["draw_history"]["config"] == {"modulus": 1000, "path": str(mt.resolve())}
    assert ops["sieve_settings"]["config"]["generator"] == "mt19937"
    tags = by_source[str(mt.resolve())].tags
    assert tags["seedsieve/settings"] == str((inbox / "mt.seedsieve.toml").resolve())
    shared = by_source[str(other.resolve())].run_config["ops"]["sieve_settings"]["config"]
    assert shared == {"generator": "xorshift32"}


def test_changed_settings_run_the_file_again(instance, inbox: Path) -> None:
    f = inbox / "mt.txt"
    f.write_text("1\n2\n3\n")
    settings = inbox / "mt.seedsieve.toml"
    settings.write_text(MT_SETTINGS)
    _age(settings)
    _age(f)
    first = _tick(instance, None)
    assert len(first.run_requests) == 1
    assert _tick(instance, first.cursor).run_requests == []
    settings.write_text(MT_SETTINGS.replace("window = 8", "window = 9"))
    _age(settings)
    again = _tick(instance, first.cursor)
    assert len(again.run_requests) == 1
    assert again.run_requests[0].run_key != first.run_requests[0].run_key
    assert again.run_requests[0].run_config["ops"]["sieve_settings"]["config"]["window"] == 9


def test_settings_still_being_written_hold_the_file_back(instance, inbox: Path) -> None:
    f = inbox / "mt.txt"
    f.write_text("1\n2\n3\n")
    _age(f)
    settings = inbox / "mt.seedsieve.toml"
    settings.write_text("[history]\n")  # the [sieve] half is still to come
    held = _tick(instance, None)
    assert held.run_requests == []
    assert "mt.txt: its settings mt.seedsieve.toml modified" in held.skip_message
    settings.write_text(MT_SETTINGS)
    _age(settings)
    (request,) = _tick(instance, held.cursor).run_requests
    assert request.run_config["ops"]["sieve_settings"]["config"]["generator"] == "mt19937"


def test_refused_settings_skip_the_file_until_mended(instance, inbox: Path) -> None:
    f = inbox / "mt.txt"
    f.write_text("1\n2\n3\n")
    settings = inbox / "mt.seedsieve.toml"
    settings.write_text('[sieve]\ngenerator = "mt19938"\n')
    _age(settings)
    _age(f)
    refused = _tick(instance, None)
    assert refused.run_requests == []
    assert "mt.txt: settings refused:" in refused.skip_message
    assert "[sieve] generator: unknown generator 'mt19938'" in refused.skip_message
    assert _tick(instance, refused.cursor).run_requests == []  # still refused: still skipped
    settings.write_text('[sieve]\ngenerator = "mt19937"\n')
    _age(settings)
    mended = _tick(instance, refused.cursor)
    assert len(mended.run_requests) == 1


def test_the_sensors_run_config_drives_the_assets(instance, inbox: Path, tmp_path) -> None:
    """The run config built from a settings file is accepted by Dagster and reaches the sieve."""
    values = [(i * 7919) % 1000 for i in range(60)]
    f = inbox / "mt.txt"
    f.write_text("".join(f"{v}\n" for v in values))
    (inbox / "mt.seedsieve.toml").write_text(MT_SETTINGS)
    _age(f)
    _age(inbox / "mt.seedsieve.toml")
    (request,) = _tick(instance, None).run_requests
    local = build_defs(artefact_root=str(tmp_path / "artefacts"), backend="cpu")
    instance.add_dynamic_partitions("cases", [request.partition_key])
    result = local.resolve_job_def("prepare").execute_in_process(
        run_config={**request.run_config, **QUIET}, instance=instance, tags=request.tags,
        partition_key=request.partition_key,
    )
    assert result.success
    settings = result.asset_materializations_for_node("sieve_settings")[0].metadata["settings"]
    assert (settings.value["generator"], settings.value["draw"]) == ("mt19937", "mod:1000")
    history = result.asset_materializations_for_node("draw_history")[0].metadata
    assert history["settings_sha256"].value == request.tags["seedsieve/settings_sha256"]

    recorded = json.loads(
        (tmp_path / "artefacts" / "cases" / "mt" / "draw_history" / "case_settings.json")
        .read_text())
    assert recorded["sections"] == {"predictions": {"top_k": 3}}
    assert recorded["digest"] == request.tags["seedsieve/settings_sha256"]

    # the settings edited between the sensor's tick and the run: refused, nothing recorded
    (inbox / "mt.seedsieve.toml").write_text(MT_SETTINGS.replace("top_k = 3", "top_k = 4"))
    stale = local.resolve_job_def("prepare").execute_in_process(
        run_config={**request.run_config, **QUIET}, instance=instance, tags=request.tags,
        partition_key=request.partition_key, raise_on_error=False,
    )
    assert not stale.success
    (failure,) = [e for e in stale.all_events if e.is_step_failure]
    assert "changed since the sensor read it" in failure.step_failure_data.error.message
    assert json.loads((tmp_path / "artefacts" / "cases" / "mt" / "draw_history" /
                       "case_settings.json").read_text()) == recorded
