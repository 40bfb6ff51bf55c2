"""Tests for the Dagster-free draw-history reader: one test per bad input, then happy paths.

Every error test checks that the message names the file, the line or record, and the rule,
because those three are what a user needs to fix the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from gpu_executors.io import history
from gpu_executors.io.hashing import file_sha256 as sha256_file
from gpu_executors.io.history import DroppedDraw, DuplicatePolicy, HistoryError, read_history


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def _records(n: int, start: date = date(2024, 1, 1)) -> list[dict[str, object]]:
    """n chronological records in the original system's shape: midday then evening each day."""
    return [
        {
            "date": (start + timedelta(days=i // 2)).isoformat(),
            "session": "midday" if i % 2 == 0 else "evening",
            "draw": (i * 37) % 1000,
            "full_state": [i, i + 1],
        }
        for i in range(n)
    ]


def _read_error(path: Path, **kwargs: object) -> HistoryError:
    with pytest.raises(HistoryError) as info:
        read_history(path, **kwargs)
    return info.value


def _assert_error(err: HistoryError, path: Path, location: str | None, rule: str) -> None:
    """The message must carry the file, the location (when there is one) and the rule."""
    message = str(err)
    assert err.path == str(path)
    assert message.startswith(f"{path}: ")
    assert err.location == location
    if location is not None:
        assert f": {location}: " in message
    assert rule in err.rule
    assert rule in message


# --- bad inputs --------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "empty.txt", b"")
    _assert_error(_read_error(path), path, None, "file is empty")


def test_whitespace_only_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "blank.txt", " \n\t\n\r\n\n")
    _assert_error(_read_error(path), path, None, "no draws")


def test_non_integer_text_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.txt", "5\n7\n12.5\n9\n")
    _assert_error(_read_error(path), path, "line 3", "draw must be an integer, got '12.5'")


def test_non_integer_csv_cell(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.csv", "date,session,draw\n2024-01-01,midday,abc\n")
    _assert_error(_read_error(path), path, "line 2", "draw must be an integer, got 'abc'")


@pytest.mark.parametrize(
    ("draw", "shown"),
    [(12.5, "12.5"), (12.0, "12.0"), (True, "true"), (None, "null"), ("7", '"7"')],
)
def test_non_integer_json_draw(tmp_path: Path, draw: object, shown: str) -> None:
    records = _records(3)
    records[1]["draw"] = draw
    path = _write(tmp_path, "draws.json", json.dumps(records))
    _assert_error(_read_error(path), path, "record 2", f"draw must be an integer, got {shown}")


def test_negative_value(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.txt", "3\n-4\n5\n")
    _assert_error(_read_error(path, modulus=10), path, "line 2", "value -4 is outside [0, 10)")
    _assert_error(_read_error(path), path, "line 2", "value -4 is negative")


def test_value_at_or_above_modulus(tmp_path: Path) -> None:
    records = _records(10)
    records[7]["draw"] = 1000
    path = _write(tmp_path, "x.json", json.dumps(records))
    err = _read_error(path, modulus=1000)
    assert str(err) == f"{path}: record 8: value 1000 is outside [0, 1000)"


def test_value_beyond_int64_in_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.txt", "1\n2\n" + "9" * 30 + "\n")
    _assert_error(_read_error(path), path, "line 3", "is outside [0, modulus)")


def test_duplicate_date_session_csv(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "draws.csv",
        "date,session,draw\n"
        "2024-01-01,midday,1\n"
        "2024-01-01,evening,2\n"
        "2024-01-02,midday,3\n"
        "2024-01-01,Evening,4\n",
    )
    err = _read_error(path)
    _assert_error(err, path, "line 5", "duplicate (date, session) (2024-01-01, 'evening')")
    assert "first given at line 3" in str(err)


def test_duplicate_date_session_json(tmp_path: Path) -> None:
    records = _records(4)
    records[3] = {**records[1], "draw": 5}
    path = _write(tmp_path, "draws.json", json.dumps(records))
    err = _read_error(path)
    _assert_error(err, path, "record 4", "duplicate (date, session)")
    assert "first given at record 2" in str(err)


def test_unsorted_dates_are_sorted_and_flagged(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "draws.csv",
        "date,session,draw\n"
        "2024-01-02,midday,3\n"
        "2024-01-01,night,9\n"
        "2024-01-01,evening,2\n"
        "2024-01-01,midday,1\n"
        "2024-01-01,afternoon,8\n"
        "2024-01-03,midday,4\n",
    )
    result = read_history(path, holdout_fraction=0.5)
    assert result.reordered
    assert result.table["session"].to_list() == [
        "midday",
        "evening",
        "afternoon",
        "night",
        "midday",
        "midday",
    ]
    assert result.table["value"].to_list() == [1, 2, 8, 9, 3, 4]
    assert result.table["draw_index"].to_list() == list(range(6))
    assert result.table["date"].is_sorted()


def test_truncated_json(tmp_path: Path) -> None:
    text = json.dumps(_records(5), indent=2)[:-40]
    path = _write(tmp_path, "draws.json", text)
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    location = f"line {expected.value.lineno} column {expected.value.colno}"
    _assert_error(_read_error(path), path, location, "invalid JSON")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_file(tmp_path: Path, encoding: str) -> None:
    path = _write(
        tmp_path, "draws.csv", "date,session,draw\n2024-01-01,midday,5\n".encode(encoding)
    )
    _assert_error(_read_error(path), path, None, "file is UTF-16; save it as UTF-8")


def test_latin1_file(tmp_path: Path) -> None:
    content = "date,session,draw\n2024-01-01,midday,5\n2024-01-01,mañana,6\n".encode("latin-1")
    path = _write(tmp_path, "draws.csv", content)
    offset = content.index(b"\xf1")
    err = _read_error(path)
    _assert_error(err, path, "line 3", "not valid UTF-8")
    assert f"byte 0xF1 at byte offset {offset}" in err.rule


def test_csv_missing_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.csv", "day,session,number\n2024-01-01,midday,5\n")
    rule = "missing column(s) date, draw (or value); found columns: day, session, number"
    _assert_error(_read_error(path), path, "line 1", rule)


def test_csv_row_with_wrong_field_count(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.csv", "date,session,draw\n2024-01-01,midday\n")
    _assert_error(_read_error(path), path, "line 2", "expected 3 fields as in the header, got 2")


def test_json_missing_draw(tmp_path: Path) -> None:
    records = _records(4)
    del records[2]["draw"]
    path = _write(tmp_path, "draws.json", json.dumps(records))
    _assert_error(_read_error(path), path, "record 3", 'missing key "draw"')


def test_json_not_an_array(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.json", json.dumps({"draws": _records(3)}))
    _assert_error(
        _read_error(path, format="json"), path, None, "expected a JSON array of draw records"
    )


@pytest.mark.parametrize(
    ("record", "rule"),
    [
        ([1, 2], "expected an object with date, session and draw, got [1, 2]"),
        ({"session": "midday", "draw": 1}, 'missing key "date"'),
        ({"date": 20240101, "draw": 1}, "date must be a string (YYYY-MM-DD), got 20240101"),
        ({"date": "2024-02-01", "session": 2, "draw": 1}, "session must be a string, got 2"),
    ],
)
def test_json_bad_record(tmp_path: Path, record: object, rule: str) -> None:
    records: list[object] = [*_records(3), record]
    path = _write(tmp_path, "draws.json", json.dumps(records))
    _assert_error(_read_error(path), path, "record 4", rule)


def test_json_integer_beyond_python_digit_limit(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.json", '[{"date": "2024-01-01", "draw": ' + "9" * 5000 + "}]")
    _assert_error(_read_error(path), path, None, "invalid JSON")


def test_value_too_large_to_infer_modulus(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.txt", f"1\n{10**18}\n3\n")
    _assert_error(_read_error(path), path, "line 2", "too large to infer the modulus")
    assert read_history(path, modulus=2**63).modulus == 2**63


@pytest.mark.parametrize(
    ("content", "rule"),
    [("date,session,draw\n\n", "no draws"), (",,,\n", "no draws: no CSV header")],
)
def test_csv_without_draws(tmp_path: Path, content: str, rule: str) -> None:
    path = _write(tmp_path, "draws.csv", content)
    _assert_error(_read_error(path, format="csv"), path, None, rule)


def test_malformed_csv(tmp_path: Path) -> None:
    huge_field = '"' + "x" * 200_000 + '"'
    path = _write(tmp_path, "draws.csv", f"date,session,draw\n2024-01-01,{huge_field},5\n")
    _assert_error(_read_error(path), path, "line 2", "malformed CSV: field larger than field limit")


@pytest.mark.parametrize("bad", ["2024-13-01", "01/02/2024", "2024-01-02Tnoon"])
def test_bad_date(tmp_path: Path, bad: str) -> None:
    path = _write(tmp_path, "draws.csv", f"date,session,draw\n2024-01-01,midday,5\n{bad},x,6\n")
    _assert_error(_read_error(path), path, "line 3", f"date '{bad}' is not an ISO date")


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"modulus": 1}, "modulus must be in [2, 2**63]"),
        ({"holdout_fraction": 0.0}, "holdout_fraction must be strictly between 0 and 1"),
        ({"holdout_fraction": 1.0}, "holdout_fraction must be strictly between 0 and 1"),
        ({"format": "xml"}, "format must be one of auto, json, csv, text"),
        (
            {"duplicates": "drop"},
            "duplicates must be one of error, drop-identical, keep-last; got 'drop'",
        ),
        ({"sessions": ["midday", " "]}, "sessions must be non-empty session names, got ' '"),
    ],
)
def test_bad_settings(tmp_path: Path, kwargs: dict[str, object], rule: str) -> None:
    path = _write(tmp_path, "draws.txt", "1\n2\n3\n")
    _assert_error(_read_error(path, **kwargs), path, None, rule)


def test_too_few_draws_to_split(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.txt", "7\n")
    _assert_error(_read_error(path), path, None, "train and holdout each need at least one draw")


def test_error_location_survives_blocks_and_blank_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny blocks force many block boundaries; the line number must still be exact."""
    monkeypatch.setattr(history, "_BLOCK_BYTES", 16)
    lines = [str(i % 100) for i in range(200)]
    lines[50] = ""
    lines[120] = " 12 "
    lines[150] = "x"
    path = _write(tmp_path, "draws.txt", "\r\n".join(lines) + "\r\n")
    _assert_error(_read_error(path), path, "line 151", "draw must be an integer, got 'x'")


def test_history_error_pickles() -> None:
    err = HistoryError("data/x.json", "record 7", "value 1000 is outside [0, 1000)")
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.location, again.rule, str(again)) == (
        err.path,
        err.location,
        err.rule,
        str(err),
    )


# --- duplicates, sessions and record numbers ---------------------------------------------------

# Lines 2-7: (2024-01-01, evening) is repeated with the same value at line 5 and a different one
# at line 7; (2024-01-02, midday) is repeated with the same value at line 6.
_DUPLICATES_CSV = (
    "date,session,draw\n"
    "2024-01-01,midday,1\n"
    "2024-01-01,evening,2\n"
    "2024-01-02,midday,3\n"
    "2024-01-01,Evening,2\n"
    "2024-01-02,midday,3\n"
    "2024-01-02,evening,4\n"
)


def test_record_numbers_count_from_one(tmp_path: Path) -> None:
    """ "record 1" is the first record, as "line 1" is the first line."""
    records = _records(4)
    records[0]["draw"] = -1
    path = _write(tmp_path, "draws.json", json.dumps(records))
    assert str(_read_error(path)) == f"{path}: record 1: value -1 is negative"


@pytest.mark.parametrize("policy", ["drop-identical", DuplicatePolicy.DROP_IDENTICAL])
def test_drop_identical_csv(tmp_path: Path, policy: str) -> None:
    path = _write(tmp_path, "draws.csv", _DUPLICATES_CSV)
    _assert_error(_read_error(path), path, "line 5", "first given at line 3")  # default: error
    result = read_history(path, duplicates=policy, holdout_fraction=0.25)
    assert result.duplicates is DuplicatePolicy.DROP_IDENTICAL
    assert result.table["value"].to_list() == [1, 2, 3, 4]
    assert result.table["session"].to_list() == ["midday", "evening", "midday", "evening"]
    assert result.table["draw_index"].to_list() == [0, 1, 2, 3]
    assert (result.n_train, result.n_holdout) == (3, 1)
    assert not result.reordered
    assert result.dropped == (
        DroppedDraw("line 5", date(2024, 1, 1), "evening", 2, "same value as line 3"),
        DroppedDraw("line 6", date(2024, 1, 2), "midday", 3, "same value as line 4"),
    )


def test_drop_identical_json(tmp_path: Path) -> None:
    records = _records(6)
    records.insert(3, dict(records[0]))  # the same draw re-entered as the 4th record
    path = _write(tmp_path, "draws.json", json.dumps(records))
    result = read_history(path, duplicates="drop-identical", holdout_fraction=0.5)
    assert result.table["value"].to_list() == [r["draw"] for r in _records(6)]
    assert result.table["draw_index"].to_list() == list(range(6))
    assert not result.reordered
    assert result.dropped == (
        DroppedDraw("record 4", date(2024, 1, 1), "midday", 0, "same value as record 1"),
    )


def test_drop_identical_conflict_csv(tmp_path: Path) -> None:
    """A repeat with another value is not a re-entry: stop, naming both draws and values."""
    path = _write(tmp_path, "draws.csv", _DUPLICATES_CSV + "2024-01-01,evening,9\n")
    err = _read_error(path, duplicates="drop-identical")
    rule = (
        "duplicate (date, session) (2024-01-01, 'evening') with different values: "
        "2 at line 3, 9 at line 8; drop-identical drops only identical repeats "
        "(keep-last keeps the later one)"
    )
    _assert_error(err, path, "line 8", rule)
    assert err.rule == rule


def test_drop_identical_conflict_json(tmp_path: Path) -> None:
    records = _records(4)
    records[3] = {**records[1], "draw": 5}
    path = _write(tmp_path, "draws.json", json.dumps(records))
    err = _read_error(path, duplicates=DuplicatePolicy.DROP_IDENTICAL)
    _assert_error(err, path, "record 4", "with different values: 37 at record 2, 5 at record 4")


def test_keep_last_csv(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.csv", _DUPLICATES_CSV + "2024-01-01,evening,9\n")
    result = read_history(path, duplicates="keep-last", holdout_fraction=0.25)
    assert result.table["value"].to_list() == [1, 9, 3, 4]
    assert result.table["draw_index"].to_list() == [0, 1, 2, 3]
    assert result.table["date"].to_list() == [date(2024, 1, d) for d in (1, 1, 2, 2)]
    assert result.reordered  # the kept (2024-01-01, evening) is the file's last line
    assert result.dropped == (
        DroppedDraw("line 3", date(2024, 1, 1), "evening", 2, "superseded by line 8 (value 9)"),
        DroppedDraw("line 4", date(2024, 1, 2), "midday", 3, "superseded by line 6 (value 3)"),
        DroppedDraw("line 5", date(2024, 1, 1), "evening", 2, "superseded by line 8 (value 9)"),
    )


def test_keep_last_json(tmp_path: Path) -> None:
    records = [*_records(6), {**_records(2)[1], "draw": 999}]
    path = _write(tmp_path, "draws.json", json.dumps(records))
    result = read_history(path, duplicates="keep-last", holdout_fraction=0.5)
    expected = [r["draw"] for r in _records(6)]
    expected[1] = 999
    assert result.table["value"].to_list() == expected
    assert result.table["draw_index"].to_list() == list(range(6))
    assert result.dropped == (
        DroppedDraw(
            "record 2", date(2024, 1, 1), "evening", 37, "superseded by record 7 (value 999)"
        ),
    )


@pytest.mark.parametrize("policy", list(DuplicatePolicy))
def test_policies_agree_without_duplicates(tmp_path: Path, policy: DuplicatePolicy) -> None:
    records = _records(10)
    path = _write(tmp_path, "draws.json", json.dumps(records[5:] + records[:5]))
    result = read_history(path, duplicates=policy)
    assert result.table["value"].to_list() == [r["draw"] for r in records]
    assert result.reordered
    assert result.dropped == ()


def test_sessions_filter_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.json", json.dumps(_records(10)))
    result = read_history(path, sessions=[" Evening"])
    assert result.sessions == ("evening",)
    assert result.table["value"].to_list() == [r["draw"] for r in _records(10)[1::2]]
    assert result.table["session"].to_list() == ["evening"] * 5
    assert result.table["draw_index"].to_list() == list(range(5))
    assert (result.n_train, result.n_holdout) == (4, 1)
    assert read_history(path, sessions=["midday", "evening"]).table.height == 10
    assert read_history(path, sessions=[]).sessions is None  # empty keeps every session


def test_sessions_filter_runs_before_duplicate_checks(tmp_path: Path) -> None:
    """A repeated midday draw does not matter when only evening draws are used."""
    content = (
        "date,session,draw\n"
        "2024-01-01,midday,1\n"
        "2024-01-01,evening,2\n"
        "2024-01-01,midday,5\n"
        "2024-01-02,evening,4\n"
    )
    path = _write(tmp_path, "draws.csv", content)
    result = read_history(path, sessions=["evening"], holdout_fraction=0.5)
    assert result.table["value"].to_list() == [2, 4]
    assert result.dropped == ()
    _assert_error(_read_error(path, sessions=["midday"]), path, "line 4", "first given at line 2")
    # Locations stay those of the file after filtering.
    repeated = _write(tmp_path, "repeated.csv", _DUPLICATES_CSV)
    kept = read_history(
        repeated, sessions=["evening"], duplicates="drop-identical", holdout_fraction=0.5
    )
    assert kept.table["value"].to_list() == [2, 4]
    assert [d.location for d in kept.dropped] == ["line 5"]


def test_sessions_filter_unknown_session(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.json", json.dumps(_records(6)))
    rule = "session(s) 'night' not in the file; sessions present: 'midday', 'evening'"
    _assert_error(_read_error(path, sessions=["evening", "Night"]), path, None, rule)
    no_session = _write(tmp_path, "draws.csv", "date,draw\n2024-01-01,5\n2024-01-02,6\n")
    rule = (
        "session(s) 'midday' not in the file; sessions present: none (the file gives no sessions)"
    )
    _assert_error(_read_error(no_session, sessions=["midday"]), no_session, None, rule)


def test_sessions_filter_on_text_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.txt", "1\n2\n3\n")
    rule = "plain text has no sessions; a sessions filter needs JSON or CSV with a session column"
    _assert_error(_read_error(path, sessions=["midday"]), path, None, rule)
    assert read_history(path, sessions=[]).table["value"].to_list() == [1, 2, 3]


def test_sessions_filter_leaving_too_few_draws(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.json", json.dumps(_records(3)))
    rule = "1 draw(s) cannot be split with holdout_fraction=0.2"
    _assert_error(_read_error(path, sessions=["evening"]), path, None, rule)


# --- happy paths -------------------------------------------------------------------------------


def test_json_history(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.json", "\ufeff" + json.dumps(_records(10)))
    result = read_history(path, modulus=1000)
    assert result.format == "json"
    assert not result.reordered and not result.modulus_inferred
    assert result.table.schema == pl.Schema(
        {"draw_index": pl.Int64, "date": pl.Date, "session": pl.String, "value": pl.Int64}
    )
    assert result.table["value"].to_list() == [r["draw"] for r in _records(10)]
    assert result.table["session"].to_list()[:2] == ["midday", "evening"]
    assert result.table["date"][1] == date(2024, 1, 1)
    assert result.source_path == str(path)


def test_csv_history_with_value_column_bom_crlf_and_no_session(tmp_path: Path) -> None:
    content = "\ufeffDate,Value\r\n2024-01-01,5\r\n\r\n2024-01-02T20:00:00,6\r\n2024-01-03,7"
    path = _write(tmp_path, "draws.csv", content)
    result = read_history(path)
    assert result.format == "csv"
    assert result.table["value"].to_list() == [5, 6, 7]
    assert result.table["session"].to_list() == ["", "", ""]
    assert result.table["date"].to_list() == [date(2024, 1, d) for d in (1, 2, 3)]


def test_text_history(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.txt", "\n4\n 8 \n\n15\n16\n23\n42\n\n\n")
    result = read_history(path, modulus=100)
    assert result.format == "text"
    assert result.table["value"].to_list() == [4, 8, 15, 16, 23, 42]
    assert result.table["date"].null_count() == 6
    assert result.table["session"].to_list() == [""] * 6
    assert result.table.schema["session"] == pl.String


def test_long_blank_runs_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole blocks of blank lines, and more leading whitespace than the sniffer reads at once."""
    monkeypatch.setattr(history, "_BLOCK_BYTES", 16)
    text = _write(tmp_path, "draws.txt", "1\n2\n" + "\n" * 100 + "3\n4\n5\n")
    assert read_history(text).table["value"].to_list() == [1, 2, 3, 4, 5]
    padded = _write(tmp_path, "draws.json", " " * 100_000 + json.dumps(_records(5)))
    assert read_history(padded).format == "json"


def test_text_fast_and_line_paths_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of bare digits are parsed in C, others line by line; both must give the same."""
    monkeypatch.setattr(history, "_BLOCK_BYTES", 32)
    values = [(i * 7919) % 1000 for i in range(500)]
    lines = [str(v) if i % 40 else f"\t{v} " for i, v in enumerate(values)]
    path = _write(tmp_path, "draws.txt", "\n".join(lines))
    assert read_history(path).table["value"].to_list() == values


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.json", "  \n" + json.dumps(_records(4)), "json"),
        (
            "a.csv",
            "date,session,draw\n2024-01-01,midday,1\n2024-01-02,midday,2\n2024-01-03,a,3",
            "csv",
        ),
        ("a.txt", "1\n2\n3\n", "text"),
    ],
)
def test_auto_detect(tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = _write(tmp_path, name, content)
    assert read_history(path).format == expected
    assert read_history(path, format=expected).format == expected


@pytest.mark.parametrize(
    ("largest", "modulus"), [(0, 10), (5, 10), (9, 10), (10, 100), (999, 1000), (1000, 10000)]
)
def test_modulus_inference(tmp_path: Path, largest: int, modulus: int) -> None:
    path = _write(tmp_path, "draws.txt", f"0\n{largest}\n")
    result = read_history(path, holdout_fraction=0.5)
    assert result.modulus == modulus
    assert result.modulus_inferred
    assert not read_history(path, modulus=2**63, holdout_fraction=0.5).modulus_inferred


def test_sha256_matches_hashlib(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.json", json.dumps(_records(20)))
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sha256_file(path) == expected
    assert read_history(path).source_sha256 == expected
    text = _write(tmp_path, "draws.txt", "\ufeff1\n2\n3")
    assert read_history(text).source_sha256 == hashlib.sha256(text.read_bytes()).hexdigest()


def test_source_file_is_unchanged(tmp_path: Path) -> None:
    path = _write(tmp_path, "draws.csv", "date,session,draw\n2024-01-02,midday,3\n2024-01-01,x,1\n")
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    assert read_history(path, holdout_fraction=0.5).reordered
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_train_holdout_split(tmp_path: Path) -> None:
    records = _records(10)
    path = _write(tmp_path, "draws.json", json.dumps(records[5:] + records[:5]))
    result = read_history(path)
    assert (result.n_train, result.n_holdout) == (8, 2)
    draws = [r["draw"] for r in records]
    assert result.train().tolist() == draws[:8]
    assert result.holdout().tolist() == draws[8:]
    assert result.train().dtype == np.int64
    dates = result.table["date"]
    assert dates[: result.n_train].max() <= dates[result.n_train :].min()
    third = read_history(path, holdout_fraction=0.3)
    assert (third.n_train, third.n_holdout) == (7, 3)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["text", "csv"])
def test_50mb_history(tmp_path: Path, fmt: str) -> None:
    """A 50 MB history must parse correctly (timing printed, not asserted)."""
    rng = np.random.default_rng(7)
    path = tmp_path / f"big.{fmt}"
    if fmt == "text":
        values = rng.integers(0, 1000, 12_500_000)
        with path.open("w") as f:
            for chunk in np.array_split(values, 25):
                f.write("\n".join(map(str, chunk.tolist())) + "\n")
    else:
        days = 1_150_000
        values = rng.integers(0, 1000, 2 * days)
        start = date(1000, 1, 1)
        dates = pl.date_range(start, start + timedelta(days=days - 1), eager=True)
        pl.DataFrame(
            {
                "date": dates.gather(np.repeat(np.arange(days), 2)),
                "session": ["midday", "evening"] * days,
                "draw": values,
            }
        ).write_csv(path)
    started = time.perf_counter()
    result = read_history(path, modulus=1000)
    elapsed = time.perf_counter() - started
    print(f"\n{fmt}: {path.stat().st_size / 1e6:.1f} MB, {values.size:,} draws in {elapsed:.2f} s")
    assert result.format == fmt
    assert not result.reordered
    assert result.n_train + result.n_holdout == values.size
    assert np.array_equal(result.train(), values[: result.n_train])
    assert np.array_equal(result.holdout(), values[result.n_train :])
