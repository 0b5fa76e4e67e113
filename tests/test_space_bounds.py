"""Bounded work from a space spec: sizes in closed form, quanta and grids bounded in the spec schema (issue 18.1).

A spec's size used to be `len(support())` of every law, which lists the whole grid: `q: 1e-5` took seconds and
`q: 1e-8` exhausted memory, on every size report, refinement preview and lineage read. Now the count is closed
form (`ParamSpec.count`) and a grid of more than MAX_LEVELS values is a 422 naming `q` and the allowed range.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.designspace.builtin import builtin_spaces, get_space
from backend.designspace.size import space_size
from backend.designspace.spec import MAX_LEVELS, MIN_Q, ParamSpec, parse_space
from backend.fielderrors import as_field_errors

GRID_LAWS = ("uniform", "log_uniform", "power2_or_log_uniform")


@settings(max_examples=300, deadline=None)
@given(law=st.sampled_from(GRID_LAWS), q_exp=st.integers(-3, 3), q_mant=st.sampled_from([1, 2, 5, 8, 25]),
       k_lo=st.integers(1, 400), span=st.integers(0, 3000))
def test_closed_form_count_equals_the_listed_support(law, q_exp, q_mant, k_lo, span):
    q = q_mant * 10.0**q_exp
    decimals = max(0, -q_exp)
    low, high = round(k_lo * q, decimals + 2), round((k_lo + span) * q, decimals + 2)
    try:
        p = ParamSpec(law=law, low=low, high=high, q=q)
    except ValueError:
        return  # off the grid after rounding: not a spec
    assert p.count() == len(p.support())


@pytest.mark.parametrize("p", [
    {"law": "power2", "low": 1, "high": 1024}, {"law": "power2_or_log_uniform", "low": 1, "high": 256, "q": 8},
    {"law": "power2_or_log_uniform", "low": 0.25, "high": 3, "q": 0.5}, {"law": "choice", "values": [3, 1, 3, 2]},
    {"law": "fixed", "value": 7}, {"law": "power2_or_log_uniform", "low": 1, "high": 4, "q": 16},
])
def test_count_of_the_other_laws(p):
    spec = ParamSpec.model_validate(p)
    assert spec.count() == len(spec.support())


def test_builtin_space_sizes_do_not_list_their_grids():
    for spec in builtin_spaces().values():
        assert space_size(spec).exact > 0


def _regnet(wm: dict) -> dict:
    data = get_space("RegNetX").model_dump(mode="json")
    data["params"]["wm"] = wm
    return data | {"name": "tinyq"}


def test_a_fine_quantum_within_the_bound_is_sized_fast():
    t0 = time.perf_counter()
    size = space_size(parse_space(_regnet({"law": "log_uniform", "low": 1.5, "high": 3.0, "q": 1e-5})))
    assert time.perf_counter() - t0 < 0.05
    assert size.params["wm"].values == 150_001


@pytest.mark.parametrize("q", [1e-7, 1e-8, 1e-300, 5e-324])
def test_a_tiny_quantum_is_refused_fast_naming_q_and_the_range(q):
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as err:
        parse_space(_regnet({"law": "log_uniform", "low": 1.5, "high": 3.0, "q": q}))
    assert time.perf_counter() - t0 < 0.05
    f = as_field_errors(err.value)[0]
    assert f.field == "params.wm.q", f
    assert f.allowed and f.allowed.startswith("[") and "∞" in f.allowed, f


def test_the_largest_allowed_grid_is_counted_in_closed_form():
    q = 1.5 / (MAX_LEVELS - 1)
    q = float(f"{q:.1e}")  # a q with few decimals, so 1.5 and 3 are on its grid
    while (3.0 - 1.5) / q + 1 > MAX_LEVELS:
        q *= 2
    spec = parse_space(_regnet({"law": "uniform", "low": 1.5, "high": 3.0, "q": q}))
    t0 = time.perf_counter()
    size = space_size(spec)
    assert time.perf_counter() - t0 < 0.01
    assert size.params["wm"].values == int(round(1.5 / q)) + 1 <= MAX_LEVELS


def test_the_quantum_floor_is_declared():
    with pytest.raises(ValueError) as err:
        ParamSpec(law="uniform", low=1, high=2, q=MIN_Q / 10)
    f = as_field_errors(err.value)[0]
    assert f.field == "q" and "1e-06" in (f.allowed or ""), f


@pytest.mark.parametrize("bad", [".inf", "-.inf", ".nan", "1.0e999"])
@pytest.mark.parametrize("where", ["value", "q", "values"])
def test_infinite_numbers_in_a_spec_are_field_errors_not_overflows(bad, where):
    law = {"value": "{law: fixed, value: %s}", "q": "{law: uniform, low: 1, high: 16, q: %s}",
           "values": "{law: choice, values: [1, %s]}"}[where] % bad
    text = f"name: x\nfamily: anynet\nparams:\n  d: {law}\n  w: {{law: fixed, value: 64}}\n" \
           "  b: {law: fixed, value: 1}\n  g: {law: fixed, value: 8}\n"
    with pytest.raises(ValueError) as err:
        parse_space(text)
    f = as_field_errors(err.value)[0]
    assert f.field.startswith("params.d") and "finite" in f.message, f


def test_a_per_stage_depth_law_is_bounded_by_the_total_blocks():
    data = get_space("AnyNetX_A").model_dump(mode="json") | {"name": "deep"}
    data["params"]["d"] = {"law": "uniform", "low": 1, "high": 300, "q": 1}
    with pytest.raises(ValueError) as err:
        parse_space(data)
    f = as_field_errors(err.value)[0]
    assert f.field == "params.d" and f.allowed == "[1, 250]", f  # 4 stages x 250 = MAX_BLOCKS
    data["params"]["d"]["high"] = 250
    assert parse_space(data).params["d"].count() == 250


@settings(max_examples=200, deadline=None)
@given(law=st.sampled_from(("uniform", "log_uniform")), q_exp=st.integers(-3, 2),
       k_lo=st.integers(1, 200), span=st.integers(0, 400), a=st.floats(0, 1), b=st.floats(0, 1))
def test_grid_spans_and_membership_agree_with_the_listed_support(law, q_exp, k_lo, span, a, b):
    q = 10.0**q_exp
    low, high = round(k_lo * q, 6), round((k_lo + span) * q, 6)
    try:
        p = ParamSpec(law=law, low=low, high=high, q=q)
    except ValueError:
        return
    sup = p.support()
    lo, hi = sorted((low + (a * 1.2 - 0.1) * (high - low + q), low + (b * 1.2 - 0.1) * (high - low + q)))
    listed = [v for v in sup if lo - 1e-12 <= v <= hi + 1e-12]
    first, last = p.grid_span(lo - 1e-12, hi + 1e-12)
    assert [p.grid_value(k) for k in range(first, last + 1)] == listed
    for v in (lo, hi, sup[len(sup) // 2], sup[-1] + q / 2):
        assert p.contains(v) == any(abs(v - s) < 1e-9 for s in sup)


def test_refining_a_million_value_grid_lists_nothing():
    from backend.designspace.refine import Refinement, refine

    spec = parse_space(_regnet({"law": "uniform", "low": 1.5, "high": 3.0, "q": 2e-6}))
    t0 = time.perf_counter()
    child = refine(spec, Refinement(name="c", narrow={"wm": (2.0, 2.5)}, fix={"d": 16}))
    fixed = refine(spec, Refinement(name="f", fix={"wm": 2.000002}))
    assert time.perf_counter() - t0 < 0.5  # listing 750,001 values took ~2.5 s per step
    assert (child.params["wm"].low, child.params["wm"].high) == (2.0, 2.5)
    assert fixed.params["wm"].value == 2.000002
    with pytest.raises(ValueError, match="not a value"):
        refine(spec, Refinement(name="g", fix={"wm": 2.000001}))
