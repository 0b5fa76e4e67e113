"""Reading JSON, JSONL and CSV text with errors that point at the record, not just at a byte offset.

Whole documents are parsed with orjson (strict JSON, about twice as fast as the stdlib on large files),
then with Python's decoder, which also accepts the bare `NaN` tokens of NDS files (not strict JSON).
Only when both fail is the text walked element by element to find which record holds the fault, so a
100 MB file costs nothing extra unless it is broken.

A large JSON list of records need not be parsed in one piece, in one process: `split_list` finds where its
elements start, and each element is parsed where it is converted (in a worker process, for a parallel
import). The element starts are found by a guess — every record of a machine-written file opens the way
the first one does, `{"net":` say — and every guess is proven by the parse itself: each element's text
must parse completely and be followed by exactly `,` (or the closing `]`), whitespace aside, so all the
pieces together are the whole document, read as the same list. Where the guess was wrong (the opening
also occurs inside a record, or the file is malformed), parsing an element raises `SplitMismatch` and the
caller parses the document whole, which reads any valid file and locates the fault of a broken one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import orjson

from .records import ImportFormatError, RecordError

_DECODER = json.JSONDecoder()
_WS = " \t\n\r"
T = TypeVar("T")


def as_text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ImportFormatError("file", f"not UTF-8 text (byte {e.start})") from None


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
            gap = json.JSONDecodeError("Expecting ',' delimiter", text, i)
            return RecordError(label, None, f"malformed JSON after this record: {_where(gap)}")
        i = _skip(text, i + 1)
        k += 1


def _object_key(text: str, i: int) -> tuple[Any, int] | None:
    """The object key whose string opens at text[i], and the position just past its colon (None: not a key)."""
    try:
        key, i = _DECODER.raw_decode(text, i)
    except json.JSONDecodeError:
        return None
    i = _skip(text, i)
    return (key, i + 1) if text[i:i + 1] == ":" else None


def _locate(text: str) -> RecordError | None:
    """The record holding the first syntax error, for a list or an object of lists ({"top": [...]})."""
    i = _skip(text, 0)
    if i < len(text) and text[i] == "[":
        return _scan_list(text, i, "")
    if i >= len(text) or text[i] != "{":
        return None
    i = _skip(text, i + 1)
    while i < len(text) and text[i] == '"':
        found = _object_key(text, i)
        if found is None:
            return None
        key, i = found
        i = _skip(text, i)
        if i < len(text) and text[i] == "[":
            bad = _scan_list(text, i, str(key))
            if bad is not None:
                return bad
        try:
            _, i = _DECODER.raw_decode(text, i)
        except json.JSONDecodeError:
            return None
        i = _skip(text, i)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
    return None


def _decode(text: str) -> Any:
    """orjson (strict JSON, fast), else Python's decoder, which also reads NaN tokens and integers beyond 64
    bits; json.JSONDecodeError when neither can."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    return json.loads(text)


def load_json(text: str) -> Any:
    """Parse a whole JSON document (NaN allowed); a syntax error names the record that holds it."""
    try:
        return _decode(text)
    except json.JSONDecodeError as e:
        located = _locate(text)
        if located is not None:
            raise located from None
        raise ImportFormatError("file", f"malformed JSON: {_where(e)}") from None
    except RecursionError:
        raise ImportFormatError("file", "JSON nested too deeply") from None


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
        return _decode(line)
    except json.JSONDecodeError as e:
        raise RecordError(label, None, f"malformed JSON on line {lineno}: {e.msg} at column {e.colno}") from None


def csv_items(text: str) -> Iterator[tuple[str, Any]]:
    """(label, row dict) per data row; a row with more cells than the header is yielded as an error."""
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\x00extra")
    if not reader.fieldnames:
        raise ImportFormatError("file", "empty CSV (no header row)")
    for k, row in enumerate(reader):
        if "\x00extra" in row:
            yield str(k), RecordError(k, None, f"CSV line {reader.line_num}: more cells than header columns")
            continue
        yield str(k), row


class SplitMismatch(Exception):
    """The element starts guessed by `split_list` are not the document's: parse it whole instead.

    Not a ValueError: it never reaches the user; the caller retries with the whole-document parse."""


def split_list(text: str) -> list[tuple[str, tuple[int, int]]] | None:
    """(label, span) per element of the JSON list `text` (labels are positions, as for a parsed list; spans
    are (start, end) character offsets), guessed from how its first element
    opens: a list of objects whose first opening `{ "key":` (with the file's own whitespace) recurs at the
    start of every element. None when the text is not a list opening with an object. The guess is checked
    element by element by `span_value`; the spans run from one start to the next, separator included."""
    i = _skip(text, 0)
    if text[i:i + 1] != "[":
        return None
    first = _skip(text, i + 1)
    key = _skip(text, first + 1)
    found = _object_key(text, key) if text[first:first + 1] == "{" and text[key:key + 1] == '"' else None
    if found is None:
        return None
    opening = text[first:found[1]]
    starts, find, at = [], text.find, first
    while at != -1:
        starts.append(at)
        at = find(opening, at + 1)
    ends = [*starts[1:], len(text)]
    return [(str(k), span) for k, span in enumerate(zip(starts, ends, strict=True))]


def span_value(text: str, span: tuple[int, int]) -> Any:
    """The element of `text` at `span` (from `split_list`): its text must parse completely (NaN allowed) and be
    followed by `,` — or, for the last one, `]` — and whitespace only; anything else is a SplitMismatch."""
    start, end = span
    piece = text[start:end].rstrip(_WS)
    if not piece.endswith("]" if end == len(text) else ","):
        raise SplitMismatch(f"no separator after the element at character {start}")
    try:
        return _decode(piece[:-1])
    except (json.JSONDecodeError, RecursionError):
        raise SplitMismatch(f"the text at character {start} is not one element") from None


def parsing_spans(text: str, convert: Callable[[Any, str, int], T]) -> Callable[[tuple[int, int], str, int], T]:
    """`convert` for items whose raw value is a span of `text`: the element is parsed first, where it converts."""
    def convert_span(span: tuple[int, int], label: str, index: int) -> T:
        return convert(span_value(text, span), label, index)

    return convert_span
