"""The shapes of what the services answer, as pydantic models: the API's response models (so /openapi.json
documents every response and frontend/types/api.d.ts is generated from it) and the types the CLI reads.

Timestamps are ISO 8601 UTC strings ending in 'Z'. Numbers that may be missing (a model without a result, a
study without finished models) are null. Plotly figures are described by their two top-level keys only: their
traces are Plotly's own schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from backend.designspace.columns import Column
from backend.designspace.params import PARAM_NAMES
from backend.study_spec import Recipe


class View(BaseModel):
    """Base of the response shapes (attribute names are the JSON keys)."""

    model_config = ConfigDict(populate_by_name=True)


# ----------------------------------------------------------------------------------------------- health


class Health(View):
    status: Literal["ok"]
    version: str
    database: str = Field(description="sqlite or postgresql")
    queue: dict[str, int] = Field(description="jobs per status")
    workers_alive: int = Field(description="workers (idle or busy) whose heartbeat is at most alive_seconds old; "
                                           "0 with queued jobs means nothing is training them")
    alive_seconds: int = Field(description="how fresh a heartbeat must be for workers_alive")


# ----------------------------------------------------------------------------------------------- studies


class StudyCounts(View):
    models: int
    results: int = Field(description="models with an error")
    best_error: float | None
    mean_error: float | None
    jobs: dict[str, int] = Field(description="models per job status (imported models with a result: done)")


class SamplesQueued(View):
    """What one sampling request queued; `duplicates` were in the study already (same config hash)."""

    study_id: int | None = None
    requested: int
    queued: int
    duplicates: int
    seed: int
    candidates: int
    acceptance_rate: float
    sampler_duplicates: int
    seconds: float


class Study(View):
    id: int
    name: str
    space_name: str
    space: dict[str, Any] = Field(description="the design-space spec (GET /api/spaces/{name}); imported "
                                              "populations: family 'imported' and the file's description")
    dataset: dict[str, Any]
    recipe: dict[str, Any]
    regime: dict[str, list[float | None]]
    im_size: int
    num_classes: int
    seed: int
    source: Literal["sampled", "imported"]
    parent_id: int | None
    notes: str | None
    created_at: str
    n_models: int
    counts: StudyCounts
    samples: SamplesQueued | None = Field(None, description="POST with n: the samples queued with the study")
    sampleable: bool = Field(description="POST /api/studies/{id}/samples can add models: a sampled study, or an "
                             "imported one linked to the native space its population was drawn from")
    native_space: str | None = Field(description="imported studies: the built-in space new samples come from "
                                     "(GET /api/spaces/{name}); null otherwise")
    why_not: str | None = Field(description="why the study is not sampleable; null when it is")


class StudyDeleted(View):
    deleted: int
    name: str
    models: int


class DemoStudy(View):
    id: int
    name: str
    queued: int


class DemoSeeded(View):
    studies: list[DemoStudy]
    models: int
    epochs: int


class RecipePresets(View):
    """Named complete recipes (backend.study_spec.RECIPE_PRESETS)."""

    presets: dict[str, Recipe]


class ImportSummary(View):
    study_id: int
    name: str
    format: str
    imported: int
    skipped: int
    diverged: int
    min_error: float | None
    mean_error: float | None
    dataset: str | None
    skipped_records: list[str] = Field(description="the first skipped records' errors (all are counted)")
    seconds: float


# ----------------------------------------------------------------------------------------------- models


class ModelRowBase(View):
    id: int
    index: int
    name: str | None
    arch_type: str
    status: str = Field(description="queued | running | done | failed | cancelled | none")
    error: float | None
    error_final: float | None
    diverged: bool | None
    did_not_learn: bool | None = Field(description="finite loss but learned ~nothing (backend.analysis.failures); "
                                       "null: unknown (no result, or a source that cannot tell)")
    flops: int
    params: int
    acts: int | None
    train_seconds: float | None
    infer_ms: float | None
    epochs_done: int | None
    job_id: int | None
    attempts: int | None
    extra: dict[str, Any] | None
    config: dict[str, Any]


def _with_params(name: str, base: type[View]) -> type[View]:
    """`base` plus one nullable number per flat parameter (backend.designspace.params.PARAM_NAMES)."""
    fields: dict[str, Any] = {p: (float | None, None) for p in PARAM_NAMES}
    return create_model(name, __base__=base, __doc__=base.__doc__, **fields)


class ModelDetailBase(ModelRowBase):
    train_loss: list[float | None] | None
    train_error: list[float | None] | None
    test_error: list[float | None] | None
    study_id: int
    config_hash: str
    device: str | None
    initial_loss: float | None = Field(description="the first training batch's loss (what did_not_learn compares "
                                       "the final loss with)")
    priority: int | None
    max_attempts: int | None
    worker_id: str | None
    last_error: str | None
    progress: list[dict[str, Any]] | None
    lease_until: str | None
    queued_at: str | None
    started_at: str | None
    finished_at: str | None


if TYPE_CHECKING:  # the checkers see the fixed fields; the flat parameters are added from PARAM_NAMES
    ModelRow = ModelRowBase
    ModelDetail = ModelDetailBase
else:
    ModelRow = _with_params("ModelRow", ModelRowBase)
    ModelDetail = _with_params("ModelDetail", ModelDetailBase)


class ModelPage(View):
    total: int
    limit: int
    offset: int
    sort: str
    items: list[ModelRow]


class PopulationColumns(View):
    """GET /api/studies/{id}/population?format=json: every model as columns (null where missing)."""

    n: int
    study_id: int
    status_names: list[str]
    extra_columns: list[Column] = Field(description="descriptions of the study's imported (extra) columns, which "
                                        "follow the listed ones (GET /api/columns) in `columns`")
    columns: dict[str, list[int | float | str | None]] = Field(
        description="id, status (names), failure (none | diverged | did_not_learn) and every value column with a "
                    "value in the study")


# ----------------------------------------------------------------------------------------------- jobs


class Job(View):
    id: int
    model_id: int
    study_id: int
    study_name: str
    status: str
    priority: int
    attempts: int
    max_attempts: int
    worker_id: str | None
    lease_until: str | None
    last_error: str | None
    epochs_done: int
    queued_at: str
    started_at: str | None
    finished_at: str | None
    progress: list[dict[str, Any]] | None = Field(None, description="one job: per-epoch metrics of this attempt")


class JobPage(View):
    total: int
    limit: int
    offset: int
    counts: dict[str, int] = Field(description="jobs per status under the study/worker filters")
    items: list[Job]


class Worker(View):
    id: str
    host: str
    pid: int
    device: str
    status: str = Field(description="idle | busy | stopped | lost")
    current_job_id: int | None
    started_at: str
    heartbeat_at: str
    alive: bool


# ----------------------------------------------------------------------------------------------- spaces


class SpaceSummary(View):
    name: str
    family: str
    description: str
    num_stages: int
    params: list[str]
    im_size: int
    se_r: float


class FamilyOptionInfo(View):
    """A family's own spec setting (`options.<name>` of a spec): its allowed values and default."""

    name: str
    help: str
    values: list[str]
    default: str | None = Field(description="null: a spec of the family must give it")


