"""The schema: studies, models (samples), jobs, results, workers and events (SQLAlchemy 2.0 declarative).

Why these shapes:
- `models` keeps the canonical config as JSON *and* one indexed Float column per flat parameter
  (backend.designspace.params.PARAM_NAMES), so filters and sorts are plain indexed SQL, never JSON paths.
- `jobs` is one row per model (unique model_id): the queue. `results` has a unique model_id *and* a unique
  job_id, so a worker that lost its lease can never write a second result; imported models carry a result
  and no job.
- `models.error` / `models.status` mirror the result's error and the job's status, kept by triggers (migration
  0003, 0004), so browsing 10^5 models (filters, sorts, top-k, counts) is single-table, index-driven SQL.
- `events` is an append-only log written in the same transaction as every job state change, new result and
  study creation/deletion; the API's server-sent events poll it, so changes made by worker processes on
  other hosts reach the browser without any broker.

Timestamps are naive UTC (`utcnow()`) on both SQLite and PostgreSQL so lease arithmetic compares like with like.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.designspace.params import PARAM_NAMES

# none_as_null: Python None is SQL NULL (not the JSON literal null), so "no progress yet" is IS NULL everywhere
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")
#: job states a worker no longer acts on
FINAL_STATUSES = ("done", "failed", "cancelled")
STUDY_SOURCES = ("sampled", "imported")
#: numeric columns of `models` (besides the flat parameters) that filters and sorts may use
COMPLEXITY_COLUMNS = ("flops", "params", "acts")


def utcnow() -> dt.datetime:
    """Naive UTC now: what every timestamp column stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


NAMING = {  # deterministic constraint names, so migrations can address them on every backend
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType}


class Study(Base):
    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    space_name: Mapped[str] = mapped_column(String(200))
    space: Mapped[dict[str, Any]] = mapped_column(JSONType, doc="SpaceSpec.model_dump(mode='json')")
    dataset: Mapped[dict[str, Any]] = mapped_column(JSONType, doc="backend.study_spec.DatasetSpec")
    recipe: Mapped[dict[str, Any]] = mapped_column(JSONType, doc="backend.study_spec.Recipe")
    regime: Mapped[dict[str, Any]] = mapped_column(JSONType, doc="Regime.as_dict()")
    im_size: Mapped[int] = mapped_column(Integer)
    num_classes: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger, default=0, doc="base of every job seed (study_spec.job_seed)")
    source: Mapped[str] = mapped_column(String(16), default="sampled")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id", ondelete="SET NULL"), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    n_models: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                          doc="number of models; add_models() keeps it (migration 0005)")



class Model(Base):
    """One sampled (or imported) network of a study."""

    __tablename__ = "models"
    __table_args__ = (
        UniqueConstraint("study_id", "config_hash", name="uq_models_study_config"),
        UniqueConstraint("study_id", "index", name="uq_models_study_index"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer, doc="0-based position within the study")
    name: Mapped[str | None] = mapped_column(String(200), nullable=True, doc="imported models' own names")
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    config_hash: Mapped[str] = mapped_column(String(64))
    arch_type: Mapped[str] = mapped_column(String(32), default="anynet")
    flops: Mapped[int] = mapped_column(BigInteger)
    params: Mapped[int] = mapped_column(BigInteger)
    acts: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True,
                                                         doc="more numeric parameters of imported models")
    # mirrors kept by database triggers (migration 0003): results.error, and jobs.status ('none' without a job,
    # 'done' for an imported model with a result); never write them directly
    error: Mapped[float | None] = mapped_column(Float, nullable=True, doc="mirror of results.error")
    status: Mapped[str] = mapped_column(String(16), default="none", server_default="none",
                                        doc="mirror of jobs.status")
    # values derived from the config, computed once and stored (services.derived; migration 0007), never per
    # request: a width-law fit costs tens of ms a model
    e_fit: Mapped[float | None] = mapped_column(Float, nullable=True, doc="e_fit of the quantized linear law")
    derived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(),
                                          doc="derived values computed (e_fit null then: the model has no stages)")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


for _name in PARAM_NAMES:  # one nullable Float column per flat parameter (d, w0, ..., b_5)
    setattr(Model, _name, mapped_column(_name, Float, nullable=True))
