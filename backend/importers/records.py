"""The normalised shape every importer produces, and the checks they share.

An importer turns one file into a `Population`: a list of `ModelRecord`s (one per trained network, each
with its result) plus the records it skipped. The shape mirrors the `models`/`results` tables so the
importing service can bulk-insert it without looking at the source format again, but nothing here
imports the database layer: parsing stays testable on its own and reusable by the CLI, the API and
benchmarks alike.

Bad input raises `RecordError`, whose message always names the record and the field
("record 12: min_test_top1: must be a number, got 'abc'"), so one line tells the user what to fix.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from backend.analysis.failures import did_not_learn
from backend.designspace.config import check_stages, stage_lists
from backend.designspace.params import PARAM_NAMES
from backend.fielderrors import InvalidField, validation_errors


class ImportFormatError(InvalidField):
    """The file as a whole cannot be read (not JSON, wrong top-level shape, unknown format): field `file` (or
    `format`)."""


class RecordError(InvalidField):
    """One record is bad: an error of the field `file` whose message names the record and its offending key.
    `label` names the record ("12" or "mid[3]"), `key` the key path in it (None: the record as a whole), `detail`
    what is wrong with it."""

    def __init__(self, label: str | int, key: str | None, detail: str) -> None:
        self.label, self.key, self.detail = str(label), key, detail
        super().__init__("file", f"record {self.label}: {key + ': ' if key else ''}{detail}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Rebuilt from its parts (the default would pass only the message): a record converted in a worker
        process (parallel imports) fails in the parent with the same label, key and detail."""
        return RecordError, (self.label, self.key, self.detail)

    def __str__(self) -> str:
        return self.message  # "record 12: key: what" (always about the file)


@dataclass(slots=True)
class ResultRecord:
    """A trained model's outcome, in the units of `results` (errors in percent)."""

    error: float
    diverged: bool = False
    error_final: float | None = None
    train_loss: list[float | None] | None = None
    train_error: list[float | None] | None = None
    test_error: list[float | None] | None = None
    train_seconds: float | None = None
    infer_ms: float | None = None
    epochs_done: int | None = None
    did_not_learn: bool | None = None  # backend.analysis.failures; None where the file does not tell


def flag_learning(res: ResultRecord, num_classes: int | None) -> ResultRecord:
    """`res` with its did-not-learn flag set from what an imported record holds: the final (else headline)
    error against chance for `num_classes`, and the loss curve's first and last finite values."""
    losses = [v for v in (res.train_loss or []) if v is not None and math.isfinite(v)]
    res.did_not_learn = did_not_learn(res.error_final if res.error_final is not None else res.error, num_classes,
                                      diverged=res.diverged, initial_loss=losses[0] if len(losses) > 1 else None,
                                      final_loss=losses[-1] if len(losses) > 1 else None)
    return res


@dataclass(slots=True)
class ModelRecord:
    """One imported network: what goes into a `models` row plus its `ResultRecord`."""

    index: int  # position in the source, 0-based (becomes models.index)
    name: str | None
    arch_type: str  # 'anynet' for canonical AnyNet configs, else the imported family ('nds_resnext', ...)
    config: dict[str, Any]
    config_hash: str
    flops: int
    params: int
    acts: int | None
    columns: dict[str, float | None]  # one value per PARAM_NAMES entry
    extra: dict[str, float]
    result: ResultRecord

    def thin(self, config_keys: tuple[str, ...]) -> ModelRecord:
        """What a population-level pass (`Plan.finish`) reads of this record, and nothing else: the parallel
        import converts records in worker processes and ships back only this beside the encoded rows,
        because pickling whole records would cost as much as converting them."""
        return ModelRecord(
            index=self.index, name=None, arch_type=self.arch_type,
            config={k: self.config[k] for k in config_keys if k in self.config}, config_hash=self.config_hash,
            flops=0, params=0, acts=None, columns={}, extra=self.extra,
            result=ResultRecord(error=self.result.error, diverged=self.result.diverged,
                                did_not_learn=self.result.did_not_learn))


@dataclass(slots=True)
class BadRecord:
    """A record skipped under --skip-bad, with the same wording the error would have had."""

    label: str
    key: str | None
    detail: str

    @classmethod
    def of(cls, e: RecordError) -> BadRecord:
        return cls(e.label, e.key, e.detail)

    def __str__(self) -> str:
        return RecordError(self.label, self.key, self.detail).message


