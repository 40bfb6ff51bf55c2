"""The inbox sensor: new file, same file again, changed file, half-written and unreadable files."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import dagster as dg
import pytest

from prng_assets.definitions import defs
from prng_assets.sensors import INBOX_ENV, draw_file_sensor


def _tick(instance, cursor: str | None):
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return draw_file_sensor.evaluate_tick(ctx)


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
    assert req.run_key.startswith("draws:")

    again = _tick(instance, first.cursor)  # same bytes: nothing to do
    assert again.run_requests == []
    assert again.skip_message

    f.write_text("1\n2\n3\n4\n")  # changed file: runs again, with a new key
    _age(f)
    changed = _tick(instance, again.cursor)
    assert len(changed.run_requests) == 1
    assert changed.run_requests[0].run_key != req.run_key
    assert json.loads(changed.cursor)[str(f.resolve())] in changed.run_requests[0].run_key


def test_same_bytes_under_a_new_name_share_the_run_key(instance, inbox: Path) -> None:
    a, b = inbox / "a.txt", inbox / "b.txt"
    a.write_text("7\n8\n")
    b.write_text("7\n8\n")
    _age(a)
    _age(b)
    result = _tick(instance, None)
    keys = {r.run_key for r in result.run_requests}
    assert len(keys) == 1  # Dagster skips the duplicate run key: the same bytes never run twice


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
