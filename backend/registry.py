"""One registry per extension axis: a package whose every public module is one entry.

netspace is extended along a few axes (space families, figure kinds, datasets, import and export formats).
Each axis is a package; each entry is one module in it that defines the axis's entry object under an agreed
name (`FAMILY`, `FIGURE`, `DATASET`, `FORMAT`). Adding an entry is adding that one module: nothing else
lists the entries, because every list, pydantic `Literal`, CLI help text and API description is derived from
the registry. Modules whose name starts with `_` are helpers, not entries.

Names come from the module names (with `dashes`, a module's `_` is a `-` in the name: pycls_sweep.py is the
import format "pycls-sweep"), so they are known *without importing the entries* (`names()`): a schema
can build its `Literal` while the entries themselves still import that schema. The entries are imported on
first use (`get`, `entries`) and must carry `name` equal to their module's name.

Pure Python (importlib/pkgutil only), so the pure layers may use it.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar


class Entry(Protocol):
    """What every registry entry has: its name (= its module's name) and a display order."""

    @property
    def name(self) -> str: ...

    @property
    def order(self) -> int: ...


E = TypeVar("E", bound=Entry)


class UnknownEntry(KeyError, ValueError):
    """A name that is not an entry of the registry; the message names the field and the allowed names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Registry(Generic[E]):
    """The entries of one extension axis (see the module doc)."""

    def __init__(self, package: str, attr: str, kind: str, field: str, *, dashes: bool = False) -> None:
        self.package = package  # dotted name of the package holding one module per entry
        self.attr = attr  # the module attribute that is the entry
        self.kind = kind  # what an entry is, for messages ("space family")
        self.field = field  # the field users name an entry by, for messages ("family")
        self.dashes = dashes  # entry names spell a module name's "_" as "-"
        self._names: tuple[str, ...] | None = None
        self._entries: dict[str, E] | None = None
        self._lock = threading.Lock()

    def names(self) -> tuple[str, ...]:
        """Every entry's name, sorted, without importing the entries (read once: entries are files)."""
        if self._names is None:
            pkg = importlib.import_module(self.package)
            self._names = tuple(sorted(self._name_of(m.name) for m in pkgutil.iter_modules(pkg.__path__)
                                       if not m.name.startswith("_")))
        return self._names

    def entries(self) -> dict[str, E]:
        """name -> entry, in display order (`order`, then name); imports every entry once."""
        if self._entries is None:
            with self._lock:
                if self._entries is None:
                    found = {}
                    for name in self.names():
                        module = name.replace("-", "_") if self.dashes else name
                        entry = getattr(importlib.import_module(f"{self.package}.{module}"), self.attr)
                        if entry.name != name:
                            raise RuntimeError(f"{self.package}.{name}: {self.attr}.name is {entry.name!r}; it must "
                                               f"be the module's name{' (with - for _)' if self.dashes else ''}")
                        found[name] = entry
                    self._entries = dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))
        return self._entries

    def _name_of(self, module: str) -> str:
        return module.replace("_", "-") if self.dashes else module

    def get(self, name: str) -> E:
        """The entry called `name`; UnknownEntry (a KeyError and a ValueError) names the allowed ones."""
        entries = self.entries()
        if name not in entries:
            raise UnknownEntry(f"{self.field}: unknown {self.kind} {name!r}; allowed: {', '.join(entries)}")
        return entries[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[E]:
        return iter(self.entries().values())
