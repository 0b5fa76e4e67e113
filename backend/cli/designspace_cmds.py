"""`netspace complexity`, `netspace sample` and `netspace spaces`: the design-space core from the shell."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from backend.designspace.builtin import builtin_spaces, get_space
from backend.designspace.complexity import complexity as model_complexity
from backend.designspace.exports import csv_lines, jsonl_lines
from backend.designspace.families import get_family
from backend.designspace.modelspec import parse_model_spec
from backend.designspace.sampling import Regime, SamplingError, sample
from backend.designspace.spec import SpaceSpec, parse_space
from backend.designspace.units import parse_range

from .app import app
from .errors import fail


def read_json_arg(text: str, what: str) -> dict:
    """A JSON object given inline or as a path to a file."""
    path = Path(text)
    if not text.lstrip().startswith("{") and path.exists():
        text = path.read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        fail(f"{what}: malformed JSON ({e.msg} at line {e.lineno} column {e.colno})")
    if not isinstance(data, dict):
        fail(f"{what}: must be a JSON object")
    return data


def _recount_nds(path: Path, as_json: bool) -> None:
    from backend.importers.nds_recount import recount_file
    from backend.importers.records import ImportFormatError

    if not path.is_file():
        fail(f"nds: file not found: {path}")
    try:
        out = recount_file(path.read_text(), path.name)
    except (ImportFormatError, ValueError) as e:
        fail(f"nds: {e}")
    if as_json:
        print(json.dumps(out))
        return
    n = out["records"]
    print(f"{path.name}: {n} records, flops exact {out['flops_exact']}/{n}, params exact {out['params_exact']}/{n}")
    for row in out["mismatches"]:
        print("  mismatch:", json.dumps(row))


def load_space_arg(text: str) -> SpaceSpec:
    """A built-in space name or a YAML/JSON spec file."""
    if text in builtin_spaces():
        return get_space(text)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.exists():
        if not path.exists():
            fail(f"space: file not found: {text}")
        return parse_space(path.read_text())
    fail(f"space: unknown built-in {text!r}; choose one of {', '.join(builtin_spaces())} or give a spec file")


@app.command()
def complexity(
    spec: Annotated[str | None, typer.Argument(
        help="JSON (inline or a file): canonical AnyNet config or RegNet spec")] = None,
    im_size: Annotated[int, typer.Option(min=8, max=4096, help="input resolution")] = 224,
    num_classes: Annotated[int, typer.Option(min=1, max=1_000_000, help="classes of the head")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    nds: Annotated[Path | None, typer.Option(
        "--nds", help="an NDS release file: recount every record's flops (the release's convention) and params "
        "from its net and compare")] = None,
) -> None:
    """Exact flops (multiply-adds), params and activations of one model; or, with --nds, of every record of an
    NDS release file, compared with the file's own numbers."""
    if nds is not None:
        _recount_nds(nds, as_json)
        return
    if spec is None:
        fail("spec: give a model spec, or --nds FILE")
    cfg = parse_model_spec(read_json_arg(spec, "spec"))
    cx = model_complexity(cfg, im_size=im_size, num_classes=num_classes)
    out = {**cx, "im_size": im_size, "num_classes": num_classes,
           **{k: getattr(cfg, k) for k in ("depths", "widths", "strides", "bot_muls", "group_ws")},
           "stem_type": cfg.stem_type, "stem_w": cfg.stem_w, "block_type": cfg.block_type, "se_r": cfg.se_r}
    if as_json:
        print(json.dumps(out))
        return
    print(f"flops  {cx['flops']:>16,d}  ({cx['flops'] / 1e6:.1f} MF)")
    print(f"params {cx['params']:>16,d}  ({cx['params'] / 1e6:.2f} M)")
    print(f"acts   {cx['acts']:>16,d}  ({cx['acts'] / 1e6:.2f} M)")
    print(f"depths {cfg.depths}  widths {cfg.widths}  group_ws {cfg.group_ws}  bot_muls {cfg.bot_muls}")


@app.command(name="sample")
def sample_cmd(
    space: Annotated[str, typer.Option(help="built-in space name or a YAML/JSON spec file")],
    n: Annotated[int, typer.Option(min=1, max=10_000_000, help="number of models")],
    seed: Annotated[int, typer.Option(min=0, max=2**63 - 1, help="random seed")] = 0,
    flops: Annotated[str | None, typer.Option(help="LO:HI multiply-adds, e.g. 360M:400M")] = None,
    params: Annotated[str | None, typer.Option(help="LO:HI parameters")] = None,
    acts: Annotated[str | None, typer.Option(help="LO:HI activations")] = None,
    im_size: Annotated[int | None, typer.Option(min=8, max=4096, help="resolution (default: the space's)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl | csv | yaml")] = "jsonl",
    out: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
    max_candidates: Annotated[int, typer.Option(min=1, help="give up after this many candidates")] = 200_000_000,
) -> None:
    """Sample n distinct models of a design space inside a complexity regime."""
    if fmt not in ("jsonl", "csv", "yaml"):
        fail(f"format: must be one of jsonl, csv, yaml (got {fmt!r})")
    sp = load_space_arg(space)
    if fmt == "csv" and get_family(sp.family).arch_type != "anynet":
        fail(f"format: {sp.family} models are nested configs (no AnyNet stage lists); use jsonl or yaml")
    regime = Regime(**{k: parse_range(v, k) for k, v in (("flops", flops), ("params", params),
                                                          ("acts", acts)) if v is not None})
    bar = _progress(n)
    try:
        res = sample(sp, n, seed, regime, im_size=im_size, max_candidates=max_candidates,
                     progress=bar.update if bar else None)
    except SamplingError as e:
        fail(str(e))
    finally:
        if bar:
            bar.close()
    records = res.records()
    stream = out.open("w") if out else sys.stdout
    try:
        _write_records(records, fmt, stream)
    finally:
        if out:
            stream.close()
    print(f"{len(res)} models of {sp.name} from {res.candidates:,} candidates "
          f"(acceptance {res.acceptance_rate:.3%}, {res.duplicates} duplicates, {res.seconds:.2f}s)",
          file=sys.stderr)


class _Bar:
    def __init__(self, n: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=n, unit="model", file=sys.stderr, leave=False)

    def update(self, have: int, candidates: int) -> None:
        self.bar.n = have
        self.bar.set_postfix(candidates=f"{candidates:,}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _progress(n: int) -> _Bar | None:
    return _Bar(n) if sys.stderr.isatty() or n >= 10_000 else None


def _write_records(records: list[dict], fmt: str, stream) -> None:
    if fmt == "yaml":
        import yaml

        yaml.safe_dump(records, stream, sort_keys=False)
        return
    lines = jsonl_lines(records) if fmt == "jsonl" else csv_lines(records)
    for line in lines:
        stream.write(line)


@app.command()
def spaces(
    name: Annotated[str | None, typer.Argument(help="show this space's spec as YAML")] = None,
) -> None:
    """List the built-in design spaces, or print one spec."""
    if name:
        print(get_space(name).yaml_text(), end="")
        return
    for sp in builtin_spaces().values():
        print(f"{sp.name:22s} {sp.description}")
