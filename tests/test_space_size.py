"""Dimension and size of the built-in spaces against the paper's Table 1."""

from __future__ import annotations

import csv
import math

from backend.designspace.builtin import get_space
from backend.designspace.size import space_size

ROWS = {"AnyNetX_A": "AnyNetX_A", "AnyNetX_B": "AnyNetX_B", "AnyNetX_C": "AnyNetX_C", "AnyNetX_D": "AnyNetX_D",
        "AnyNetX_E": "AnyNetX_E", "RegNet": "RegNetX"}


def test_table1_dimensions_and_sizes(reference_dir):
    with open(reference_dir / "paper" / "design_space_summary_table1.csv") as f:
        table = {r["design_space"]: r for r in csv.DictReader(f)}
    assert set(table) == set(ROWS)
    for paper_name, ours in ROWS.items():
        row = table[paper_name]
        size = space_size(get_space(ours), paper_levels=64 if paper_name == "RegNet" else None)
        assert size.dimension == int(row["dim"]), paper_name
        # the paper states two significant digits
        assert f"{size.paper_approx:.1e}" == f"{float(row['total_approx']):.1e}", paper_name


def test_exact_counts_differ_from_the_factorial_shortcut_only_with_monotone_stages():
    a, c, d, e = (space_size(get_space(f"AnyNetX_{k}")) for k in "ACDE")
    assert a.exact == (16 * 128 * 3 * 6) ** 4 == a.paper_approx
    assert c.exact == (16 * 128) ** 4 * 3 * 6
    assert d.exact == 16**4 * math.comb(128 + 3, 4) * 18  # non-decreasing 4-tuples of 128 widths
    assert e.exact == math.comb(16 + 3, 4) * math.comb(128 + 3, 4) * 18
    assert d.exact > d.paper_approx and e.exact > e.paper_approx  # ties are allowed, S! ignores them
    assert d.params["w"].rule == "monotone" and c.params["b"].rule == "shared"


def test_fixed_parameters_add_no_dimension():
    size = space_size(get_space("RegNetX_constrained"))
    assert size.params["b"].rule == "fixed" and size.dimension == 5
    assert size.params["wm"].values == 1001  # 2.000 .. 3.000 at q = 0.001


def test_a_cell_space_counts_its_genotypes_not_only_width_and_depth():
    """A cell space's size is widths x depths x genotypes: each cell (normal, reduction) has `nodes` nodes of two
    (operation, input) pairs, and node j reads one of j + 2 inputs. Each choice's number of values is checked on
    the sampler's own draws (every operation and every allowed input occurs, nothing else), so the product is
    the number of distinct draws; before, the size was 25 (widths x depths)."""
    from backend.designspace.cell_spaces import CELL_SPACES, sample_cells
    from backend.designspace.cells import parse_genotype

    for name in ("NDS_DARTS", "NDS_ENAS"):
        cells = CELL_SPACES[name]
        seen: list[set[tuple[str, int]]] = [set() for _ in range(cells.nodes)]
        for r in sample_cells(cells, 3000, seed=5).records:
            g = parse_genotype(r["config"]["genotype"])
            for cell in (g.normal, g.reduce):
                for k, pair in enumerate(cell):
                    seen[k // 2].add(pair)
        per_cell = 1
        for j, pairs in enumerate(seen):
            assert {op for op, _ in pairs} == set(cells.ops) and {i for _, i in pairs} == set(range(j + 2))
            per_cell *= (len(cells.ops) * (j + 2)) ** 2
        size = space_size(get_space(name))
        assert size.exact == len(cells.widths) * len(cells.depths) * per_cell**2
        assert size.params["genotype"].free == 8 * cells.nodes and size.dimension == 2 + 8 * cells.nodes