@dataclass(frozen=True)
class Plan:
    """A file read as far as one process must read it: its records found but not yet converted.

    Every format splits the same way. `items` are (label, raw) pairs in file order (raw may be a
    RecordError for a record that could not even be read); `convert(raw, label, index)` (the formats' own
    convert_* functions take their record first) turns one into a ModelRecord on its own, so any slice of
    `items` can be converted anywhere, worker processes included; `finish(records, skipped)` makes the
    Population, with the passes that need every record (zero-filled operation counts, the file's meta).
    `finish_reads` names the config keys `finish` looks at.
    """

    format: str
    items: Sequence[tuple[str, Any]]
    convert: Callable[[Any, str, int], ModelRecord]
    finish: Callable[[list[ModelRecord], list[BadRecord]], Population]
    finish_reads: tuple[str, ...] = ()


@dataclass
class Population:
    """A parsed file: records in file order, what was skipped, and what the file says about itself."""

    format: str
    records: list[ModelRecord]
    skipped: list[BadRecord] = field(default_factory=list)
    dataset: str | None = None  # 'imagenet', 'cifar10', ... when the source says so
    im_size: int | None = None
    num_classes: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        errors = [r.result.error for r in self.records]
        return {
            "format": self.format, "imported": len(self.records), "skipped": len(self.skipped),
            "diverged": sum(bool(r.result.diverged) for r in self.records),
            "min_error": min(errors) if errors else None,
            "mean_error": sum(errors) / len(errors) if errors else None,
            "dataset": self.dataset,
        }


# --------------------------------------------------------------------------------------------------
# Field checks shared by every format. They take the record label so that every message names it.

def _type_name(v: Any) -> str:
    return "null" if v is None else type(v).__name__


def as_number(v: Any, label: str | int, name: str, *, allow_nan: bool = False) -> float:
    """A JSON number (bool is not one); NaN only where the caller says it can occur."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise RecordError(label, name, f"must be a number, got {_type_name(v)} {v!r:.40}")
    x = float(v)
    if math.isinf(x) or (math.isnan(x) and not allow_nan):
        raise RecordError(label, name, f"must be a finite number, got {v!r}")
    return x


#: the largest count a record may give (flops, params, acts are BIGINT columns on both databases)
MAX_COUNT = 2**63 - 1
#: the most epochs a result may say it ran (an integer column)
MAX_EPOCHS = 1_000_000


def as_count(v: Any, label: str | int, name: str) -> int:
    """A non-negative integer count (flops, params, acts) up to MAX_COUNT; integral floats like 1.2e8 are
    accepted."""
    if type(v) is int and 0 <= v <= MAX_COUNT:
        return v
    x = as_number(v, label, name)
    if x < 0 or x != int(x):
        raise RecordError(label, name, f"must be a non-negative integer, got {v!r}")
    if int(x) > MAX_COUNT:
        raise RecordError(label, name, f"must be at most {MAX_COUNT} (2^63 - 1), got {v!r}")
    return int(x)


def get(rec: dict[str, Any], key: str, label: str | int, prefix: str = "") -> Any:
    if key not in rec or rec[key] is None:
        raise RecordError(label, prefix + key, "missing")
    return rec[key]


def as_dict(v: Any, label: str | int, name: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise RecordError(label, name, f"must be an object, got {_type_name(v)}")
    return v


_NUMBER_TYPES = frozenset((int, float))
_FLOATS = frozenset((float,))


def _plain_numbers(v: list[Any], types: set[type] | None = None) -> bool:
    """Fast path (C loops only): every element is an int or float (`types`: the element types, if known)
    and all are finite. An overflowing sum only sends a valid list down the slow, per-element path, which
    gives the same answer."""
    return (set(map(type, v)) if types is None else types) <= _NUMBER_TYPES and math.isfinite(sum(v))


def as_int_list(v: Any, label: str | int, name: str, *, allow_empty: bool = False) -> list[int]:
    if not isinstance(v, list) or (not v and not allow_empty):
        raise RecordError(label, name, f"must be a non-empty list of integers, got {_type_name(v)}")
    if set(map(type, v)) <= {int}:
        return list(v)
    out = []
    for i, x in enumerate(v):
        f = as_number(x, label, f"{name}[{i}]")
        if f != int(f):
            raise RecordError(label, f"{name}[{i}]", f"must be an integer, got {x!r}")
        out.append(int(f))
    return out


def as_float_list(v: Any, label: str | int, name: str) -> list[float]:
    """A list of finite numbers (no None, no NaN)."""
    if not isinstance(v, list):
        raise RecordError(label, name, f"must be a list of numbers, got {_type_name(v)}")
    if _plain_numbers(v):
        return list(map(float, v))
    return [as_number(x, label, f"{name}[{i}]") for i, x in enumerate(v)]


def curve(v: Any, label: str | int, name: str) -> list[float | None] | None:
    """A per-epoch list of numbers; NaN/inf become None (JSON columns, PostgreSQL included, reject NaN)."""
    if v is None:
        return None
    if not isinstance(v, list):
        raise RecordError(label, name, f"must be a list of numbers, got {_type_name(v)}")
    types = set(map(type, v))
    if _plain_numbers(v, types):
        return v if types <= _FLOATS else list(map(float, v))
    out: list[float | None] = []
    for i, x in enumerate(v):
        if x is None:
            out.append(None)
            continue
        if isinstance(x, bool) or not isinstance(x, int | float):
            raise RecordError(label, f"{name}[{i}]", f"must be a number, got {_type_name(x)} {x!r:.40}")
        out.append(float(x) if math.isfinite(x) else None)
    return out


def check_error(x: float, label: str | int, name: str) -> float:
    """Top-1 errors are percentages: NaN passes (a blown-up run), anything outside [0, 100] does not."""
    if not math.isnan(x) and not 0.0 <= x <= 100.0:
        raise RecordError(label, name, f"must be a percentage in [0, 100], got {x!r}")
    return x


#: a run whose best error is within this many points of chance never learned anything (NDS: 99.9–100 on
#: ImageNet). Half a point is far above epoch-to-epoch noise at chance and far below any trained model.
DIVERGED_MARGIN = 0.5


def headline(error: float, num_classes: int | None) -> tuple[float, bool]:
    """(stored error, diverged). A NaN error means the run blew up: it is kept at 100 % (the worst error,
    so EDFs rank it last, as pycls ranks diverged runs at ~100) and flagged; so is one at chance level."""
    if math.isnan(error):
        return 100.0, True
    chance = 100.0 * (1.0 - 1.0 / num_classes) if num_classes and num_classes > 1 else 99.9
    return error, error >= chance - DIVERGED_MARGIN


def final_value(values: list[float | None] | None) -> float | None:
    """The last epoch's value (None when there are no epochs or the last one was NaN)."""
    return values[-1] if values else None


