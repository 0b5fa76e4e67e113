"""Design-space specs: the one format for built-in and user-written spaces.

A spec is data: which family (families/: per-stage AnyNet parameters, the RegNet law, ...), each parameter's
range and sampling law, which stage parameters are shared across stages or monotone, and the fixed parts
(stages, stem, block, SE, resolution, classes). Built-ins are YAML files in `spaces/`; users write the
same YAML/JSON. Validation errors name the field and the allowed values.

Parameters use the paper's conventions: b is the bottleneck *ratio* (pycls BOT_MUL = 1/b), g the group
width, w widths, d depths.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.fielderrors import InvalidField

from .config import MAX_BLOCKS, BlockType, Standardization, StemType
from .families import family_names, get_family
from .laws import decimals

Law = Literal["uniform", "log_uniform", "power2", "power2_or_log_uniform", "choice", "fixed"]
#: the registered space families (families/*.py), read from the package without importing the families
if TYPE_CHECKING:  # the names are data (the registry's); checkers see a str
    FamilyName = str
else:
    FamilyName = Literal[family_names()]
#: parameters that must be integers, and those whose values must be multiples of 8 (pycls q = 8)
INTEGER_PARAMS = {"d", "w", "w0", "g"}
MULTIPLE_OF_8 = {"w", "w0"}
MAX_WIDTH = 65536
MAX_DEPTH = 1000
#: the bounds of a law's grid, declared once: a quantum below MIN_Q, or a grid of more than MAX_LEVELS values on
#: [low, high], is refused when the spec is read. Counting (space_size) is closed form whatever the grid, but
#: refinement previews, sampling and lineage all read a spec's values, so a spec may not describe a grid no
#: one can look at (q: 1e-8 over [1.5, 3] would be 1.5e8 values).
MIN_Q = 1e-6
MAX_LEVELS = 1_000_000


class ParamSpec(BaseModel):
    """One parameter: a sampling law over a closed range [low, high] quantized to q, or a value list.

    Laws follow pycls's samplers: `uniform` is discrete-uniform over {low, low+q, ..., high};
    `log_uniform` draws log-uniform on (low - q*, high] with q* = min(q, low/2) and rounds up to q;
    `power2` is uniform over the powers of two in the range; `power2_or_log_uniform` draws a power of two
    and redraws values >= q log-uniformly at multiples of q; `choice` picks uniformly from `values`;
    `fixed` always gives `value`.
    """

    # inf/NaN (YAML's .inf, JSON's 1e999) are refused by pydantic itself: every later check compares numbers
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    law: Law
    low: float | None = None
    high: float | None = None
    q: float | None = None
    values: list[float] | None = None
    value: float | None = None
    shared: bool = Field(default=False, description="stage parameters only: one value for every stage (b_i = b)")
    monotone: bool = Field(default=False, description="stage parameters only: non-decreasing across stages")

    @model_validator(mode="after")
    def _law_fields(self) -> ParamSpec:
        if self.law == "choice":
            if not self.values:
                raise InvalidField("values", "'choice' needs a non-empty list of values")
            if len(self.values) > 10_000:
                raise InvalidField("values", "at most 10000 choices")
        elif self.law == "fixed":
            if self.value is None:
                raise InvalidField("value", "'fixed' needs a value")
        else:
            if self.low is None or self.high is None:
                raise InvalidField("low/high", f"law '{self.law}' needs both low and high")
            if not (math.isfinite(self.low) and math.isfinite(self.high)):
                raise InvalidField("low/high", "must be finite numbers")
            if self.low > self.high:
                raise InvalidField("low", f"must be <= high (got low={self.low}, high={self.high})")
            if self.low <= 0:
                raise InvalidField("low", f"must be > 0 for law '{self.law}' (got {self.low})")
            if self.q is None:
                self.q = 1.0
            if not self.q >= MIN_Q:
                raise InvalidField("q", f"must be >= {MIN_Q:g} (got {self.q:g})", f"[{MIN_Q:g}, ∞)")
            levels = (self.high - self.low) / self.q + 1
            if self.law in ("uniform", "log_uniform", "power2_or_log_uniform") and levels > MAX_LEVELS:
                least = (self.high - self.low) / (MAX_LEVELS - 1)
                raise InvalidField("q", f"gives {levels:,.0f} values on [{self.low:g}, {self.high:g}]; at most "
                                   f"{MAX_LEVELS:,} (q >= {least:.7g} on this range)", f"[{max(least, MIN_Q):.7g}, ∞)")
            if self.law in ("uniform", "log_uniform") and (
                    _off_grid(self.low, self.q) or _off_grid(self.high, self.q)):
                raise InvalidField("low/high", f"must be multiples of q={self.q} (got {self.low}, {self.high})")
            if self.law == "power2" and not (_is_pow2(self.low) and _is_pow2(self.high)):
                raise InvalidField("low/high", f"'power2' needs powers of two (got {self.low}, {self.high})")
        return self

    def number(self, name: Literal["low", "high", "q", "value"]) -> float:
        """A number the law needs (the validator has checked that it is set)."""
        x = getattr(self, name)
        if x is None:
            raise InvalidField(name, f"law '{self.law}' needs {name}")
        return float(x)

    def count(self) -> int:
        """How many values the law can produce: len(support()) in closed form, without listing them (space_size
        counts every law of a spec, lineage and refinement previews count again and again)."""
        if self.law == "fixed":
            return 1
        if self.law == "choice":
            return len({float(v) for v in self.values or []})
        lo, hi, q = self.number("low"), self.number("high"), self.number("q")
        if self.law == "power2":
            return int(math.log2(hi)) - int(math.log2(lo)) + 1
        if self.law == "power2_or_log_uniform":
            small = max(0, min(int(math.log2(hi)), _below_log2(q)) - math.ceil(math.log2(lo)) + 1)
            return small + _grid_count(max(lo, q), hi, q)
        return int(round((hi - lo) / q)) + 1

    def is_grid(self) -> bool:
        """A uniform or log-uniform law: its values are low + k q, k = 0 .. count() - 1 (grid_value)."""
        return self.law in ("uniform", "log_uniform")

    def grid_value(self, k: int) -> float:
        """The k-th value of a grid law, as support() lists it."""
        q = self.number("q")
        return round(self.number("low") + k * q, decimals(q))

    def grid_span(self, lo: float, hi: float) -> tuple[int, int]:
        """The first and last k whose grid value lies in [lo, hi] (first > last: none), in closed form:
        refinement narrows and fixes a grid law of up to MAX_LEVELS values without listing them."""
        low, q, n = self.number("low"), self.number("q"), self.count()
        first = max(0, math.ceil((lo - low) / q - 1e-9))
        last = min(n - 1, math.floor((hi - low) / q + 1e-9))
        return first, last

    def contains(self, v: float) -> bool:
        """Whether `v` is one of the law's values (within 1e-9)."""
        if self.is_grid():
            first, last = self.grid_span(v - 1e-9, v + 1e-9)
            return any(abs(self.grid_value(k) - v) < 1e-9 for k in range(first, last + 1))
        return any(abs(v - s) < 1e-9 for s in self.support())

    def support(self) -> list[float]:
        """Every value the law can produce, ascending (for validation and refinement); at most MAX_LEVELS."""
        if self.law == "fixed":
            return [self.number("value")]
        if self.law == "choice":
            return sorted({float(v) for v in self.values or []})
        lo, hi, q = self.number("low"), self.number("high"), self.number("q")
        if self.law == "power2":
            return [2.0**e for e in range(int(math.log2(lo)), int(math.log2(hi)) + 1)]
        grid = [round(lo + k * q, decimals(q)) for k in range(int(round((hi - lo) / q)) + 1)]
        if self.law == "power2_or_log_uniform":
            small = [2.0**e for e in range(math.ceil(math.log2(lo)), int(math.log2(hi)) + 1) if 2.0**e < q]
            start = max(lo, q)
            big = [round(start + k * q, decimals(q)) for k in range(int(round((hi - start) / q)) + 1)]
            return sorted(set(small) | {v for v in big if v <= hi})
        return grid

    def bounds(self) -> tuple[float, float]:
        sup = self.support() if self.law in ("choice", "fixed") else [self.number("low"), self.number("high")]
        return min(sup), max(sup)


