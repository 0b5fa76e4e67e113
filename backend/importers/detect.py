"""`--format auto`: tell the formats apart from the file name and the first record, without a full parse.

Each format has a key no other one has at the top of a record: NDS runs carry `net`/`min_test_top1`,
pycls sweep jobs `cfg`, our own exports `config`. Only the first record is decoded, so detection costs
microseconds even on a 100 MB file; a file that matches nothing gets an error asking for --format.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePath

from .records import ImportFormatError

FORMATS = ("nds", "pycls-sweep", "jsonl", "csv", "json")
_DECODER = json.JSONDecoder()
_OBJECT_OF_LISTS = re.compile(r'\{\s*"(?:[^"\\]|\\.)*"\s*:\s*\[')


def _kind_of_record(obj: object) -> str | None:
    if not isinstance(obj, dict):
        return None
    if "cfg" in obj:
        return "pycls-sweep"
    if "net" in obj or "min_test_top1" in obj:
        return "nds"
    if "config" in obj:
        return "json"
    return None


def _first_element(text: str, start: int) -> object:
    """The first element of the list that opens at text[start] (None if it does not decode)."""
    i = start + 1
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    try:
        return _DECODER.raw_decode(text, i)[0]
    except json.JSONDecodeError:
        return None


def detect(text: str, filename: str | None = None) -> str:
    suffix = PurePath(filename or "").suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    body = text.lstrip("\ufeff \t\r\n")
    kind = None
    if body.startswith("["):
        kind = _kind_of_record(_first_element(body, 0))
    elif body.startswith("{"):
        first_line = body.split("\n", 1)[0]
        try:
            head = json.loads(first_line)
        except json.JSONDecodeError:
            head = None
        if isinstance(head, dict) and _kind_of_record(head) == "json":
            kind = "jsonl"
        elif isinstance(head, dict) and isinstance(head.get("models"), list):
            kind = "json"
        elif m := _OBJECT_OF_LISTS.match(body):  # {"top": [...], "mid": [...]}: NDS reruns
            kind = _kind_of_record(_first_element(body, m.end() - 1)) or "nds"
    elif suffix not in (".json",) and body[:1].isalpha():
        kind = "csv" if "," in body.split("\n", 1)[0] else None
    if kind is None:
        raise ImportFormatError("file", f"cannot tell the format of {PurePath(filename or 'the upload').name}; "
                                f"name it (--format / the format field: {' | '.join(FORMATS)})")
    return kind
