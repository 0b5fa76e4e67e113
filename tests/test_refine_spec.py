"""Refinement steps reproduce the paper's chain and the in-sample membership test."""

from __future__ import annotations

import numpy as np
import pytest

from backend.designspace.builtin import get_space
from backend.designspace.params import flat_params
from backend.designspace.refine import Refinement, refine, satisfies
from backend.designspace.sampling import Regime, sample


def params_of(spec):
    return {k: (p.law, p.support(), p.shared, p.monotone) for k, p in spec.params.items()}


def test_paper_chain_a_to_e():
    a = get_space("AnyNetX_A")
    b = refine(a, Refinement(name="B", share=["b"]))
    c = refine(b, Refinement(name="C", share=["g"]))
    d = refine(c, Refinement(name="D", monotone=["w"]))
    e = refine(d, Refinement(name="E", monotone=["d"]))
    for ours, builtin in ((b, "AnyNetX_B"), (c, "AnyNetX_C"), (d, "AnyNetX_D"), (e, "AnyNetX_E")):
        assert params_of(ours) == params_of(get_space(builtin))
    assert "shared b" in b.description and "w_(i+1) >= w_i" in d.description


def test_narrow_fix_and_switch_to_regnet():
    x = get_space("RegNetX")
    child = refine(x, Refinement(name="x2", narrow={"wm": (2.0, 3.0), "d": (12, 28)}, fix={"b": 1}))
    assert child.params["wm"].low == 2.0 and child.params["d"].bounds() == (12, 28)
    assert child.params["b"].law == "fixed"
    reg = refine(get_space("AnyNetX_E"), Refinement(name="r", to_regnet=True))
    assert reg.family == "regnet" and reg.params["g"].support() == get_space("AnyNetX_E").params["g"].support()
    with pytest.raises(ValueError, match="narrow.zz: unknown parameter"):
        refine(x, Refinement(name="bad", narrow={"zz": (1, 2)}))
    with pytest.raises(ValueError, match="narrow.wm"):
        refine(x, Refinement(name="bad", narrow={"wm": (5, 6)}))
    with pytest.raises(ValueError, match="share/monotone.w0"):
        refine(x, Refinement(name="bad", share=["w0"]))


def test_satisfies_matches_the_constraints_on_a_real_sample():
    res = sample(get_space("AnyNetX_A"), 400, seed=0, regime=Regime(flops=(100e6, 800e6)))
    rows = [flat_params(res.config(i)) for i in range(len(res))]
    pop = {k: np.array([r[k] if r[k] is not None else np.nan for r in rows], dtype=float) for k in rows[0]}
    d_space = get_space("AnyNetX_D")
    inside = satisfies(d_space, pop)
    for i, r in enumerate(rows):
        widths = [r[f"w_{k}"] for k in range(1, 5)]
        shared = len({r[f"b_{k}"] for k in range(1, 5)}) == 1 and len({r[f"g_{k}"] for k in range(1, 5)}) == 1
        assert inside[i] == (shared and widths == sorted(widths))
    assert satisfies(get_space("AnyNetX_A"), pop).all()
