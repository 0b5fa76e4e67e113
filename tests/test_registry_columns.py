"""The column table (backend/designspace/columns.yaml) is the one description every layer reads."""

from __future__ import annotations

import pytest

from backend.designspace import columns
from backend.designspace.builtin import get_space
from backend.designspace.params import LOG_SCALE, MAX_STAGE_COLUMNS, PARAM_NAMES, flat_params
from backend.designspace.sampling import sample
from backend.figures.common import axis_title, axis_type
from backend.services.filters import RANGE_COLUMNS, ModelFilter
from db.models import models


def test_sampled_columns_are_the_database_columns_in_table_order():
    assert ("d", "w0", "wa", "wm", "g", "b", *(f"{p}_{i}" for p in "dwgb" for i in range(1, 6))) == PARAM_NAMES
    assert MAX_STAGE_COLUMNS == 5
    assert all(name in models.c for name in PARAM_NAMES)
    cfg = sample(get_space("AnyNetX_A"), 1, seed=0).config(0)
    assert set(flat_params(cfg)) == set(PARAM_NAMES)  # what a model row fills is what the table lists


def test_log_axes_and_labels_come_from_the_table():
    # one rule for every stage width (the dashboard used to say w_1..w_5, the server w_1..w_8)
    assert {f"w_{i}" for i in range(1, 6)} <= LOG_SCALE and "w_6" not in LOG_SCALE
    assert {"flops", "params", "acts", "w0", "wa", "wm", "g"} <= LOG_SCALE and "b" not in LOG_SCALE
    assert axis_title("error") == "top-1 error (%)" and axis_title("w_3") == "stage 3 width w_3"
    assert axis_title("infer_ms") == "inference time (ms per 64 images)"
    import numpy as np

    assert axis_type("w_2", np.array([8.0, 64.0])) == "log" and axis_type("d_2", np.array([1.0, 4.0])) == "linear"


def test_filters_are_the_columns_marked_filter():
    marked = {c.name for c in columns.columns().values() if c.filter}
    assert set(RANGE_COLUMNS) == marked
    assert {"error", "flops", "infer_ms", "train_seconds", "e_fit", *PARAM_NAMES} <= marked  # e_fit: stored
    assert "error_final" not in marked
    assert set(ModelFilter.model_fields) >= {f"{n}_{s}" for n in marked for s in ("min", "max")}


def test_imported_fields_are_described_without_an_entry():
    other = columns.describe("foo_bar")
    assert (other.label, other.source, other.group, other.log, other.filter) == (
        "foo_bar", "extra", "Imported", False, True)
    assert axis_title("foo_bar") == "foo_bar" and not columns.describe("Foo-Bar").filter  # no query name
    lr = columns.describe("lr")  # the table's `imported` section labels the common ones
    assert (lr.label, lr.source, lr.log, lr.filter) == ("learning rate", "extra", True, True)
    op = columns.describe("reduce_sep_conv_3x3")
    assert (op.label, op.unit, op.format) == ("reduction cell: sep_conv_3x3", "ops", "count")
    present = ["lr", "w_1", "error", "flops", "d_1", "wd"]
    assert [c.name for c in columns.columns_for(present)] == ["flops", "d_1", "w_1", "error", "lr", "wd"]
    groups = {c.name: c.group for c in columns.columns_for(present)}
    assert groups == {"flops": "Complexity", "d_1": "Per stage", "w_1": "Per stage", "error": "Result",
                      "lr": "Imported", "wd": "Imported"}


def test_a_bad_table_is_refused(tmp_path, monkeypatch):
    table = tmp_path / "columns.yaml"
    table.write_text("stage_columns: 2\ncolumns:\n  - {name: x, label: x, source: result}\n"
                     "  - {name: x, label: again, source: result}\n")
    monkeypatch.setattr(columns, "TABLE", table)
    columns._table.cache_clear()
    try:
        with pytest.raises(ValueError, match="listed twice"):
            columns.columns()
        table.write_text("stage_columns: 2\ncolumns:\n  - {name: Bad-Name, label: x, source: result}\n")
        columns._table.cache_clear()
        with pytest.raises(ValueError, match="lower-case identifiers"):
            columns.columns()
        table.write_text("stage_columns: 2\ncolumns:\n  - {name: 'v_{i}', label: 'stage {i} v', source: sampled, "
                         "stages: true}\n")
        columns._table.cache_clear()
        assert [(c.name, c.label, c.stage, c.group) for c in columns.columns().values()] == [
            ("v_1", "stage 1 v", 1, "Per stage"), ("v_2", "stage 2 v", 2, "Per stage")]
    finally:
        columns._table.cache_clear()