def empty_columns() -> dict[str, float | None]:
    return dict.fromkeys(PARAM_NAMES)


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the canonical JSON, as AnyNetConfig.config_hash() computes it for sampled models (so an
    exported AnyNet study re-imports with the same hashes); repeats are made unique by `HashDeduper`."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_EXPONENT = re.compile(rb"\d[eE]")


def canonical_hash(config: dict[str, Any]) -> str:
    """config_hash(config), computed with orjson where it prints the very same bytes as the stdlib: ASCII
    text with no float that Python writes in exponent notation (|x| < 1e-4, which orjson writes as
    0.0000..., or >= 1e16) — the one place the two float formats differ; otherwise by the stdlib itself.
    Tests hold the two equal over sampled and edge configs."""
    try:
        text = orjson.dumps(config, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return config_hash(config)
    if not text.isascii() or _EXPONENT.search(text) or b"0.0000" in text or b"null" in text:
        return config_hash(config)
    return hashlib.sha256(text).hexdigest()[:32]


def compact_json(v: Any, *, sort_keys: bool = False) -> bytes:
    """Compact JSON as stored in JSON columns: orjson (several times faster than the stdlib on float-heavy
    curves), non-finite floats written as null (JSON has no NaN; PostgreSQL's jsonb rejects it). What orjson
    refuses (integers beyond 64 bits) goes through the stdlib with the same NaN rule."""
    try:
        return orjson.dumps(v, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(_replace_non_finite(v), sort_keys=sort_keys, separators=(",", ":")).encode()


def raw_config_hash(config: dict[str, Any]) -> str:
    """config_hash of a config kept as it was in the source (NDS nets): its sorted compact JSON."""
    return hashlib.sha256(compact_json(config, sort_keys=True)).hexdigest()[:32]


def _replace_non_finite(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _replace_non_finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_replace_non_finite(x) for x in v]
    return v


def validation_error(err: ValidationError, label: str | int, prefix: str) -> RecordError:
    """The first pydantic complaint as a RecordError naming the key under `prefix` (a model-level validator
    names its own key: InvalidField)."""
    first = validation_errors(err)[0]
    return RecordError(label, prefix + first.field, first.text())


class HashDeduper:
    """`models` has one row per (study, config_hash): a repeated hash gets an occurrence suffix.

    Imported files legitimately hold the same run twice (a rerun with an unrecorded seed, two exports
    concatenated); every record is a member of the population, so none is dropped. Hashes are fed in
    file order, one at a time, so a parallel import that writes chunk by chunk renames exactly the
    records a whole-file pass would.
    """

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def unique(self, config_hash: str) -> str:
        n = self.seen.get(config_hash, 0)
        self.seen[config_hash] = n + 1
        return hashlib.sha256(f"{config_hash}#{n}".encode()).hexdigest()[:32] if n else config_hash


_NUL = b"\\u0000"  # how orjson writes a NUL character inside a JSON string


def check_record(r: ModelRecord, label: str) -> ModelRecord:
    """The bounds every stored record keeps whatever its format, checked once for all formats: counts within
    BIGINT, epochs within MAX_EPOCHS, stage lists (of any arch type, a custom one too) within the design-space
    bounds (designspace.config.check_stages: e_fit and the width figures walk them block by block), and no NUL
    character in any string (PostgreSQL stores none: text and jsonb refuse it)."""
    for key in ("flops", "params", "acts"):
        v = getattr(r, key)
        if v is not None and not 0 <= v <= MAX_COUNT:
            raise RecordError(label, key, f"must be in [0, {MAX_COUNT}], got {v!r}")
    epochs = r.result.epochs_done
    if epochs is not None and not 0 <= epochs <= MAX_EPOCHS:
        raise RecordError(label, "epochs_done", f"must be in [0, {MAX_EPOCHS}], got {epochs!r}")
    stages = stage_lists(r.config)
    if stages is not None:
        try:
            check_stages(stages)
        except InvalidField as e:
            where = "config." if stages is r.config else "config.anynet."
            raise RecordError(label, where + e.field, e.errors[0].text()) from None
    for key, text in (("name", r.name), ("arch_type", r.arch_type)):
        if text is not None and "\x00" in text:
            raise RecordError(label, key, "must not contain NUL characters")
    if _NUL in compact_json(r.config) and _has_nul(r.config):  # the C-level search first, the walk to be sure
        raise RecordError(label, "config", "must not contain NUL characters (\\u0000)")
    if r.extra and any("\x00" in k for k in r.extra):
        raise RecordError(label, "extra", "must not contain NUL characters (\\u0000)")
    return r


def _has_nul(v: Any) -> bool:
    if isinstance(v, str):
        return "\x00" in v
    if isinstance(v, dict):
        return any(_has_nul(k) or _has_nul(x) for k, x in v.items())
    if isinstance(v, list):
        return any(map(_has_nul, v))
    return False


def convert_items(items: Iterable[tuple[str, Any]], convert: Callable[[Any, str, int], ModelRecord],
                  skip_bad: bool, start: int = 0) -> tuple[list[ModelRecord], list[BadRecord]]:
    """Convert (label, raw) pairs in order. A raw value may itself be a RecordError (a line that did not
    parse): like a failed conversion it stops the import, or with `skip_bad` is counted and skipped.
    Accepted records are numbered from `start` on, so a study's indices stay dense whatever was skipped
    (a chunk converted on its own is renumbered by its writer when earlier chunks skipped records)."""
    records: list[ModelRecord] = []
    skipped: list[BadRecord] = []
    for label, raw in items:
        try:
            if isinstance(raw, RecordError):
                raise raw
            records.append(check_record(convert(raw, label, start + len(records)), label))
        except RecordError as e:
            if not skip_bad:
                raise
            skipped.append(BadRecord.of(e))
    return records, skipped


def run_plan(plan: Plan, skip_bad: bool) -> Population:
    """The whole file in this process: every record converted, repeated hashes renamed, then `finish`."""
    records, skipped = convert_items(plan.items, plan.convert, skip_bad)
    dedupe = HashDeduper()
    for r in records:
        r.config_hash = dedupe.unique(r.config_hash)
    return plan.finish(records, skipped)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a population is built or written.

    A 100,000-record file becomes millions of small dicts and lists, none of them cyclic garbage; every
    allocation burst would otherwise trigger full collections that rescan the whole growing heap, which
    doubles the time of a large import. Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
