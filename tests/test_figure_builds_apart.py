"""Figure builds wait on threads of their own: while many readers wait for a figure that is being built, /health,
/models and a figure the cache holds still answer (issue 15: "a slow figure never delays /models or /health").

The slow build is real: the test holds the figure cache's own load lock for the figure's key, exactly as a build
in progress holds it, so every request for that figure waits inside the build step. Before builds had their own
limiter, each waiting request held one of the threadpool's 40 threads, and 45 of them left none for /health."""

from __future__ import annotations

import asyncio
import json

import httpx
from conftest import finish_jobs

from backend.api.app import create_app
from backend.api.routes.figures import FIGURE_BUILD_THREADS
from backend.api.settings import Settings
from backend.services import figures as figmod
from backend.services.studies import StudyIn, create_study

WAITING = 45  # more than anyio's 40 default threads


def test_health_models_and_cached_figures_answer_while_builds_wait(db_engine, db_url):
    sid = create_study(db_engine, StudyIn(name="builds-apart", space="RegNetX", n=12,
                                          regime={"flops": [None, "5M"]}))["id"]
    finish_jobs(db_url, sid, [0.3, 0.2, 0.25, 0.4])
    app = create_app(Settings(db_url=db_url, migrate=False, warm_studies=0))
    app.state.engine = db_engine  # the test's migrated copy; its URL is part of the figure cache's key
    building = figmod.figure_request(db_engine, "edf", [sid])
    assert building.cached is None  # not drawn yet: every request below has to wait for the build

    async def scenario() -> None:
        limits = httpx.Limits(max_connections=WAITING + 10)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1",
                                     timeout=60, limits=limits) as c:
            scatter = await c.get(f"/api/studies/{sid}/figures/scatter", params={"param": "flops"})
            assert scatter.status_code == 200  # now cached
            with figmod._FIGURES.loading.hold(building.key[0]):  # the edf build is "in progress"
                waiting = [asyncio.create_task(c.get(f"/api/studies/{sid}/figures/edf")) for _ in range(WAITING)]
                for _ in range(200):  # until the waiting requests fill every build thread
                    await asyncio.sleep(0.02)
                    if app.state.figure_builds.borrowed_tokens == FIGURE_BUILD_THREADS:
                        break
                assert app.state.figure_builds.borrowed_tokens == FIGURE_BUILD_THREADS
                health = await asyncio.wait_for(c.get("/api/health"), 30)
                page = await asyncio.wait_for(c.get(f"/api/studies/{sid}/models", params={"limit": 5}), 30)
                hit = await asyncio.wait_for(c.get(f"/api/studies/{sid}/figures/scatter",
                                                   params={"param": "flops"}), 30)
                assert not any(t.done() for t in waiting)  # answered while the build was still held
                assert health.status_code == 200 and health.json()["status"] == "ok"
                assert page.status_code == 200 and page.json()["total"] == 12
                assert hit.status_code == 200 and hit.content == scatter.content
            done = await asyncio.wait_for(asyncio.gather(*waiting), 120)
        bodies = {r.content for r in done}
        assert [r.status_code for r in done] == [200] * WAITING and len(bodies) == 1  # one figure, drawn once
        assert sum(json.loads(bodies.pop())["layout"]["meta"]["n"].values()) == 4

    builds = figmod.FIGURE_LOADS["build"]
    asyncio.run(scenario())
    assert figmod.FIGURE_LOADS["build"] == builds + 2  # scatter, then edf once
