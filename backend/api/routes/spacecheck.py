"""POST /api/spaces/validate: check a custom design-space spec (YAML or JSON text) as the user types.

The dashboard's Queue form has no YAML parser of its own; the server parses with the same parse_space the
CLI and POST /api/studies use, so the inline check and the final submit can never disagree. The answer is a
verdict, so it is 200 either way (a check run on every keystroke must not log failed requests):
{"valid": true, "spec", "dimension", "size"} with the spec as the JSON object to send as `space` and its
paper Table 1 counts, or {"valid": false, "errors": [{"field": "space.<path>", "msg"}]}. Only a malformed
request (no text, too long) is a 422.
"""

from __future__ import annotations

import yaml
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.designspace.size import space_size
from backend.designspace.spec import format_validation_error, parse_space
from backend.services.errors import InvalidInput

router = APIRouter(tags=["spaces"])
MAX_TEXT = 100_000


class SpecText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT, description="the spec as YAML or JSON")


@router.post("/api/spaces/validate")
def validate_space(body: SpecText) -> dict:
    """Check a spec; see the module doc for the two answers."""
    try:
        spec = parse_space(body.text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return _invalid([("space", f"not valid YAML/JSON: {where}{getattr(e, 'problem', None) or e}")])
    except ValidationError as e:
        items = []
        for line in format_validation_error(e):
            field, _, msg = line.partition(": ")
            path = [] if field == "spec" else field.split(".")  # "spec": the whole spec, not one field
            items.append((".".join(["space", *path]), msg))
        return _invalid(items)
    except ValueError as e:
        err = InvalidInput.from_value_error(e, "space")
        return _invalid([(err.field if err.field.startswith("space") else f"space.{err.field}", err.message)])
    size = space_size(spec)
    return {"valid": True, "spec": spec.model_dump(mode="json"), "dimension": size.dimension,
            "size": float(size.exact)}


def _invalid(items: list[tuple[str, str]]) -> dict:
    return {"valid": False, "errors": [{"field": f, "msg": m} for f, m in items]}
