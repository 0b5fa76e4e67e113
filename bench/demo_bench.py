"""The one-click demo as a new user meets it: `make run` on an empty database, then POST /api/demo.

Starts `netspace serve --workers W` (as `make run` does, W = auto by default) on a fresh SQLite file, seeds the
demo (RegNetX vs AnyNetX_A on digits, 2 x 24 models, the cpu-proxy recipe) and polls the studies until every
model is done. Reports, against the issue's targets:

- wall time until all 48 models are done (target <= 10 min on the 2-core machine);
- models at chance level: diverged or did not learn (backend.analysis.failures; target <= 1 of 48);
- median error of each study (target <= 5 %);
- whether both studies had finished models 3 minutes after the demo started.

The machine is shared, so the load average before and after is printed beside the figures: a run on a busy
machine is slower than the same run alone, and says so.

Run: `python -m bench.demo_bench [--workers auto|N] [--timeout-min 30]` (or `make bench ONLY=demo_bench`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.live_server import ROOT, free_port

TARGET_WALL_S = 600
BOTH_AFTER_S = 180
POLL_S = 5.0


def load_avg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def start_serve(db_url: str, workers: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--db", db_url, "--port", str(port),
                             "--workers", workers, "--log-level", "warning"], cwd=ROOT, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, env={**os.environ, "NETSPACE_TOKEN": ""})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"serve did not start:\n{log.read_text()}")


def run(workers: str = "auto", timeout_min: float = 30.0) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="demo-bench-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        load_before = load_avg()
        proc, url = start_serve(db_url, workers, Path(tmp) / "serve.log")
        try:
            with httpx.Client(base_url=url, timeout=30) as c:
                t0 = time.monotonic()
                seeded = c.post("/api/demo").json()
                ids = {s["name"]: s["id"] for s in seeded["studies"]}
                total = seeded["models"]
                first_done: dict[str, float] = {}
                done = 0
                while time.monotonic() - t0 < timeout_min * 60:
                    done = 0
                    for name, sid in ids.items():
                        jobs = c.get(f"/api/studies/{sid}").json()["counts"]["jobs"]
                        finished = jobs.get("done", 0)
                        done += finished + jobs.get("failed", 0)
                        if finished and name not in first_done:
                            first_done[name] = time.monotonic() - t0
                    if done >= total:
                        break
                    time.sleep(POLL_S)
                wall = time.monotonic() - t0
                per_study = {}
                for name, sid in ids.items():
                    rows = c.get(f"/api/studies/{sid}/models", params={"limit": 1000}).json()["items"]
                    errs = [r["error_final"] for r in rows if r["error_final"] is not None]
                    per_study[name] = {
                        "done": len(errs), "median_error": statistics.median(errs) if errs else float("nan"),
                        "diverged": sum(bool(r["diverged"]) for r in rows),
                        "did_not_learn": sum(bool(r["did_not_learn"]) for r in rows),
                        "train_seconds": statistics.median(r["train_seconds"] for r in rows if r["train_seconds"])
                        if errs else float("nan")}
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        return {"wall_s": wall, "all_done": done >= total, "done": done, "total": total, "first_done": first_done,
                "studies": per_study, "load_before": load_before, "load_after": load_avg(), "workers": workers}


def main(argv: list[str] | None = None) -> list[tuple[str, float, str]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", default="auto", help="serve --workers (make run: auto)")
    p.add_argument("--timeout-min", type=float, default=30.0)
    a = p.parse_args([] if argv is None else argv)
    r = run(a.workers, a.timeout_min)
    studies: dict = r["studies"]  # type: ignore[assignment]
    first: dict = r["first_done"]  # type: ignore[assignment]
    at_chance = sum(s["diverged"] + s["did_not_learn"] for s in studies.values())
    both = len(first) == len(studies) and max(first.values()) <= BOTH_AFTER_S
    print(f"load average (1/5/15 min) before {r['load_before']}, after {r['load_after']}; workers {r['workers']}")
    print(f"{r['done']} of {r['total']} done (all: {r['all_done']}) after {r['wall_s']:.0f} s "
          f"(target: all within {TARGET_WALL_S} s)")
    print("first model done per study (s after the demo started): "
          + ", ".join(f"{k} {v:.0f}" for k, v in first.items()) + f"; both within {BOTH_AFTER_S} s: {both}")
    for name, s in studies.items():
        print(f"{name}: {s['done']} done, median error {s['median_error']:.2f} %, {s['diverged']} diverged, "
              f"{s['did_not_learn']} did not learn, median train time {s['train_seconds']:.1f} s")
    print(f"at chance (diverged or did not learn): {at_chance} of {r['total']} (target <= 1)")
    rows: list[tuple[str, float, str]] = [
        ("demo wall time until all done", float(r["wall_s"]), "s"),  # type: ignore[arg-type]
        ("models at chance (diverged or did not learn)", float(at_chance), "models"),
        ("both studies have models done after 3 min", float(both), "bool"),
    ]
    rows += [(f"median error {name}", float(s["median_error"]), "%") for name, s in studies.items()]
    return rows


if __name__ == "__main__":
    for metric, value, unit in main(sys.argv[1:]):
        print(f"{metric}: {value:.3g} {unit}")
