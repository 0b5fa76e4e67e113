"""Lineage: the tree of studies linked by parent_id, and the refinement chain through one of them.

Refining a study (services.refine) makes a child study; children can be refined again and a study may have
several children (alternative constraints), so studies form a tree. The lineage of a study is
- the whole tree it belongs to, each node with its constraint (what its space adds to its parent's, derived
  by comparing the two stored specs, so hand-linked or hand-written specs are described too), dimension,
  size, n finished models, min and mean error;
- its chain: root -> ... -> the study, continued through its descendants while there is exactly one child,
  so the lineage of AnyNetX_A shows A -> B -> C -> D -> E -> RegNetX;
- the statistics between consecutive steps of the chain (backend.analysis.lineage) and the lineage figure
  (their EDFs overlaid, backend.figures.lineage).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select

from backend.analysis.edf import edf_curve
from backend.analysis.lineage import consecutive_changes
from backend.designspace.builtin import get_space
from backend.designspace.families import get_family
from backend.designspace.refine import LAW_FAMILY, LAW_SPACE, Refinement
from backend.designspace.spec import SpaceSpec
from backend.figures import build_figure, to_json
from db.models import models, results, studies

from .errors import InvalidInput, NotFound
from .population import load_population
from .spacesize import maybe_spec, size_report

MAX_NODES = 2000
_NODE_COLUMNS = (studies.c.id, studies.c.name, studies.c.parent_id, studies.c.space_name, studies.c.space,
                 studies.c.source, studies.c.created_at)


def step_between(parent: SpaceSpec, child: SpaceSpec) -> Refinement:
    """The refinement that turns `parent` into `child`, read off the two specs.

    Switching to the RegNet law (a parent whose family allows the step, a child of the law's family) compares
    the law's parameters with the built-in RegNetX (refine() starts from it) and b, g with the parent's; any
    other changed parameter is described by its new range.
    """
    to_regnet = "to_regnet" in get_family(parent.family).refine_steps and child.family == LAW_FAMILY
    regnet = get_space(LAW_SPACE)
    share, monotone, fix, narrow = [], [], {}, {}
    for k, c in child.params.items():
        base = regnet.params.get(k) if to_regnet and k not in ("b", "g") else parent.params.get(k)
        if base is None:
            continue
        if c.shared and not base.shared:
            share.append(k)
        if c.monotone and not base.monotone:
            monotone.append(k)
        if c.law == "fixed" and base.law != "fixed":
            fix[k] = c.number("value")
        elif (c.law, c.low, c.high, c.q, c.values, c.value) != (base.law, base.low, base.high, base.q, base.values,
                                                                  base.value):
            narrow[k] = c.bounds()
    return Refinement(name="step", narrow=narrow, share=share, monotone=monotone, fix=fix, to_regnet=to_regnet)


def _fetch(engine: Engine, study_id: int) -> dict[int, dict[str, Any]]:
    """Every study of the tree that holds `study_id` (ancestors by parent_id, then descendants level by level)."""
    with engine.connect() as conn:
        row = conn.execute(select(*_NODE_COLUMNS).where(studies.c.id == study_id)).mappings().first()
        if row is None:
            raise NotFound(f"study {study_id} not found", "study_id")
        nodes = {row["id"]: dict(row)}
        top: dict[str, Any] = dict(row)
        while top["parent_id"] is not None and top["parent_id"] not in nodes:  # a cycle (hand-edited) stops here
            up = conn.execute(select(*_NODE_COLUMNS).where(studies.c.id == top["parent_id"])).mappings().first()
            if up is None:
                break
            nodes[up["id"]] = top = dict(up)
        level, explored = [top["id"]], set()
        while level and len(nodes) < MAX_NODES:  # the ancestors are known already, their other children not
            explored.update(level)
            kids = conn.execute(select(*_NODE_COLUMNS).where(studies.c.parent_id.in_(level))
                                .order_by(studies.c.id)).mappings().all()
            for k in kids:
                nodes.setdefault(k["id"], dict(k))
            level = [k["id"] for k in kids if k["id"] not in explored]
        stats = conn.execute(
            select(models.c.study_id, func.count(models.c.id), func.count(results.c.error), func.min(results.c.error),
                   func.avg(results.c.error))
            .select_from(models.outerjoin(results, results.c.model_id == models.c.id))
            .where(models.c.study_id.in_(list(nodes))).group_by(models.c.study_id)).all()
    for sid, n_models, n_done, best, mean in stats:
        nodes[sid].update(models=n_models, n=n_done, min=best, mean=None if mean is None else float(mean))
    return nodes


def _children(nodes: dict[int, dict[str, Any]], sid: int) -> list[int]:
    return sorted(k for k, v in nodes.items() if v["parent_id"] == sid and k != sid)


def _preorder(nodes: dict[int, dict[str, Any]], root: int) -> list[tuple[int, int]]:
    """(id, depth) of every node reachable from `root`, parents before children, siblings by id."""
    out: list[tuple[int, int]] = []
    stack = [(root, 0)]
    seen = set()
    while stack:
        sid, depth = stack.pop()
        if sid in seen:
            continue
        seen.add(sid)
        out.append((sid, depth))
        stack.extend((k, depth + 1) for k in reversed(_children(nodes, sid)))
    return out


def _chain(nodes: dict[int, dict[str, Any]], study_id: int) -> list[int]:
    up = [study_id]
    while nodes[up[-1]]["parent_id"] in nodes and nodes[up[-1]]["parent_id"] not in up:
        up.append(nodes[up[-1]]["parent_id"])
    chain = up[::-1]
    while True:
        kids = [k for k, v in nodes.items() if v["parent_id"] == chain[-1] and k not in chain]
        if len(kids) != 1:
            return chain
        chain.append(kids[0])


def _describe(node: dict[str, Any], parent: dict[str, Any] | None) -> dict[str, Any]:
    spec = maybe_spec(node["space"])
    parent_spec = maybe_spec(parent["space"]) if parent else None
    if spec is None:
        constraint = f"imported population ({node['space_name']})"
    elif parent_spec is None:
        constraint = spec.description or spec.name
    else:
        constraint = step_between(parent_spec, spec).describe()
    size = size_report(spec) if spec else None
    return {"constraint": constraint, "dimension": size["dimension"] if size else None,
            "size": size["exact"] if size else None, "size_float": size["exact_float"] if size else None,
            "size_paper": size["paper_approx"] if size else None}


def lineage(engine: Engine, study_id: int, *, figure: bool = True, edf_tol: float = 1e-3) -> dict[str, Any]:
    """The lineage document of `study_id` (see the module doc): nodes, chain, table and figure."""
    if not 0 < edf_tol <= 0.1:
        raise InvalidInput(f"must be in (0, 0.1], got {edf_tol}", "edf_tol")
    nodes = _fetch(engine, study_id)
    chain = _chain(nodes, study_id)
    out_nodes = []
    for sid, depth in _preorder(nodes, chain[0]):
        node = nodes[sid]
        out_nodes.append({
            "id": sid, "name": node["name"], "parent_id": node["parent_id"], "depth": depth,
            "space_name": node["space_name"], "source": node["source"],
            "created_at": node["created_at"].isoformat() + "Z", "children": _children(nodes, sid),
            "on_chain": sid in chain, "models": node.get("models", 0), "n": node.get("n", 0),
            "min": node.get("min"), "mean": node.get("mean"), **_describe(node, nodes.get(node["parent_id"]))})
    by_id = {n["id"]: n for n in out_nodes}
    errors = {nodes[sid]["name"]: load_population(engine, sid)["error"] for sid in chain}
    steps = []
    for sid, err in zip(chain, errors.values(), strict=True):
        e = err[np.isfinite(err)]
        curve = edf_curve(e, tol=edf_tol) if len(e) else None
        steps.append({**by_id[sid], "edf": {"x": curve.x.tolist(), "y": curve.y.tolist()} if curve else None})
    doc: dict[str, Any] = {
        "study_id": study_id, "root_id": chain[0], "chain": chain, "nodes": out_nodes, "steps": steps,
        "table": [c.as_dict() for c in consecutive_changes(errors)], "truncated": len(nodes) >= MAX_NODES}
    if figure:
        doc["figure"] = json.loads(to_json(lineage_figure(errors, steps)))
    return doc


def lineage_figure(errors: dict[str, np.ndarray], steps: list[dict[str, Any]]):
    """The lineage figure of a chain (labels = study names, in chain order)."""
    info = {s["name"]: {"constraint": s["constraint"], "dimension": s["dimension"], "size": s["size_float"]}
            for s in steps}
    return build_figure("lineage", {k: {"error": e} for k, e in errors.items()}, steps=info)
