"""Sampling a study's space and queueing the new models, one transaction per request.

Sampling is seeded and prefix-stable (backend.designspace.sampling), and each model's config hash is unique
within its study, so asking again with the same seed queues nothing new, and a larger n with the same seed
adds only the models beyond the first request's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select

from backend.analysis.widths import law_e_fits
from backend.designspace.builtin import builtin_spaces, get_space
from backend.designspace.exports import config_text
from backend.designspace.families import get_family
from backend.designspace.params import PARAM_NAMES, flat_params
from backend.designspace.sampling import Regime, SampleResult, SamplingError, sample
from backend.designspace.spec import SpaceSpec
from backend.importers.nds_nets import release_flops
from backend.importers.records import canonical_hash, empty_columns
from db.engine import refresh_statistics, write_tx
from db.events import append_event
from db.models import add_models, jobs, models, studies, utcnow

from .errors import InvalidInput, NotFound

DEFAULT_MAX_ATTEMPTS = 3


@dataclass
class Drawn:
    """Sampled models ready to insert (rows without study_id/index) and the sampler's statistics."""

    rows: list[dict[str, Any]]
    requested: int
    seed: int
    candidates: int
    acceptance_rate: float
    sampler_duplicates: int
    seconds: float


def study_space(study: Mapping[str, Any]) -> tuple[SpaceSpec | None, str | None, str | None]:
    """(the space new samples of a study come from, its native space's name, why not sampleable).

    A sampled study samples its own spec. An imported study samples the built-in space its population was drawn
    from, where the importer recorded one (`space.native_space`: NDS's ResNeXt-A/B, Vanilla, ResNet, or one of
    the NAS cell spaces DARTS, NASNet, PNAS, ENAS, Amoeba), else none.
    """
    spec = study["space"] or {}
    if study["source"] != "imported":
        return SpaceSpec.model_validate(spec), None, None
    native = spec.get("native_space")
    if native is None:
        return None, None, (f"study {study['name']!r} holds imported models of {spec.get('name', 'a file')} and "
                            "netspace has no native space for them; sample into a new study")
    if native not in builtin_spaces():
        return None, native, f"the native space {native!r} of study {study['name']!r} is not a built-in space"
    return get_space(native), native, None


def sampleability(study: Mapping[str, Any]) -> tuple[bool, str | None, str | None]:
    """(sampleable, native space, why not) as the study's API response states them (views.Study)."""
    try:
        space, native, why_not = study_space(study)
    except ValueError as e:  # a stored spec this version no longer reads
        return False, None, f"the study's space spec is not valid here: {e}"
    return space is not None, native, why_not


def draw_samples(study: Mapping[str, Any], n: int, seed: int) -> Drawn:
    """Sample n models of the study's space (study_space) in its regime at its im_size/num_classes (no database
    access). An imported NDS study's new models count `flops` in the release's convention, as its imported ones
    do (importers.nds_nets.release_flops); `extra.macs` keeps the multiply-adds.

    Raises InvalidInput (field 'regime' or 'n') when the sampler cannot meet the regime.
    """
    space, native, why_not = study_space(study)
    if space is None:
        raise InvalidInput(why_not or "not sampleable", "study_id")
    release = native is not None and (study["space"] or {}).get("format") == "nds"
    try:
        res = sample(space, n, seed, Regime.from_dict(study["regime"]), im_size=study["im_size"],
                     num_classes=study["num_classes"])
    except SamplingError as e:
        raise InvalidInput.from_error(e, "n") from None
    if res.rows is not None:
        return _record_rows(study, res, release)
    c = res.batch.counts
    if c is None:  # sample() counts every batch it returns
        raise RuntimeError("draw_samples: the sample has no complexity counts")
    now = utcnow()
    rows = []
    built = [res.config(i) for i in range(len(res))]
    configs = [cfg.model_dump(mode="json", exclude_none=True) for cfg in built]
    # sampled coordinates no models column holds (NDS ResNeXt's groups_i) are kept in `extra`, as the NDS
    # importer keeps them, so filters and refinement see them in native and imported studies alike
    beside = {k: np.asarray(v, dtype=np.float64).tolist() for k, v in res.batch.sampled.items()
              if k not in PARAM_NAMES}
    for i, cfg in enumerate(built):
        flops, acts = int(c.flops[i]), int(c.acts[i])
        row = {"config": configs[i], "config_hash": cfg.config_hash(), "arch_type": "anynet", "flops": flops,
               "params": int(c.params[i]), "acts": acts, "created_at": now, **flat_params(cfg)}
        extra = {k: v[i] for k, v in beside.items()}
        if release:
            row["flops"] = release_flops(flops, acts, res.num_classes, cfg.stem_type, cfg.stem_w, res.im_size)
            extra["macs"] = flops
        if extra:
            row["extra"] = extra
        rows.append(row)
    # e_fit where the model's own law reproduces it (0, no search); the rest is fitted by the worker that
    # trains the model (services.derived)
    for row, e_fit in zip(rows, law_e_fits(configs), strict=True):
        row.update(e_fit=e_fit, derived=e_fit is not None)
    return Drawn(rows, n, seed, res.candidates, res.acceptance_rate, res.duplicates, res.seconds)


