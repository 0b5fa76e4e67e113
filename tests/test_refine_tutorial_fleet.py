"""docs/tutorial.md's fleet blocks against a real PostgreSQL schema (see tests/test_refine_tutorial.py): studies
are created and samples queued for real with fake CIFAR-10/ImageFolder directories, nothing is trained; worker
launches without --once and `launch` are parsed by the CLI itself."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tutorial_helpers import blocks, chain_of, commands, run_blocks

from db.engine import make_engine
from db.models import models


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fleet_commands_queue_the_chain_on_postgresql(pg_url, tmp_path):
    cifar = tmp_path / "cifar-10-batches-py"
    cifar.mkdir()
    for f in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"):  # every file the cifar10 entry requires
        (cifar / f).write_bytes(b"")
    imagenet = tmp_path / "imagenet"
    for split in ("train", "val"):
        for cls in ("n01440764", "n01443537", "n01484850"):
            (imagenet / split / cls).mkdir(parents=True)
    n = 6
    env = {"DB": pg_url, "CIFAR": str(cifar), "IMAGENET": str(imagenet), "FLEET_N": str(n)}
    proc, logged = run_blocks("fleet", tmp_path, env, timeout=900)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    expected = [c for b in blocks("fleet") for c in commands(b)]
    assert len(logged) == len(expected)
    assert sorted(line.split()[2] for line in logged if line.startswith("dry")) == ["launch", "worker"]
    engine = make_engine(pg_url)
    try:
        got = chain_of(engine)
        with engine.connect() as conn:
            flops = {name: [f for (f,) in conn.execute(select(models.c.flops).where(models.c.study_id == s["id"]))]
                     for name, s in got.items()}
    finally:
        engine.dispose()
    for prefix, classes, im_size, (lo, hi) in (("cifar", 10, 32, (7.3e6, 8.2e6)), ("in", 3, 224, (360e6, 400e6))):
        chain = [f"{prefix}-{s}" for s in ("A", "B", "C", "D", "E", "RegNetX")]
        assert [got[c]["parent"] for c in chain] == [None, *chain[:-1]]
        for c in chain:
            s = got[c]
            assert s["statuses"] == ["queued"] * n and s["num_classes"] == classes and s["im_size"] == im_size, c
            assert s["recipe"]["epochs"] == 10 and all(lo <= f <= hi for f in flops[c]), c
    assert (tmp_path / "cifar-lineage.html").exists() and (tmp_path / "imagenet-report.html").exists()
