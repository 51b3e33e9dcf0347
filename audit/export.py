"""CSV and JSON Lines renderings of audit rows, produced line by line for streaming responses."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from audit.chain import format_time

COLUMNS = ["seq", "at", "actor", "event", "action_id", "data", "prev_hash", "hash"]
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Make a text cell inert in spreadsheets: a leading quote shows it as the text it is."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _at(value: datetime) -> str:
    return format_time(value)


def csv_lines(rows: Iterable[tuple]) -> Iterator[str]:
    """The header, then one CSV record per row (RFC 4180 quoting, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for index, (seq, at, actor, event, action_id, data, prev_hash, digest) in enumerate(rows):
        writer.writerow(
            [
                seq,
                _at(at),
                neutralise(actor),
                neutralise(event),
                action_id or "",
                neutralise(data),
                prev_hash,
                digest,
            ]
        )
        if index % 500 == 0:  # hand out text in pieces of a few hundred rows, not per row
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def jsonl_lines(rows: Iterable[tuple]) -> Iterator[str]:
    """One JSON object per line, `data` embedded as the stored canonical JSON."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    out: list[str] = []
    for seq, at, actor, event, action_id, data, prev_hash, digest in rows:
        action = f'"{action_id}"' if action_id else "null"
        out.append(
            f'{{"seq":{seq},"at":"{_at(at)}","actor":{encode(actor)},"event":{encode(event)},'
            f'"action_id":{action},"data":{data},"prev_hash":"{prev_hash}","hash":"{digest}"}}\n'
        )
        if len(out) == 500:
            yield "".join(out)
            out = []
    yield "".join(out)