def _record_rows(study: Mapping[str, Any], res: SampleResult, release: bool) -> Drawn:
    """The models of a family that samples whole records (NDS cell spaces: Family.model_row says what is stored).
    In an imported NDS study (`release`) they are stored as the importer stores the release's: the imported
    models' arch type, `flops` in the release's convention, the plain multiply-adds (which the regime
    constrains) in `extra.macs`."""
    family = get_family(res.space.family)
    arch_types = (study["space"] or {}).get("arch_types") or []
    now = utcnow()
    rows = []
    for record in res.records():
        m = family.model_row(res.space, record)
        extra = dict(m["extra"])
        flops, arch_type = m["flops"], m["arch_type"]
        if release:
            extra["macs"] = flops
            flops = extra.pop("release_flops")
            arch_type = arch_types[0] if len(arch_types) == 1 else arch_type
        rows.append({"config": m["config"], "config_hash": canonical_hash(m["config"]), "arch_type": arch_type,
                     "flops": flops, "params": m["params"], "acts": m["acts"], "created_at": now,
                     **(empty_columns() | m["columns"]), "extra": extra,
                     "e_fit": None, "derived": True})  # no stages: nothing to derive
    return Drawn(rows, res.n_requested, res.seed, res.candidates, res.acceptance_rate, res.duplicates, res.seconds)


def insert_samples(conn: Connection, study_id: int, drawn: Drawn, priority: int = 0,
                   max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> dict[str, Any]:
    """Insert the drawn models not already in the study, with one queued job each, on `conn` (the caller's
    write transaction). Returns the counts the API reports."""
    have = set(conn.execute(select(models.c.config_hash).where(models.c.study_id == study_id)).scalars())
    start = conn.execute(select(func.coalesce(func.max(models.c.index) + 1, 0))
                         .where(models.c.study_id == study_id)).scalar_one()
    fresh: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in drawn.rows:
        if r["config_hash"] in have or r["config_hash"] in seen:
            continue
        seen.add(r["config_hash"])
        # the canonical config text the CSV export writes, encoded once here (migration 0011)
        fresh.append({**r, "study_id": study_id, "index": start + len(fresh), "config_text": config_text(r["config"])})
    if fresh:
        ids = conn.execute(insert(models).returning(models.c.id, sort_by_parameter_order=True), fresh).scalars().all()
        now = utcnow()
        # claim_round = the model's index in its study: claims go round-robin across studies (db/queue.py)
        conn.execute(insert(jobs), [{"model_id": mid, "status": "queued", "priority": priority, "attempts": 0,
                                     "max_attempts": max_attempts, "epochs_done": 0, "queued_at": now,
                                     "claim_round": row["index"]} for mid, row in zip(ids, fresh, strict=True)])
        add_models(conn, study_id, len(ids))
        append_event(conn, "jobs_queued", study_id=study_id,
                     payload={"count": len(fresh), "priority": priority, "seed": drawn.seed})
    return {"requested": drawn.requested, "queued": len(fresh), "duplicates": drawn.requested - len(fresh),
            "seed": drawn.seed, "candidates": drawn.candidates, "acceptance_rate": drawn.acceptance_rate,
            "sampler_duplicates": drawn.sampler_duplicates, "seconds": round(drawn.seconds, 4)}


def queue_samples(engine: Engine, study_id: int, n: int, seed: int | None = None, priority: int = 0, *,
                  max_n: int | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> dict[str, Any]:
    """Sample n models for a study and queue the new ones (seed defaults to the study seed)."""
    if max_n is not None and n > max_n:
        raise InvalidInput(f"must be in [1, {max_n}] per request (NETSPACE_MAX_N), got {n}", "n")
    with engine.connect() as conn:
        study = conn.execute(select(studies).where(studies.c.id == study_id)).mappings().first()
    if study is None:
        raise NotFound(f"study {study_id} not found", "study_id")
    seed = study["seed"] if seed is None else seed
    drawn = draw_samples(dict(study), n, seed)
    with write_tx(engine) as conn:
        if conn.execute(select(studies.c.id).where(studies.c.id == study_id)).first() is None:
            raise NotFound(f"study {study_id} not found", "study_id")  # deleted while we sampled
        out = insert_samples(conn, study_id, drawn, priority, max_attempts)
    refresh_statistics(engine, (models.name, jobs.name), len(drawn.rows))
    return {"study_id": study_id, **out}
