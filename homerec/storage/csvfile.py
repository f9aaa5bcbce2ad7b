# SPDX-License-Identifier: Apache-2.0
"""Reading an import CSV: its encoding, its records and their lines, one bad line rejected alone.

- Encoding: the one given (`homerec import --encoding cp1252`), else detected. A file that
  is valid UTF-8 is UTF-8. One that is not, but holds UTF-8 multi-byte sequences, is UTF-8
  with a few broken lines: those lines are rejected one by one. One with no UTF-8 sequence
  at all is a single-byte export (Excel, an ERP): read as Windows-1252 (Latin-1 where a byte
  is undefined there). Whatever the source, pyarrow parses UTF-8.
- Quotes: a quoted value may hold newlines, so an unterminated quote would swallow every
  line up to the next quote character (often the end of the file) into one bad record. A
  record that spans several lines and holds an odd number of quote characters cannot be
  well-formed; its first line (the one that opened the quote) is rejected and the lines
  after it are read again as records of their own.
"""

import codecs
import csv
import io
import re
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from homerec.errors import InputError
from homerec.storage.rawrows import RawRows, Reject, line_bounds

BOM = codecs.BOM_UTF8
MAX_PASSES = 50
"""Re-reads for unterminated quotes (each pass fixes every one it finds; one pass is usual)."""
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
NOT_TEXT = "not valid UTF-8 text: give the file's encoding with --encoding (e.g. cp1252)"


def detect_encoding(data: bytes) -> str:
    """`utf-8`, or `cp1252` / `latin-1` for a single-byte file (see the module docstring)."""
    if data.isascii():  # the usual export, checked without decoding a copy
        return "utf-8"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if _UTF8_SEQUENCE.search(data):
        return "utf-8"
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _as_utf8(path: Path, data: bytes, encoding: str) -> tuple[bytes, list[Reject]]:
    """The file as UTF-8 bytes (BOM dropped); lines that are not text in a UTF-8 file are blanked and rejected."""
    if encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig"):
        data = data.removeprefix(BOM)
        if data.isascii():
            return data, []
        try:
            data.decode("utf-8")
            return data, []
        except UnicodeDecodeError:
            pass
        lines = data.split(b"\n")
        rejects = []
        for n, line in enumerate(lines):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                rejects.append(Reject(n + 1, NOT_TEXT, line.decode("utf-8", errors="replace").rstrip("\r")))
                lines[n] = b""
        return b"\n".join(lines), rejects
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: is not {encoding} text ({exc.reason} at byte {exc.start})") from None
    return text.removeprefix("\ufeff").encode("utf-8"), []


def _header(path: Path, data: bytes) -> list[str]:
    end = data.find(b"\n")
    first = data[: end if end >= 0 else len(data)].decode("utf-8", errors="replace")
    names = next(csv.reader(io.StringIO(first)), [])
    if not any(name.strip() for name in names):
        raise InputError(f"{path}: the file is empty (no header line)")
    if len({n.lower() for n in names}) < len(names):
        raise InputError(f"{path}: the header repeats a column name: {', '.join(names)}")
    return names


def _parse(path: Path, data: bytes, names: list[str], quoted: bool) -> tuple[pa.Table, list[pacsv.InvalidRow]]:
    """Every record as strings, and the invalid ones; only a `quoted` file can have newlines in values."""
    def once(threads: bool) -> tuple[pa.Table, list[pacsv.InvalidRow]]:
        invalid: list[pacsv.InvalidRow] = []

        def skip(row: pacsv.InvalidRow) -> str:
            invalid.append(row)
            return "skip"

        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(use_threads=threads, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=quoted, ignore_empty_lines=False,
                                             invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
        )
        return table, invalid

    try:
        table, invalid = once(threads=True)
        if any(row.number is None for row in invalid):  # numbers are only known single-threaded
            table, invalid = once(threads=False)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot be read as CSV: {exc}") from None
    invalid.sort(key=lambda row: row.number)
    return table, invalid


