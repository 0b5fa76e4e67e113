"""`make bench`: run every benchmark module in bench/ and print one table (and write bench/RESULTS.md).

Each module named *_bench.py exposes main() -> list of (metric, value, unit) rows. The GPU check is not
run here (it needs a lent GPU machine; see bench/gpu_check.py).
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.node()}: {os.cpu_count()} cores ({cpu}){mem}, Python {platform.python_version()}"


def fmt(value: float) -> str:
    if isinstance(value, float) and abs(value) < 100:
        return f"{value:.3g}"
    return f"{value:,.0f}"


def main(argv: list[str]) -> int:
    only = set(argv)
    modules = sorted(p.stem for p in HERE.glob("*_bench.py"))
    rows: list[tuple[str, str, str, str]] = []
    failed = []
    for name in modules:
        if only and name not in only:
            continue
        print(f"\n== {name} ==", flush=True)
        t0 = time.perf_counter()
        try:
            mod = importlib.import_module(f"bench.{name}")
            # a module's main() reads its own options from sys.argv: run_all's (the ONLY names) are not theirs
            sys.argv = [f"bench.{name}"]
            for metric, value, unit in mod.main():
                rows.append((name, metric, fmt(value), unit))
        except Exception:  # a broken benchmark is reported, the others still run
            traceback.print_exc()
            failed.append(name)
        print(f"({name}: {time.perf_counter() - t0:.1f}s)")
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    width = max((len(r[1]) for r in rows), default=10)
    lines = [f"Machine: {machine()}", f"Date: {stamp}", "Command: make bench", "",
             f"| {'metric'.ljust(width)} | value | unit |", f"|{'-' * (width + 2)}|------:|------|"]
    lines += [f"| {m.ljust(width)} | {v} | {u} |" for _, m, v, u in rows]
    if failed:
        lines.append(f"\nFailed: {', '.join(failed)}")
    table = "\n".join(lines)
    print("\n" + table)
    if not only:
        (HERE / "RESULTS.md").write_text("# Benchmark results\n\n" + table + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