class SpaceFamily(View):
    """A space family (backend.designspace.families): its parameters, which of them are per stage, and what
    its spaces can do."""

    name: str
    label: str
    description: str
    params: list[str]
    stage_params: list[str]
    per_block_widths: bool
    samplable: bool
    arch_type: str
    refine_steps: list[str]
    options: list[FamilyOptionInfo] = Field(description="settings of the family's specs beside their parameters")
    columns: list[str] = Field(description="what its models store beside flops, params and acts, where the "
                               "family says (cell spaces: depth d, and width, depth and operation counts in extra)")


class DatasetInfo(View):
    """A dataset a study can train on (backend.datasets)."""

    name: str
    label: str
    help: str
    loader: str = Field(description="the workers' loader that reads it")
    classes: int | None = Field(description="null: counted from the data (class folders under train/)")
    im_size: int = Field(description="default resolution, px")
    needs_path: bool
    path_hint: str
    required: list[str] = Field(description="files or folders that must exist under the path")


class ImportFormatInfo(View):
    """A format population files may come in (backend.importers.formats)."""

    name: str
    label: str
    help: str
    suffixes: list[str] = Field(description="file suffixes that name it for format=auto")
    binary: bool


class ExportFormatInfo(View):
    """A format a study's models download in (backend.exporters)."""

    name: str
    label: str
    help: str
    media_type: str
    extension: str = Field(description="the downloaded file's extension")
    binary: bool


class Formats(View):
    """The import and export formats, in display order."""

    imports: list[ImportFormatInfo]
    exports: list[ExportFormatInfo]


class ParamSize(View):
    values: int | float
    count: int | float
    rule: str = Field(description="per-stage, shared, monotone, global, fixed, or structure (a choice that is no "
                      "spec parameter: a NAS cell's genotype)")
    free: int = Field(description="contribution to the dimension")


