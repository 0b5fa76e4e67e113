"""Human-friendly counts: 360e6, 360M, 0.4G, 2.5k all parse to floats."""

from __future__ import annotations

import math

from backend.fielderrors import InvalidField

_SUFFIX = {"": 1.0, "k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "g": 1e9, "G": 1e9, "b": 1e9, "B": 1e9}


def parse_count(text: str, field: str = "value") -> float:
    s = str(text).strip().replace("_", "").replace(",", "")
    suffix = s[-1:] if s[-1:] in _SUFFIX and not s[-1:].isdigit() else ""
    body = s[: -len(suffix)] if suffix else s
    try:
        v = float(body) * _SUFFIX[suffix]
    except ValueError:
        raise InvalidField(field, f"not a number: {text!r} (use forms like 360e6, 360M, 0.4G)") from None
    if not math.isfinite(v) or v < 0:
        raise InvalidField(field, f"must be a finite number >= 0 (got {text!r})")
    return v


def parse_range(text: str, field: str) -> tuple[float | None, float | None]:
    """'LO:HI' with either side optional ('360M:400M', ':2M', '1G:')."""
    if ":" not in str(text):
        raise InvalidField(field, f"expected LO:HI, e.g. 360M:400M (got {text!r})")
    lo_s, hi_s = str(text).split(":", 1)
    lo = parse_count(lo_s, f"{field} low") if lo_s.strip() else None
    hi = parse_count(hi_s, f"{field} high") if hi_s.strip() else None
    if lo is not None and hi is not None and lo > hi:
        raise InvalidField(field, f"low must be <= high (got {lo:g} > {hi:g})")
    return lo, hi