def _records(
    frame: pl.DataFrame, invalid: list[pacsv.InvalidRow], quoted: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per record (valid and invalid, in file order): whether it is invalid, its first line, its span.

    Only a quoted value can hold a newline: a file without quote characters (`quoted` false)
    has one line per record, and no value needs searching.
    """
    total = frame.height + len(invalid)
    is_bad = np.zeros(total, dtype=bool)
    is_bad[np.array([row.number for row in invalid], dtype=np.int64) - 2] = True
    extra = np.zeros(total, dtype=np.int64)  # a record spans 1 + (newlines inside it) lines
    if quoted and frame.width and frame.select(pl.any_horizontal(pl.all().str.contains("\n", literal=True).any())).item():
        newlines = pl.sum_horizontal(pl.all().str.count_matches("\n", literal=True))
        extra[~is_bad] = frame.select(newlines).to_series().to_numpy()
    extra[is_bad] = [row.text.count("\n") for row in invalid]
    lines = np.arange(2, total + 2) + np.concatenate([[0], np.cumsum(extra)[:-1]]).astype(np.int64)
    return is_bad, lines, extra + 1


def _unterminated(data: bytes, lines: np.ndarray, spans: np.ndarray) -> list[int]:
    """First lines of the multi-line records that hold an odd number of quote characters."""
    multi = np.flatnonzero(spans > 1)
    if not len(multi):
        return []
    starts, ends = line_bounds(data)
    return [int(lines[r]) for r in multi
            if data.count(b'"', starts[lines[r] - 1], ends[min(lines[r] + spans[r] - 2, len(ends) - 1)]) % 2]


def read_csv(path: Path, encoding: str | None = None) -> RawRows:
    """Read a CSV file as strings with the line of every record (see the module docstring).

    Raises:
        InputError: the file is empty, repeats a column name, is not text in the given
            encoding, the encoding is unknown, or pyarrow cannot read it at all.
    """
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r} (e.g. utf-8, cp1252, latin-1)") from None
    raw = path.read_bytes()
    encoding = encoding or detect_encoding(raw.removeprefix(BOM))
    data, rejected = _as_utf8(path, raw, encoding)
    names = _header(path, data)
    for _ in range(MAX_PASSES):
        quoted = b'"' in data
        table, invalid = _parse(path, data, names, quoted)
        frame = pl.from_arrow(table)
        del table  # polars holds its own copy: give Arrow's memory back before validation needs more
        pa.default_memory_pool().release_unused()
        assert isinstance(frame, pl.DataFrame)
        is_bad, lines, spans = _records(frame, invalid, quoted)
        cut = _unterminated(data, lines, spans)
        if not cut:
            break
        starts, ends = line_bounds(data)
        pieces, last = [], 0
        for line in cut:  # blank the line that opened the quote (a blank line is no record)
            text = data[starts[line - 1] : ends[line - 1]]
            rejected.append(Reject(line, "unterminated quote: the quoted value never closes on this line",
                                   text.decode("utf-8", errors="replace").rstrip("\r")))
            pieces += [data[last : starts[line - 1]]]
            last = ends[line - 1]
        data = b"".join([*pieces, data[last:]])
    malformed = [
        Reject(int(line), f"wrong number of fields: expected {r.expected_columns}, found {r.actual_columns}", r.text)
        for line, r in zip(lines[is_bad], invalid, strict=True)
    ]
    blank = frame.select(pl.all_horizontal(pl.all() == "")).to_series().to_numpy() if frame.width else None
    keep = np.ones(frame.height, dtype=bool) if blank is None else ~blank
    good_lines, good_spans = lines[~is_bad][keep], spans[~is_bad][keep]
    frame = frame if keep.all() else frame.filter(keep)
    return RawRows(path, frame, good_lines, good_spans, sorted(rejected + malformed), data, encoding)
