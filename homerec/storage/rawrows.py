# SPDX-License-Identifier: Apache-2.0
"""An import file read as string columns with the line of every row, and the rows it rejected."""

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl


class Reject(NamedTuple):
    """A row that was not imported: where it is, why, and its text."""

    line: int
    reason: str
    raw: str


@dataclass(frozen=True)
class RawRows:
    """An import file read as string columns.

    Attributes:
        path: the file.
        frame: one String column per header name as spelled in the file; blank lines removed.
        lines: line of each row of `frame`: the physical CSV line (header = 1), or the
            Parquet row number (first row = 1).
        spans: physical lines each row covers (more than 1 when a quoted value has newlines).
        malformed: rows rejected while reading (wrong number of fields, an unterminated
            quote, bytes that are not text in the file's encoding).
        text: the CSV file as UTF-8 (transcoded from `encoding`), to quote rejected rows;
            None for Parquet.
        encoding: the encoding the CSV file was read in (given, or detected).
    """

    path: Path
    frame: pl.DataFrame
    lines: np.ndarray
    spans: np.ndarray
    malformed: list[Reject]
    text: bytes | None = None
    encoding: str | None = None

    @property
    def count(self) -> int:
        """Data rows read, well-formed or not."""
        return self.frame.height + len(self.malformed)

    def raw(self, positions: np.ndarray) -> list[str]:
        """The text of the rows at `positions` of `frame`: the file's own lines for CSV."""
        if self.text is None:
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(self.frame[positions].rows())
            return out.getvalue().splitlines()
        starts, ends = line_bounds(self.text)
        texts = []
        for line, span in zip(self.lines[positions], self.spans[positions], strict=True):
            chunk = self.text[starts[line - 1] : ends[line + span - 2]]
            texts.append(chunk.decode("utf-8", errors="replace").replace("\r\n", "\n").rstrip("\r"))
        return texts


def line_bounds(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end byte offsets of every physical line of `data` (ends exclude the newline)."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    ends = np.append(ends, len(data))
    return np.concatenate([[0], ends[:-1] + 1]), ends
