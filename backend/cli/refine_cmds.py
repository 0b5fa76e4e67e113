"""The design loop from the shell: `netspace study` (a root study), `netspace refine`, `netspace lineage`,
`netspace size`.

    netspace study   --db URL --name A --space AnyNetX_A --flops :5M --epochs 1 --n 32
    netspace refine  --db URL --study A --name B --share b [--preview] [--n N --seed S]
    netspace lineage --db URL --study A [--out lineage.html] [--json]
    netspace size    AnyNetX_D

They are thin over backend.services.studies / refine / lineage / spacesize, so the CLI, the API and the
dashboard agree on every number; bad input exits 2 with one line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from backend.analysis.minimum_n import KS, ks_absent
from backend.datasets import DATASETS, dataset_names
from backend.designspace.units import parse_range
from backend.services.views import ErrorStats, Lineage, RefinePreview, RefineResult, SizeReport, Study
from backend.study_spec import recipe_preset

from .app import app
from .db import open_db
from .designspace_cmds import load_space_arg, read_json_arg
from .errors import fail
from .server_cmds import parse_filters

DbOption = Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: $NETSPACE_DB or ./netspace.db)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print the whole answer as JSON")]


def _regime(flops: str | None, params: str | None, acts: str | None) -> dict[str, list[float | None]] | None:
    items = {k: list(parse_range(v, k)) for k, v in (("flops", flops), ("params", params), ("acts", acts)) if v}
    return items or None


def _pairs(items: list[str] | None, what: str, value) -> dict[str, Any]:
    """['wm=2:3', ...] -> {'wm': value('2:3')}, failing with the option named."""
    out = {}
    for item in items or []:
        key, sep, rest = item.partition("=")
        if not sep or not key.strip() or not rest.strip():
            fail(f"{what}: expected NAME=VALUE, got {item!r}")
        try:
            out[key.strip()] = value(rest.strip())
        except ValueError as e:
            fail(f"{what}.{key.strip()}: {e}")
    return out


def _narrow_value(text: str) -> tuple[float, float]:
    low, sep, high = text.partition(":")
    if not (sep and low.strip() and high.strip()):
        raise ValueError(f"need LOW:HIGH with both sides, e.g. 2:3 (got {text!r})")
    lo, hi = parse_range(text, "range")
    if lo is None or hi is None:  # both sides were checked above
        raise ValueError(f"need LOW:HIGH with both sides, e.g. 2:3 (got {text!r})")
    return lo, hi


def _big(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3g}" if abs(x) >= 1e6 else f"{x:,.0f}"


def _stats(s: ErrorStats | None) -> str:
    return "n=0" if not s else f"n={s.n} min {s.min:.3f} mean {s.mean:.3f}"


@app.command(name="study")
def study_cmd(
    name: Annotated[str, typer.Option(help="unique study name")],
    space: Annotated[str, typer.Option(help="built-in space name or a YAML/JSON spec file")],
    db: DbOption = None,
    dataset: Annotated[str, typer.Option(help=" | ".join(dataset_names()))] = "digits",
    data_path: Annotated[str | None, typer.Option(
        help=f"dataset folder ({', '.join(d.name for d in DATASETS if d.needs_path)})")] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="training epochs (default: the recipe's 10)")] = None,
    recipe: Annotated[str | None, typer.Option(help="more recipe fields as JSON (inline or a file)")] = None,
    preset: Annotated[str | None, typer.Option(help="start from a named recipe: cpu-proxy (the CPU proxy "
                                               "calibrated on digits, docs/proxy-recipe.md)")] = None,
    flops: Annotated[str | None, typer.Option(help="regime LO:HI multiply-adds, e.g. 360M:400M or :5M")] = None,
    params: Annotated[str | None, typer.Option(help="regime LO:HI parameters")] = None,
    acts: Annotated[str | None, typer.Option(help="regime LO:HI activations")] = None,
    im_size: Annotated[int | None, typer.Option(min=8, max=1024, help="resolution (default: dataset's)")] = None,
    n: Annotated[int, typer.Option(min=0, help="samples to queue now")] = 0,
    seed: Annotated[int, typer.Option(min=0, max=2**31 - 1, help="study seed")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Create a study of a design space (the root of a refinement chain) and queue n samples."""
    from backend.services.studies import StudyIn, create_study

    rec = recipe_preset(preset).model_dump() if preset else {}
    rec.update(read_json_arg(recipe, "recipe") if recipe else {})
    if epochs is not None:
        rec["epochs"] = epochs
    data = StudyIn.model_validate({
        "name": name, "space": load_space_arg(space).model_dump(mode="json"),
        "dataset": {"name": dataset, **({"path": data_path} if data_path else {})}, "recipe": rec,
        "regime": _regime(flops, params, acts) or {}, "im_size": im_size, "seed": seed, "n": n or None})
    with open_db(db) as engine:
        out = create_study(engine, data)
    if as_json:
        print(json.dumps(out))
        return
    made = Study.model_validate(out)
    queued = made.samples.queued if made.samples else 0
    print(f"created study {made.name} (id {made.id}, space {made.space_name}) with {queued} jobs queued")


