"""A model spec as users write it: a canonical AnyNet config or a RegNet spec, always read into the AnyNet form.

Kept apart from config.py (the schemas) and regnet.py (the law), which it joins: config.py imports nothing of
the design space and regnet.py builds on it, so neither imports the other back (an import-linter contract
holds that order).
"""

from __future__ import annotations

import json
from typing import Any

from backend.fielderrors import InvalidField

from .config import AnyNetConfig, RegNetSpec
from .regnet import regnet_to_anynet


def parse_model_spec(data: dict[str, Any] | str) -> AnyNetConfig:
    """Accept a canonical AnyNet config or a RegNet spec (dict or JSON text) and return the AnyNet form."""
    if isinstance(data, str):
        data = json.loads(data)
    if not isinstance(data, dict):
        raise InvalidField("spec", "must be a JSON object")
    kind = data.get("type", "anynet")
    if kind == "regnet":
        return regnet_to_anynet(RegNetSpec.model_validate(data))
    if kind == "anynet":
        return AnyNetConfig.model_validate(data)
    raise InvalidField("type", f"must be 'anynet' or 'regnet', got {kind!r}")
