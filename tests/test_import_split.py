"""`importers.source.split_list` guesses where the elements of a large JSON list start, and `span_value` proves
each guess by parsing: whatever the list and its formatting, the elements read this way are exactly the
elements of the whole-document parse, or some element raises SplitMismatch (and the importer parses the
document whole). A wrong element is never returned."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.importers.source import SplitMismatch, span_value, split_list

KEYS = st.sampled_from(["net", "job_id", "a", "ws", "x y", "\u00e9"])
LEAVES = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True, allow_infinity=False) \
    | st.text(alphabet='ab{}[]":, \\\n', max_size=8)
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                      max_leaves=8)
RECORDS = st.lists(st.dictionaries(KEYS, VALUES, min_size=1, max_size=4), min_size=1, max_size=6)
WRITERS = [
    lambda v: json.dumps(v),
    lambda v: json.dumps(v, indent=2),
    lambda v: json.dumps(v, separators=(",", ":")),
    lambda v: orjson.dumps(v).decode() if all(x == x for x in _floats(v)) else json.dumps(v),
    lambda v: " \n" + json.dumps(v, indent=1) + "\n\n",
]


def _floats(v):
    if isinstance(v, float):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from _floats(x)
    elif isinstance(v, list):
        for x in v:
            yield from _floats(x)


def read_split(text: str) -> list | None:
    """The list as split_list/span_value read it (None: not splittable); SplitMismatch propagates."""
    spans = split_list(text)
    return None if spans is None else [span_value(text, span) for _, span in spans]


@settings(max_examples=300, deadline=None)
@given(RECORDS, st.sampled_from(range(len(WRITERS))))
def test_split_reads_the_list_or_refuses(records, writer):
    text = WRITERS[writer](records)
    try:
        elements = read_split(text)
    except SplitMismatch:
        return  # the caller parses the whole document instead
    assert elements is not None
    assert json.dumps(elements, sort_keys=True) == json.dumps(json.loads(text), sort_keys=True)


def test_labels_and_a_nested_opening():
    runs = [{"job_id": str(i), "net": {"ds": [1, 2]}} for i in range(5)]
    text = json.dumps(runs)
    assert [label for label, _ in split_list(text)] == ["0", "1", "2", "3", "4"]
    assert read_split(text) == runs
    runs[2]["net"] = {"job_id": "nested"}  # the runs' opening occurs inside run 2: the guess cuts it
    with pytest.raises(SplitMismatch):
        read_split(json.dumps(runs))


@pytest.mark.parametrize("text", ["{}", "[]", "[1, 2]", '[["a"]]', '{"top": [{"a": 1}]}', "[{}]", '[{"a" 1}]'])
def test_not_a_list_of_objects_is_not_split(text):
    assert split_list(text) is None


@pytest.mark.parametrize("text", ['[{"a": 1}, {"a": 2}', '[{"a": 1},, {"a": 2}]', '[{"a": 1}, {"a": 2},]',
                                  '[{"a": 1}, {"a": 2}] x', '[{"a": 1} {"a": 2}]', '[{"a": NaN}, {"a": 2}] ]'])
def test_malformed_lists_are_refused(text):
    with pytest.raises(SplitMismatch):
        read_split(text)


def test_nan_tokens_parse_per_element():
    text = '[{"a": NaN, "b": [1.5, NaN]}, {"a": 2}]'
    first, second = read_split(text)
    assert first["a"] != first["a"] and first["b"][0] == 1.5 and second == {"a": 2}