def _below_log2(q: float) -> int:
    """The largest e with 2^e < q."""
    e = math.floor(math.log2(q))
    return e - 1 if 2.0**e >= q else e


def _grid_count(start: float, hi: float, q: float) -> int:
    """How many of start + k q (k = 0 .. round((hi - start) / q), rounded to q's decimals) are <= hi: the grid
    support() lists, counted without listing it (only the last point can pass hi, when the division rounds up)."""
    k = int(round((hi - start) / q))
    if k < 0:
        return 0
    return k + 1 if round(start + k * q, decimals(q)) <= hi else k


def _off_grid(x: float, q: float) -> bool:
    r = x / q
    return abs(r - round(r)) > 1e-9


def _is_pow2(x: float) -> bool:
    return x >= 1 and x == int(x) and (int(x) & (int(x) - 1)) == 0


class SpaceSpec(BaseModel):
    """A design space: family, parameters with laws, and the fixed network parts."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = Field(default="", max_length=2000,
                             description="free text (no NUL characters: PostgreSQL cannot store them)")
    family: FamilyName
    num_stages: int = Field(default=4, ge=1, le=8, description="stages (RegNet: the stage count kept)")
    stem_type: StemType = "simple_stem_in"
    stem_w: int = Field(default=32, ge=1, le=4096)
    block_type: BlockType = "res_bottleneck_block"
    stride: int = Field(default=2, ge=1, le=4, description="stride of each stage's first block")
    strides: list[Annotated[int, Field(ge=1, le=4)]] | None = Field(
        default=None, description="per-stage strides of each stage's first block, one per stage (overrides "
        "`stride`; NDS's ResNet-style spaces: [1, 2, 2])")
    se_r: float = Field(default=0.0, ge=0.0, le=1.0, description="SE ratio (RegNetY: 0.25)")
    head_w: int = Field(default=0, ge=0, le=65536)
    im_size: int = Field(default=224, ge=8, le=1024, description="input resolution used for complexity")
    num_classes: int = Field(default=1000, ge=2, le=100_000)
    standardize: Standardization = Field(
        default="netspace", description="how sampled stage lists are made buildable: netspace (default) or "
        "pycls_sweep (exactly pycls's sweep setup); see docs/standardization.md")
    params: dict[str, ParamSpec]
    options: dict[str, Annotated[str, Field(max_length=100)]] = Field(
        default_factory=dict, description="the family's own settings beside its parameters (GET /api/families "
        "`options`: names, allowed values, defaults), e.g. nds_cell's {\"cell\": \"DARTS\"}")

    @field_validator("description")
    @classmethod
    def _no_nul(cls, text: str) -> str:
        # a YAML or JSON escape in a spec's text makes one after the request's own bytes were checked
        if "\x00" in text:
            raise InvalidField("", "must not contain NUL characters (\\u0000): PostgreSQL cannot store them")
        return text

    @field_validator("params")
    @classmethod
    def _param_values(cls, params: dict[str, ParamSpec]) -> dict[str, ParamSpec]:
        for name, p in params.items():
            lo, hi = p.bounds()
            where = f"params.{name}"
            if name in INTEGER_PARAMS and any(v != int(v) for v in _edge_values(p)):
                raise InvalidField(where, f"must take integer values (got {_edge_values(p)})")
            if name in MULTIPLE_OF_8 and any(int(v) % 8 for v in _edge_values(p)):
                raise InvalidField(where, f"values must be divisible by 8 (got {_edge_values(p)})")
            if name in MULTIPLE_OF_8 and p.law in ("uniform", "log_uniform") and p.number("q") % 8:
                raise InvalidField(f"{where}.q", f"must be a multiple of 8 (got {p.q})")
            if name == "d" and not 1 <= lo <= hi <= MAX_DEPTH:
                raise InvalidField(where, f"depth must be in [1, {MAX_DEPTH}] (got [{lo}, {hi}])")
            if name in ("w", "w0") and not 8 <= lo <= hi <= MAX_WIDTH:
                raise InvalidField(where, f"width must be in [8, {MAX_WIDTH}] (got [{lo}, {hi}])")
            if name == "wa" and not 0 <= lo <= hi <= MAX_WIDTH:
                raise InvalidField(where, f"slope must be in [0, {MAX_WIDTH}] (got [{lo}, {hi}])")
            if name == "wm" and not (lo > 1 and hi <= 100):
                raise InvalidField(where, f"width multiplier must be in (1, 100] (got [{lo}, {hi}])")
            if name == "g" and not 1 <= lo <= hi <= MAX_WIDTH:
                raise InvalidField(where, f"group width must be in [1, {MAX_WIDTH}] (got [{lo}, {hi}])")
            if name == "b":
                for v in _edge_values(p):
                    bm = 1.0 / v if v > 0 else float("inf")
                    if not (0 < v <= 64) or (bm > 1 and abs(bm - round(bm)) > 1e-9):
                        raise InvalidField(where, f"bottleneck ratio b must be in (0, 64] with 1/b an "
                                         f"integer when b < 1 (got {v})")
        return params

    @model_validator(mode="after")
    def _family_params(self) -> SpaceSpec:
        family = get_family(self.family)
        family.check_spec(self)
        if self.strides is not None and len(self.strides) != self.num_stages:
            raise InvalidField("strides", f"needs one stride per stage ({self.num_stages}), got {len(self.strides)}")
        d = self.params.get("d")
        if d is not None and "d" in family.stage_params and self.num_stages * d.bounds()[1] > MAX_BLOCKS:
            # every sampled network must be a valid config (AnyNetConfig: at most MAX_BLOCKS blocks in all)
            most = MAX_BLOCKS // self.num_stages
            raise InvalidField("params.d", f"{self.num_stages} stages of up to {d.bounds()[1]:g} blocks exceed "
                               f"{MAX_BLOCKS} blocks in all; high <= {most}", f"[1, {most}]")
        return self

    def stage_strides(self) -> list[int]:
        """The stride of each stage's first block: `strides` where given, else `stride` for every stage."""
        return list(self.strides) if self.strides is not None else [self.stride] * self.num_stages

    def yaml_text(self) -> str:
        import yaml

        return yaml.safe_dump(self.model_dump(mode="json", exclude_defaults=False), sort_keys=False)


