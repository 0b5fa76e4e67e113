"""Fuzz every API operation from its OpenAPI schema (schemathesis, in-process over ASGI), on a temp SQLite database
and a fresh PostgreSQL schema.

Every answer must be below 500, its status documented for that operation, and its body valid against the
documented response schema. Bounded: a few generated examples per operation, plus schemathesis's deterministic
coverage cases (every boundary the schema declares). /api/events is an endless SSE stream (it cannot be called
in-process to completion) and is exercised by the event tests instead.

Each (database, operation) pair is its own pytest item, parametrized here rather than by schemathesis's pytest
plugin (`schema.parametrize()`): the plugin's items all share one node id, so pytest-xdist cannot tell them apart
(it once collapsed them into one item and let ten failing fuzz cases pass unseen), `-k` cannot pick one operation
and `--durations` cannot name the slow ones. With real items the slow stage runs the fuzz on xdist workers. The
hypothesis test for an operation is built by the same schemathesis builder the plugin uses (same phases, same
cases), so nothing is lost by the change.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from conftest import fresh_pg_schema
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, as_reported_failure
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.python._constants.orchestrator import make_constants_value_source
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from backend.api.app import create_app
from backend.api.settings import Settings
from db.engine import make_engine
from db.migrate import upgrade

MAX_EXAMPLES = 6
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
pytestmark = pytest.mark.slow


def _fuzz_schema(url: str):
    """The API's schema over a migrated database at `url`, called in-process."""
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    # small max_n keeps generated `n` values cheap; the limit itself is what a huge n must hit
    # in-process requests name the host "testserver", which the DNS-rebinding guard refuses unless allowed
    app = create_app(Settings(db_url=url, max_n=20, migrate=False, allowed_hosts=("testserver",), warm_studies=0))
    return schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path="/api/events")


def _operation_labels() -> list[str]:
    """Every operation of the schema ("GET /api/studies/{study_id}", ...), read at collection time from an app
    over a throw-away SQLite file; the same list in every xdist worker, so their collections agree."""
    folder = Path(tempfile.mkdtemp(prefix="netspace-fuzz-ops-"))
    try:
        schema = _fuzz_schema(f"sqlite:///{folder / 'ops.db'}")
        return sorted(result.ok().label for result in schema.get_all_operations())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


OPERATIONS = _operation_labels()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_schema(request, tmp_path_factory) -> Iterator[object]:
    """One migrated database per (database, xdist worker), fuzzed by every operation's item in turn. Its
    "postgresql" parameter marks the tests `postgres` (conftest PG_PARAMS); without a reachable PostgreSQL that
    half skips locally and fails in CI (missing_service)."""
    if request.param == "sqlite":
        yield _fuzz_schema(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}")
    else:
        with fresh_pg_schema("fuzz") as url:
            yield _fuzz_schema(url)


@FUZZ
def _check(case) -> None:
    response = case.call()
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_no_server_errors_and_only_documented_responses(fuzz_schema, operation: str) -> None:
    op = fuzz_schema.find_operation_by_label(operation)
    assert op is not None, f"{operation} is no longer in the schema"
    run = build_operation_test(
        config=fuzz_schema.config, operation=op, test_func=_check, given_kwargs={},
        feedback=FeedbackSources(constants_value_source=make_constants_value_source(fuzz_schema)))
    try:
        run()
    except FailureGroup as exc:  # schemathesis's own report of the failing cases (as its plugin prints them)
        raise as_reported_failure(exc) from None
