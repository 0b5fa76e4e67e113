"""Reading JSON, JSONL and CSV text with errors that point at the record, not just at a byte offset.

Whole documents are parsed with orjson (strict JSON, about twice as fast as the stdlib on large files),
then with Python's decoder, which also accepts the bare `NaN` tokens of NDS files (not strict JSON).
Only when both fail is the text walked element by element to find which record holds the fault, so a
100 MB file costs nothing extra unless it is broken.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import orjson

from .records import ImportFormatError, RecordError

_DECODER = json.JSONDecoder()
_WS = " \t\n\r"


def as_text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ImportFormatError(f"file: not UTF-8 text (byte {e.start})") from None


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _where(e: json.JSONDecodeError) -> str:
    return f"{e.msg} at line {e.lineno} column {e.colno}"


def _scan_list(text: str, i: int, prefix: str) -> RecordError | None:
    """Walk the list starting at text[i] == '['; return the error of the first element that fails."""
    i = _skip(text, i + 1)
    k = 0
    if i < len(text) and text[i] == "]":
        return None
    while True:
        label = f"{prefix}[{k}]" if prefix else str(k)
        try:
            _, i = _DECODER.raw_decode(text, i)
        except json.JSONDecodeError as e:
            return RecordError(label, None, f"malformed JSON: {_where(e)}")
        i = _skip(text, i)
        if i < len(text) and text[i] == "]":
            return None
        if i >= len(text) or text[i] != ",":
            e = json.JSONDecodeError("Expecting ',' delimiter", text, i)
            return RecordError(label, None, f"malformed JSON after this record: {_where(e)}")
        i = _skip(text, i + 1)
        k += 1


def _locate(text: str) -> RecordError | None:
    """The record holding the first syntax error, for a list or an object of lists ({"top": [...]})."""
    i = _skip(text, 0)
    if i < len(text) and text[i] == "[":
        return _scan_list(text, i, "")
    if i >= len(text) or text[i] != "{":
        return None
    i = _skip(text, i + 1)
    while i < len(text) and text[i] == '"':
        try:
            key, i = _DECODER.raw_decode(text, i)
        except json.JSONDecodeError:
            return None
        i = _skip(text, i)
        if i >= len(text) or text[i] != ":":
            return None
        i = _skip(text, i + 1)
        if i < len(text) and text[i] == "[":
            found = _scan_list(text, i, str(key))
            if found is not None:
                return found
        try:
            _, i = _DECODER.raw_decode(text, i)
        except json.JSONDecodeError:
            return None
        i = _skip(text, i)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
    return None


def load_json(text: str) -> Any:
    """Parse a whole JSON document (NaN allowed); a syntax error names the record that holds it."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass  # NaN tokens, integers beyond 64 bits, or a real syntax error: the stdlib decides
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        located = _locate(text)
        if located is not None:
            raise located from None
        raise ImportFormatError(f"file: malformed JSON: {_where(e)}") from None
    except RecursionError:
        raise ImportFormatError("file: JSON nested too deeply") from None


def jsonl_lines(text: str) -> list[tuple[str, tuple[int, str]]]:
    """(label, (line number, line)) per non-blank line. Lines are decoded by `jsonl_object` where the record
    is converted (in a worker process for a large parallel import), not here."""
    out: list[tuple[str, tuple[int, str]]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            out.append((str(len(out)), (lineno, line)))
    return out


def jsonl_object(label: str, raw: tuple[int, str]) -> Any:
    """The object on one JSONL line (NaN allowed); a line that does not parse is the record's error."""
    lineno, line = raw
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(line)
    except json.JSONDecodeError as e:
        raise RecordError(label, None, f"malformed JSON on line {lineno}: {e.msg} at column {e.colno}") from None


def csv_items(text: str) -> Iterator[tuple[str, Any]]:
    """(label, row dict) per data row; a row with more cells than the header is yielded as an error."""
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\x00extra")
    if not reader.fieldnames:
        raise ImportFormatError("file: empty CSV (no header row)")
    for k, row in enumerate(reader):
        if "\x00extra" in row:
            yield str(k), RecordError(k, None, f"CSV line {reader.line_num}: more cells than header columns")
            continue
        yield str(k), row