def _edge_values(p: ParamSpec) -> list[float]:
    if p.law in ("choice", "fixed"):
        return p.support()
    return [p.number("low"), p.number("high")]


#: the deepest nesting of mappings and lists a spec's text may have (a spec needs 4: params.w.values[...])
MAX_NESTING = 32


def _check_nesting(text: str) -> None:
    """Refuse text nested deeper than MAX_NESTING before yaml builds it: PyYAML's composer recurses per level
    (a 500-deep `[[[...]]]` raised RecursionError, a 500). Its event parser does not recurse, so the depth is
    counted on the events, stopping at the first one too deep."""
    import yaml

    depth = 0
    try:
        for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    raise InvalidField("spec", f"nested deeper than {MAX_NESTING} levels", f"depth <= {MAX_NESTING}")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # malformed within MAX_NESTING levels: the loader reports it, with its own line and column


def parse_space(data: dict[str, Any] | str) -> SpaceSpec:
    """Validate a spec given as a dict or YAML/JSON text (YAML is a superset of JSON)."""
    import yaml

    if isinstance(data, str):
        _check_nesting(data)
        data = yaml.safe_load(data)
    if not isinstance(data, dict):
        raise InvalidField("spec", "must be a mapping (YAML or JSON object)")
    return SpaceSpec.model_validate(data)
