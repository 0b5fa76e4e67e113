"""Canonical model configurations.

Every sampled model is stored as one canonical AnyNet config: the per-stage lists pycls's AnyNet takes
(depths, widths, strides, bot_muls, group_ws) plus the stem, block and SE settings. A RegNet spec
(depth, w0, wa, wm, group_w, bot_mul, se_r) expands to it; the RegNet values are kept beside the lists,
as pycls's sweep keeps REGNET.* next to the ANYNET lists, so analyses can still use wa or wm.

Canonical JSON (sorted keys, no whitespace) is hashed to deduplicate samples within a study.

This module is the bottom of the design-space core: it imports nothing else of it. The RegNet law
(regnet.py) builds on these models, and modelspec.py reads a user's model spec of either kind.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.fielderrors import InvalidField

StemType = Literal["simple_stem_in", "res_stem_in", "res_stem_cifar", "nds_stem_in"]
BlockType = Literal["res_bottleneck_block", "res_basic_block", "vanilla_block"]

STEM_TYPES: tuple[str, ...] = ("simple_stem_in", "res_stem_in", "res_stem_cifar", "nds_stem_in")
BLOCK_TYPES: tuple[str, ...] = ("res_bottleneck_block", "res_basic_block", "vanilla_block")
#: how sampled stage lists are made buildable (regnet.standardize_stages; docs/standardization.md): "netspace",
#: the default, or "pycls_sweep", exactly what pycls's sweep setup (scale_model at factor 1) does
Standardization = Literal["netspace", "pycls_sweep"]


class RegNetParams(BaseModel):
    """The six numbers of the quantized linear law, in pycls's conventions (bot_mul = 1/b)."""

    model_config = ConfigDict(extra="forbid")

    depth: int = Field(ge=1, le=1000, description="total number of blocks d")
    w0: int = Field(gt=0, le=1_000_000, description="initial width, divisible by 8")
    wa: float = Field(ge=0, le=1_000_000, description="slope of the linear widths")
    wm: float = Field(gt=1, le=1000, description="width multiplier, > 1")
    group_w: int = Field(ge=1, le=100_000, description="group width g")
    bot_mul: float = Field(default=1.0, gt=0, le=64, description="bottleneck multiplier 1/b")

    @field_validator("w0")
    @classmethod
    def _w0_divisible_by_8(cls, v: int) -> int:
        if v % 8:
            raise ValueError(f"must be divisible by 8 (got {v})")
        return v

    @field_validator("bot_mul")
    @classmethod
    def _bot_mul_pycls_rule(cls, v: float) -> float:
        if v > 1 and v != int(v):
            raise ValueError(f"must be < 1 or an integer (pycls rule), got {v}")
        return v


class RegNetSpec(RegNetParams):
    """A RegNet model as users write it (`{"type": "regnet", ...}`); expands to an AnyNetConfig."""

    type: Literal["regnet"] = "regnet"
    se_r: float = Field(default=0.0, ge=0, le=1)
    stem_type: StemType = "simple_stem_in"
    stem_w: int = Field(default=32, ge=1, le=100_000)
    block_type: BlockType = "res_bottleneck_block"
    stride: int = Field(default=2, ge=1, le=8)
    head_w: int = Field(default=0, ge=0, le=100_000)
    standardize: Standardization = Field(
        default="netspace", description="netspace: pycls's model construction (compatibility adjustment only); "
        "pycls_sweep: also pycls's sweep scale_model (widths to multiples of 8, group widths snapped, adjusted)")

    def params(self) -> RegNetParams:
        return RegNetParams(**{k: getattr(self, k) for k in RegNetParams.model_fields})


#: the bounds of a network's stage lists, declared once: AnyNetConfig is validated with them, and so is every stored
#: config with stage lists whatever its arch type (importers: `check_stages`), so the analyses that walk a
#: network block by block (e_fit fits the width law per block, ~1-2 ms a block) are bounded in work for any row
MAX_STAGES = 16
MAX_BLOCKS = 1000  # total depth, as RegNetParams.depth
STAGE_RANGES = (("depths", 1, 1000), ("widths", 1, 100_000), ("strides", 1, 8), ("group_ws", 1, 100_000))
_STAGE_LISTS = ("depths", "widths", "strides", "bot_muls", "group_ws")


