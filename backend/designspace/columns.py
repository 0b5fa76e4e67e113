"""Population columns as data: every number a model carries, described once (columns.yaml).

The database's flat parameter columns, the filters' `<name>_min/_max` fields, the figures' axis titles and
log axes, the CSV export's header and the dashboard (GET /api/columns) all read this one table, so a column
is never named, labelled or scaled differently in two places.

Columns an imported population brings along (numeric fields of `models.extra`: a sweep's lr or wd, an NDS
cell network's operation counts) are not listed: `describe(name)` answers for any name, a listed column with
its entry and any other as an `extra` column — labelled by the table's `imported` section where it names it
(lr, wd, width, `normal_*` operation counts, ...), else by its name. A study's columns (`columns_for`) are the
listed ones it has, in the table's order, then its extras, so imported fields need no entry to be plotted,
filtered (`<name>_min/_max`, backend.services.filters) or exported; an entry only improves their label, unit
or scale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

Source = Literal["sampled", "complexity", "result", "derived", "extra"]
Format = Literal["count", "error", "number"]
#: the dashboard's filter groups, by source (sampled columns split into global and per-stage)
GROUPS = {"complexity": "Complexity", "result": "Result", "derived": "Result", "sampled": "Parameters",
          "extra": "Imported"}
STAGE_GROUP = "Per stage"
TABLE = Path(__file__).with_name("columns.yaml")
#: a listed column's name: it becomes a database column and a query parameter
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Column(BaseModel):
    """One population column (see columns.yaml for the meaning of each field)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(max_length=200)
    label: str
    unit: str = ""
    log: bool = False
    source: Source
    format: Format = "number"
    filter: bool = Field(False, description="the server filters on <name>_min/_max")
    stage: int | None = Field(None, description="the stage (1-based) of a per-stage column")
    group: str = Field(description="the dashboard's filter group")

    def axis_title(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


#: an extra column's name the server filters on (the same rule as a listed name, bounded)
EXTRA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


def _expand(entry: dict[str, Any], stages: int) -> list[Column]:
    entry = dict(entry)
    per_stage = entry.pop("stages", False)
    if not per_stage:
        return [Column(**entry, group=GROUPS[entry["source"]])]
    return [Column(**{**entry, "name": entry["name"].format(i=i), "label": entry["label"].format(i=i)}, stage=i,
                   group=STAGE_GROUP) for i in range(1, stages + 1)]


def _data() -> dict[str, Any]:
    return dict(yaml.safe_load(TABLE.read_text()))


@cache
def _imported() -> tuple[dict[str, dict[str, Any]], tuple[tuple[str, dict[str, Any]], ...]]:
    """The `imported` section: entries by exact name, and (prefix, entry) pairs, longest prefix first."""
    exact, prefixes = {}, []
    for entry in _data().get("imported", []):
        entry = dict(entry)
        if "prefix" in entry:
            prefixes.append((entry.pop("prefix"), entry))
        else:
            exact[entry.pop("name")] = entry
    return exact, tuple(sorted(prefixes, key=lambda p: -len(p[0])))


@cache
def _table() -> tuple[int, dict[str, Column]]:
    data = _data()
    stages = int(data["stage_columns"])
    cols = [c for entry in data["columns"] for c in _expand(entry, stages)]
    by_name = {c.name: c for c in cols}
    if len(by_name) != len(cols):
        raise ValueError(f"{TABLE.name}: a column is listed twice")
    bad = [c.name for c in cols if not NAME.match(c.name) or c.source == "extra"]
    if bad:
        raise ValueError(f"{TABLE.name}: {bad}: names are lower-case identifiers; extras are never listed")
    return stages, by_name


def columns() -> dict[str, Column]:
    """Every listed column, name -> Column, in the table's (display) order."""
    return _table()[1]


def stage_columns() -> int:
    """How many stages have their own flat columns (d_1..d_S); deeper stages stay in the config JSON."""
    return _table()[0]


def names(*sources: Source, stage: bool | None = None) -> tuple[str, ...]:
    """Listed column names of the given sources (all without any), optionally only per-stage (stage=True) or
    only global (stage=False) ones, in table order."""
    return tuple(c.name for c in columns().values()
                 if (not sources or c.source in sources) and (stage is None or (c.stage is not None) == stage))


@lru_cache(maxsize=4096)
def describe(name: str) -> Column:
    """The listed column, or an `extra` column an imported population brought along: labelled by the table's
    `imported` entry (exact name, else the longest matching prefix) or by its name; filterable when its name is
    a plain identifier (EXTRA_NAME)."""
    found = columns().get(name)
    if found is not None:
        return found
    exact, prefixes = _imported()
    entry = exact.get(name)
    if entry is None:
        entry = next(({**e, "label": e["label"].format(rest=name[len(p):])} for p, e in prefixes
                      if name.startswith(p) and len(name) > len(p)), {"label": name})
    return Column(name=name, source="extra", group=GROUPS["extra"], filter=bool(EXTRA_NAME.match(name)),
                  **entry)


def extra_order(names: Iterable[str]) -> list[str]:
    """Extra column names in display order: those the `imported` section names, in its order (lr, wd, ...),
    then the rest alphabetically (an NDS cell net's `normal_*` counts together)."""
    known = list(_imported()[0])
    return sorted(names, key=lambda n: (known.index(n), "") if n in known else (len(known), n))


def columns_for(present: Iterable[str]) -> list[Column]:
    """The columns a population has: listed ones in table order, then the others (extras) in the given order."""
    have = list(dict.fromkeys(present))
    listed = columns()
    return [c for c in listed.values() if c.name in have] + [describe(n) for n in have if n not in listed]
