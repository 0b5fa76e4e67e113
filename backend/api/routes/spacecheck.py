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
from pydantic import BaseModel, ConfigDict, Field

from backend.designspace.size import space_size
from backend.designspace.spec import parse_space
from backend.fielderrors import as_field_errors, join_field
from backend.services.views import SpaceCheck, SpecProblem

router = APIRouter(tags=["spaces"])
MAX_TEXT = 100_000


class SpecText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT, description="the spec as YAML or JSON")


@router.post("/api/spaces/validate", response_model_exclude_none=True)
def validate_space(body: SpecText) -> SpaceCheck:
    """Check a spec; see the module doc for the two answers."""
    try:
        spec = parse_space(body.text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return _invalid([("space", f"not valid YAML/JSON: {where}{getattr(e, 'problem', None) or e}")])
    except ValueError as e:  # a ValidationError, or parse_space's InvalidField("spec") about the whole spec
        return _invalid([(_space_field(f.field), f.message) for f in as_field_errors(e, "spec")])
    size = space_size(spec)
    return SpaceCheck(valid=True, spec=spec.model_dump(mode="json"), dimension=size.dimension,
                      size=float(size.exact))


def _space_field(field: str) -> str:
    """The spec's field as the request names it: under `space` ('spec' is the whole spec)."""
    return "space" if field in ("", "spec") else join_field("space", field)


def _invalid(items: list[tuple[str, str]]) -> SpaceCheck:
    return SpaceCheck(valid=False, errors=[SpecProblem(field=f, msg=m) for f, m in items])
