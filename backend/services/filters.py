"""One filter for /models, /export and the population loader, and the whitelist of sortable columns.

Every user-supplied name is looked up in RANGE_COLUMNS / SORT_COLUMNS (plain dicts of SQLAlchemy columns), and
values are bound parameters, so no SQL is ever built from user strings.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, create_model, field_validator, model_validator
from sqlalchemy import ColumnElement, FromClause, Select, and_, select

from backend.designspace import columns as column_table
from backend.fielderrors import InvalidField
from db.models import JOB_STATUSES, jobs, models, results

from .ids import RowId

#: rows of a study's population: every model, its result (if any) and its job (if any)
POPULATION = models.outerjoin(results, results.c.model_id == models.c.id).outerjoin(
    jobs, jobs.c.model_id == models.c.id)
#: a model's status: its job's, 'done' for an imported model with a result, else 'none' (models.status is a
#: trigger-kept mirror, see db/migrations 0003)
STATUS_EXPR = models.c.status
STATUS = STATUS_EXPR.label("status")
STATUSES = (*JOB_STATUSES, "none")

#: every column the column table marks `filter` (backend/designspace/columns.yaml), as the SQL column holding it:
#: the model's own (complexity, sampled parameters, the error mirror) or its result's
RANGE_COLUMNS: dict[str, ColumnElement] = {
    c.name: models.c[c.name] if c.name in models.c else results.c[c.name]
    for c in column_table.columns().values() if c.filter
}
SORT_COLUMNS: dict[str, ColumnElement] = {
    "id": models.c.id, "index": models.c.index, "name": models.c.name, "status": STATUS_EXPR,
    "error_final": results.c.error_final, "epochs_done": jobs.c.epochs_done, **RANGE_COLUMNS,
}
#: names whose column lives in results / jobs (a query touching them needs that join)
IN_RESULTS = {k for k, c in SORT_COLUMNS.items() if c.table is results}
IN_JOBS = {k for k, c in SORT_COLUMNS.items() if c.table is jobs}
MAX_IDS = 10_000
#: the most extra-column ranges one request may set
MAX_EXTRA_RANGES = 64
_RANGE_KEY = re.compile(r"^(?P<name>.+)_(?P<side>min|max)$")


def split_commas(v: Any) -> Any:
    """List parameters accept repeats (`status=a&status=b`), commas (`status=a,b`) or both."""
    if isinstance(v, str):
        v = [v]
    if isinstance(v, list):
        parts = [p for x in v for p in (x.split(",") if isinstance(x, str) else [x])]
        v = [p.strip() if isinstance(p, str) else p for p in parts if not (isinstance(p, str) and not p.strip())]
    return v


def _range_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for col in RANGE_COLUMNS:
        for side, word in (("min", "at least"), ("max", "at most")):
            fields[f"{col}_{side}"] = (float | None, Field(None, allow_inf_nan=False,
                                                           description=f"{col} {word} this value"))
    return fields


_RangeFilter = create_model("_RangeFilter", __config__=ConfigDict(extra="forbid"), **_range_fields())


if TYPE_CHECKING:  # a Literal of the statuses for pydantic (and the OpenAPI schema); a str to checkers
    StatusName = str
else:
    StatusName = Literal[STATUSES]


def _given_extra_ranges(given: Any) -> dict[str, list[float | None]]:
    """`extra_ranges` as sent directly (the API's own form is `<name>_min/_max`): {name: [low, high]} with numbers
    or nulls, else an InvalidField naming it — any other shape would reach the range checks below as a 500."""
    if not given:
        return {}
    shape = "an object {name: [low, high]} of numbers or nulls (or set <name>_min / <name>_max instead)"
    if not isinstance(given, dict):
        raise InvalidField("extra_ranges", f"must be {shape}")
    out: dict[str, list[float | None]] = {}
    for name, pair in given.items():
        if not isinstance(name, str) or not isinstance(pair, list | tuple) or len(pair) != 2:
            raise InvalidField("extra_ranges", f"must be {shape}")
        try:
            out[name] = [None if v is None else float(v) for v in pair]
        except (TypeError, ValueError):
            raise InvalidField(f"extra_ranges.{name}", f"must be {shape}") from None
    return out


class ModelFilter(_RangeFilter):
    """Which models of a study: `<col>_min`/`<col>_max` ranges (flops, params, acts, error, infer_ms,
    train_seconds and every flat parameter d, w0, ..., b_5), `status` (one or more), `arch_type`, `ids`, and
    `top` = only the best k by error among the models the other filters keep, `exclude_failures` = leave out
    the models that diverged or did not learn (they are kept by default: a space's EDF includes its failures).

    A range on a column excludes models where it is null (e.g. `error_max` keeps only models with results).
    """

    status: list[StatusName] | None = Field(None, description="one or more of " + ", ".join(STATUSES))
    arch_type: str | None = Field(None, max_length=32, description="e.g. anynet, nds_resnext")
    ids: list[RowId] | None = Field(None, max_length=MAX_IDS, description=f"model ids (at most {MAX_IDS})")
    top: int | None = Field(None, ge=1, le=10_000_000, description="best k by error")
    exclude_failures: bool | None = Field(None, description="true: leave out trained models that diverged or did "
                                          "not learn (backend.analysis.failures); models without a result stay")

    extra_ranges: dict[str, list[float | None]] | None = Field(
        None, description="ranges on a study's imported (extra) columns, set as `<name>_min`/`<name>_max` like "
        "the listed ones (GET /api/studies/{id}/columns); a name the study lacks is a 422")

    @model_validator(mode="before")
    @classmethod
    def _extra_range_keys(cls, data: Any) -> Any:
        """Move `<name>_min/_max` of any other (extra) column into `extra_ranges`: {name: [lo, hi]}."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        ranges = _given_extra_ranges(data.get("extra_ranges"))
        for key in [k for k in data if k not in cls.model_fields and isinstance(k, str)]:
            m = _RANGE_KEY.match(key)
            if m is None or not column_table.EXTRA_NAME.match(m["name"]):
                continue  # left for extra="forbid" to name
            value = data.pop(key)
            value = value[-1] if isinstance(value, list) and value else value
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InvalidField(key, f"must be a number, got {value!r:.40}") from None
            if number != number or number in (float("inf"), float("-inf")):
                raise InvalidField(key, f"must be a finite number, got {value!r:.40}")
            ranges.setdefault(m["name"], [None, None])[m["side"] == "max"] = number
        if len(ranges) > MAX_EXTRA_RANGES:
            raise InvalidField("extra_ranges", f"at most {MAX_EXTRA_RANGES} extra columns per request, "
                               f"got {len(ranges)}")
        for name, (lo, hi) in ranges.items():
            if lo is not None and hi is not None and lo > hi:
                raise InvalidField(f"{name}_max", f"must be >= {name}_min ({lo:g}), got {hi:g}")
        data["extra_ranges"] = ranges or None
        return data

    @field_validator("exclude_failures")
    @classmethod
    def _false_is_unset(cls, v: bool | None) -> bool | None:
        return v or None  # false is the default: it filters nothing and stays out of active() and slugs

    @field_validator("status", "ids", mode="before")
    @classmethod
    def _comma_lists(cls, v: Any) -> Any:
        return split_commas(v)

    @model_validator(mode="after")
    def _ranges_ordered(self) -> ModelFilter:
        for col in RANGE_COLUMNS:
            lo, hi = getattr(self, f"{col}_min"), getattr(self, f"{col}_max")
            if lo is not None and hi is not None and lo > hi:
                raise InvalidField(f"{col}_max", f"must be >= {col}_min ({lo:g}), got {hi:g}")
        return self

    def active(self) -> dict[str, Any]:
        """The filters actually set (for filenames, logs and echoing back)."""
        return {k: getattr(self, k) for k in ModelFilter.model_fields if getattr(self, k) is not None}

    def to_filter(self) -> ModelFilter:
        """Just the filter part of a subclass (e.g. a query model that adds sort/limit)."""
        return ModelFilter.model_validate(self.active())

    def ranges(self) -> dict[str, tuple[float | None, float | None]]:
        """Every range set, listed and extra columns alike: name -> (lo, hi)."""
        out = {c: (getattr(self, f"{c}_min"), getattr(self, f"{c}_max")) for c in RANGE_COLUMNS}
        out = {c: r for c, r in out.items() if r != (None, None)}
        return out | {c: (lo, hi) for c, (lo, hi) in (self.extra_ranges or {}).items()}

    def slug(self) -> str:
        """Short, filename-safe description of the filter ('all' when none is set)."""
        parts = []
        active = self.active()
        for name, (lo, hi) in (active.pop("extra_ranges", None) or {}).items():
            active |= {f"{name}_{side}": v for side, v in (("min", lo), ("max", hi)) if v is not None}
        for k, v in active.items():
            if isinstance(v, list):
                v = "+".join(str(x) for x in v[:5]) + ("+more" if len(v) > 5 else "")
            elif isinstance(v, float):
                v = f"{v:g}"
            parts.append(f"{k}-{v}")
        text = re.sub(r"[^A-Za-z0-9_.+-]+", "_", "_".join(parts))[:150]
        return text or "all"


def conditions(flt: ModelFilter | None) -> list[ColumnElement]:
    """WHERE terms for the plain filters (not `top`)."""
    if flt is None:
        return []
    out: list[ColumnElement] = []
    for col, column in RANGE_COLUMNS.items():
        lo, hi = getattr(flt, f"{col}_min"), getattr(flt, f"{col}_max")
        if lo is not None:
            out.append(column >= lo)
        if hi is not None:
            out.append(column <= hi)
    if flt.status:
        out.append(STATUS_EXPR.in_(flt.status))
    if flt.arch_type:
        out.append(models.c.arch_type == flt.arch_type)
    if flt.ids is not None:
        out.append(models.c.id.in_(flt.ids))
    if flt.exclude_failures:
        out.append(failure_free())
    for name, (lo, hi) in (flt.extra_ranges or {}).items():
        value = extra_value(name)
        if lo is not None:
            out.append(value >= lo)
        if hi is not None:
            out.append(value <= hi)
    return out


def extra_value(name: str) -> ColumnElement:
    """An imported (extra) column's number as SQL: models.extra's key `name` (a bound JSON path, never SQL
    text), NULL where the model lacks it."""
    return models.c.extra[name].as_float()


def failure_free() -> ColumnElement:
    """Rows that neither diverged nor did not learn (a model without a result has neither flag)."""
    return and_(results.c.diverged.is_not(True), results.c.did_not_learn.is_not(True))


def source(flt: ModelFilter | None, sort_name: str | None = None):
    """The smallest FROM clause for a filter (and sort): models alone unless a result/job column is used."""
    used = {k.rsplit("_", 1)[0] for k, v in (flt.active().items() if flt else ()) if k.endswith(("_min", "_max"))}
    if sort_name:
        used.add(sort_name)
    src: FromClause = models
    if used & IN_RESULTS or (flt is not None and flt.exclude_failures):
        src = src.outerjoin(results, results.c.model_id == models.c.id)
    if used & IN_JOBS:
        src = src.outerjoin(jobs, jobs.c.model_id == models.c.id)
    return src


def best(study_id: int, flt: ModelFilter) -> Select:
    """Ids of the best `flt.top` models by error (ties: lower id) among those the other filters keep."""
    return (select(models.c.id).select_from(source(flt))
            .where(models.c.study_id == study_id, *conditions(flt), models.c.error.is_not(None))
            .order_by(models.c.error, models.c.id).limit(flt.top))


def where(study_id: int, flt: ModelFilter | None) -> ColumnElement:
    """The whole condition for a study's rows under `flt`, `top` included (a subquery of the best ids)."""
    if flt is not None and flt.top:
        return and_(models.c.study_id == study_id, models.c.id.in_(best(study_id, flt).scalar_subquery()))
    return and_(models.c.study_id == study_id, *conditions(flt))


def filtered(q: Select, study_id: int, flt: ModelFilter | None) -> Select:
    """`q` over the whole population join (models ⟕ results ⟕ jobs), restricted to the study and `flt`."""
    return q.select_from(POPULATION).where(where(study_id, flt))


def sort_name(text: str) -> tuple[str, bool]:
    """'error' or '-error' -> ('error', descending); ValueError naming `sort` and the allowed names."""
    name = text.strip()
    desc = name.startswith("-")
    name = name.lstrip("-+")
    if name not in SORT_COLUMNS:
        raise InvalidField("sort", f"unknown column {name!r}; allowed: {', '.join(SORT_COLUMNS)} (prefix - for "
                         "descending)")
    return name, desc


def parse_sort(text: str) -> tuple[ColumnElement, bool]:
    """'error' or '-error' -> (column, descending)."""
    name, desc = sort_name(text)
    return SORT_COLUMNS[name], desc
