"""The space-family registry: entries found from their modules, every family rule read off the entry, and room
for families unlike AnyNet (cell-based, no per-stage widths, not sampled)."""

from __future__ import annotations

import sys
import typing

import numpy as np
import pytest

from backend.designspace.builtin import builtin_spaces, get_space
from backend.designspace.families import FAMILIES, Family, family_names, get_family
from backend.designspace.refine import Refinement, refine, satisfies
from backend.designspace.sampling import Regime, sample
from backend.designspace.size import space_size
from backend.designspace.spec import SpaceSpec, parse_space
from backend.registry import Registry, UnknownEntry


def test_families_are_the_modules_of_the_package():
    assert family_names() == ("anynet", "nds_cell", "nds_resnext", "nds_stages", "regnet")
    assert list(FAMILIES.entries()) == ["anynet", "regnet", "nds_resnext", "nds_stages", "nds_cell"]  # display order
    assert set(typing.get_args(SpaceSpec.model_fields["family"].annotation)) == set(family_names())
    schema = SpaceSpec.model_json_schema()["properties"]["family"]
    assert sorted(schema["enum"]) == list(family_names())


def test_unknown_family_names_the_allowed_ones():
    allowed = "anynet, regnet, nds_resnext, nds_stages, nds_cell"
    with pytest.raises(ValueError, match=rf"family: unknown space family 'nope'; allowed: {allowed}"):
        get_family("nope")
    with pytest.raises(ValueError, match="family"):
        parse_space("name: x\nfamily: nope\nparams: {}")


def test_every_builtin_space_fits_its_family():
    for space in builtin_spaces().values():
        fam = get_family(space.family)
        assert set(space.params) == set(fam.params)
        cols = [c for k in space.params for c in fam.param_columns(space, k)]
        if fam.stage_params:
            assert sorted(cols) == sorted(f"{k}_{i}" for k in fam.stage_params for i in range(1, space.num_stages + 1))
        else:
            assert cols == list(space.params)


def test_family_rules_are_what_the_spec_checks():
    data = get_space("RegNetX").model_dump()
    data["params"]["b"]["shared"] = True
    with pytest.raises(ValueError, match=r"params\.b: shared/monotone apply to per-stage parameters only"):
        SpaceSpec.model_validate(data)
    data = get_space("AnyNetX_A").model_dump()
    del data["params"]["g"]
    with pytest.raises(ValueError, match=r"params: anynet spaces need \['d', 'w', 'b', 'g'\]; missing \['g'\]"):
        SpaceSpec.model_validate(data)


def test_size_and_refine_follow_the_family():
    a, r = get_space("AnyNetX_A"), get_space("RegNetX")
    assert {c.rule for c in space_size(a).params.values()} == {"per-stage"}
    assert {c.rule for c in space_size(r).params.values()} == {"global"}
    assert space_size(r, paper_levels=64).params["wa"].values == 64  # a continuous parameter of RegNet
    assert space_size(r, paper_levels=64).params["g"].values == 6  # not continuous: its own support
    with pytest.raises(ValueError, match=r"share/monotone\.w0: only stage parameters \[\] apply"):
        refine(r, Refinement(name="x", share=["w0"]))
    with pytest.raises(ValueError, match="already follows the RegNet law"):
        refine(r, Refinement(name="x", to_regnet=True))
    child = refine(a, Refinement(name="x", to_regnet=True))
    assert child.family == "regnet"
    assert get_family("anynet").filter_params(a) == ["b", "g"]
    assert get_family("regnet").filter_params(r) == list(r.params)


def test_sampling_dispatches_on_the_family():
    for name in ("AnyNetX_B", "RegNetY"):
        space = get_space(name)
        res = sample(space, 20, seed=3, regime=Regime(flops=(200e6, 800e6)))
        assert len(res) == 20
        configs = [res.config(i) for i in range(20)]
        assert all((c.regnet is not None) == (space.family == "regnet") for c in configs)
        assert set(res.batch.sampled) == {c for k in space.params
                                          for c in get_family(space.family).param_columns(space, k)}
        # every sampled model lies in its own space (satisfies reads the family's columns)
        pop = {k: np.asarray(v, dtype=float) for k, v in res.batch.sampled.items()}
        if space.family == "anynet":
            pop.update({f"w_{i + 1}": res.batch.widths[:, i].astype(float) for i in range(space.num_stages)})
        assert satisfies(space, pop).all()


CELL_FAMILY = '''
from backend.designspace.families import Family


class Cells(Family):
    """A cell-based family: a fixed cell repeated, no per-stage widths, populations only imported."""

    name = "cells"
    label = "toy cells"
    description = "cell networks"
    params = ("n_cells", "width")
    per_block_widths = False
    samplable = False
    arch_type = "toy_cells"


FAMILY = Cells()
'''


@pytest.fixture
def toy_package(tmp_path, monkeypatch):
    """A package holding families as files, as backend/designspace/families does."""
    pkg = tmp_path / "toyfamilies"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "_helpers.py").write_text("NOT_AN_ENTRY = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield pkg
    for name in [m for m in sys.modules if m.startswith("toyfamilies")]:
        del sys.modules[name]


def test_a_new_family_is_one_file(toy_package):
    """The registry mechanism: a module in the package is an entry (helpers `_x` are not), found by its file name
    before anything imports it; a cell family without widths or a sampler fits the Family interface."""
    (toy_package / "cells.py").write_text(CELL_FAMILY)
    reg: Registry[Family] = Registry("toyfamilies", "FAMILY", "space family", "family")
    assert reg.names() == ("cells",)
    assert "toyfamilies.cells" not in sys.modules  # names() did not import the entry
    cells = reg.get("cells")
    assert cells.describe() == {"name": "cells", "label": "toy cells", "description": "cell networks",
                                "params": ["n_cells", "width"], "stage_params": [], "per_block_widths": False,
                                "samplable": False, "arch_type": "toy_cells", "refine_steps": ["narrow", "fix"],
                                "options": [], "columns": []}
    with pytest.raises(ValueError, match="cells spaces cannot be sampled"):
        cells.propose(get_space("RegNetX"), np.random.default_rng(0), 4)
    with pytest.raises(UnknownEntry, match="allowed: cells"):
        reg.get("other")


def test_an_entry_must_carry_its_module_name(toy_package):
    (toy_package / "wrong.py").write_text(CELL_FAMILY)  # FAMILY.name is "cells"
    with pytest.raises(RuntimeError, match="toyfamilies.wrong: FAMILY.name is 'cells'"):
        Registry("toyfamilies", "FAMILY", "space family", "family").entries()
