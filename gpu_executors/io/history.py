"""Read and validate a draw history without Dagster, so the CLI, tests and assets share one reader.

A draw history is the chronological list of integer draws in ``[0, modulus)`` that the seed
search and the models learn from. It arrives as the original system's JSON, as CSV or as plain
text (one integer per line). Every bad input raises one :class:`HistoryError` naming the file,
the line or record and the rule broken, because a history that is silently "fixed" would make
every later result meaningless. The source file is only ever opened read-only.

Text and CSV are read in bounded blocks, so a history of tens of megabytes never sits in memory
as one Python string; JSON histories are small and are parsed whole.

Real histories repeat some (date, session) draws (re-entered results, later corrections), so a
:class:`DuplicatePolicy` chooses between stopping, dropping identical repeats and keeping the
last; whatever is dropped is listed in :attr:`DrawHistory.dropped`, never removed silently.
Lines and records are both counted from 1 in every message.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import BinaryIO, NamedTuple, NoReturn

import numpy as np
import polars as pl

__all__ = [
    "FORMATS",
    "DrawHistory",
    "DroppedDraw",
    "DuplicatePolicy",
    "HistoryError",
    "read_history",
]

FORMATS = ("auto", "json", "csv", "text")
_BLOCK_BYTES = 1 << 22  # text/CSV are parsed this many bytes at a time, cut at line ends
_SNIFF_BYTES = 1 << 16
_BOM = b"\xef\xbb\xbf"
_INFER_LIMIT = 10**18  # the largest inferable modulus that still fits int64
_MAX_MODULUS = 2**63  # values are stored as int64
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()  # polars Date counts days from here
_SESSION_RANK = {"midday": 0, "evening": 1}  # any other session sorts after these, alphabetically
_INT_RE = re.compile(r"[ \t]*(-?[0-9]+)[ \t]*\r?")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Bytes a text block may hold for the vectorised fast path; anything else takes the slow path,
# which finds and reports the exact line.
_FAST_TEXT_BYTES = b"0123456789\r\n"


class HistoryError(ValueError):
    """Bad input: carries path, location (e.g. 'line 12' or 'record 7'), and rule.

    The three parts are kept separately so callers (asset metadata, the CLI) can show them
    without parsing the message.
    """

    path: str
    location: str | None
    rule: str

    def __init__(self, path: str, location: str | None, rule: str) -> None:
        self.path = path
        self.location = location
        self.rule = rule
        super().__init__(f"{path}: {location}: {rule}" if location else f"{path}: {rule}")

    def __reduce__(self) -> tuple[type[HistoryError], tuple[str, str | None, str]]:
        # Errors cross process boundaries (multiprocess executors); rebuild from the parts.
        return (type(self), (self.path, self.location, self.rule))


class DuplicatePolicy(StrEnum):
    """What a repeated (date, session) does: real histories hold re-entered and corrected draws."""

    ERROR = "error"  # stop: the file needs a look before anything learns from it
    DROP_IDENTICAL = "drop-identical"  # drop repeats equal to the first; a different value stops
    KEEP_LAST = "keep-last"  # the last in file order wins (a later correction), whatever its value


@dataclass(frozen=True)
class DroppedDraw:
    """One draw left out by the duplicate policy, kept so the removal can be reported."""

    location: str  # "line 12" (CSV) or "record 7" (JSON), both counted from 1
    date: date
    session: str
    value: int
    reason: str  # e.g. "same value as line 3" or "superseded by line 9 (value 4)"


# eq=False: the generated __eq__/__hash__ would compare DataFrames, which has no truth value.
@dataclass(frozen=True, eq=False)
class DrawHistory:
    """A validated, chronological draw history plus what is needed to trust and reproduce it.

    ``modulus_inferred`` and ``reordered`` are reported rather than hidden, because both change
    how the history should be read.
    """

    table: pl.DataFrame  # draw_index (Int64), date (Date, nullable), session (Utf8), value (Int64)
    modulus: int
    modulus_inferred: bool
    source_path: str
    source_sha256: str
    format: str
    reordered: bool
    n_train: int
    n_holdout: int
    dropped: tuple[DroppedDraw, ...] = ()  # in file order; always empty under "error"
    duplicates: DuplicatePolicy = DuplicatePolicy.ERROR
    sessions: tuple[str, ...] | None = None  # the session filter as applied (normalised), if any

    def train(self) -> np.ndarray:
        """The oldest ``n_train`` values (int64, read-only): all that models may learn from."""
        return self.table["value"].to_numpy()[: self.n_train]

    def holdout(self) -> np.ndarray:
        """The newest ``n_holdout`` values (int64, read-only), kept unseen for the final test."""
        return self.table["value"].to_numpy()[self.n_train :]


class _Parsed(NamedTuple):
    """Columns as read, in file order, before sorting, duplicate checks and the split."""

    values: np.ndarray  # int64
    days: np.ndarray | None  # int32 days since 1970-01-01; None when the format has no dates
    codes: np.ndarray | None  # int32 index into names; None when the format has no sessions
    names: list[str]
    positions: np.ndarray | None  # 1-based line (CSV) or record (JSON) of each draw; None: text
    unit: str  # what positions count: "line" or "record"
    sha256: str


def read_history(
    path: str | os.PathLike[str],
    *,
    format: str = "auto",
    modulus: int | None = None,
    holdout_fraction: float = 0.2,
    duplicates: DuplicatePolicy | str = DuplicatePolicy.ERROR,
    sessions: Sequence[str] | None = None,
) -> DrawHistory:
    """Read, validate and split a draw history; raise :class:`HistoryError` on any bad input.

    ``format`` is "json", "csv", "text" or "auto" (a leading ``[`` means JSON, a first line
    with a comma or a ``date`` header means CSV, anything else is text). Without ``modulus`` it
    is inferred as the smallest power of ten above every value (at least 10) and flagged as
    inferred. Out-of-order dates are sorted (date, then midday < evening < other sessions
    alphabetically) and flagged; the last ``round(n * holdout_fraction)`` draws are the holdout.

    ``sessions`` keeps only draws of those sessions (matched lower-cased and stripped, as
    stored; None or empty keeps all) before ``duplicates`` (a :class:`DuplicatePolicy` or its
    string) treats repeated (date, session) draws and before the split, so the holdout is the
    newest of the draws actually used.
    """
    name = os.fspath(path)
    if format not in FORMATS:
        raise HistoryError(
            name, None, f"format must be one of {', '.join(FORMATS)}; got {format!r}"
        )
    if modulus is not None and not 2 <= modulus <= _MAX_MODULUS:
        raise HistoryError(
            name, None, f"modulus must be in [2, 2**63] (draws are int64), got {modulus}"
        )
    if not 0 < holdout_fraction < 1:
        raise HistoryError(
            name, None, f"holdout_fraction must be strictly between 0 and 1, got {holdout_fraction}"
        )
    try:
        policy = DuplicatePolicy(duplicates)
    except ValueError:
        choices = ", ".join(DuplicatePolicy)
        raise HistoryError(
            name, None, f"duplicates must be one of {choices}; got {duplicates!r}"
        ) from None
    wanted = _session_filter(name, sessions)
    detected = _sniff(name)
    fmt = detected if format == "auto" else format
    if fmt == "text" and wanted is not None:
        rule = (
            "plain text has no sessions; a sessions filter needs JSON or CSV with a session column"
        )
        raise HistoryError(name, None, rule)
    readers = {"json": _read_json, "csv": _read_csv, "text": _read_text}
    parsed = readers[fmt](name, modulus)
    return _assemble(name, fmt, parsed, modulus, holdout_fraction, policy, wanted)


def _session_filter(path: str, sessions: Sequence[str] | None) -> tuple[str, ...] | None:
    """Normalise the filter as sessions are stored; None when every session is kept."""
    if sessions is None:
        return None
    if isinstance(sessions, str):  # a bare name, not its characters
        sessions = [sessions]
    wanted: dict[str, None] = {}  # ordered and without repeats
    for session in sessions:
        if not isinstance(session, str) or not session.strip():
            rule = f"sessions must be non-empty session names, got {session!r}"
            raise HistoryError(path, None, rule)
        wanted[session.strip().lower()] = None
    return tuple(wanted) or None


def _sniff(path: str) -> str:
    """Reject empty and UTF-16 files up front, and guess the format from the first content."""
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
        if not head:
            raise HistoryError(path, None, "file is empty")
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
            raise HistoryError(path, None, "file is UTF-16; save it as UTF-8")
        head = head.removeprefix(_BOM).lstrip()
        while not head:
            chunk = f.read(_SNIFF_BYTES)
            if not chunk:
                raise HistoryError(path, None, "no draws: the file holds only whitespace")
            head = chunk.lstrip()
    if head.startswith(b"["):
        return "json"
    first_line = head.split(b"\n", 1)[0]
    return "csv" if b"," in first_line or b"date" in first_line.lower() else "text"


def _blocks(f: BinaryIO, hasher: hashlib._Hash) -> Iterator[tuple[bytes, int, int]]:
    """Yield (block, first line number, byte offset), each block ending with a newline.

    Hashing here means the recorded SHA-256 is of exactly the bytes that were parsed.
    """
    line, offset, carry = 1, 0, b""
    while chunk := f.read(_BLOCK_BYTES):
        hasher.update(chunk)
        if offset == 0 and not carry and chunk.startswith(_BOM):
            chunk, offset = chunk[len(_BOM) :], len(_BOM)
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        block, carry = data[:cut], data[cut:]
        if block:
            yield block, line, offset
            line += block.count(b"\n")
            offset += len(block)
    if carry:
        yield carry + b"\n", line, offset


def _decode(block: bytes, line: int, offset: int, path: str) -> str:
    """Decode UTF-8, or name the line and file byte offset of the first undecodable byte."""
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError as e:
        bad_line = line + block.count(b"\n", 0, e.start)
        rule = (
            f"not valid UTF-8: byte 0x{block[e.start]:02X} at byte offset {offset + e.start}"
            " (Latin-1 or another legacy encoding?); save the file as UTF-8"
        )
        raise HistoryError(path, f"line {bad_line}", rule) from None


def _abbrev(text: str) -> str:
    """Keep messages readable when the offending input is huge."""
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text)} characters)"


def _check_value(value: int, modulus: int | None, path: str, where: str) -> None:
    """Enforce [0, modulus); with no modulus, only what inference can handle."""
    if modulus is not None:
        if not 0 <= value < modulus:
            raise HistoryError(
                path, where, f"value {_abbrev(str(value))} is outside [0, {modulus})"
            )
    elif value < 0:
        raise HistoryError(path, where, f"value {_abbrev(str(value))} is negative")
    elif value >= _INFER_LIMIT:
        rule = f"value {_abbrev(str(value))} is too large to infer the modulus; give the modulus"
        raise HistoryError(path, where, rule)


def _parse_value(text: str, modulus: int | None, path: str, where: str) -> int:
    """Parse a decimal integer cell or line strictly (no '12.0', '1_000', '+3' or '٣')."""
    match = _INT_RE.fullmatch(text)
    if match is None:
        raise HistoryError(path, where, f"draw must be an integer, got {_abbrev(text.strip())!r}")
    token = match.group(1)
    if len(token.lstrip("-0")) > 19:  # beyond int64 whatever the modulus; spares int() huge input
        limit = modulus if modulus is not None else "modulus"
        raise HistoryError(path, where, f"value {_abbrev(token)} is outside [0, {limit})")
    value = int(token)
    _check_value(value, modulus, path, where)
    return value


def _parse_day(text: str, path: str, where: str) -> int:
    """ISO date (or the date part of an ISO datetime) as days since 1970-01-01."""
    stripped = text.strip()
    if _DATE_RE.match(stripped):
        try:
            if len(stripped) == 10:
                day = date.fromisoformat(stripped)
            else:
                day = datetime.fromisoformat(stripped).date()
        except ValueError:
            pass
        else:
            return day.toordinal() - _EPOCH_ORDINAL
    raise HistoryError(path, where, f"date {_abbrev(stripped)!r} is not an ISO date (YYYY-MM-DD)")


def _read_text(path: str, modulus: int | None) -> _Parsed:
    """One integer per line; blank lines are skipped but still counted for line numbers."""
    limit = modulus if modulus is not None else _INFER_LIMIT
    hasher = hashlib.sha256()
    parts: list[np.ndarray] = []
    with open(path, "rb") as f:
        for block, line, offset in _blocks(f, hasher):
            values = _fast_text_block(block, limit)
            if values is None:
                values = _slow_text_block(block, line, offset, path, modulus)
            parts.append(values)
    values = np.concatenate(parts)  # _sniff saw content, so there is at least one block
    return _Parsed(values, None, None, [], None, "line", hasher.hexdigest())


def _fast_text_block(block: bytes, limit: int) -> np.ndarray | None:
    """Parse a block of plain digit lines in C; None means "use the line-by-line path"."""
    if block.translate(None, _FAST_TEXT_BYTES) or block.count(b"\r") != block.count(b"\r\n"):
        return None
    if not block.strip():
        return np.empty(0, dtype=np.int64)
    try:
        values = np.loadtxt(io.BytesIO(block), dtype=np.int64, ndmin=1, comments=None)
    except ValueError:  # overflows int64; the slow path reports which line
        return None
    return values if values.max() < limit else None


def _slow_text_block(
    block: bytes, line: int, offset: int, path: str, modulus: int | None
) -> np.ndarray:
    """Parse a block line by line, raising at the first bad line with its exact location."""
    values = array("q")
    for number, text in enumerate(_decode(block, line, offset, path).split("\n")[:-1], line):
        if text.strip():
            values.append(_parse_value(text, modulus, path, f"line {number}"))
    return np.frombuffer(values, dtype=np.int64)


def _read_csv(path: str, modulus: int | None) -> _Parsed:
    """CSV with a header holding ``date`` and ``draw`` (or ``value``), ``session`` optional."""
    hasher = hashlib.sha256()
    values, days, codes, lines = array("q"), array("i"), array("i"), array("q")
    sessions: dict[str, int] = {}
    with open(path, "rb") as f:
        text_lines = (
            text
            for block, line, offset in _blocks(f, hasher)
            for text in _decode(block, line, offset, path).split("\n")[:-1]
        )
        reader = csv.reader(text_lines)
        try:
            header = next((row for row in reader if "".join(row).strip()), None)
            if header is None:  # e.g. a file of bare commas
                raise HistoryError(path, None, "no draws: no CSV header")
            columns = [cell.strip().lower() for cell in header]
            date_col, session_col, value_col = _csv_columns(columns, path, reader.line_num)
            last_date: str | None = None
            last_day = 0
            for row in reader:
                if not "".join(row).strip():  # blank line
                    continue
                where = f"line {reader.line_num}"
                if len(row) != len(columns):
                    rule = f"expected {len(columns)} fields as in the header, got {len(row)}"
                    raise HistoryError(path, where, rule)
                if row[date_col] != last_date:  # draws share dates; parse each date once
                    last_date, last_day = row[date_col], _parse_day(row[date_col], path, where)
                session = row[session_col].strip().lower() if session_col is not None else ""
                values.append(_parse_value(row[value_col], modulus, path, where))
                days.append(last_day)
                codes.append(sessions.setdefault(session, len(sessions)))
                lines.append(reader.line_num)
        except csv.Error as e:
            raise HistoryError(path, f"line {reader.line_num}", f"malformed CSV: {e}") from None
    return _Parsed(
        np.frombuffer(values, dtype=np.int64),
        np.frombuffer(days, dtype=np.int32),
        np.frombuffer(codes, dtype=np.int32),
        list(sessions),
        np.frombuffer(lines, dtype=np.int64),
        "line",
        hasher.hexdigest(),
    )


def _csv_columns(columns: list[str], path: str, line: int) -> tuple[int, int | None, int]:
    """Indices of the date, session (optional) and draw/value columns of a CSV header."""
    value_name = "draw" if "draw" in columns else "value"
    missing = [] if "date" in columns else ["date"]
    if value_name not in columns:
        missing.append("draw (or value)")
    if missing:
        rule = f"missing column(s) {', '.join(missing)}; found columns: {', '.join(columns)}"
        raise HistoryError(path, f"line {line}", rule)
    session = columns.index("session") if "session" in columns else None
    return columns.index("date"), session, columns.index(value_name)


def _read_json(path: str, modulus: int | None) -> _Parsed:
    """The original system's JSON array of {date, session, draw} records, oldest first.

    JSON histories are small (one record per draw, a few per day), so the file is parsed whole.
    """
    with open(path, "rb") as f:
        data = f.read()
    sha = hashlib.sha256(data).hexdigest()
    offset = len(_BOM) if data.startswith(_BOM) else 0
    text = _decode(data[offset:], 1, offset, path)
    try:
        records = json.loads(text)
    except json.JSONDecodeError as e:
        raise HistoryError(
            path, f"line {e.lineno} column {e.colno}", f"invalid JSON: {e.msg}"
        ) from None
    except ValueError as e:  # integers beyond Python's digit limit
        raise HistoryError(path, None, f"invalid JSON: {e}") from None
    if not isinstance(records, list):
        raise HistoryError(path, None, "expected a JSON array of draw records")
    values, days, codes = [], [], []
    sessions: dict[str, int] = {}
    for number, record in enumerate(records, 1):  # "record 1" is the first, as lines are
        where = f"record {number}"
        if not isinstance(record, dict):
            shown = _abbrev(json.dumps(record))
            rule = f"expected an object with date, session and draw, got {shown}"
            raise HistoryError(path, where, rule)
        for key in ("draw", "date"):
            if key not in record:
                raise HistoryError(path, where, f'missing key "{key}"')
        draw, day, session = record["draw"], record["date"], record.get("session", "")
        if type(draw) is not int:  # rejects true, 12.0, "7" and null
            raise HistoryError(
                path, where, f"draw must be an integer, got {_abbrev(json.dumps(draw))}"
            )
        _check_value(draw, modulus, path, where)
        if not isinstance(day, str):
            raise HistoryError(
                path, where, f"date must be a string (YYYY-MM-DD), got {_abbrev(json.dumps(day))}"
            )
        if not isinstance(session, str):
            raise HistoryError(
                path, where, f"session must be a string, got {_abbrev(json.dumps(session))}"
            )
        values.append(draw)
        days.append(_parse_day(day, path, where))
        codes.append(sessions.setdefault(session.strip().lower(), len(sessions)))
    return _Parsed(
        np.array(values, dtype=np.int64),
        np.array(days, dtype=np.int32),
        np.array(codes, dtype=np.int32),
        list(sessions),
        np.arange(1, len(values) + 1, dtype=np.int64),
        "record",
        sha,
    )


def _assemble(
    path: str,
    fmt: str,
    parsed: _Parsed,
    modulus: int | None,
    holdout_fraction: float,
    policy: DuplicatePolicy,
    wanted: tuple[str, ...] | None,
) -> DrawHistory:
    """Filter sessions, apply the duplicate policy, sort, infer the modulus and split."""
    values, days, codes, positions = parsed.values, parsed.days, parsed.codes, parsed.positions
    if values.size == 0:
        raise HistoryError(path, None, "no draws")
    reordered = False
    dropped: tuple[DroppedDraw, ...] = ()
    if days is not None and codes is not None and positions is not None:
        if wanted is not None:
            keep = _session_mask(path, codes, parsed.names, wanted)
            if not keep.all():
                values, days, codes = values[keep], days[keep], codes[keep]
                positions = positions[keep]
        located = _Located(values, days, codes, parsed.names, positions, parsed.unit)
        order, reordered, dropped = _chronological_order(path, located, policy)
        if reordered or dropped:
            values, days, codes = values[order], days[order], codes[order]
    n = values.size
    n_holdout = round(n * holdout_fraction)
    n_train = n - n_holdout
    if n_train < 1 or n_holdout < 1:
        rule = (
            f"{n} draw(s) cannot be split with holdout_fraction={holdout_fraction}: "
            "train and holdout each need at least one draw"
        )
        raise HistoryError(path, None, rule)
    modulus_inferred = modulus is None
    if modulus is None:
        modulus, largest = 10, int(values.max())
        while modulus <= largest:
            modulus *= 10
    date_col: pl.Series | pl.Expr
    session_col: pl.Series | pl.Expr
    if days is None or codes is None:
        # Constant columns stay unmaterialised: a 12M-line text file would otherwise spend
        # 200 MB on empty session strings.
        date_col, session_col = pl.lit(None, dtype=pl.Date), pl.lit("", dtype=pl.String)
    else:
        date_col = pl.Series(days).cast(pl.Date)
        session_col = pl.Series(parsed.names, dtype=pl.String).gather(codes)
    table = (
        pl.DataFrame(
            {
                "draw_index": pl.int_range(0, n, dtype=pl.Int64, eager=True),
                "value": pl.Series(values, dtype=pl.Int64),  # zero-copy from numpy
            }
        )
        .with_columns(date=date_col, session=session_col)
        .select("draw_index", "date", "session", "value")
    )
    return DrawHistory(
        table=table,
        modulus=modulus,
        modulus_inferred=modulus_inferred,
        source_path=path,
        source_sha256=parsed.sha256,
        format=fmt,
        reordered=reordered,
        n_train=n_train,
        n_holdout=n_holdout,
        dropped=dropped,
        duplicates=policy,
        sessions=wanted,
    )


class _Located(NamedTuple):
    """Draws in file order (after any session filter) with where each came from."""

    values: np.ndarray
    days: np.ndarray
    codes: np.ndarray
    names: list[str]
    positions: np.ndarray
    unit: str

    def where(self, i: int) -> str:
        return f"{self.unit} {self.positions[i]}"

    def day(self, i: int) -> date:
        return date.fromordinal(int(self.days[i]) + _EPOCH_ORDINAL)


def _ranked(names: list[str]) -> list[str]:
    """Sessions in chronological order within a day: midday, evening, then alphabetical."""
    return sorted(names, key=lambda s: (_SESSION_RANK.get(s, len(_SESSION_RANK)), s))


def _session_mask(
    path: str, codes: np.ndarray, names: list[str], wanted: tuple[str, ...]
) -> np.ndarray:
    """Which draws the filter keeps; a name absent from the file is a typo, so it stops."""
    unknown = [s for s in wanted if s not in names]
    if unknown:
        present = [s for s in _ranked(names) if s]
        shown = ", ".join(map(repr, present)) if present else "none (the file gives no sessions)"
        rule = (
            f"session(s) {', '.join(map(repr, unknown))} not in the file; sessions present: {shown}"
        )
        raise HistoryError(path, None, rule)
    return np.isin(codes, [names.index(s) for s in wanted])


def _chronological_order(
    path: str, draws: _Located, policy: DuplicatePolicy
) -> tuple[np.ndarray, bool, tuple[DroppedDraw, ...]]:
    """Stable order by (date, session rank) of the draws to keep, under the duplicate policy.

    Returns the file indices to keep in chronological order, whether that differs from file
    order, and the dropped draws in file order. Everything but the report is vectorised.
    """
    names = draws.names
    rank = {session: i for i, session in enumerate(_ranked(names))}
    rank_of_code = np.array([rank[s] for s in names], dtype=np.int64)
    key = draws.days.astype(np.int64) * len(names) + rank_of_code[draws.codes]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    repeat = sorted_key[1:] == sorted_key[:-1]  # sorted position i + 1 repeats position i
    if not repeat.any():
        return order, bool((key[1:] < key[:-1]).any()), ()
    # The sort is stable, so each (date, session) group lists its draws in file order.
    is_start = np.concatenate(([True], ~repeat))
    starts = np.flatnonzero(is_start)
    group = np.cumsum(is_start) - 1
    first = order[starts][group]  # file index of the first draw of each sorted draw's group
    if policy is DuplicatePolicy.KEEP_LAST:
        ends = np.append(starts[1:], order.size) - 1
        kept_by = order[ends][group]  # the group's last draw in the file
        drop = kept_by != order
    else:
        kept_by = first
        drop = ~is_start
        conflict = drop
        if policy is DuplicatePolicy.DROP_IDENTICAL:
            conflict = drop & (draws.values[order] != draws.values[first])
        if conflict.any():
            pick = int(np.argmin(order[conflict]))  # report the earliest conflict in the file
            _raise_duplicate(
                path, draws, policy, int(first[conflict][pick]), int(order[conflict][pick])
            )
    kept = order[~drop]
    gone, by = order[drop], kept_by[drop]
    in_file_order = np.argsort(gone, kind="stable")
    report = []
    for i, j in zip(gone[in_file_order].tolist(), by[in_file_order].tolist(), strict=True):
        if policy is DuplicatePolicy.KEEP_LAST:
            reason = f"superseded by {draws.where(j)} (value {draws.values[j]})"
        else:
            reason = f"same value as {draws.where(j)}"
        session = names[draws.codes[i]]
        report.append(
            DroppedDraw(draws.where(i), draws.day(i), session, int(draws.values[i]), reason)
        )
    return kept, bool((np.diff(kept) < 0).any()), tuple(report)


def _raise_duplicate(
    path: str, draws: _Located, policy: DuplicatePolicy, first: int, second: int
) -> NoReturn:
    """Stop at a repeated (date, session) the policy does not resolve, naming both draws."""
    key = f"({draws.day(second)}, {draws.names[draws.codes[second]]!r})"
    if policy is DuplicatePolicy.ERROR:
        rule = f"duplicate (date, session) {key}; first given at {draws.where(first)}"
    else:
        rule = (
            f"duplicate (date, session) {key} with different values: "
            f"{draws.values[first]} at {draws.where(first)}, "
            f"{draws.values[second]} at {draws.where(second)}; "
            "drop-identical drops only identical repeats (keep-last keeps the later one)"
        )
    raise HistoryError(path, draws.where(second), rule)