class SizeReport(View):
    name: str
    family: str
    dimension: int
    exact: str = Field(description="exact count as a decimal string (may exceed 2^53)")
    exact_float: float
    paper_approx: float
    paper_levels: int | None
    params: dict[str, ParamSize]


class SpecProblem(View):
    field: str
    msg: str


class SpaceCheck(View):
    """POST /api/spaces/validate: valid with the spec and its counts, or the problems."""

    valid: bool
    spec: dict[str, Any] | None = None
    dimension: int | None = None
    size: float | None = None
    errors: list[SpecProblem] | None = None


# ----------------------------------------------------------------------------------------------- figures


class PlotlyFigure(View):
    """A Plotly figure: Plotly.newPlot(div, fig.data, fig.layout); layout.meta.help says how to read it."""

    model_config = ConfigDict(extra="allow")

    data: list[dict[str, Any]]
    layout: dict[str, Any]


class FigureKind(View):
    """A figure kind (backend.figures.kinds) and how the dashboard draws it."""

    kind: str
    label: str = Field(description="the card's title")
    help: str = Field(description="how to read it (the figure's layout.meta.help may add its numbers)")
    summary: str = Field(description="the same as help (kept for older clients)")
    options: list[str] = Field(description="query parameters it takes")
    options_schema: dict[str, dict[str, Any]] = Field(description="each option's JSON schema")
    required: list[str] = Field(description="options it cannot do without")
    needs: list[str] = Field(description="what its population is loaded with: e_fit, extreme_configs, extreme_curves")
    pages: list[Literal["study", "compare"]] = Field(description="dashboard pages that draw it as a card")
    wide: bool
    height: int = Field(description="plot height, px")
    ask_above: int | None = Field(description="drawn only on request above this many finished models")


class FigureKinds(View):
    kinds: list[FigureKind]


# ----------------------------------------------------------------------------------------------- refine


class ErrorStats(View):
    n: int
    min: float
    mean: float
    median: float
    max: float
    n_eff: float


class InSample(View):
    label: str
    method: Literal["satisfies", "e_fit"]
    efit_max: float | None
    models: int
    finished: int
    inside: int
    inside_finished: int
    fraction: float | None
    parent_stats: ErrorStats | None
    child_stats: ErrorStats | None
    ks: float | None
    p_value: float | None = Field(description="null below minimum_n.KS models per side (see ks_absent)")
    ks_absent: str | None = Field(description="why p_value is null (too few models on a side); null when given")
    ids: list[int]
    ids_truncated: bool
    e_fit_median: float | None


class PreviewParent(View):
    id: int
    name: str
    space_name: str
    size: SizeReport


class PreviewChild(View):
    name: str
    constraint: str
    space: dict[str, Any]
    size: SizeReport
    name_available: bool


class RefinePreview(View):
    label: str
    parent: PreviewParent
    child: PreviewChild
    step: dict[str, Any]
    narrowed: dict[str, dict[str, Any]] = Field(description="per parameter: low, high, sources, ...")
    filter_ignored: list[str]
    in_sample: InSample
    figure: PlotlyFigure


class RefineResult(View):
    preview: RefinePreview
    study: Study | None = Field(description="preview=false: the child study created")


class LineageNode(View):
    id: int
    name: str
    parent_id: int | None
    depth: int
    space_name: str
    source: str
    created_at: str
    children: list[int]
    on_chain: bool
    models: int
    n: int
    min: float | None
    mean: float | None
    constraint: str
    dimension: int | None
    size: str | None
    size_float: float | None
    size_paper: float | None


class Curve(View):
    x: list[float]
    y: list[float]


class LineageStep(LineageNode):
    edf: Curve | None


class StepChange(View):
    from_: str = Field(alias="from")
    to: str
    stats_from: ErrorStats | None
    stats_to: ErrorStats | None
    delta_min: float | None
    delta_mean: float | None
    ks: float | None
    p_value: float | None = Field(description="null below minimum_n.KS models per side (see ks_absent)")
    ks_absent: str | None = Field(description="why p_value is null; null when it is given")


class NoteRevision(View):
    id: int
    text: str = Field(description="Markdown as typed")
    author: str = Field(description="'token <fingerprint>' or 'local'")
    created_at: str


class Notes(View):
    target: Literal["study", "model"]
    id: int
    current: NoteRevision | None = Field(description="the newest revision; null: never written")
    history: list[NoteRevision] = Field(description="newest first (at most 200)")
    revisions: int


class Lineage(View):
    study_id: int
    root_id: int
    chain: list[int]
    nodes: list[LineageNode]
    steps: list[LineageStep]
    table: list[StepChange]
    truncated: bool
    figure: PlotlyFigure | None = None
