"""An imported NDS study is linked to its native space: the API says so (`sampleable`, `native_space`, `why_not`)
and POST /api/studies/{id}/samples samples from it — on a real server over SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from backend.designspace.builtin import get_space
from backend.designspace.cells import cell_complexity, parse_genotype
from backend.designspace.complexity import complexity
from backend.designspace.config import AnyNetConfig
from backend.importers.nds_nets import nds_complexity, release_flops


def imported_study(server, reference_dir, name: str, prefix: str, as_name: str | None = None) -> dict:
    """Upload a release file through the real endpoint (as `as_name`: the file name says the space and the
    dataset); the new study as GET /api/studies/{id} gives it."""
    content = (reference_dir / "nds" / name).read_bytes()
    r = server.client.post("/api/studies/import", files={"file": (as_name or name, content)},
                           data={"study": f"{prefix}-{server.port}"})
    assert r.status_code == 201, r.text
    return server.client.get(f"/api/studies/{r.json()['study_id']}").json()


def queue_twice(client, sid: int, n: int, seed: int, imported: int) -> list[dict]:
    """POST n samples twice with one seed (the second adds none: seeded duplicates); the n new models."""
    q = client.post(f"/api/studies/{sid}/samples", json={"n": n, "seed": seed})
    assert q.status_code == 201, q.text
    assert q.json()["queued"] == n
    again = client.post(f"/api/studies/{sid}/samples", json={"n": n, "seed": seed}).json()
    assert again["queued"] == 0 and again["duplicates"] == n
    page = client.get(f"/api/studies/{sid}/models", params={"limit": 1000, "sort": "id"}).json()
    assert page["total"] == imported + n
    new = [m for m in page["items"] if m["index"] >= imported]
    assert len(new) == n and all(m["status"] == "queued" for m in new)
    return new


def test_imported_resnext_study_samples_its_native_space(live_server, reference_dir):
    c = live_server.client
    study = imported_study(live_server, reference_dir, "ResNeXt-A_in.json", "native-a")
    sid = study["id"]
    assert (study["sampleable"], study["native_space"], study["why_not"]) == (True, "NDS_ResNeXt-A", None)
    assert study["space"]["native_space"] == "NDS_ResNeXt-A" and study["source"] == "imported"
    assert any(s["id"] == sid and s["sampleable"] for s in c.get("/api/studies").json())

    new = queue_twice(c, sid, 6, 4, 130)
    space = get_space("NDS_ResNeXt-A")
    assert all(m["arch_type"] == "anynet" for m in new)
    for m in new:
        cfg = AnyNetConfig.model_validate(m["config"])
        assert (cfg.stem_type, cfg.stem_w, cfg.strides) == ("nds_stem_in", 64, [1, 2, 2])
        assert all(space.params["d"].contains(d) for d in cfg.depths)
        # the study's flops are the release's convention for the new models too; macs beside them
        assert m["flops"] == release_flops(m["extra"]["macs"], m["acts"], 1000, cfg.stem_type, cfg.stem_w, 224)
        assert m["flops"] > m["extra"]["macs"]
        # the sampled number of groups is kept beside the columns, as the importer keeps the release's
        groups = [m["extra"][f"groups_{i}"] for i in (1, 2, 3)]
        assert [n * g / bm for n, g, bm in zip(groups, cfg.group_ws, cfg.bot_muls, strict=True)] == cfg.widths

    # imported and new models share one `macs` column with one meaning: plain multiply-adds at 224 px, 1000
    # classes — the imported ones counted from the release's net, the new ones from their AnyNet config
    runs = json.loads((reference_dir / "nds" / "ResNeXt-A_in.json").read_text())
    pop = c.get(f"/api/studies/{sid}/population", params={"format": "json"}).json()
    assert "macs" in {col["name"] for col in pop["extra_columns"]}
    by_id = dict(zip(pop["columns"]["id"], pop["columns"]["macs"], strict=True))
    page = c.get(f"/api/studies/{sid}/models", params={"limit": 1000, "sort": "id"}).json()["items"]
    imported = [m for m in page if m["index"] < 130]
    assert [by_id[m["id"]] for m in imported] == [nds_complexity(r["net"], True)["macs"] for r in runs]
    assert [by_id[m["id"]] for m in new] == [
        complexity(AnyNetConfig.model_validate(m["config"]), 224, 1000)["flops"] for m in new]
    # a filter on it reaches both kinds
    lo = min(by_id.values())
    hit = c.get(f"/api/studies/{sid}/models", params={"macs_max": lo, "limit": 1000}).json()
    assert hit["total"] == sum(v == lo for v in by_id.values()) >= 1


@pytest.mark.parametrize(("name", "native", "nodes"), [("DARTS_in.json", "NDS_DARTS", 4),
                                                      ("NASNet_in.json", "NDS_NASNet", 5),
                                                      ("PNAS_in.json", "NDS_PNAS", 5)])
def test_imported_cell_study_samples_its_native_cell_space(live_server, reference_dir, name, native, nodes):
    c = live_server.client
    study = imported_study(live_server, reference_dir, name, f"native-{native}")
    sid = study["id"]
    assert (study["sampleable"], study["native_space"], study["why_not"]) == (True, native, None)
    assert get_space(native).family == "nds_cell"  # the built-in spec of the cell family
    imported = study["counts"]["models"]
    arch_type = study["space"]["arch_types"][0]
    new = queue_twice(c, sid, 4, 2, imported)
    assert {m["arch_type"] for m in new} == {arch_type}  # as the imported models'
    for m in new:
        cfg = m["config"]
        assert cfg["type"] == "nds_cell" and cfg["space"] == native
        cx = cell_complexity(cfg["width"], cfg["depth"], parse_genotype(cfg["genotype"]))
        # the release's flops convention, as the imported models beside them; macs kept in extra
        assert (m["flops"], m["params"], m["extra"]["macs"]) == (cx["flops"], cx["params"], cx["macs"])
        assert m["d"] == cfg["depth"] and m["extra"]["width"] == cfg["width"]
        assert sum(v for k, v in m["extra"].items() if k.startswith("normal_")) == 2 * nodes


def test_studies_without_a_native_space_say_why(live_server, reference_dir):
    c = live_server.client
    # a DARTS file named as a CIFAR one: netspace has no CIFAR cell space
    study = imported_study(live_server, reference_dir, "DARTS_in.json", "native-darts-cifar", "DARTS.json")
    sid = study["id"]
    assert study["sampleable"] is False and study["native_space"] is None
    assert "no native space" in study["why_not"]
    q = c.post(f"/api/studies/{sid}/samples", json={"n": 3})
    assert q.status_code == 422
    item = q.json()["detail"][0]
    assert item["field"] == "study_id" and "no native space" in item["msg"]

    sampled = c.post("/api/studies", json={"name": f"native-own-{live_server.port}", "space": "NDS_Vanilla",
                                           "dataset": {"name": "digits"}, "n": 3})
    assert sampled.status_code == 201, sampled.text
    body = sampled.json()
    assert (body["sampleable"], body["native_space"], body["why_not"]) == (True, None, None)
    assert body["samples"]["queued"] == 3


def test_imported_vanilla_reruns_link_to_the_cifar_space(live_server, reference_dir):
    study = imported_study(live_server, reference_dir, "Vanilla_reruns.json", "native-v")
    assert study["native_space"] == "NDS_Vanilla" and study["im_size"] == 32 and study["num_classes"] == 10