@app.command(name="refine")
def refine_cmd(
    study: Annotated[str, typer.Option(help="parent study name (or id)")],
    name: Annotated[str, typer.Option(help="child study name (letters, digits, _ . -)")],
    db: DbOption = None,
    share: Annotated[list[str] | None, typer.Option(help="AnyNet stage parameter shared across stages (b, g)")] = None,
    monotone: Annotated[list[str] | None, typer.Option(help="stage parameter made non-decreasing (w, d)")] = None,
    fix: Annotated[list[str] | None, typer.Option(help="NAME=VALUE, e.g. b=1")] = None,
    narrow: Annotated[list[str] | None, typer.Option(help="NAME=LOW:HIGH by hand, e.g. wm=2:3")] = None,
    bestrange: Annotated[list[str] | None, typer.Option(help="narrow NAME to its bootstrap best range")] = None,
    filters: Annotated[list[str] | None, typer.Option("--filter", "-f", help="narrow to a filter's ranges, "
                                                       "KEY=VALUE as in the API (e.g. wm_min=2)")] = None,
    to_regnet: Annotated[bool, typer.Option("--to-regnet", help="switch to the quantized linear law")] = False,
    efit_max: Annotated[float, typer.Option(min=0.0, max=10.0, help="to-regnet preview: e_fit tolerance")] = 0.05,
    base: Annotated[str | None, typer.Option(help="space to refine when the parent has none (imported)")] = None,
    preview: Annotated[bool, typer.Option("--preview", help="only show the preview; create nothing")] = False,
    n: Annotated[int, typer.Option(min=0, help="samples of the child to queue")] = 0,
    seed: Annotated[int | None, typer.Option(min=0, max=2**31 - 1, help="child seed (default: parent's)")] = None,
    priority: Annotated[int, typer.Option(min=-1000, max=1000, help="priority of the queued jobs")] = 0,
    epochs: Annotated[int | None, typer.Option(min=1, help="epochs (default: the parent's)")] = None,
    flops: Annotated[str | None, typer.Option(help="regime LO:HI multiply-adds (default: the parent's)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Refine a study's space into a child study: preview the in-sample estimate, then queue n samples."""
    from backend.services.refine import RefineIn, refine_study
    from backend.services.studies import find_study

    step = {"name": name, "share": share or [], "monotone": monotone or [], "to_regnet": to_regnet,
            "fix": _pairs(fix, "fix", float), "narrow": _pairs(narrow, "narrow", _narrow_value)}
    req = RefineIn.model_validate({
        "step": step, "preview": preview, "n": n or None, "seed": seed, "priority": priority,
        "bestrange": bestrange or [],
        "filter": parse_filters(filters, None).active() if filters else None, "efit_max": efit_max,
        "base": load_space_arg(base).model_dump(mode="json") if base else None,
        "recipe": {"epochs": epochs} if epochs else None, "regime": _regime(flops, None, None)})
    with open_db(db, must_exist=True) as engine:
        out = refine_study(engine, find_study(engine, study)["id"], req)
    if as_json:
        print(json.dumps(out))
        return
    res = RefineResult.model_validate(out)
    _print_preview(res.preview)
    child = res.study
    if child is not None:
        queued = child.samples.queued if child.samples else 0
        print(f"created study {child.name} (id {child.id}, child of {res.preview.parent.name}) "
              f"with {queued} jobs queued")


def _print_preview(p: RefinePreview) -> None:
    c, s = p.child, p.in_sample
    size, psize = c.size, p.parent.size
    print(f"{c.name}: {c.constraint}")
    print(f"  space      dimension {size.dimension}, size {_big(size.exact_float)} exact, "
          f"{_big(size.paper_approx)} as the paper counts (parent {p.parent.name}: dimension "
          f"{psize.dimension}, size {_big(psize.exact_float)})")
    for k, info in p.narrowed.items():
        note = " (holds every value: no constraint)" if info.get("unchanged") else ""
        print(f"  narrowed   {k} to [{info['low']:g}, {info['high']:g}] from {', '.join(info['sources'])}{note}")
    if p.filter_ignored:
        print(f"  filter     ignored (not a space parameter): {', '.join(p.filter_ignored)}")
    rule = f" (widths fit the law: e_fit <= {s.efit_max:g})" if s.method == "e_fit" and s.efit_max is not None else ""
    frac = "" if s.fraction is None else f" = {s.fraction:.1%}"
    print(f"  {s.label}: {s.inside_finished} of {s.finished} finished parent models lie in {c.name}{rule}{frac}")
    ks = "" if s.ks is None else f"   KS {s.ks:.3f} ({_p_text(s.p_value, s.parent_stats, s.child_stats)})"
    print(f"    parent   {_stats(s.parent_stats)}")
    print(f"    inside   {_stats(s.child_stats)}{ks}")


def _p_text(p_value: float | None, a: ErrorStats | None, b: ErrorStats | None, short: bool = False) -> str:
    """'p=0.012', or why a KS p-value is not given (fewer than minimum_n.KS.min_n models on a side)."""
    if a is not None and b is not None and ks_absent(a.n, b.n) is not None:  # the API leaves p_value null then
        return f"<{KS.min_n}/side" if short else f"no p-value: n={a.n} vs {b.n} < {KS.min_n} per side"
    if p_value is None or a is None or b is None:
        return _num(None) if short else "p n/a"
    return f"{p_value:.3g}" if short else f"p={p_value:.3g}"


@app.command(name="lineage")
def lineage_cmd(
    study: Annotated[str, typer.Option(help="study name (or id); its whole tree is shown")],
    db: DbOption = None,
    out: Annotated[Path | None, typer.Option(help="also write the lineage figure as one offline HTML file")] = None,
    as_json: JsonOption = False,
) -> None:
    """The refinement tree of a study and its chain: constraint, dimension, size, n, min/mean error, KS."""
    from backend.services.lineage import lineage
    from backend.services.studies import find_study

    if out is not None and not out.parent.is_dir():
        fail(f"out: directory {out.parent} does not exist")
    with open_db(db, must_exist=True) as engine:
        doc = lineage(engine, find_study(engine, study)["id"], figure=out is not None or as_json)
    if out is not None:
        import plotly.io as pio

        fig = doc["figure"]
        out.write_text(pio.to_html(fig, include_plotlyjs=True, full_html=True), encoding="utf-8")
    if as_json:
        print(json.dumps(doc))
        return
    view = Lineage.model_validate(doc)
    _print_tree(view)
    print()
    print(f"{'step':<16} {'constraint':<44} {'dim':>3} {'size':>9} {'n':>5} {'min':>7} {'mean':>7} {'KS':>6} "
          f"{'p':>8}")
    changes = {c.to: c for c in view.table}
    for s in view.steps:
        ch = changes.get(s.name)
        dim = "" if s.dimension is None else s.dimension
        print(f"{s.name[:16]:<16} {s.constraint[:44]:<44} {dim:>3} "
              f"{_big(s.size_float):>9} {s.n:>5} {_num(s.min):>7} {_num(s.mean):>7} "
              f"{_num(ch.ks if ch else None):>6} "
              f"{_p_text(ch.p_value, ch.stats_from, ch.stats_to, short=True) if ch else _num(None):>8}")
    if out is not None:
        print(f"wrote {out}")


def _num(x: float | None, spec: str = ".3f") -> str:
    return "" if x is None else format(x, spec)


def _print_tree(doc: Lineage) -> None:
    nodes = {n.id: n for n in doc.nodes}

    def walk(i: int, depth: int) -> None:
        n = nodes[i]
        mark = "*" if n.id == doc.study_id else " "
        print(f"{mark} {'  ' * depth}{n.name} ({n.space_name}; {n.n}/{n.models} trained)")
        for k in n.children:
            walk(k, depth + 1)

    walk(doc.root_id, 0)


@app.command(name="size")
def size_cmd(
    space: Annotated[str, typer.Argument(help="built-in space name or a YAML/JSON spec file")],
    paper_levels: Annotated[int | None, typer.Option(min=2, max=10**6, help="RegNet levels (default 64)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Dimension and size of a design space: exact, and as the paper's Table 1 counts it."""
    from backend.services.spacesize import size_report

    out = size_report(load_space_arg(space), paper_levels)
    if as_json:
        print(json.dumps(out))
        return
    rep = SizeReport.model_validate(out)
    print(f"{rep.name}: dimension {rep.dimension}, size {int(rep.exact):,} exact "
          f"({rep.exact_float:.2g}), {rep.paper_approx:.2g} as the paper counts")
    for k, p in rep.params.items():
        count = f"{p.count:,}" if isinstance(p.count, int) else f"{p.count:.3g}"
        print(f"  {k:<4} {p.rule:<10} {p.values} values -> {count} settings, {p.free} free")