def stage_lists(cfg: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The AnyNet stage lists of a stored config: the config itself (canonical AnyNet), the `anynet` form an
    importer derived (NDS ResNe(X)t/Vanilla nets), or None for architectures without stages (NAS cells)."""
    if not isinstance(cfg, Mapping) or not cfg:
        return None
    if "depths" in cfg and "widths" in cfg:
        return cfg
    inner = cfg.get("anynet")
    return inner if isinstance(inner, Mapping) and "depths" in inner and "widths" in inner else None


def check_stages(cfg: Mapping[str, Any]) -> None:
    """Raise InvalidField naming the list (and stage) when stage lists break the bounds above: 1..MAX_STAGES
    stages, one entry per stage in every list given, integers in STAGE_RANGES, at most MAX_BLOCKS blocks."""
    depths = cfg.get("depths")
    if not isinstance(depths, list) or not 1 <= len(depths) <= MAX_STAGES:
        got = f"{len(depths)} stages" if isinstance(depths, list) else type(depths).__name__
        raise InvalidField("depths", f"need 1 to {MAX_STAGES} stages, got {got}", f"[1, {MAX_STAGES}] stages")
    for name in _STAGE_LISTS[1:]:
        values = cfg.get(name)
        if values is not None and (not isinstance(values, list) or len(values) != len(depths)):
            got = str(len(values)) if isinstance(values, list) else type(values).__name__
            raise InvalidField(name, f"must have one entry per stage ({len(depths)}), got {got}")
    for name, lo, hi in STAGE_RANGES:
        values = cfg.get(name)
        if values is None:
            continue
        if set(map(type, values)) <= {int} and lo <= min(values) and max(values) <= hi:
            continue  # C-level checks first; the loop only to name the stage
        for i, v in enumerate(values):
            if not (type(v) in (int, float) and math.isfinite(v) and v == int(v) and lo <= v <= hi):
                raise InvalidField(f"{name}[{i}]", f"must be an integer in [{lo}, {hi}], got {v!r:.40}",
                                   f"[{lo}, {hi}]")
    if sum(depths) > MAX_BLOCKS:
        raise InvalidField("depths", f"{sum(depths)} blocks in all; at most {MAX_BLOCKS}", f"sum <= {MAX_BLOCKS}")


class AnyNetConfig(BaseModel):
    """The canonical architecture: what the torch builder, complexity and exports all read."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["anynet"] = "anynet"
    stem_type: StemType = "simple_stem_in"
    stem_w: int = Field(default=32, ge=1, le=100_000)
    block_type: BlockType = "res_bottleneck_block"
    depths: list[int]
    widths: list[int]
    strides: list[int]
    bot_muls: list[float]
    group_ws: list[int]
    se_r: float = Field(default=0.0, ge=0, le=1)
    head_w: int = Field(default=0, ge=0, le=100_000)
    regnet: RegNetParams | None = None

    @model_validator(mode="after")
    def _stage_lists_agree(self) -> AnyNetConfig:
        check_stages({k: getattr(self, k) for k in _STAGE_LISTS if k != "bot_muls"})
        for i, bm in enumerate(self.bot_muls):
            if not 0 < bm <= 64 or (bm > 1 and bm != int(bm)):
                raise InvalidField(f"bot_muls[{i}]", f"must be in (0, 1] or an integer ≤ 64, got {bm}")
        if self.block_type == "res_bottleneck_block":
            for i, (w, bm, g) in enumerate(zip(self.widths, self.bot_muls, self.group_ws, strict=True)):
                w_b = int(round(w * bm))
                if w_b < 1 or w_b % g:
                    raise ValueError(
                        f"group_ws[{i}]: inner width round(w*bot_mul)={w_b} must be a positive multiple "
                        f"of the group width {g}"
                    )
        return self

    @property
    def depth(self) -> int:
        return sum(self.depths)

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=True), sort_keys=True,
                          separators=(",", ":"))

    def config_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:32]