for _name in (*COMPLEXITY_COLUMNS, "error", "status", "e_fit", "derived", *PARAM_NAMES):  # filters: in one study
    Index(f"ix_models_study_{_name}", Model.__table__.c.study_id, Model.__table__.c[_name])
# added by migration 0011, so last (bulk inserts name the columns in the table's order): the config's canonical
# JSON text (backend.designspace.exports.config_text), written with the row so that a CSV export of 10^6 models
# need not decode and re-encode every config; null in rows restored from older archives (exported the old way)
Model.config_text = mapped_column("config_text", Text, nullable=True)


class Job(Base):
    """The queue: one job per model; `attempts` counts attempts that ended in failure or an expired lease."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    priority: Mapped[int] = mapped_column(Integer, default=0, doc="higher runs first")
    claim_round: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                             doc="k for the study's k-th job: equal priorities go round-robin "
                                                 "by study (migration 0008)")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    epochs_done: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True,
                                                      doc="per-epoch metric dicts of the current attempt")
    queued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


# claim order: highest priority first, then the lowest round (one job of each study per round), then first queued;
# the index matches ORDER BY priority DESC, claim_round, id
Index("ix_jobs_claim", Job.__table__.c.status, Job.__table__.c.priority.desc(), Job.__table__.c.claim_round,
      Job.__table__.c.id)


class Result(Base):
    """A model's outcome: `error` is the headline (min over epochs of test top-1 error, percent)."""

    __tablename__ = "results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), unique=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True,
                                               unique=True)
    error: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    error_final: Mapped[float | None] = mapped_column(Float, nullable=True)
    diverged: Mapped[bool] = mapped_column(Boolean, default=False)
    train_loss: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)
    train_error: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)
    test_error: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)
    train_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    infer_ms: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    device: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # added by migration 0006, so last (bulk inserts name the columns in the table's order)
    did_not_learn: Mapped[bool | None] = mapped_column(
        Boolean, nullable=True, doc="finite loss but learned ~nothing (backend.analysis.failures); null: unknown")
    initial_loss: Mapped[float | None] = mapped_column(Float, nullable=True, doc="the first training batch's loss")


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="idle", doc="idle | busy | stopped | lost")
    current_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Event(Base):
    """Append-only change log read by the server-sent events stream (no FKs: events outlive deletions)."""

    __tablename__ = "events"
    # AUTOINCREMENT: SQLite must never reuse an id after pruning, or a stream resuming at Last-Event-ID skips
    __table_args__ = (Index("ix_events_created_at", "created_at"), Index("ix_events_study_id", "study_id", "id"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    study_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    model_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class NoteRevision(Base):
    """One saved version of the Markdown note on a study or on a model (migration 0010): a note is never
    overwritten, each save adds a row, so its history (who, when) is the rows of its target by id."""

    __tablename__ = "note_revisions"
    __table_args__ = (Index("ix_note_revisions_study", "study_id", "id"),
                      Index("ix_note_revisions_model", "model_id", "id"),
                      CheckConstraint("(study_id IS NULL) <> (model_id IS NULL)", name="one_target"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int | None] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), nullable=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), nullable=True)
    text: Mapped[str] = mapped_column(Text, doc="Markdown as typed")
    author: Mapped[str] = mapped_column(String(200), doc="'token <fingerprint>' or 'local' (no token set)")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# the Core tables (what every query uses); declarative types them as FromClause, they are Tables
studies = cast(Table, Study.__table__)
models = cast(Table, Model.__table__)
jobs = cast(Table, Job.__table__)
results = cast(Table, Result.__table__)
workers = cast(Table, Worker.__table__)
events = cast(Table, Event.__table__)
note_revisions = cast(Table, NoteRevision.__table__)


def add_models(conn: Connection, study_id: int, n: int) -> None:
    """Count `n` new models of a study, in the transaction that inserted them: every writer of `models` calls
    this (a row trigger would cost one-row-per-statement inserts 5x, see migration 0005)."""
    if n:
        conn.execute(studies.update().where(studies.c.id == study_id).values(n_models=studies.c.n_models + n))
