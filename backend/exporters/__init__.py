"""Export formats: one module per format a study's models can be downloaded in, each defining `FORMAT`.

An entry owns its name (what `?format=` and `netspace export --format` take), label and help (GET /api/formats,
the dashboard's export buttons, the CLI's help), media type and file extension, which rows it reads (`reads`:
"records", every stored field of a model with its per-epoch curves, as dicts; or "flat", the CSV columns of
backend.designspace.exports straight off the database cursor, in batches of columns) and its writer: rows in, pieces of
the file (str or bytes) out, lazily, so a 100,000-model export streams. services/export.py reads the rows
(filtered, sorted) and streams what the writer gives; nothing there names a format.

Writers are pure (no database, no web): whatever they need of the study comes in `study` (its row).
Adding a format is one module here (plus its round-trip test with an import format, where one reads it back);
see DEVELOPERS.md, "Extension axes".
"""

from __future__ import annotations

import json as jsonlib  # not `json`: the package's json.py entry takes that attribute name
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, ClassVar, Literal

from backend.registry import Registry

#: bytes per block read back from a spooled file
CHUNK = 1 << 16
#: a spooled file stays in memory up to this size, then moves to disk
SPOOL_BYTES = 32 << 20


class ExportFormat:
    """A download format (see the module doc); subclass it in one module of this package as `FORMAT`."""

    name: ClassVar[str]
    label: ClassVar[str]
    help: ClassVar[str]
    order: ClassVar[int] = 50
    media_type: ClassVar[str]
    extension: ClassVar[str]
    reads: ClassVar[Literal["records", "flat"]] = "records"
    #: not text: the CLI will not write it to a terminal
    binary: ClassVar[bool] = False

    #: the format writes only some models (leave_out says which and why): the export counts them first
    selective: ClassVar[bool] = False

    def write(self, rows: Iterable[Any], study: Mapping[str, Any]) -> Iterable[str | bytes]:
        """The file's pieces, from `rows` (dicts for "records"; for "flat", batches: lists of
        columns in csv_columns() order)."""
        raise NotImplementedError

    def leave_out(self, record: Mapping[str, Any]) -> str | None:
        """Why this format cannot write the model (`record` has at least arch_type and config), or None."""
        return None

    def describe(self) -> dict[str, Any]:
        """What GET /api/formats tells the dashboard."""
        return {"name": self.name, "label": self.label, "help": self.help, "media_type": self.media_type,
                "extension": self.extension, "binary": self.binary}


def json_array(items: Iterable[Any]) -> Iterator[str]:
    """A JSON array written item by item."""
    yield "["
    sep = ""
    for r in items:
        yield sep + jsonlib.dumps(r, separators=(",", ":"))
        sep = ","
    yield "]\n"


def spooled(write: Callable[[IO[bytes]], None]) -> Iterator[bytes]:
    """What `write` puts into a spooled file (memory, then disk), read back in blocks: for containers (zip,
    Parquet) that are only complete at their end."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as f:
        write(f)
        f.seek(0)
        while block := f.read(CHUNK):
            yield block


EXPORT_FORMATS: Registry[ExportFormat] = Registry(__name__, "FORMAT", "export format", "format")


def export_format_names() -> tuple[str, ...]:
    """Every export format's name, without importing the entries (for the API's Literal)."""
    return EXPORT_FORMATS.names()


def summary_text(study: Mapping[str, Any], label: str, written: int, left_out: Mapping[str, int]) -> str:
    """What an export wrote and what it left out, by reason (the summary file a selective format adds)."""
    lines = [f"netspace export of study {study.get('name')!r} as {label}", f"written: {written} models"]
    lines.append(f"left out: {sum(left_out.values())} models" + (":" if left_out else ""))
    lines += [f"  {n} x {reason}" for reason, n in sorted(left_out.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines) + "\n"
