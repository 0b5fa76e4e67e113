"""The one bounded id type every id parameter of the API takes (studies, models, jobs, events).

Row ids are `integer` columns: PostgreSQL's int4 holds at most 2^31 - 1 and refuses a larger bound parameter
("integer out of range"), SQLite's driver refuses one past 2^63 - 1 (OverflowError). Either was a 500, or a
broken stream for a response that had already started (exports, the event stream). An id outside [1, MAX_ID]
cannot name a row on either database, so it is a 422 naming the parameter and the range, declared here once
and used by every path, query and body field that holds an id.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

#: the largest id a row can have (PostgreSQL `integer`; SQLite is held to the same so the two answer alike)
MAX_ID = 2**31 - 1
#: a row id: study, model, job
RowId = Annotated[int, Ge(1), Le(MAX_ID)]
#: a position in the event stream: 0 (before the first event) or an event id
EventCursor = Annotated[int, Ge(0), Le(MAX_ID)]
