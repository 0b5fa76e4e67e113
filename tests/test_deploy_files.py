"""The fleet files: docker-compose.yml is valid Compose and wires db, api and GPU workers."""

from __future__ import annotations

import shutil
import subprocess

import yaml
from conftest import ROOT, missing_service


def test_compose_file_is_accepted_and_reserves_a_gpu_per_worker():
    if shutil.which("docker-compose") is None:
        missing_service("docker-compose (Debian package) is not installed")
    out = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    cfg = yaml.safe_load(out.stdout)
    assert set(cfg["services"]) == {"db", "api", "worker"}
    worker = cfg["services"]["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert worker["command"][:2] == ["netspace", "worker"]
    assert "postgresql+psycopg://" in worker["environment"]["NETSPACE_DB"]
    assert cfg["services"]["api"]["environment"]["NETSPACE_DB"] == worker["environment"]["NETSPACE_DB"]


def test_dockerfile_copies_every_package_it_installs():
    text = (ROOT / "Dockerfile").read_text()
    for pkg in ("backend", "db", "workers", "frontend"):
        assert f"COPY {pkg} ./{pkg}" in text and (ROOT / pkg).is_dir()
