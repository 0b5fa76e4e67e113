"""Figure kinds: one module per analysis figure (edf, scatter, widths, ...), each defining `FIGURE`.

An entry owns everything about its kind except the plotting itself, which stays in the builder modules one level
up (backend/figures/edf.py, ...): its name (the API's `{kind}`), label (the dashboard card's title) and help
(the builder's own "how to read this", the one text the card shows before and after the figure loads), the
options it takes (names of `OPTIONS`, whose fields — types, ranges, descriptions — the API's query model is
built from), the options it cannot do without (`required`), what the population loader must add for it
(`needs`), the dashboard pages that draw it and how (`pages`, `wide`, `height`, `ask_above`), and `build`,
which calls the builder.

The API (GET /api/figures), the service's dispatch (services/figures.py), the route's kind Literal and the
dashboard's figure cards are all read off this registry. Adding a figure kind is its builder plus one module here
(and its tests); see DEVELOPERS.md, "Extension axes".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field
from pydantic.fields import FieldInfo

from backend.registry import Registry

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..common import Populations

#: what a kind may ask the population loader for: every config ("e_fit", fitted per model), the configs or the
#: per-epoch curves of the best and worst k models ("extreme_configs", "extreme_curves")
Need = Literal["e_fit", "extreme_configs", "extreme_curves"]
#: the dashboard pages that draw figure cards
Page = Literal["study", "compare"]

def _option(**kw: Any) -> FieldInfo:
    """An optional query field (None: the builder's default)."""
    info: FieldInfo = Field(None, **kw)
    return info


#: every option a figure kind may take: (type, pydantic field) — the API's query parameters of the same names
OPTIONS: dict[str, tuple[Any, FieldInfo]] = {
    "param": (str | None, _option(max_length=64, description="x column (d, w0, flops, e_fit, ...)")),
    "by": (Literal["flops", "params", "acts"] | None, _option(description="the complexity to normalise by")),
    "bins": (int | None, _option(ge=1, le=100, description="number of equal complexity bins")),
    "log": (bool | None, _option(description="log-spaced complexity bins")),
    "k": (int | None, _option(ge=1, le=50, description="best and worst k models")),
    "replace": (bool | None, _option(description="draw with replacement")),
}


class FigureKind:
    """A figure kind (see the module doc); subclass it in one module of this package as `FIGURE`."""

    name: ClassVar[str]
    label: ClassVar[str]
    help: ClassVar[str]
    order: ClassVar[int] = 50
    options: ClassVar[tuple[str, ...]] = ()
    required: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[frozenset[Need]] = frozenset()
    pages: ClassVar[tuple[Page, ...]] = ()
    #: dashboard card: full width, plot height in px
    wide: ClassVar[bool] = False
    height: ClassVar[int] = 360
    #: above this many finished models the study page draws it only when asked (its cost grows per model)
    ask_above: ClassVar[int | None] = None

    def build(self, pops: Populations, **options: Any) -> go.Figure:
        """The figure of `pops` (study label -> population) with `options` (and any builder keyword)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What GET /api/figures tells the dashboard (`options`: each option's JSON schema)."""
        return {"kind": self.name, "label": self.label, "help": self.help,
                "options": list(self.options), "required": list(self.required), "needs": sorted(self.needs),
                "pages": list(self.pages), "wide": self.wide, "height": self.height, "ask_above": self.ask_above}


FIGURES: Registry[FigureKind] = Registry(__name__, "FIGURE", "figure kind", "kind")


def figure_kind_names() -> tuple[str, ...]:
    """Every figure kind's name, without importing the entries (for the API's path Literal)."""
    return FIGURES.names()
