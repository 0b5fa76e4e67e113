"""Import formats: one module per format a population file may come in, each defining `FORMAT`.

An entry owns everything about its format: its name (what `--format` and the API's `format` field take; the
module pycls_sweep.py is the format "pycls-sweep"), label and help text (the API's GET /api/formats, the CLI's
help), the file suffixes that name it, how it is recognised from the file's first bytes (`detect`, for
`--format auto`), whether it is text or binary, whether a large file may be split element by element
(`splittable`), and `plan`, which reads the file as far as finding its records (backend.importers.Plan).

Detection reads the file once into a `Sniff` (the suffix, the first bytes, the text's opening and its first
record, decoded) and asks the entries in `detect_order`: the first one whose suffix matches, else the first
whose `detect` says yes. Only the first record is decoded, so detection costs microseconds on a 100 MB file.

Adding a format is one module here (plus its test); see DEVELOPERS.md, "Extension axes".
"""

from __future__ import annotations

import json as jsonlib  # not `json`: the package's json.py entry takes that attribute name
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import ClassVar, Literal

from backend.registry import Registry

from ..records import ImportFormatError, Plan

_DECODER = jsonlib.JSONDecoder()
_OBJECT_OF_LISTS = re.compile(r'\{\s*"(?:[^"\\]|\\.)*"\s*:\s*\[')
#: how much of a text file detection looks at beyond its first record
_HEAD_CHARS = 1 << 16

Opening = Literal["list", "object", "text", "binary", "empty"]


def has(obj: object, *keys: str) -> bool:
    """Whether `obj` is a JSON object with any of `keys`."""
    return isinstance(obj, dict) and any(k in obj for k in keys)


@dataclass(frozen=True)
class Sniff:
    """What detection knows of a file: its name's suffix, its first bytes, how its text opens (a JSON list, an
    object, other text; or binary, or empty) and, decoded where they decode: the list's first element (`first`),
    the first line as an object (`head`: a JSON-lines record, or a whole one-line document), and for an object
    whose first value is a list (`{"top": [...], ...}`, NDS reruns) that list's first element (`lists_first`)."""

    suffix: str
    magic: bytes
    opening: Opening
    first_line: str = ""
    first: object = None
    head: object = None
    object_of_lists: bool = False
    lists_first: object = None


def _first_element(text: str, start: int) -> object:
    """The first element of the list that opens at text[start] (None if it does not decode)."""
    i = start + 1
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    try:
        return _DECODER.raw_decode(text, i)[0]
    except jsonlib.JSONDecodeError:
        return None


def sniff(data: bytes | str, filename: str | None = None) -> Sniff:
    """Look at a file's name and opening (see Sniff)."""
    suffix = PurePath(filename or "").suffix.lower()
    magic = (data[:4].encode() if isinstance(data, str) else data[:4])
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return Sniff(suffix, magic, "binary")
    body = text.lstrip("\ufeff \t\r\n")
    if not body:
        return Sniff(suffix, magic, "empty")
    first_line = body.split("\n", 1)[0]
    if body.startswith("["):
        return Sniff(suffix, magic, "list", first_line, first=_first_element(body, 0))
    if body.startswith("{"):
        try:
            head = jsonlib.loads(first_line)
        except jsonlib.JSONDecodeError:
            head = None
        m = _OBJECT_OF_LISTS.match(body[:_HEAD_CHARS])
        return Sniff(suffix, magic, "object", first_line, head=head if isinstance(head, dict) else None,
                     object_of_lists=m is not None, lists_first=_first_element(body, m.end() - 1) if m else None)
    return Sniff(suffix, magic, "text", first_line)


class ImportFormat:
    """A format population files come in (see the module doc); subclass it in one module here as `FORMAT`."""

    name: ClassVar[str]
    label: ClassVar[str]
    help: ClassVar[str]
    order: ClassVar[int] = 50
    #: detection asks entries in this order (lower first); the display order is `order`
    detect_order: ClassVar[int] = 50
    #: file suffixes that name this format whatever the content says
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: the plan reads bytes (parquet) rather than UTF-8 text
    binary: ClassVar[bool] = False
    #: records are the elements of one JSON list, which `plan(..., split=True)` parses element by element
    splittable: ClassVar[bool] = False

    def detect(self, s: Sniff) -> bool:
        """Whether a file that opens as `s` is in this format (suffixes are checked before this)."""
        return False

    def plan(self, data: str | bytes, filename: str | None, *, split: bool = False) -> Plan:
        """Read the file as far as finding its records: text for text formats, bytes for binary ones."""
        raise NotImplementedError

    def describe(self) -> dict[str, object]:
        """What GET /api/formats tells clients."""
        return {"name": self.name, "label": self.label, "help": self.help, "suffixes": list(self.suffixes),
                "binary": self.binary}


IMPORT_FORMATS: Registry[ImportFormat] = Registry(__name__, "FORMAT", "import format", "format", dashes=True)


def detect(data: bytes | str, filename: str | None = None) -> str:
    """The format of a file (`--format auto`): by suffix, else by its opening; ImportFormatError if none fits."""
    s = sniff(data, filename)
    ordered = sorted(IMPORT_FORMATS, key=lambda f: (f.detect_order, f.name))
    for f in ordered:
        if s.suffix and s.suffix in f.suffixes:
            return f.name
    for f in ordered:
        if f.detect(s):
            return f.name
    raise ImportFormatError("file", f"cannot tell the format of {PurePath(filename or 'the upload').name}; "
                            f"name it (--format / the format field: {' | '.join(IMPORT_FORMATS.entries())})")
